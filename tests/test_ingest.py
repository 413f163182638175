"""Table-driven ingest tests (tests/data/ingest_cases.jsonl) and the lossless round trip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import DATA, ROOT, SEED_ID
from kronika.assemble import assemble
from kronika.ingest import SeedError, parse_seed, read_seed
from kronika.record import raw_bytes

CASES = [json.loads(line) for line in (DATA / "ingest_cases.jsonl").read_text(encoding="utf-8").splitlines()]


def _raw(case: dict) -> bytes:
    return bytes.fromhex(case["raw_hex"]) if "raw_hex" in case else case["raw"].encode("utf-8")


def _row(doc) -> dict:
    return assemble(doc, language="und", language_script="und", language_score=0.0, languages=[], entities=[], entity_status="none")


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_ingest_case(case: dict) -> None:
    name = case.get("file", "case.txt")
    if "error" in case:
        with pytest.raises(SeedError, match=case["error"]) as err:
            parse_seed(_raw(case), name)
        assert str(err.value).startswith(f"{name}: ")
        return
    doc = parse_seed(_raw(case), name)
    expect = case["expect"]
    for key, value in expect.items():
        got = [[b.start, b.end, b.kind] for b in doc.blocks] if key == "blocks" else getattr(doc, key)
        assert got == value, key


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in c], ids=lambda c: c["case"])
def test_lossless_round_trip(case: dict) -> None:
    raw = _raw(case)
    assert raw_bytes(_row(parse_seed(raw, "case.txt"))) == raw


def test_seed_round_trip_and_metadata() -> None:
    path = ROOT / "seeds" / f"{SEED_ID}.txt"
    doc = read_seed(path, ROOT / "seeds")
    assert raw_bytes(_row(doc)) == path.read_bytes()
    assert (doc.id, doc.date, doc.date_precision, doc.title) == (SEED_ID, "2023-09", "month", None)
    assert doc.text.startswith("Zobacz wideo Marzena")
    kinds = [b.kind for b in doc.blocks]
    assert kinds[0] == "boilerplate"
    lines = path.read_text(encoding="utf-8").split("\n")
    headings = [doc.text[b.start : b.end] for b in doc.blocks if b.kind == "heading"]
    assert headings == [lines[4], lines[10]]  # the seed's lines 5 and 11


def test_directory_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(SeedError, match="dir.txt: is a directory"):
        read_seed(tmp_path / "dir.txt", tmp_path)


def test_symlink_outside_is_rejected(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (tmp_path / "outside.txt").write_text("Tekst.", encoding="utf-8")
    os.symlink(tmp_path / "outside.txt", seeds / "link.txt")
    with pytest.raises(SeedError, match="link.txt: symlink points outside the seeds folder"):
        read_seed(seeds / "link.txt", seeds)


def test_symlink_inside_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("Tekst.", encoding="utf-8")
    os.symlink(tmp_path / "real.txt", tmp_path / "alias.txt")
    assert read_seed(tmp_path / "alias.txt", tmp_path).id == "alias"
