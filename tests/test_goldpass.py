"""The gold lexicon pass: a gold edit re-runs only the cheap pass; the output equals a full rebuild."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from kronika.build import build
from kronika.goldpass import GOLD_PASS, GoldPass, vocabulary_of
from kronika.ingest import read_seed
from kronika.lexicon import LexiconEntry

TEXTS = {
    "a": "Wczoraj Władimir Putin przyjechał do Mińska.\n",
    "b": "Władimira Putina widziano w Krakowie. Mówił o Polsce.\n",
    "c": "Mr Władimir Putin spoke in London yesterday.\n",
    "d": "Nic tu nie ma.\n",
}
GOLD_ID = "PER-Vladimir-Putin-as-reviewed"  # not the lexicon's id, so the test sees which layer won


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _gold(seeds: Path, doc_id: str, surface: str, lemma: str) -> None:
    doc = read_seed(seeds / f"{doc_id}.txt", seeds)
    start = doc.text.index(surface)
    data = {
        "doc_id": doc_id, "sha256": doc.sha256, "layer": "gold_v1", "annotator": "test",
        "mentions": [{"start": start, "end": start + len(surface), "text": surface, "label": "PER", "lemma": lemma,
                      "entity_id": GOLD_ID}],
    }
    (seeds / f"{doc_id}.gold.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_gold_pass_matches_inflected_polish_and_exact_other_forms() -> None:
    gold = GoldPass([LexiconEntry("Władimir Putin", "PER", GOLD_ID)])
    found = gold.annotate(TEXTS["b"], "pl")
    assert [(m.text, m.lemma, m.source) for m in found] == [("Władimira Putina", "Władimir Putin", GOLD_PASS)]
    assert [m.text for m in gold.annotate(TEXTS["c"], "en")] == ["Władimir Putin"]
    assert GoldPass([]).annotate(TEXTS["c"], "en") == []
    for line_break in ("\r", "\u2028", "\x85"):  # a name never spans a line, however it ends
        found = gold.annotate(TEXTS["c"].replace("Władimir Putin", f"Władimir{line_break}Putin"), "en")
        assert [m.text for m in found] == ["Putin"]  # the surname alone, on its line


def _built_then_reviewed(tmp_path: Path) -> tuple[Path, Path]:
    """The seeds built with a cache into ``inc/``, then a gold file for "a" (seeds, cache)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for doc_id, text in TEXTS.items():
        (seeds / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    cache = tmp_path / "cache"
    build(seeds, tmp_path / "inc" / "corpus", jobs=1, progress=False, cache_dir=cache)
    _gold(seeds, "a", "Władimir Putin", "Władimir Putin")
    return seeds, cache


def test_a_gold_edit_keeps_the_layer_cache_and_equals_a_full_rebuild(tmp_path: Path) -> None:
    seeds, cache = _built_then_reviewed(tmp_path)
    report = build(seeds, tmp_path / "inc" / "corpus", jobs=1, progress=False, cache_dir=cache)
    assert report.from_cache == len(TEXTS)  # no document annotated again: only the gold pass ran
    build(seeds, tmp_path / "full" / "corpus", jobs=1, progress=False, cache_dir=None)
    assert _tree(tmp_path / "inc") == _tree(tmp_path / "full")  # the corpus, its card and croissant.json
    rows = {r["id"]: r for r in pq.read_table(tmp_path / "full" / "corpus" / "documents").to_pylist()}
    assert rows["a"]["entity_status"] == "gold"
    b = [m for m in rows["b"]["entities"] if m["source"] == GOLD_PASS]
    assert [(m["text"], m["entity_id"]) for m in b] == [("Władimira Putina", GOLD_ID)]  # wins the equal span
    assert [m["entity_id"] for m in rows["c"]["entities"] if m["text"] == "Władimir Putin"] == [GOLD_ID]


def test_a_rejected_gold_file_teaches_the_gold_pass_nothing(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for doc_id in ("a", "c"):
        (seeds / f"{doc_id}.txt").write_text(TEXTS[doc_id], encoding="utf-8")
    _gold(seeds, "a", "Władimir Putin", "Władimir Putin")
    (seeds / "a.txt").write_text(TEXTS["a"].replace("Wczoraj", "Dziś"), encoding="utf-8")  # the gold is now stale
    report = build(seeds, tmp_path / "out" / "corpus", jobs=1, progress=False, cache_dir=None, keep_going=True)
    assert [r["file"].endswith("a.gold.json") for r in report.rejected] == [True]
    rows = pq.read_table(tmp_path / "out" / "corpus" / "documents").to_pylist()
    assert all(m["source"] != GOLD_PASS for r in rows for m in r["entities"])


def test_relevant_entries_are_those_whose_forms_could_start_in_the_text() -> None:
    gold = GoldPass([LexiconEntry("Władimir Putin", "PER", GOLD_ID), LexiconEntry("Kraków", "LOC", "LOC-Krakow")])
    words = {doc_id: vocabulary_of([text]) for doc_id, text in TEXTS.items()}
    assert [e.lemma for e in gold.relevant(words["b"])] == ["Kraków", "Władimir Putin"]  # inflected: Krakowie, Władimira
    assert [e.lemma for e in gold.relevant(words["c"])] == ["Władimir Putin"]
    assert gold.relevant(words["d"]) == ()


def test_a_gold_edit_reassembles_only_the_documents_it_reaches(tmp_path: Path, monkeypatch) -> None:
    """The shard is patched: its own document and those holding the new name are
    re-assembled, the others kept from the last build, and the bytes equal a full rebuild."""
    from kronika.build import shard

    seeds, cache = _built_then_reviewed(tmp_path)
    collected: list[list[str]] = []
    collect = shard._collect

    def spy(spec, tools, layer_cache, result, which):
        which = list(which)
        collected.append([Path(spec.seeds[i]).stem for i in which])
        return collect(spec, tools, layer_cache, result, which)

    monkeypatch.setattr(shard, "_collect", spy)
    build(seeds, tmp_path / "inc" / "corpus", jobs=1, progress=False, cache_dir=cache)
    assert collected == [["a", "b", "c"]]  # "d" holds no form of the new entry
    monkeypatch.undo()
    build(seeds, tmp_path / "full" / "corpus", jobs=1, progress=False, cache_dir=None)
    assert _tree(tmp_path / "inc") == _tree(tmp_path / "full")  # the corpus, its card and croissant.json
