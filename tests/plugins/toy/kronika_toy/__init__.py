"""A toy annotator for kronika's registry tests: the entry point names ``ANNOTATORS``.

This module only declares (it imports nothing heavy); the annotator itself is in
``kronika_toy.tagger`` and is imported when a build first needs it.
"""

from kronika.registry import Annotator

ANNOTATORS = [
    Annotator(
        name="toy_words_v1",
        kind="entities",
        factory="kronika_toy.tagger:from_context",
        languages={"pl": "automatic", "la": "automatic"},
        rank=5,
        data=("kronika_toy:words.txt",),
    )
]
