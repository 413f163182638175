"""Tests of the bg/cs/ru/sl/uk/en name annotator (texts written for these tests; no shared data).

The table ``data/names_cases.jsonl`` lists, per language, sentences with every mention the
merged layers must publish: text, label, base form and entity id, in order.
"""

from __future__ import annotations

import unicodedata
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("pymorphy3")
pytest.importorskip("simplemma")
pytest.importorskip("anyascii")

from kronika import names  # noqa: E402
from kronika.entities import merge_layers  # noqa: E402
from kronika.lexicon import LexiconEntry  # noqa: E402
from kronika.names import CAPS_LAYER, LANGUAGES, LAYERS, LEXICON_LAYER, NameAnnotator, derived_id, fingerprint  # noqa: E402
from kronika.record import ENTITY_ID_PATTERN, LABELS, LAYER_PATTERN, MAX_MENTION_CHARS, Mention  # noqa: E402

CASES_FILE = Path(__file__).parent / "data" / "names_cases.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def ann() -> NameAnnotator:
    return NameAnnotator()


def _check(text: str, layers: dict[str, list[Mention]]) -> None:
    assert set(layers) == set(LAYERS)
    for name, mentions in layers.items():
        assert re.match(LAYER_PATTERN, name)
        for m in mentions:
            assert m.source == name
            assert text[m.start : m.end] == m.text
            assert 0 < m.end - m.start <= MAX_MENTION_CHARS
            assert m.label in LABELS
            assert m.lemma.strip()
            assert re.match(ENTITY_ID_PATTERN, m.entity_id), m.entity_id


def test_every_language_has_cases() -> None:
    assert {c["language"] for c in CASES} == set(LANGUAGES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['language']}:{c['text'][:30]}" for c in CASES])
def test_table_cases(ann: NameAnnotator, case: dict) -> None:
    layers = ann.annotate_layers(case["text"], case["language"])
    _check(case["text"], layers)
    got = [[m.text, m.label, m.lemma, m.entity_id] for m in merge_layers(layers)]
    assert got == case["expect"]


def test_interface_constants() -> None:
    assert LEXICON_LAYER != CAPS_LAYER
    assert not {LEXICON_LAYER, CAPS_LAYER} & {"gazetteer_v1", "rules_v1"}
    assert LEXICON_LAYER < CAPS_LAYER  # unranked layers tie-break by name: lexicon first
    assert set(LANGUAGES) == {"bg", "cs", "en", "ru", "sl", "uk"}


def test_other_languages_get_empty_layers(ann: NameAnnotator) -> None:
    assert ann.annotate_layers("Władimir Putin przyjechał do Moskwy.", "pl") == {LEXICON_LAYER: [], CAPS_LAYER: []}


def test_derived_ids_transliterate_cyrillic() -> None:
    assert derived_id("PER", "Иван Петров") == "PER-Ivan-Petrov"
    assert derived_id("ORG", "Бългаpска асоциация") .startswith("ORG-B")
    assert derived_id("LOC", "Šumava") == "LOC-Sumava"
    assert derived_id("PER", "...") == "PER-X"


def test_gold_entries_inflected_in_their_script_exact_elsewhere() -> None:
    gold = [
        LexiconEntry("Иван Сидоров", "PER", "PER-Ivan-Sidorov-gold"),
        LexiconEntry("Jan Novák", "PER", "PER-Jan-Novak-gold"),
        LexiconEntry("Kronika Foundation", "ORG", "ORG-Kronika-Foundation"),
    ]
    ann = NameAnnotator(gold)
    ru = merge_layers(ann.annotate_layers("Вчера у Ивана Сидорова был гость из Kronika Foundation.", "ru"))
    assert [(m.text, m.lemma, m.entity_id) for m in ru] == [
        ("Ивана Сидорова", "Иван Сидоров", "PER-Ivan-Sidorov-gold"),
        ("Kronika Foundation", "Kronika Foundation", "ORG-Kronika-Foundation"),
    ]
    cs = merge_layers(ann.annotate_layers("Včera jsme mluvili s Janem Novákem.", "cs"))
    assert [(m.text, m.lemma, m.entity_id) for m in cs] == [("Janem Novákem", "Jan Novák", "PER-Jan-Novak-gold")]
    bg = merge_layers(ann.annotate_layers("Говори Jan Novák от Kronika Foundation.", "bg"))
    assert {m.entity_id for m in bg} == {"PER-Jan-Novak-gold", "ORG-Kronika-Foundation"}


def test_fingerprint_tracks_gold_and_is_stable() -> None:
    assert fingerprint() == fingerprint()
    assert fingerprint([LexiconEntry("Jan Novák", "PER", "PER-Jan-Novak")]) != fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint())


