"""One lingua for every worker of a parallel build, served from one process.

It belongs to the language annotator, not to the build: the tagger takes any
object that answers like ``language.Lingua`` (``layers.share_lingua``), and
this server is how a process pool shares one. An engine starts it and points
its workers at it.
"""

from __future__ import annotations

from functools import cache
from multiprocessing.managers import BaseManager

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
