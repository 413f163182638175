"""One lingua for every worker of a parallel build, served from one process.

It belongs to the language annotator, not to the build: the tagger takes any
object that answers like ``language.Lingua`` (``layers.share_lingua``), and
this server is how a process pool shares one. An engine starts it and points
its workers at it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import cache
from multiprocessing.managers import BaseManager
from typing import Any

from kronika.language import Lingua


class LinguaServer(BaseManager):
    """One process that holds lingua's models for every worker of a local build.

    lingua loads a language's models (up to 0.5 s each) in every process that
    uses them; served from one process they load once per build, not once per
    worker. Its answers are the same wherever it runs, so the bytes are too.
    """


@cache
def _one_lingua() -> Lingua:
    return Lingua()


LinguaServer.register("lingua", callable=_one_lingua)


ASK, CONNECT, FORGET = "ask", "connect", "forget"  # what the helper thread is asked to do
FORGET_TIMEOUT = 30.0  # seconds ``forget`` waits for answers still to come


class LinguaClient:
    """A served lingua asked without waiting: ``confidences_later`` hands the question
    to a helper thread, which waits for the server's answer while the shard goes on.

    A build's first questions wait for the server's models to load (0.2-0.6 s per
    pair of languages); asked in this process they stopped the shard for that long.
    The answers are the server's, so the bytes are the same either way.
    ``connect`` gives the proxy (it may start the server); it runs in the helper
    thread, on the first question.
    """

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._questions: queue.SimpleQueue[tuple[Future[Any], str, tuple[Any, ...]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._helper: threading.Thread | None = None

    def confidences(self, text: str, codes: tuple[str, ...], quick: bool = False) -> dict[str, float]:
        return self.confidences_later(text, codes, quick).result()

    def confidences_later(self, text: str, codes: tuple[str, ...], quick: bool = False) -> Future[dict[str, float]]:
        return self._put(ASK, (text, codes, quick))

    def connect_soon(self) -> None:
        """Connect (start the server) now, in the helper thread, so that the first
        questions wait only for their models; the tagger calls it when it is made,
        which a build whose layers all come from the cache never does."""
        self._put(CONNECT)

    def forget(self, timeout: float = FORGET_TIMEOUT) -> None:
        """Once the questions asked so far are answered, forget the server (its owner
        stops it; a later question connects again, and a failure is forgotten too)."""
        if self._helper is not None:
            with contextlib.suppress(TimeoutError):
                self._put(FORGET).result(timeout)

    def _put(self, kind: str, question: tuple[Any, ...] = ()) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._helper is None:
                self._helper = threading.Thread(target=self._answer, name="kronika-lingua-client", daemon=True)
                self._helper.start()
        self._questions.put((future, kind, question))
        return future

    def _answer(self) -> None:
        remote: Any = None
        broken: BaseException | None = None
        while True:
            future, kind, question = self._questions.get()
            if kind == FORGET:
                remote, broken = None, None
                future.set_result(None)
                continue
            if remote is None and broken is None:
                try:
                    remote = self._connect()
                except BaseException as err:  # no server: every question fails, as the machine's fault
                    broken = ConnectionError(f"the lingua server did not start: {type(err).__name__}: {err}")
            if broken is not None:
                future.set_exception(broken)
                continue
            try:
                future.set_result(remote.confidences(*question) if kind == ASK else None)
            except (EOFError, OSError) as err:  # the server is gone: the machine's fault, not the text's
                broken = ConnectionError(f"the lingua server stopped: {type(err).__name__}: {err}")
                future.set_exception(broken)
            except BaseException as err:  # the text's (lingua raised on it): this question only
                future.set_exception(err)

