"""Marks every listed word (``words.txt``: word, label) as a mention of its layer."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from kronika.record import Mention


class ToyTagger:
    def __init__(self, layer: str) -> None:
        self.layer = layer
        lines = resources.files(__package__).joinpath("words.txt").read_text(encoding="utf-8").splitlines()
        self.words = dict(line.split("\t") for line in lines if line.strip())

    def annotate(self, text: str, language: str) -> list[Mention]:
        out = []
        for word, label in self.words.items():
            for m in re.finditer(rf"\b{re.escape(word)}\b", text):
                out.append(Mention(m.start(), m.end(), word, label, word, f"{label}-{word}", self.layer, 1.0))
        return sorted(out)


def from_context(context: Any) -> ToyTagger:
    return ToyTagger(context.entry.name)
