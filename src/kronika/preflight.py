"""Preflight: are the annotators' packages and models there, before any seed is read?

A missing package is the machine's fault, not a seed's. Found late, it would
"reject" every seed one by one (and, with ``--keep-going``, swap an empty corpus
over a good one), so the build checks once, up front, with the standard library
only: this module must import even when the packages it looks for are missing.

What to look for comes from the registry (``kronika.registry``): every entry
names the packages it imports and the model files it loads, without importing
them, so a plug-in's needs are checked like the built-ins'.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.util import find_spec

from kronika import registry

INSTALL_HINT = "pip install 'kronika[annotate]'"

class ToolsMissing(RuntimeError):
    """An annotator cannot run on this machine; the message says what to install."""


def check_tools(entries: Iterable[registry.Annotator] | None = None) -> None:
    """Raise ``ToolsMissing`` naming every missing package or model file of ``entries``
    (default: every registered annotator)."""
    found = registry.entries() if entries is None else tuple(entries)
    packages = registry.packages(found)
    missing = [package for module, package in packages.items() if not _importable(module)]
    if missing:
        raise ToolsMissing(f"missing package(s): {', '.join(missing)}; install them with {INSTALL_HINT}")
    for package, name in registry.models(found):
        if not registry.package_file(package, name).is_file():
            raise ToolsMissing(f"model file {name} of package {packages.get(package, package)} is missing; reinstall it with {INSTALL_HINT}")


def _importable(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False
