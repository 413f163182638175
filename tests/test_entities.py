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
from kronika.entities import Candidates, Words  # noqa: E402
from kronika.lang.pl.inflect import FORMS_FILE, PolishForms, forms_text, lexicon_text  # noqa: E402
from kronika.lang.pl.morph import Morph  # noqa: E402
from kronika.lexicon import Lexicon, make_entity_id, read_rows  # noqa: E402
from kronika import lang  # noqa: E402
from kronika.record import ENTITY_ID_PATTERN, LABELS, LAYER_PATTERN, MAX_MENTION_CHARS, Mention  # noqa: E402

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


def test_the_polish_annotator_leaves_other_languages_alone(ann: EntityAnnotator) -> None:
    """Other languages have annotators of their own (kronika.names)."""
    assert ann.annotate("The European Union and Russia met in Brussels.", "en") == []
    assert ann.annotate("Die Europäische Union und Russland.", "de") == []
    assert ann.annotate("Whatever Text Here", "und") == []


def test_entity_status() -> None:
    assert entity_status("pl") == "automatic"
    assert entity_status("en") == "automatic"  # kronika.names
    assert entity_status("und") == "none"


def test_lexicon_file_is_well_formed() -> None:
    rows = list(read_rows(lexicon_text()))
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
    fresh_forms, shipped_forms = PolishForms(Morph(), known={}), PolishForms(Morph())
    fresh = Lexicon(fresh_forms, read_rows(lexicon_text()))
    assert lang.read_text("pl", FORMS_FILE) == forms_text(fresh_forms.computed)
    shipped = Lexicon(shipped_forms, read_rows(lexicon_text()))
    assert shipped_forms.computed == {} and list(shipped.inflected.items()) == list(fresh.inflected.items())


# ------------------------------------------------------------- linear in the input (issue 10)
# Capitalised word pools that exercise each rule: organisation words and unknown words
# (``_foreign_name``), adjectives before heads (``_head_span``), common nouns, names.
CAPITALISED_POOLS = {
    "organisations": "Polska Rada Unii Europejskiej Bank Group Xanthe Qorvath Jan Kowalski Władimir Putina Forum Ekonomiczne Wielki Nowy".split(),
    "adjectives": "Północny Wschodni Zachodni Południowy Wielki Nowy Stary Górny Dolny Czerwony Biały Polski".split(),
    "unknown": "Xanthe Qorvath Zembla Brixton Halvorsen Okonkwo Nakamura Fitzgerald".split(),
    "common": "Kot Pies Dom Stół Okno Drzewo Kwiat Rzeka Góra Miasto".split(),
}


def _capitalised(pool: list[str], n: int, seed: int = 1) -> str:
    import random

    rng = random.Random(seed)
    return " ".join(rng.choice(pool) for _ in range(n))


def test_fifty_thousand_capitalised_words_make_no_overlong_mention(ann: EntityAnnotator) -> None:
    """One run of 50,000 capitalised words used to become one ORG "mention" of
    hundreds of thousands of characters (and took minutes); now it is cut into
    pieces of at most MAX_MENTION_CHARS characters."""
    text = _capitalised(CAPITALISED_POOLS["organisations"] + CAPITALISED_POOLS["unknown"], 50_000)
    layers = ann.annotate_layers(text, "pl")
    for ms in layers.values():
        assert all(m.end - m.start <= MAX_MENTION_CHARS for m in ms)
    mentions = merge_layers(layers)
    _check_invariants(text, mentions)
    assert len(mentions) > 50_000 * 5 // MAX_MENTION_CHARS  # the pieces are still read


