"""`--engine ray` gives the same bytes as the local engine (local Ray, 2 CPUs, no dashboard)."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from kronika.build import BuildError, build, cut_points

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


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (lambda: f"127.0.0.1:{_closed_port()}", "no Ray cluster answers at 127.0.0.1:"),
        (lambda: "nonsense", "--ray-address 'nonsense': expected HOST:PORT"),
        (lambda: "ray://host:port", "expected HOST:PORT, ray://HOST:PORT, auto or local"),
        (lambda: "host:²", "--ray-address 'host:²': expected HOST:PORT"),
    ],
)
def test_unreachable_cluster_fails_at_once_before_any_seed_is_read(tmp_path: Path, address, expected) -> None:
    """Ray retried an address nothing answers for minutes, printing only warnings."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "d0.txt").write_text("Tytuł\n\nAkapit o Warszawie.\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(BuildError, match=re.escape(expected)):
        build(seeds, tmp_path / "out" / "corpus", jobs=1, progress=False, engine="ray", ray_address=address())
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()


def test_a_local_cluster_that_cannot_start_is_one_line_and_leaves_no_temp_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kronika.build.engines import ray as engine
    from kronika.layers import EnvironmentFailure

    monkeypatch.setattr(engine.tempfile, "tempdir", str(tmp_path))

    def refuse(**_options) -> None:
        raise RuntimeError("cannot start raylet\nsecond line")

    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(EnvironmentFailure, match=r"^Ray did not start: RuntimeError: cannot start raylet$"):
        engine.run_on_ray([])
    assert list(tmp_path.iterdir()) == []
