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
import socket
import tempfile
from typing import Any

from kronika.build.plan import ShardSpec, spec_from_json, spec_to_json
from kronika.build.shard import ShardResult, run_shard
from kronika.layers import EnvironmentFailure
from kronika.record import one_line


CONNECT_TIMEOUT = 5  # seconds to reach a cluster's address before the build stops


def check_ray(address: str | None) -> None:
    """Before any seed is read: Ray is installed and the cluster's address answers.

    Given an address that nothing answers, ``ray.init`` retries for minutes and
    prints only warnings; one TCP connection says at once. ``auto`` and ``local`` are left to Ray.
    """
    _ray()
    if not address or address in ("auto", "local"):
        return
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not host or not (port.isascii() and port.isdigit()):
        raise EnvironmentFailure(f"--ray-address {address!r}: expected HOST:PORT, ray://HOST:PORT, auto or local")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except (OSError, OverflowError) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise EnvironmentFailure(f"no Ray cluster answers at {address}: {reason}") from None


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EnvironmentFailure("the ray engine needs Ray: pip install 'kronika[ray]'") from None
    return ray


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
    ray = _ray()  # the driver ran ``check_ray`` before reading any seed
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
        try:
            ray.init(**options)
        except Exception as err:  # a cluster that refuses us, a local one that cannot start
            ray.shutdown()  # a half-started local cluster
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)
            raise EnvironmentFailure(f"Ray did not start: {type(err).__name__}: {_first_line(err)}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    try:
        items = [{"spec": spec_to_json(spec)} for spec in specs]
        rows = ray.data.from_items(items, override_num_blocks=len(items)).map(_run_row).take_all()
    except Exception as err:  # a failed task: one line, not Ray's wrapped traceback
        cause = getattr(err, "cause", None) or err
        raise EnvironmentFailure(f"a shard failed on Ray: {type(cause).__name__}: {_first_line(cause)}") from None
    finally:
        if started_here:
            ray.shutdown()
        if temp_dir is not None:  # the local cluster's sessions and logs, about 300 KB a build
            shutil.rmtree(temp_dir, ignore_errors=True)
    results = [ShardResult(**json.loads(row["result"])) for row in rows]
    for result in results:
        result.rejects = [tuple(r) for r in result.rejects]
    return sorted(results, key=lambda r: r.index)


def _first_line(err: BaseException) -> str:
    text = str(err)
    return one_line(text.splitlines()[0]) if text else ""
