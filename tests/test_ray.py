"""`--engine ray` gives the same bytes as the local engine (local Ray, 2 CPUs, no dashboard)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kronika.build import build, cut_points

ray = pytest.importorskip("ray")


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ray_output_equals_local(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i in range(5):
        (seeds / f"d{i}.txt").write_text(f"Tytuł {i}\n\nAkapit numer {i} o Warszawie i Krakowie.\n", encoding="utf-8")
    build(seeds, tmp_path / "local" / "corpus", jobs=1, shard_size=2, progress=False)
    build(seeds, tmp_path / "ray" / "corpus", jobs=2, shard_size=2, progress=False, engine="ray")
    assert _tree(tmp_path / "ray") == _tree(tmp_path / "local")
    shards = len(cut_points([f"d{i}" for i in range(5)], 2))
    assert shards > 1 and len(list((tmp_path / "ray" / "corpus" / "documents").glob("*.parquet"))) == shards
