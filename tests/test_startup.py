"""A build or validation starts without pandas and imports pyarrow without numpy; both
still import afterwards (kronika.startup)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

PROBE = """
import sys
from kronika.startup import skip_pandas_probe
skip_pandas_probe()
import pyarrow as pa
pa.Table.from_pylist([{"a": 1, "b": "x"}])
assert "pandas" not in sys.modules, "pyarrow imported pandas"
import pandas as pd
table = pa.Table.from_pandas(pd.DataFrame({"a": [1.0, None], "c": pd.Categorical(["u", "v"])}))
assert table.column("a").null_count == 1 and pa.types.is_dictionary(table.column("c").type)
assert table.to_pandas()["a"].isna().sum() == 1
print("ok")
"""


NUMPY_PROBE = """
import sys
from kronika.startup import pyarrow_without_numpy
pyarrow_without_numpy()
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
assert "numpy" not in sys.modules, "pyarrow imported numpy"
table = pa.Table.from_pylist([{"a": 1, "b": "x"}, {"a": 2, "b": None}])
assert pc.sum(table["a"]).as_py() == 3 and table["b"].null_count == 1
import numpy as np
assert int(np.arange(3).sum()) == 3
try:
    table["a"].to_numpy()
except ImportError:
    print("ok")
"""


def test_pyarrow_without_numpy_works_and_numpy_still_imports() -> None:
    done = subprocess.run([sys.executable, "-c", NUMPY_PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_pandas_is_skipped_then_works() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_validate_command_imports_neither_pandas_nor_numpy() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kronika.cli", "validate", str(ROOT / "corpus")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    # a refused import shows as a line too, but nothing of pandas' or numpy's own loads
    assert not any(name.startswith(("pandas.", "numpy.")) for name in imported)


def test_build_command_imports_neither_pandas_nor_numpy(tmp_path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for seed in (ROOT / "seeds").glob("*.txt"):
        (seeds / seed.name).write_bytes(seed.read_bytes())
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kronika.cli", "build", "--seeds", str(seeds),
         "--out", str(tmp_path / "out" / "corpus"), "--no-cache", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert not any(name.startswith(("pandas.", "numpy.")) for name in imported)


def test_a_build_from_the_cache_loads_no_morphology(tmp_path) -> None:
    """Every shard from the cache: the gold pass's anchor index comes from the cache too,
    so neither Morfeusz nor simplemma is imported, and the output is the same."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for seed in (ROOT / "seeds").iterdir():  # the seed and its gold file
        (seeds / seed.name).write_bytes(seed.read_bytes())
    command = [sys.executable, "-X", "importtime", "-m", "kronika.cli", "build", "--seeds", str(seeds),
               "--out", str(tmp_path / "out" / "corpus"), "--cache", str(tmp_path / "cache"), "--quiet"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert list((tmp_path / "cache" / "goldpass").glob("*.json"))
    before = {p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in again.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & {"morfeusz2", "simplemma"}
    after = {p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before
