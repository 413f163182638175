"""What a Kronika process does once at its start, before any work.

``pyarrow_without_numpy``: pyarrow imports numpy at its own import (50-70 ms here,
a sixth of a build whose every shard comes from the cache) only to offer numpy
conversions. A build or a validation never hands pyarrow a numpy array nor asks
for one (annotators, plug-ins included, hand back plain Python values: the layer
cache stores them as JSON), so those commands import pyarrow with numpy out of
reach. numpy still imports afterwards for whoever wants it, but that process's
pyarrow converts no numpy arrays (``to_numpy`` raises ImportError, ``pa.array``
of one ArrowInvalid).

``skip_pandas_probe``: the first time pyarrow turns a Python list into an array it
imports pandas (0.25-0.33 s here, a quarter of a one-seed build), only to ask
whether the list is a pandas object (apache/arrow#34994, open). A build or a
validation never hands pyarrow a pandas object, so those commands and the build's
workers let pyarrow find no pandas at that first probe. Nothing else changes:
``import pandas`` works afterwards, and pyarrow imports it properly for the first
``to_pandas`` or ``from_pandas``. Library callers (``validate_path`` in a
notebook) are left alone.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec


class _Refuse:
    """A meta path finder that refuses one package (for the length of one import or probe)."""

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name.partition(".")[0] == self.package:
            raise ImportError(f"{self.package} is not needed here (kronika.startup)")
        return None


def pyarrow_without_numpy() -> None:
    """Import pyarrow with numpy out of reach (a no-op if either is imported already)."""
    if "pyarrow" in sys.modules or "numpy" in sys.modules:
        return
    finder = _Refuse("numpy")
    sys.meta_path.insert(0, finder)
    try:  # pyarrow.compute's own module imports numpy too
        import pyarrow.compute  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    finally:
        sys.meta_path.remove(finder)


def skip_pandas_probe() -> None:
    """Let pyarrow's pandas probe run now, with pandas out of reach (a no-op if
    pandas is imported already: then the probe costs nothing)."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _Refuse("pandas")
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)
