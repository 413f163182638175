"""Tokens, BIO and the derived configs (``mentions``, ``sentences``) of a documents row."""

from __future__ import annotations

import pytest

from kronika.blocks import split_blocks
from kronika.record import BIO_TAGS, Mention, mention_schema, sentence_schema
from kronika.tokens import bio_to_spans, spans_to_bio, split_at, tokenize
from kronika.validate import Index, check_row
from kronika.views import mention_rows, sentence_rows, sentence_rows_with_misaligned, sentence_spans

TOKEN_CASES = [
    ("Marzena Okła-Drewnowicz mówi", ["Marzena", "Okła-Drewnowicz", "mówi"]),
    ("m.in. Polska, np. Rosja", ["m.in.", "Polska", ",", "np.", "Rosja"]),
    ("M.in. prof. Nowak", ["M.in.", "prof.", "Nowak"]),
    ("w dniach 10-13 września", ["w", "dniach", "10-13", "września"]),
    ("1,5 mln zł i 2,75%", ["1,5", "mln", "zł", "i", "2,75", "%"]),
    ("o 12:30, 2023-09-13", ["o", "12:30", ",", "2023-09-13"]),
    ('"New York Times"', ['"', "New", "York", "Times", '"']),
    ("„NYT” podał.", ["„", "NYT", "”", "podał", "."]),
    ("(Rosji) - informuje", ["(", "Rosji", ")", "-", "informuje"]),
    ("Kirby'ego i F-16", ["Kirby'ego", "i", "F-16"]),
    ("😀Putin 👍🏽 🇵🇱!", ["😀", "Putin", "👍🏽", "🇵🇱", "!"]),
    ("koniec... w 2023 r.", ["koniec", "...", "w", "2023", "r", "."]),
    ("Onet.pl podał", ["Onet", ".", "pl", "podał"]),
    ("Zażółć gęślą jaźń", ["Zażółć", "gęślą", "jaźń"]),
    ("Britain's youngest, BRITAIN'S", ["Britain", "'s", "youngest", ",", "BRITAIN", "'S"]),  # a name before 's aligns
    ("O'Neill i м'ясо, об’єкт", ["O'Neill", "i", "м'ясо", ",", "об’єкт"]),  # inner apostrophes stay
]


@pytest.mark.parametrize(("text", "expected"), TOKEN_CASES)
def test_tokenize_polish(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in tokenize(text)] == expected


def test_abbreviation_trie_matches_what_the_flat_alternation_matches() -> None:
    """The trie in TOKEN_RE picks the longest abbreviation, as the alternation sorted
    by length did, whatever the case and whatever follows."""
    import re

    from kronika.tokens import ABBREVIATIONS, TOKEN_RE, _ABBREV

    flat = "|".join(re.escape(a) for a in sorted(set(ABBREVIATIONS), key=len, reverse=True))
    old = re.compile(TOKEN_RE.pattern.replace(_ABBREV, flat), re.VERBOSE)
    for a in ABBREVIATIONS:
        for form in {a, a.lower(), a.upper(), a.capitalize()}:
            for text in (form, f"x {form}x", f"{form}{form}", f"({form} Nowak)", form[:-1], f"{form[:-1]}s.", f"a{form}"):
                assert [m.span() for m in TOKEN_RE.finditer(text)] == [m.span() for m in old.finditer(text)], text


def test_tokenize_window_and_offsets() -> None:
    text = "Ala ma kota. Kot ma Alę."
    tokens = tokenize(text, 13, 24)
    assert [text[s:e] for s, e in tokens] == ["Kot", "ma", "Alę", "."]
    assert all(not text[s:e].isspace() for s, e in tokenize(text))


def _mention(text: str, surface: str, label: str, occurrence: int = 0) -> Mention:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    return Mention(start, start + len(surface), surface, label, surface, f"{label}-X", "gold_v1", None)


def test_bio_round_trip_and_misaligned_reported() -> None:
    text = "Spotkanie USA-Rosja: Władimir Putin i Kim Dzong Un we Władywostoku."
    aligned = [_mention(text, "Władimir Putin", "PER"), _mention(text, "Kim Dzong Un", "PER"), _mention(text, "Władywostoku", "LOC")]
    cut = _mention(text, "USA", "LOC")  # inside the hyphenated token "USA-Rosja"
    overlapping = _mention(text, "Putin", "PER")
    tokens = tokenize(text)
    tags, missed = spans_to_bio(tokens, [*aligned, cut, overlapping])
    assert missed == [cut, overlapping]
    assert set(tags) <= set(BIO_TAGS)
    assert [t for t in tags if t != "O"] == ["B-PER", "I-PER", "B-PER", "I-PER", "I-PER", "B-LOC"]
    assert bio_to_spans(tokens, tags) == [(m.start, m.end, m.label) for m in aligned]
    ids = [BIO_TAGS.index(t) for t in tags]
    assert bio_to_spans(tokens, ids) == [(m.start, m.end, m.label) for m in aligned]


def test_bio_adjacent_mentions_and_dicts() -> None:
    text = "Białego Domu John Kirby"
    mentions = [_mention(text, "Białego Domu", "LOC").to_dict(), _mention(text, "John Kirby", "PER").to_dict()]
    tokens = tokenize(text)
    tags, missed = spans_to_bio(tokens, mentions)
    assert (tags, missed) == (["B-LOC", "I-LOC", "B-PER", "I-PER"], [])
    assert bio_to_spans(tokens, tags) == [(0, 12, "LOC"), (13, 23, "PER")]