class _Counter:
    """Counts the per-word work of the annotator: lexicon probes and word-fact lookups."""

    def __init__(self, pack: names.LanguagePack) -> None:
        self.calls = 0
        for attr in ("name_like", "head_of", "common", "tags", "adjective", "phrase_adjective"):
            self._wrap(pack, attr)
        self._wrap_index(pack)

    def _wrap(self, pack: names.LanguagePack, attr: str) -> None:
        inner = getattr(pack, attr)

        def counted(*args, **kwargs):
            self.calls += 1
            return inner(*args, **kwargs)

        setattr(pack, attr, counted)

    def _wrap_index(self, pack: names.LanguagePack) -> None:
        counter = self

        class CountingDict(dict):
            def get(self, key, default=None):
                counter.calls += 1
                return dict.get(self, key, default)

        pack.index = CountingDict(pack.index)


@pytest.mark.parametrize("language,word", [("ru", "Иванов"), ("cs", "Novák"), ("en", "Smith"), ("bg", "Петров")])
def test_linear_on_capitalised_words(language: str, word: str) -> None:
    """50,000 capitalised words: the work per word stays bounded (counted, not timed)."""
    work = {}
    for n in (10_000, 50_000):
        ann = NameAnnotator()
        pack = ann.pack(language)
        counter = _Counter(pack)
        words = [f"{word}{'' if i % 7 else ''} {'Министерство' if language == 'ru' and i % 11 == 0 else word}" for i in range(n // 2)]
        text = " ".join(words) + "."
        layers = ann.annotate_layers(text, language)
        _check(text, layers)
        for m in merge_layers(layers):
            assert m.end - m.start <= MAX_MENTION_CHARS
        work[n] = counter.calls
    assert work[50_000] <= 5.5 * work[10_000]
    assert work[50_000] <= 40 * 50_000


def test_long_capitalised_runs_give_no_overlong_mention(ann: NameAnnotator) -> None:
    text = " ".join(["Wielkopolskaaaaaaaaaaaaaaaaaaaaaaaaa"] * 20) + " said."
    for language in LANGUAGES:
        layers = ann.annotate_layers(text, language)
        _check(text, layers)


def test_sentence_initial_common_words_are_not_names(ann: NameAnnotator) -> None:
    cases = {
        "ru": "Однако Министерство молчит. Вчера шёл дождь.",
        "cs": "Podle agentury to nebylo pravda. Včera pršelo.",
        "sl": "Včeraj je deževalo. Danes bo sončno.",
        "en": "However the weather was fine. Yesterday it rained.",
        "bg": "Вчера валя дъжд. Днес ще бъде слънчево.",
        "uk": "Вчора йшов дощ. Сьогодні буде сонячно.",
    }
    for language, text in cases.items():
        got = [m.text for m in merge_layers(ann.annotate_layers(text, language))]
        assert not any(w in got for w in ("Однако", "Вчера", "Podle", "Včera", "Včeraj", "Danes", "However", "Yesterday", "Днес", "Вчора", "Сьогодні")), got


def test_resources_are_one_folder_per_language() -> None:
    for language in LANGUAGES:
        folder = names.lang_dir(language)
        assert folder.joinpath("lexicon.tsv").is_file()
        for entry in names.read_lexicon(names.read_resource(language, "lexicon.tsv")):
            assert entry.label in LABELS
            assert re.match(ENTITY_ID_PATTERN, entry.entity_id), (language, entry)


def test_registry_entries_match_the_module() -> None:
    from kronika import names, registry

    entries = {a.name: a for a in registry.entries() if a.factory == "kronika.names:from_context"}
    assert set(entries) == set(names.LAYERS)
    assert all(a.version == names.NAMES_VERSION and set(a.languages) == set(names.LANGUAGES) for a in entries.values())


def test_mentions_do_not_depend_on_what_was_annotated_before() -> None:
    """A worker's memo of keyed words must not change a later document: "Ruští" keyed
    by an earlier pass once made it a LOC here, and not in a fresh process (so a 1-job
    and a 2-job build differed)."""
    text = "Tenisté mají mezi sebou politiky. Ruští ani běloruští tenisté nemohou hrát."
    fresh = NameAnnotator().annotate_layers(text, "cs")
    primed = NameAnnotator()
    for word in re.findall(r"\w+", text):
        primed.pack("cs").morph.key(word)
    assert primed.annotate_layers(text, "cs") == fresh


def test_decomposed_accents_stay_inside_names() -> None:
    """In decomposed (NFD) text an accent is a combining mark after its letter: no name
    may end before it ("Plze" of "Plzeň" was a mention)."""
    text = unicodedata.normalize("NFD", "Starosta města Plzeň Roman Zarzycký jednal v Brně s ministrem.")
    found = [m for layer in NameAnnotator().annotate_layers(text, "cs").values() for m in layer]
    assert found
    for m in found:
        assert text[m.start : m.end] == m.text
        assert not unicodedata.combining(text[m.end : m.end + 1] or " "), m
