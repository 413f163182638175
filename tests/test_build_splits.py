"""A built corpus in three splits: loadable per config and split, copies together, stable as it grows."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kronika.build import build
from kronika.validate import validate_path

NAMES = ["Jan Kowalski", "Anna Nowak", "Warszawa", "Kraków", "Polska", "Unia Europejska", "Donald Tusk", "Berlin"]
WORDS = "dziś rano wczoraj spotkanie rozmowa rząd ustawa miasto ludzie sprawa wieczorem powiedział ogłosił".split()


def _article(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randrange(4, 9)):
        words = [rng.choice(WORDS) for _ in range(rng.randrange(6, 14))]
        words.insert(rng.randrange(len(words)), rng.choice(NAMES))
        sentences.append(" ".join(words).capitalize() + ".")
    return f"Tytuł {rng.randrange(10**6)}\n\n" + " ".join(sentences) + "\n"


def _write(seeds: Path, rng: random.Random, prefix: str, n: int) -> None:
    seeds.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (seeds / f"{prefix}{i:03d}.txt").write_text(_article(rng), encoding="utf-8")


def _splits(corpus: Path, config: str) -> dict[str, str]:
    out = {}
    key = "id" if config == "documents" else "doc_id"
    for path in sorted((corpus / config).glob("*.parquet")):
        for doc_id in pq.read_table(path, columns=[key]).column(key).to_pylist():
            out[doc_id] = path.name.split("-")[0]
    return out


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """60 articles (one an exact copy), built; then 100 more added and rebuilt."""
    root = tmp_path_factory.mktemp("splits")
    rng = random.Random(11)
    _write(root / "seeds", rng, "a", 60)
    (root / "seeds" / "zz-copy.txt").write_bytes((root / "seeds" / "a007.txt").read_bytes())
    build(root / "seeds", root / "corpus", jobs=1, progress=False, cache_dir=root / "cache")
    before = _splits(root / "corpus", "documents")
    _write(root / "seeds", rng, "b", 100)
    build(root / "seeds", root / "corpus", jobs=1, progress=False, cache_dir=root / "cache")
    return root, before, _splits(root / "corpus", "documents")


def test_every_config_loads_per_split_and_agrees(grown: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    root, _, after = grown
    assert set(after.values()) == {"train", "validation", "test"}
    ids = {}
    for config in ("documents", "mentions", "sentences"):
        for split in ("train", "validation", "test"):
            ds = datasets.load_dataset(str(root), config, split=split, cache_dir=str(tmp_path / "hf"))
            ids[config, split] = set(ds["id" if config == "documents" else "doc_id"])
    for split in ("train", "validation", "test"):
        assert ids["mentions", split] <= ids["documents", split]
        assert ids["sentences", split] == ids["documents", split]


def test_adding_articles_moves_no_document(grown: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    _, before, after = grown
    assert all(after[doc_id] == split for doc_id, split in before.items())


def test_copies_share_a_cluster_and_a_split(grown: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    root, _, after = grown
    rows = pq.read_table(root / "corpus" / "documents").to_pylist()
    by_id = {r["id"]: r for r in rows}
    assert by_id["zz-copy"]["duplicate_cluster"] == by_id["a007"]["duplicate_cluster"] == "a007"
    assert by_id["a007"]["duplicate_count"] == 2 and after["zz-copy"] == after["a007"]
    alone = [r for r in rows if r["id"] not in ("a007", "zz-copy")]
    assert all(r["duplicate_cluster"] is None and r["duplicate_count"] == 1 for r in alone)


def test_drop_duplicates_keeps_one_document_that_validates(grown: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path) -> None:
    root, _, after = grown
    report = build(root / "seeds", tmp_path / "corpus", jobs=1, progress=False, cache_dir=root / "cache", drop_duplicates=True)
    splits = _splits(tmp_path / "corpus", "documents")
    assert "a007" in splits and "zz-copy" not in splits and splits["a007"] == after["a007"]
    assert any(r["reason"] == "duplicate of a007 (--drop-duplicates)" for r in report.skipped)
    rows = {r["id"]: r for r in pq.read_table(tmp_path / "corpus" / "documents").to_pylist()}
    assert (rows["a007"]["duplicate_cluster"], rows["a007"]["duplicate_count"]) == (None, 1)  # alone in this corpus
    assert validate_path(tmp_path / "corpus") == []


def _gold(seeds: Path, doc_id: str, sha256: str | None = None) -> None:
    digest = sha256 or hashlib.sha256((seeds / f"{doc_id}.txt").read_bytes()).hexdigest()
    (seeds / f"{doc_id}.gold.json").write_text(json.dumps({"doc_id": doc_id, "sha256": digest, "layer": "gold_v1", "annotator": "test", "mentions": []}))


@pytest.mark.parametrize("doom", ["stale", "dangling link"])
def test_drop_duplicates_keeps_a_copy_of_a_seed_its_gold_file_dooms(tmp_path: Path, doom: str) -> None:
    """The smallest id of a cluster is rejected for its gold file: the copy is kept in its place."""
    seeds = tmp_path / "seeds"
    _write(seeds, random.Random(5), "c", 3)
    (seeds / "c000-copy.txt").write_bytes((seeds / "c000.txt").read_bytes())
    if doom == "stale":
        _gold(seeds, "c000", sha256="0" * 64)
    else:
        (seeds / "c000.gold.json").symlink_to("missing.json")
    report = build(seeds, tmp_path / "corpus", jobs=1, progress=False, cache_dir=None, keep_going=True, drop_duplicates=True)
    assert [r["file"] for r in report.rejected] == [str(seeds / "c000.gold.json")]  # with its reason
    assert not report.skipped
    assert set(_splits(tmp_path / "corpus", "documents")) == {"c000-copy", "c001", "c002"}
    assert validate_path(tmp_path / "corpus") == []


def test_drop_duplicates_keeps_the_copy_with_a_gold_file(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    _write(seeds, random.Random(6), "c", 2)
    (seeds / "c000-copy.txt").write_bytes((seeds / "c000.txt").read_bytes())
    _gold(seeds, "c000-copy")
    report = build(seeds, tmp_path / "corpus", jobs=1, progress=False, cache_dir=None, drop_duplicates=True)
    assert [r["reason"] for r in report.skipped] == ["duplicate of c000-copy (--drop-duplicates)"]
    # every seed given is accounted for: 3 seeds, 2 built, 1 dropped as a copy
    assert (report.seeds, report.built, report.dropped_copies) == (3, 2, 1)
    assert report.summary().startswith("built 2 of 3 seeds (1 dropped as copies) into ")
    rows = {r["id"]: r for r in pq.read_table(tmp_path / "corpus" / "documents").to_pylist()}
    assert set(rows) == {"c000-copy", "c001"} and rows["c000-copy"]["entity_status"] == "gold"
    assert validate_path(tmp_path / "corpus") == []


def test_a_dropped_copy_keeps_its_split_when_built_later(tmp_path: Path) -> None:
    """A copy dropped in one version and built in the next (its kept document gone) stays
    in the split it had: the same text must not move from test to train."""
    seeds = tmp_path / "seeds"
    _write(seeds, random.Random(7), "p", 12)
    for i in range(12):
        (seeds / f"q{i:03d}.txt").write_bytes((seeds / f"p{i:03d}.txt").read_bytes())
    build(seeds, tmp_path / "corpus", jobs=1, progress=False, cache_dir=None, drop_duplicates=True)
    before = _splits(tmp_path / "corpus", "documents")
    assert set(before) == {f"p{i:03d}" for i in range(12)}
    for i in range(12):
        (seeds / f"p{i:03d}.txt").unlink()
    build(seeds, tmp_path / "corpus", jobs=1, progress=False, cache_dir=None, drop_duplicates=True)
    after = _splits(tmp_path / "corpus", "documents")
    assert {doc_id[1:]: split for doc_id, split in after.items()} == {doc_id[1:]: split for doc_id, split in before.items()}


def test_report_counts_languages_and_times_annotators(tmp_path: Path) -> None:
    rng = random.Random(2)
    _write(tmp_path / "seeds", rng, "d", 6)
    report = build(tmp_path / "seeds", tmp_path / "corpus", jobs=2, shard_size=2, progress=False, cache_dir=None)
    assert sum(report.languages.values()) == report.built == 6
    assert report.annotator_seconds and all(seconds >= 0 for seconds in report.annotator_seconds.values())
    assert "documents per language:" in report.summary()


def test_placement_on_worker_processes_equals_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signatures computed in the fork server's workers give the same splits and clusters,
    in the same order; a seed that cannot be decoded is left out either way."""
    from kronika.build import driver
    from kronika.ingest import list_seeds

    seeds = tmp_path / "seeds"
    rng = random.Random(5)
    _write(seeds, rng, "p", 40)
    (seeds / "p900.txt").write_bytes((seeds / "p003.txt").read_bytes())  # an exact copy
    (seeds / "p901.txt").write_bytes(b"\xff\xfe broken")
    listed = list_seeds(seeds)[0]
    one = driver.place(listed, seeds, tmp_path / "out", None)
    monkeypatch.setattr(driver, "PARALLEL_SIGNATURES", 1)
    pooled = driver.place(listed, seeds, tmp_path / "out", None, jobs=2)
    assert list(pooled.items()) == list(one.items())
    assert "p901" not in one and one["p900"][1] == one["p003"][1] == "p003"


def test_when_nothing_builds_the_message_counts_the_dropped_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kronika.build import BuildError, shard
    from kronika.ingest import SeedError

    seeds = tmp_path / "seeds"
    _write(seeds, random.Random(8), "c", 1)
    (seeds / "c000-copy.txt").write_bytes((seeds / "c000.txt").read_bytes())

    def failing(seed: Path, *args: object) -> None:
        raise SeedError(seed, "planted failure")

    monkeypatch.setattr(shard, "begin_row", failing)
    with pytest.raises(BuildError, match=r"none of the 2 seed\(s\) \(1 dropped as copies\) could be built"):
        build(seeds, tmp_path / "corpus", jobs=1, progress=False, cache_dir=None, keep_going=True, drop_duplicates=True)
