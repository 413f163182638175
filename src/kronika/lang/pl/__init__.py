"""Polish language pack.

Resources read by the shared modules (``kronika.lang.every_line``, ``every_word``):
``boilerplate.txt`` (blocks), ``abbreviations.txt`` (tokens),
``sentence_joins.txt`` (sentences). Read by the Polish annotators
(``gazetteer_v1``, ``rules_v1`` in ``kronika.entities``): ``words.txt`` (titles,
heads, connectors, not-names ...), ``lexicon.tsv`` (hand-written entities) and
``lexicon_forms.tsv`` (their inflected forms, made by
``scripts/make_lexicon_forms.py``). The Morfeusz glue is ``morph.py`` (analysis,
generation) and ``inflect.py`` (every inflected form of a base form).
"""
