"""Sentence spans: table-driven cases plus the span invariants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kronika.sentences import split_sentences

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "sentences_cases.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cases(case: dict) -> None:
    text = case["text"]
    spans = split_sentences(text, lang=case.get("lang"))
    assert [text[s:e] for s, e in spans] == case["sentences"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_invariants(case: dict) -> None:
    text = case["text"]
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        assert "\n" not in piece and "\r" not in piece
        previous_end = end


def test_range_offsets_are_into_the_whole_text() -> None:
    text = "Nagłówek\n\nPierwsze zdanie. Drugie zdanie.\n\nStopka."
    start = text.index("Pierwsze")
    end = text.index("\n\nStopka")
    spans = split_sentences(text, start, end)
    assert [text[s:e] for s, e in spans] == ["Pierwsze zdanie.", "Drugie zdanie."]
    assert spans[0][0] == start


def test_deterministic() -> None:
    text = CASES[0]["text"] * 3
    assert split_sentences(text) == split_sentences(text)
