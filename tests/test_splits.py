"""Splits and duplicate clusters: deterministic, copies on one side, nothing moves when articles are added."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kronika.duplicates import MIN_JACCARD, clusters, jaccard, signature
from kronika.splits import PROPORTIONS, SPLITS, SplitError, assign, hashed_split, read_pins

WORDS = "ala ma kota a kot ma ale w domu stoi stół przy oknie na którym leży książka o historii miasta".split()


def _article(rng: random.Random, n: int = 300) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def _edit(rng: random.Random, text: str, share: float) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = "zmiana" + str(i)
    return " ".join(words)


def test_hashed_split_proportions() -> None:
    counts = {s: 0 for s in SPLITS}
    for i in range(20_000):
        counts[hashed_split(f"doc{i}")] += 1
    for split in SPLITS:
        assert abs(counts[split] / 20_000 - PROPORTIONS[split] / 100) < 0.01


def test_planted_near_duplicates_are_found_and_nothing_else() -> None:
    rng = random.Random(5)
    texts = {f"a{i:03d}": _article(rng) for i in range(300)}
    planted = {}
    for i in range(0, 300, 10):
        planted[f"b{i:03d}"] = f"a{i:03d}"
        texts[f"b{i:03d}"] = _edit(rng, texts[f"a{i:03d}"], 0.01)
    found = clusters({k: signature(v) for k, v in texts.items()}, texts.__getitem__)
    hits = sum(1 for copy, original in planted.items() if copy in found and found[copy].id == found[original].id)
    assert hits / len(planted) >= 0.95
    for doc_id, cluster in found.items():  # no cluster joins unrelated articles
        assert jaccard(texts[doc_id], texts[cluster.id]) >= MIN_JACCARD
        assert cluster.size == 2


def test_exact_copies_cluster_under_the_smallest_id() -> None:
    text = "Premier spotkał się z prezydentem w Warszawie."
    texts = {"z": text, "m": "PREMIER spotkał się  z prezydentem w Warszawie!", "k": "Inny tekst."}
    found = clusters({k: signature(v) for k, v in texts.items()}, texts.__getitem__)
    assert found["z"].id == found["m"].id == "m" and found["m"].size == 2 and "k" not in found


def test_texts_without_words_are_no_copies() -> None:
    texts = {"a": "***", "b": "---  ...", "c": "— „” —", "d": "Inny tekst."}
    assert clusters({k: signature(v) for k, v in texts.items()}, texts.__getitem__) == {}


def test_copies_never_straddle_and_adding_moves_nothing() -> None:
    ids = [f"d{i:04d}" for i in range(2000)]
    cluster_of = {d: "d0000" for d in ids[:40]} | {d: "d0100" for d in ids[100:130]}
    first = assign(ids, cluster_of, {}, {})
    assert len({first[d] for d in ids[:40]}) == 1 and len({first[d] for d in ids[100:130]}) == 1
    more = ids + [f"c{i:04d}" for i in range(100)]
    # a new copy with a smaller id joins an existing cluster: the old members stay where they were
    cluster_of_more = cluster_of | {"c0000": "c0000"} | {d: "c0000" for d in ids[:40]}
    second = assign(more, cluster_of_more, {}, first)
    assert all(second[d] == first[d] for d in ids)
    assert second["c0000"] == first["d0000"]


def test_a_pin_moves_the_whole_cluster(tmp_path: Path) -> None:
    (tmp_path / "splits.tsv").write_text("# curated\nd1\ttest\n")
    pins = read_pins(tmp_path)
    assert pins == {"d1": "test"}
    out = assign(["d0", "d1", "d2"], {"d0": "d0", "d1": "d0"}, pins, {})
    assert out["d0"] == out["d1"] == "test"


def test_bad_pin_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "splits.tsv").write_text("d1\ttest\nd2 dev\n")
    with pytest.raises(SplitError, match=r"splits.tsv:2: expected"):
        read_pins(tmp_path)


def test_signatures_are_deterministic() -> None:
    text = _article(random.Random(1))
    assert signature(text) == signature(text)
    assert signature("za krótki").bands == ()
