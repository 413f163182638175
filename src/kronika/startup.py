"""What a Kronika process does once at its start, before any work.

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


class _NoPandas:
    """A meta path finder that refuses pandas (for the length of one probe)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name.partition(".")[0] == "pandas":
            raise ImportError("pandas is not needed here (kronika.startup)")
        return None


def skip_pandas_probe() -> None:
    """Let pyarrow's pandas probe run now, with pandas out of reach (a no-op if
    pandas is imported already: then the probe costs nothing)."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)
