"""Tests of the Polish entity layer (text written for these tests; no shared data needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("morfeusz2")

from kronika import eval_entities  # noqa: E402
from kronika.entities import (  # noqa: E402
    GAZETTEER,
    RULES,
    EntityAnnotator,
    LexiconEntry,
    entity_status,
    get_annotator,
    merge_layers,
)
from kronika.lexicon import FORMS_FILE, Lexicon, data_text, forms_text, make_entity_id, read_rows  # noqa: E402
from kronika.morph import Morph  # noqa: E402
from kronika.record import ENTITY_ID_PATTERN, LABELS, LAYER_PATTERN, Mention  # noqa: E402

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "entity_cases.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]

ARTICLE = (
    "Biały Dom potwierdził, że prezydent Władimir Putin przyjmie Kim Dzong Una we Władywostoku.\n\n"
    "Rzeczniczka Rady Bezpieczeństwa Narodowego Jane Doolittle powiedziała w rozmowie z CNN, że USA "
    "obserwują rozmowy. Kim chce broni, a Putin - żywności. Według \"New York Times\" Moskwa i Pjongjang "
    "negocjują od miesięcy.\n\nO TYM SIĘ MÓWI\n\nPolska i Ukraina wezwały Rosję do wycofania wojsk."
)


@pytest.fixture(scope="module")
def ann() -> EntityAnnotator:
    return get_annotator()


def _check_invariants(text: str, mentions: list[Mention]) -> None:
    last_end = -1
    for m in mentions:
        assert text[m.start : m.end] == m.text
        assert m.label in LABELS
        assert m.lemma.strip()
        assert re.match(ENTITY_ID_PATTERN, m.entity_id), m.entity_id
        assert re.match(LAYER_PATTERN, m.source)
        assert m.score is None or 0.0 <= m.score <= 1.0
        assert m.start >= last_end, "overlapping or unsorted mentions"
        last_end = m.end


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:30] for c in CASES])
def test_table_cases(ann: EntityAnnotator, case: dict) -> None:
    text = case["text"]
    got = {(m.text, m.label, m.lemma) for m in ann.annotate(text, "pl")}
    for surface, label, lemma in case["expect"]:
        assert (surface, label, lemma) in got, (surface, got)


def test_article_invariants_and_traps(ann: EntityAnnotator) -> None:
    mentions = ann.annotate(ARTICLE, "pl")
    _check_invariants(ARTICLE, mentions)
    found = {(m.text, m.label) for m in mentions}
    assert ("Władimir Putin", "PER") in found
    assert ("Kim Dzong Una", "PER") in found
    assert ("Rady Bezpieczeństwa Narodowego", "ORG") in found
    assert ("Jane Doolittle", "PER") in found  # unknown foreign name after an organisation
    assert ("Kim", "PER") in found  # the pronoun reading loses to the name used in the article
    assert ("Polska", "LOC") in found and ("Rosję", "LOC") in found
    assert not any(m.text in ("TYM", "SIĘ", "MÓWI", "Rzeczniczka") for m in mentions)


def test_layers_are_separate_and_merge_is_documented(ann: EntityAnnotator) -> None:
    layers = ann.annotate_layers(ARTICLE, "pl")
    assert set(layers) == set(ann.layers) == {GAZETTEER, RULES}
    for name, ms in layers.items():
        assert all(m.source == name for m in ms)
    assert ann.annotate(ARTICLE, "pl") == merge_layers(layers)


def test_merge_prefers_longer_then_gazetteer() -> None:
    short = Mention(0, 5, "Putin", "PER", "Putin", "PER-Putin", GAZETTEER, 0.9)
    long = Mention(0, 11, "Putin Trump", "PER", "Putin Trump", "PER-X", RULES, 0.5)
    same_rules = Mention(12, 17, "Rosja", "ORG", "Rosja", "ORG-Rosja", RULES, 0.5)
    same_gaz = Mention(12, 17, "Rosja", "LOC", "Rosja", "GPE-Rosja", GAZETTEER, 0.9)
    crossing = Mention(8, 14, "ump Ro", "ORG", "x", "ORG-x", GAZETTEER, 0.9)
    out = merge_layers({RULES: [long, same_rules], GAZETTEER: [short, same_gaz, crossing]})
    assert out == [long, same_gaz]


def test_deterministic(ann: EntityAnnotator) -> None:
    first = ann.annotate(ARTICLE, "pl")
    fresh = EntityAnnotator()
    assert fresh.annotate(ARTICLE, "pl") == first == ann.annotate(ARTICLE, "pl")
    assert fresh.fingerprint() == ann.fingerprint()


def test_extra_entries_are_inflected_and_change_fingerprint(ann: EntityAnnotator) -> None:
    extra = (LexiconEntry("Zofia Wrzosowska", "PER", "PER-Zofia-Wrzosowska"),)
    with_extra = get_annotator(extra)
    assert with_extra is get_annotator(extra)
    assert with_extra.fingerprint() != ann.fingerprint()
    text = "Wywiad z Zofią Wrzosowską ukazał się w sobotę."
    ms = with_extra.annotate(text, "pl")
    assert [(m.text, m.lemma, m.entity_id) for m in ms] == [("Zofią Wrzosowską", "Zofia Wrzosowska", "PER-Zofia-Wrzosowska")]


def test_non_polish_gets_only_lexicon_matches(ann: EntityAnnotator) -> None:
    text = "The European Union and Russia met in Brussels. Mr Smithers said nothing."
    ms = ann.annotate(text, "en")
    _check_invariants(text, ms)
    assert {(m.text, m.label) for m in ms} == {("European Union", "ORG"), ("Russia", "LOC"), ("Brussels", "LOC")}
    assert ann.annotate("Die Europäische Union und Russland.", "de") == []
    assert ann.annotate("Whatever Text Here", "und") == []


def test_entity_status() -> None:
    assert entity_status("pl") == "automatic"
    assert entity_status("en") == "lexicon"
    assert entity_status("und") == "none"


def test_lexicon_file_is_well_formed() -> None:
    rows = list(read_rows(data_text("lexicon.tsv")))
    assert len(rows) > 500
    for row in rows:
        assert re.match(ENTITY_ID_PATTERN, row.entry.entity_id), row
    assert make_entity_id("PER", "Władimir Putin") == "PER-Wladimir-Putin"
    assert make_entity_id("LOC", "Łódź") == "LOC-Lodz"


def test_eval_entities_reports_json_last(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "Premier spotkał się z Władimirem Putinem w Moskwie."
    s = text.index("Władimirem Putinem")
    m = text.index("Moskwie")
    gold = {"id": "t1", "text": text, "entities": [
        {"start": s, "end": s + 18, "text": "Władimirem Putinem", "label": "PER", "lemma": "Władimir Putin"},
        {"start": m, "end": m + 7, "text": "Moskwie", "label": "LOC", "lemma": "Moskwa"},
    ]}
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(gold, ensure_ascii=False) + "\n", encoding="utf-8")
    assert eval_entities.main(["--gold", str(path)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["f1"] == 1.0 and last["lemma_accuracy"] == 1.0
    for key in ("precision", "recall", "f1", "lemma_accuracy", "docs_per_second"):
        assert key in last


@pytest.mark.parametrize(
    "line, needle",
    [
        ("not json", ":1: invalid JSON"),
        ('{"text": "abc"}', ":1: missing field 'entities'"),
        ('{"text": "abc", "entities": [{"start": 0, "end": 2, "text": "ab", "label": "XYZ", "lemma": "ab"}]}', "field 'label'"),
        ('{"text": "abc", "entities": [{"start": 0, "end": 2, "text": "zz", "label": "PER", "lemma": "ab"}]}', "field 'text'"),
        ('{"text": "abc", "entities": [{"start": 0, "end": 2, "text": "ab", "label": "PER"}]}', "missing field 'lemma'"),
    ],
)
def test_eval_entities_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, needle: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    assert eval_entities.main(["--gold", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and needle in err[0]
    assert "Traceback" not in err[0]


def test_eval_entities_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_entities.main(["--gold", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl" in capsys.readouterr().err


def test_shipped_lexicon_forms_are_current() -> None:
    """The shipped inflected forms equal a fresh inflection; if not: python scripts/make_lexicon_forms.py"""
    fresh = Lexicon(Morph(), known={})
    assert data_text(FORMS_FILE) == forms_text(fresh.computed)
    shipped = Lexicon(Morph())
    assert shipped.computed == {} and list(shipped.polish.items()) == list(fresh.polish.items())
