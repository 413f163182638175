"""Build: seeds folder -> corpus folder (Parquet shards, manifest) + card.

The build in pieces, as datatrove keeps its executors apart:

- ``plan``: where the sorted seeds are cut (``cut_points``), ``ShardSpec`` and its JSON;
- ``shard``: the pure shard function (``run_shard``), its rows and its cache;
- ``engines.local``, ``engines.ray``: what runs a plan (a process pool, Ray Data);
- ``driver``: placement, staging, the manifest, the card and the report (``build``).

Dependencies point one way: ``cli`` -> ``driver`` -> engines -> ``shard``,
``plan`` -> the stages. The names below stay importable from ``kronika.build``,
but load on first use (PEP 562): a worker that imports ``kronika.build.shard``
runs this file too, and must not load the driver. ``kronika.build.plan`` is
the module; the planning function is ``kronika.build.plan.plan``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kronika.build.driver import (
        CROISSANT, MANIFEST, WORKER_MEMORY, BuildError, BuildReport, build, model_folders, place, previous_splits,
        usable_jobs, write_report,
    )
    from kronika.build.engines.local import exit_with, run_local
    from kronika.build.engines.ray import run_on_ray
    from kronika.build.plan import DEFAULT_SHARD_SIZE, ShardSpec, cut_points, spec_from_json, spec_to_json
    from kronika.build.shard import ShardCache, ShardResult, build_row, run_shard, tick
    from kronika.language_server import LinguaServer

_HOMES = {
    "kronika.build.plan": ("DEFAULT_SHARD_SIZE", "ShardSpec", "cut_points", "spec_from_json", "spec_to_json"),
    "kronika.build.shard": ("ShardCache", "ShardResult", "build_row", "run_shard", "tick"),
    "kronika.build.engines.local": ("exit_with", "run_local"),
    "kronika.build.engines.ray": ("run_on_ray",),
    "kronika.build.driver": (
        "CROISSANT", "MANIFEST", "WORKER_MEMORY", "BuildError", "BuildReport", "build", "model_folders", "place",
        "previous_splits", "usable_jobs", "write_report",
    ),
    "kronika.language_server": ("LinguaServer",),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """A re-exported name, imported from its module the first time it is asked for."""
    try:
        module = _HOME[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
