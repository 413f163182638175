"""Run the build's shard plan on Ray Data.

Kronika plans the shards itself (sorted ids, contiguous ranges, fixed file
names) and Ray only schedules them: ``from_items(specs).map(run)`` with one
block per shard. Each task calls the same ``shard.run_shard`` as the local
engine, and that function's writer owns the bytes, so the output is identical
to a local build. Ray is an optional extra: ``pip install 'kronika[ray]'``.

This module imports only the shard interface (``plan``, ``shard``): a Ray
worker that unpickles ``_run_row`` loads no driver.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from typing import Any

from kronika.build.plan import ShardSpec, spec_from_json, spec_to_json
from kronika.build.shard import ShardResult, run_shard
from kronika.layers import EnvironmentFailure


def _run_row(row: dict[str, Any]) -> dict[str, Any]:
    """One Ray task: a spec (JSON) in, its shard's result (JSON) out."""
    result = run_shard(spec_from_json(row["spec"]))
    return {"result": json.dumps(result.__dict__)}


def run_on_ray(
    specs: list[ShardSpec], address: str | None = None, num_cpus: int | None = None, verbose: bool = False
) -> list[ShardResult]:
    """Build every shard on a Ray cluster (``address``) or a local one started here.

    Ray's own INFO and WARNING lines are kept back unless ``verbose``.
    """
    try:
        import ray
    except ImportError:
        raise EnvironmentFailure("the ray engine needs Ray: pip install 'kronika[ray]'") from None
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)
    started_here = not ray.is_initialized()
    temp_dir = None
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": verbose, "logging_level": "INFO" if verbose else "ERROR"}
        if address:
            options["address"] = address
        else:
            temp_dir = tempfile.mkdtemp(prefix="kronika-ray-")
            options |= {"num_cpus": num_cpus, "_temp_dir": temp_dir}
        ray.init(**options)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    try:
        items = [{"spec": spec_to_json(spec)} for spec in specs]
        rows = ray.data.from_items(items, override_num_blocks=len(items)).map(_run_row).take_all()
    except Exception as err:  # a failed task: one line, not Ray's wrapped traceback
        cause = getattr(err, "cause", None) or err
        raise EnvironmentFailure(f"a shard failed on Ray: {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}") from None
    finally:
        if started_here:
            ray.shutdown()
        if temp_dir is not None:  # the local cluster's sessions and logs, about 300 KB a build
            shutil.rmtree(temp_dir, ignore_errors=True)
    results = [ShardResult(**json.loads(row["result"])) for row in rows]
    for result in results:
        result.rejects = [tuple(r) for r in result.rejects]
    return sorted(results, key=lambda r: r.index)