@pytest.mark.parametrize("pool", list(CAPITALISED_POOLS))
def test_rules_work_per_word_is_bounded(ann: EntityAnnotator, pool: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work per word does not grow with the run: count the word look-ups and head-span
    scans (no timing). Rebuilding ``run[k:]`` for every k made both grow with n."""
    calls = {"word": 0, "head": 0}
    word, head_span = Words.__call__, Candidates._head_span

    def counting_word(self: Words, text: str):  # noqa: ANN202
        calls["word"] += 1
        return word(self, text)

    def counting_head(self: Candidates, *args, **kwargs):  # noqa: ANN202, ANN002, ANN003
        calls["head"] += 1
        return head_span(self, *args, **kwargs)

    monkeypatch.setattr(Words, "__call__", counting_word)
    monkeypatch.setattr(Candidates, "_head_span", counting_head)
    per_word = []
    for n in (2_000, 8_000):
        calls.update(word=0, head=0)
        text = _capitalised(CAPITALISED_POOLS[pool], n)
        mentions = ann.annotate(text, "pl")
        assert all(m.end - m.start <= MAX_MENTION_CHARS for m in mentions)
        assert calls["head"] <= 2 * n
        per_word.append(calls["word"] / n)
    assert per_word[1] <= 12 and per_word[1] <= per_word[0] * 1.2, per_word


def test_long_run_is_cut_between_words_and_short_runs_stay_whole(ann: EntityAnnotator) -> None:
    from kronika.entities import _Doc

    text = "Rada Unii Europejskiej " + _capitalised(CAPITALISED_POOLS["unknown"], 200) + " Royal Dutch Shell"
    doc = _Doc(text)
    runs = ann.candidates._runs(doc)
    assert len(runs) == 1
    pieces = ann.candidates._pieces(doc, runs[0])
    assert len(pieces) > 1
    assert [i for p in pieces for i in p] == runs[0]  # consecutive, nothing lost (no digits/connectors here)
    for p in pieces:
        assert doc.tokens[p[-1]][1] - doc.tokens[p[0]][0] <= MAX_MENTION_CHARS
    short = _Doc("W Brukseli spotkali się Jan Kowalski i Rada Unii Europejskiej.")
    assert all(ann.candidates._pieces(short, run) == [run] for run in ann.candidates._runs(short))


def test_word_longer_than_a_mention_is_no_name(ann: EntityAnnotator) -> None:
    word = "Q" + "x" * (MAX_MENTION_CHARS + 50)
    text = f"Spotkanie {word} Group i {word} w Warszawie."
    mentions = ann.annotate(text, "pl")
    _check_invariants(text, mentions)
    assert all(m.end - m.start <= MAX_MENTION_CHARS for m in mentions)
    assert ("Warszawie", "LOC") in {(m.text, m.label) for m in mentions}


def test_pieces_drop_connectors_and_digits_at_cuts(ann: EntityAnnotator) -> None:
    from kronika.entities import _Doc

    text = " of ".join(["Xanthe Qorvath 2 Zembla"] * 40)
    doc = _Doc(text)
    for run in ann.candidates._runs(doc):
        for piece in ann.candidates._pieces(doc, run):
            assert ann.candidates._is_cap(doc, piece[0]) and ann.candidates._is_cap(doc, piece[-1])
    mentions = ann.annotate(text, "pl")
    _check_invariants(text, mentions)
    assert all(m.end - m.start <= MAX_MENTION_CHARS for m in mentions)


def test_merge_matches_the_plain_rule_on_random_layers() -> None:
    """merge_layers (a byte per character) against the rule written out plainly."""
    import random

    rng = random.Random(5)
    for _ in range(200):
        layers: dict[str, list[Mention]] = {GAZETTEER: [], RULES: []}
        for name in layers:
            for _ in range(rng.randint(0, 12)):
                s = rng.randint(0, 60)
                e = s + rng.randint(1, 10)
                layers[name].append(Mention(s, e, "x" * (e - s), "ORG", "x", "ORG-x", name, 0.5))
        cands = sorted(
            ((-(m.end - m.start), {GAZETTEER: 0, RULES: 1}[n], n, m.start, m) for n, ms in layers.items() for m in ms),
            key=lambda c: c[:4],
        )
        taken: list[Mention] = []
        for *_k, m in cands:
            if all(m.end <= t.start or m.start >= t.end for t in taken):
                taken.append(m)
        assert merge_layers(layers) == sorted(taken, key=lambda m: (m.start, m.end))
