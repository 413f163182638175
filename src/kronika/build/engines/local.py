"""The local engine: shards on a process pool on this machine, with a progress bar.

Workers fork from a fork server, share one lingua (``language_server``) and
report every article they finish, so the bar counts articles, not shards.
Like every engine it knows only the shard interface (``plan``, ``shard``),
never the driver.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.forkserver
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from typing import Any

from tqdm import tqdm

from kronika.build.plan import ShardSpec
from kronika.build.shard import ShardResult, run_shard, set_tick
from kronika.language_server import LinguaClient, LinguaServer
from kronika.layers import EnvironmentFailure, share_lingua
from kronika.startup import skip_pandas_probe


def run_local(specs: list[ShardSpec], jobs: int, progress: bool, total: int) -> Iterator[ShardResult]:
    """Shard results as they finish. The first shard that fails stops the build:
    the shards not yet started are cancelled."""
    bar = tqdm(total=total, unit="article", disable=not progress or None, file=sys.stderr, mininterval=0.5, desc="loading models")
    with bar:
        if jobs == 1 or len(specs) == 1:
            # several shards: lingua's models load on another core while they run
            previous = share_lingua(_lingua_client()) if len(specs) > 1 else None
            set_tick(lambda: _advance(bar))
            try:
                for spec in specs:
                    yield run_shard(spec)
            finally:
                set_tick(None)
                if len(specs) > 1:
                    share_lingua(previous)
                _stop_serving()
            return
        context = _forkserver()
        key = os.urandom(16)
        server = LinguaServer(ctx=context, authkey=key)
        server.start(exit_with, (os.getpid(),))
        ticks = context.SimpleQueue()
        counter = threading.Thread(target=_count_ticks, args=(ticks, bar), daemon=True)
        counter.start()
        with server, ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_start_worker,
            initargs=(server.address, key, os.getpid(), ticks),
        ) as pool:
            futures = {pool.submit(run_shard, spec): spec for spec in sorted(specs, key=_size, reverse=True)}
            try:
                for future in as_completed(futures):
                    yield future.result()
            except BrokenProcessPool:
                raise EnvironmentFailure("a worker process died (killed, or out of memory)") from None
            finally:
                # shards not started are dropped; running ones end before the caller
                # removes the staging folder they write in (else they wrote it anew)
                pool.shutdown(wait=True, cancel_futures=True)
                ticks.put(None)
                counter.join(timeout=5)


CHUNKS_PER_JOB = 8  # parts of a ``map_chunks`` per process: small enough for the last ones to even out


def map_chunks(work: Callable[[list[Any]], list[Any]], items: list[Any], jobs: int) -> list[Any]:
    """``work`` over consecutive chunks of ``items``, results concatenated in order, on
    ``jobs - 1`` workers of the fork server and this process.

    The workers take chunks from the front, one each at a time, and this process takes
    them from the back, so no core waits while the fork server is still importing
    Kronika, and the two ends meet with little left to wait for.
    """
    size = max(1, -(-len(items) // (jobs * CHUNKS_PER_JOB)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    results: list[list[Any]] = [[] for _ in chunks]
    workers = max(1, jobs - 1)
    front, back = 0, len(chunks)
    running: dict[int, Future[list[Any]]] = {}
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_forkserver(), initializer=_start_helper, initargs=(os.getpid(),)
    ) as pool:
        try:
            while front < back:
                for i in [i for i, future in running.items() if future.done()]:
                    results[i] = running.pop(i).result()
                while len(running) < workers and front < back:
                    running[front] = pool.submit(work, chunks[front])
                    front += 1
                if front < back:
                    back -= 1
                    results[back] = work(chunks[back])
            for i, future in running.items():
                results[i] = future.result()
        except BrokenProcessPool:
            raise EnvironmentFailure("a worker process died (killed, or out of memory)") from None
    return [result for part in results for result in part]


def start_forkserver() -> None:
    """Start the fork server now rather than when the shards are handed out: it imports
    Kronika (about 0.6 s) on another core while the driver places the seeds."""
    _forkserver()
    multiprocessing.forkserver.ensure_running()


def _forkserver() -> Any:
    """The fork server context. It imports Kronika once and forks the workers from
    that clean, single-threaded process: no re-import per worker, no fork of our
    threads. It preloads this module: the workers' side (shard, lingua server), not
    the driver."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["kronika.build.engines.local"])
    # The fork server runs `python -c`, which would put the current folder first
    # on sys.path: a `tqdm.py` there would be imported by every worker.
    os.environ["PYTHONSAFEPATH"] = "1"
    return context


def _count_ticks(ticks: Any, bar: Any) -> None:
    """The build's side of the workers' ticks: advance the bar until told to stop (None)."""
    while ticks.get() is not None:
        _advance(bar)


def _advance(bar: Any) -> None:
    """One article on the bar; the first one ends the model-loading step."""
    if bar.n == 0:
        bar.set_description("building", refresh=False)
    bar.update(1)


def _start_helper(main_pid: int) -> None:
    """Pool initializer of ``map_chunks``: no pandas probe, and gone with the build
    (a killed build would otherwise leave the helper blocked forever)."""
    skip_pandas_probe()
    exit_with(main_pid)


def _start_worker(address: Any, key: bytes, main_pid: int, ticks: Any = None) -> None:
    """Pool initializer: this worker's tagger asks the build's lingua server, and it
    reports every article it finishes to the build's progress bar (and it
    starts without pandas, ``kronika.startup``)."""
    skip_pandas_probe()
    exit_with(main_pid)
    if ticks is not None:
        set_tick(lambda: ticks.put(1))
    server = LinguaServer(address=address, authkey=key)
    server.connect()
    share_lingua(LinguaClient(server.lingua))


@cache
def _lingua_client() -> LinguaClient:
    """This process's client of a lingua server for its 1-job builds of several shards.

    The client lasts as long as the tagger that holds it (``layers.tools_for``); the
    server starts when such a tagger is made (a build whose layers all come from the
    cache makes none) and stops when the build ends (``_stop_serving``).
    """
    atexit.register(_stop_serving)  # runs before multiprocessing's exit hook, which would wait for a server
    return LinguaClient(lambda: _serve_lingua())


def _serve_lingua() -> Any:
    key = os.urandom(16)
    server = LinguaServer(ctx=_forkserver(), authkey=key)
    server.start(exit_with, (os.getpid(),))
    _SERVERS.append(server)
    return server.lingua()


_SERVERS: list[LinguaServer] = []


def _stop_serving() -> None:
    """Stop the 1-job builds' lingua server once its answers are in (a server still
    starting is waited for): no server outlives the build, and a dead one is not
    held against the next build, whose client connects anew."""
    if _lingua_client.cache_info().currsize:
        _lingua_client().forget()
    while _SERVERS:
        _SERVERS.pop().shutdown()


def exit_with(pid: int) -> None:
    """End this process once process ``pid`` (the build's) is gone.

    Workers and the lingua server are children of the fork server, not of the
    build: if the build is killed (``kill -9``, out of memory) nobody tells
    them, and they would wait forever, holding their models.
    """

    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(pid, 0)
            except OSError:  # gone (or its pid reused by another user's process)
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-build", daemon=True).start()


def _size(spec: ShardSpec) -> int:
    """Bytes of a shard's seeds. Running the biggest shards first leaves small
    ones for the end, so no worker waits long for the last shard of another."""
    total = 0
    for seed in spec.seeds:
        try:
            total += os.stat(seed).st_size
        except OSError:
            pass
    return total