def test_bio_to_spans_is_lenient_about_stray_inside() -> None:
    tokens = [(0, 1), (2, 3), (4, 5)]
    assert bio_to_spans(tokens, ["I-PER", "I-LOC", "O"]) == [(0, 1, "PER"), (2, 3, "LOC")]


def test_split_at_aligns_every_mention() -> None:
    text = "USA-Rosja"
    tokens = split_at(tokenize(text), [0, 3, 4, 9])
    assert [text[s:e] for s, e in tokens] == ["USA", "-", "Rosja"]


# ----------------------------------------------------------------- views
TEXT = (
    "Spotkanie w Świętokrzyskiem\n"
    "\n"
    "Biały Dom potwierdził spotkanie 😀 Władimira Putina i Kim Dzong Una. "
    "Rozmowy m.in. o broni trwały 10-13 września we Władywostoku.\n"
    "Rzecznik \"New York Times\" podał, że USA-Rosja to temat.\n"
    "\n"
    "Koniec relacji z Białego\nDomu."
)


def _row(text: str = TEXT) -> dict:
    mentions = [
        _mention(text, "Świętokrzyskiem", "LOC"),
        _mention(text, "Biały Dom", "LOC"),
        _mention(text, "Władimira Putina", "PER"),
        _mention(text, "Kim Dzong Una", "PER"),
        _mention(text, "Władywostoku", "LOC"),
        _mention(text, "New York Times", "PRO"),
        _mention(text, "USA", "LOC"),  # not on token boundaries: counted
        _mention(text, "Białego\nDomu", "LOC"),  # crosses a newline: sentences merge
    ]
    return {
        "id": "doc_1",
        "text": text,
        "blocks": [{"start": b.start, "end": b.end, "kind": b.kind} for b in split_blocks(text)],
        "language": "pl",
        "entity_status": "automatic",
        "entities": [m.to_dict() for m in sorted(mentions)],
    }


def test_sentence_spans_never_cut_a_mention() -> None:
    row = _row()
    spans = sentence_spans(row)
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    for m in row["entities"]:
        assert sum(s <= m["start"] and m["end"] <= e for s, e in spans) == 1
    merged = next(TEXT[s:e] for s, e in spans if "Białego" in TEXT[s:e])
    assert merged == "Koniec relacji z Białego\nDomu."
    assert "Spotkanie w Świętokrzyskiem" in [TEXT[s:e] for s, e in spans]


def test_mention_rows_shape_and_count() -> None:
    row = _row()
    rows = mention_rows(row)
    assert len(rows) == len(row["entities"])
    assert all(list(r) == list(mention_schema()["properties"]) for r in rows)
    for r in rows:
        assert check_row(r, "mentions") == []
        assert r["sentence_start"] <= r["context_start"] <= r["start"] < r["end"] <= r["context_end"] <= r["sentence_end"]
        assert r["context"][r["start"] - r["context_start"] : r["end"] - r["context_start"]] == r["text"]
        assert r["language"] == "pl" and r["doc_id"] == "doc_1"
    putin = next(r for r in rows if r["text"] == "Władimira Putina")
    assert putin["context"].startswith("Biały Dom") and putin["context"].endswith("Una.")


def test_sentence_rows_validate_and_decode_back() -> None:
    row = _row()
    rows, misaligned = sentence_rows(row)
    assert misaligned == 1
    _, missed = sentence_rows_with_misaligned(row)
    assert [m["text"] for m in missed] == ["USA"]
    index = Index()
    index.add_document(row)
    decoded = set()
    for i, r in enumerate(rows):
        assert list(r) == list(sentence_schema()["properties"])
        assert r["sentence_index"] == i
        assert check_row(r, "sentences") == []
        assert list(index.cross_check("sentences", r)) == []
        assert r["tokens"] == [TEXT[o["start"] : o["end"]] for o in r["token_offsets"]]
        decoded |= set(bio_to_spans([(o["start"], o["end"]) for o in r["token_offsets"]], r["ner_tags"]))
    expected = {(m["start"], m["end"], m["label"]) for m in row["entities"] if m["text"] != "USA"}
    assert decoded == expected


def test_views_of_a_document_without_entities() -> None:
    text = "Jedno zdanie.\nDrugie zdanie."
    blocks = [{"start": b.start, "end": b.end, "kind": b.kind} for b in split_blocks(text)]
    row = {"id": "doc_2", "text": text, "blocks": blocks, "language": "pl", "entity_status": "none", "entities": []}
    assert mention_rows(row) == []
    rows, misaligned = sentence_rows(row)
    assert misaligned == 0 and [r["tokens"] for r in rows] == [["Jedno", "zdanie", "."], ["Drugie", "zdanie", "."]]
    assert all(set(r["ner_tags"]) == {0} for r in rows)


@pytest.mark.parametrize("sentences", [[(14, 26)], []], ids=["after it", "none"])
def test_a_mention_before_every_sentence_given_is_reported(sentences: list[tuple[int, int]]) -> None:
    """A caller's own sentence spans may leave a mention out: it has no tokens to tag,
    so it comes back as misaligned, never dropped in silence."""
    text = "Jan Kowalski. Ala ma kota."
    mention = {"start": 0, "end": 3, "text": "Jan", "label": "PER", "lemma": "Jan", "entity_id": "PER-Jan", "source": "rules_v1", "score": 1.0}
    row = {"id": "d", "text": text, "language": "pl", "entity_status": "automatic", "entities": [mention], "blocks": []}
    rows, missed = sentence_rows_with_misaligned(row, sentences)
    assert [m["text"] for m in missed] == ["Jan"]
    assert len(rows) == len(sentences) and all(set(r["ner_tags"]) <= {0} for r in rows)
