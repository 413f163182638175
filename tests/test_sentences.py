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


# ------------------------------------------------------------- linear in the input (issue 10)
def test_rejoined_sentence_is_not_copied_for_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line of many short forms ("ukr. ukr. ...") is re-joined into one growing
    sentence; checking its end must not copy it each time (that was quadratic)."""
    from kronika import sentences

    copied = {"chars": 0}
    needs_join = sentences._needs_join

    def counting(sentence: str) -> bool:
        copied["chars"] += len(sentence)
        return needs_join(sentence)

    monkeypatch.setattr(sentences, "_needs_join", counting)
    text = "Jest ukr. " * 20_000
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [text.strip()]
    assert copied["chars"] <= len(text)


def test_needs_join_reads_the_same_as_the_copy() -> None:
    import random

    from kronika.sentences import _needs_join, _needs_join_at

    rng = random.Random(4)
    parts = ["dr.", "Dr.", "(dr.", "„((dr.", "ukr.", "m.in.", "x", " ", "\n", "a.", ".", "(" * 70, "e.g.", "\t"]
    for _ in range(20_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(1, 10)))
        start = rng.randrange(len(text))
        end = rng.randint(start + 1, len(text))
        assert _needs_join_at(text, start, end) == _needs_join(text[start:end]), (text, start, end)


def test_long_line_without_sentence_end_is_one_sentence() -> None:
    text = " ".join(["słowo", "Kraków", "i", "dalej", "bez", "kropki"] * 40_000)  # ~1.2 MB
    assert split_sentences(text) == [(0, len(text))]


def test_blocks_of_long_blank_lines() -> None:
    """A line of white space only was rescanned from each of its characters by the
    block pattern (quadratic: 40,000 spaces took 13 s); blocks stay as they were."""
    from kronika.blocks import split_blocks

    text = "Tytuł\n" + " \t" * 50_000 + "\nAkapit pierwszy.\n\n" + " " * 100_000 + "\n\nAkapit drugi."
    assert [(text[b.start : b.end], b.kind) for b in split_blocks(text)] == [
        ("Tytuł", "heading"),
        ("Akapit pierwszy.", "paragraph"),
        ("Akapit drugi.", "paragraph"),
    ]


def test_block_pattern_matches_the_plain_rule() -> None:
    """Blocks = maximal runs of lines holding a non-space character (checked on random texts)."""
    import random

    from kronika.blocks import BLOCK_RE

    def plain(text: str) -> list[tuple[int, int]]:
        out, pos, current = [], 0, None
        for line in text.split("\n"):
            if line.strip():
                current = (current[0] if current else pos, pos + len(line))
            elif current:
                out.append(current)
                current = None
            pos += len(line) + 1
        return out + ([current] if current else [])

    rng = random.Random(3)
    for _ in range(5_000):
        text = "".join(rng.choice(["a", " ", "\n", "\t", "\r", "\u00a0", "b c", "\n\n"]) for _ in range(rng.randint(0, 30)))
        assert [m.span() for m in BLOCK_RE.finditer(text)] == plain(text), repr(text)


def test_remembering_keeps_every_text_split_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard tags all its documents before it makes their rows: inside ``remembering``
    the second split of each text is a lookup, whatever was split in between."""
    from kronika import sentences

    calls: list[str] = []
    real = sentences._split
    monkeypatch.setattr(sentences, "_split", lambda text, *a: calls.append(text) or real(text, *a))
    texts = [f"Zdanie {i}. Drugie zdanie {i}." for i in range(3)]
    with sentences.remembering():
        first = [split_sentences(t) for t in texts]
        with sentences.remembering():  # nested: the outer block's splits
            assert [split_sentences(t) for t in texts] == first
    assert calls == texts
    split_sentences(texts[0])  # the block is over: split again
    assert calls == [*texts, texts[0]]
    assert getattr(sentences._last, "scope", None) is None
