"""Kronika: raw news articles in, a versioned, schema-validated HF dataset out."""

from __future__ import annotations

from functools import cache


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata on first use: importlib.metadata
    costs 35 ms, which the plot process (``kronika.plots``) has no need to pay."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'kronika' has no attribute {name!r}")


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kronika")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"
