"""The build package's dependencies point one way: engines know the shard interface, not the driver."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kronika.build

PACKAGE = Path(kronika.build.__file__).parent
# module -> the kronika.build modules it may import
ALLOWED = {
    "plan": set(),
    "shard": {"kronika.build.plan"},
    "engines/local": {"kronika.build.plan", "kronika.build.shard"},
    "engines/ray": {"kronika.build.plan", "kronika.build.shard"},
}


def _build_imports(path: Path) -> set[str]:
    """The ``kronika.build...`` modules a file imports, anywhere in it (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {name for name in found if name == "kronika.build" or name.startswith("kronika.build.")}


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_lower_modules_do_not_import_the_driver(module: str) -> None:
    assert _build_imports(PACKAGE / f"{module}.py") <= ALLOWED[module]


@pytest.mark.parametrize("engine", ["kronika.build.engines.local", "kronika.build.engines.ray"])
def test_an_engine_loads_no_driver(engine: str) -> None:
    """What a worker imports (the engine, hence the package) leaves the driver unloaded."""
    code = f"import sys, {engine}; print(sorted(m for m in sys.modules if m.startswith('kronika.build')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "kronika.build.driver" not in loaded, loaded


def test_the_package_re_exports_every_public_name() -> None:
    """``from kronika.build import X`` keeps working for every name the old ``build.py`` offered."""
    for name in kronika.build.__all__:
        assert getattr(kronika.build, name) is not None
    from kronika.build import BuildError, LinguaServer, build, exit_with
    from kronika.build.driver import BuildError as home
    from kronika.language_server import LinguaServer as served

    assert BuildError is home and LinguaServer is served and callable(build) and callable(exit_with)
