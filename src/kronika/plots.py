"""The card's plots: ``labels.png`` and ``languages.png``, drawn by matplotlib, the
same bytes for the same figures.

Apart from ``kronika.stats`` (which counts the figures from the Parquet) so that
the process that draws them (``PlotProcess``, ``python -m kronika.plots``) imports
matplotlib and nothing heavy (``kronika.atomic`` for the files): it starts beside a
build and must be ready by the time the build has its figures.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kronika.atomic import write_bytes

PLOTS = ("labels.png", "languages.png")

FIGSIZE = (8.0, 4.5)
PLOT_VERSION = 1  # bump when the drawing code changes: cached PNGs are keyed by it
DPI = 100


def draw_plots(
    out_dir: Path, labels: dict[str, list[int]], splits: list[str], languages: list[tuple[str, dict[str, int]]]
) -> list[Path]:
    """Draw ``PLOTS`` into ``out_dir`` in this process (``stats.write_plots`` pins what they show)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    written = []
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update({"svg.hashsalt": "kronika", "path.simplify": True, "font.family": "DejaVu Sans"})
        written.append(_save(plt, _label_figure(plt, labels, splits), out_dir / "labels.png"))
        written.append(_save(plt, _language_figure(plt, languages), out_dir / "languages.png"))
    return written


class PlotProcess:
    """Draws the plots in a process of its own, started when the build starts, so
    matplotlib's import (0.4-0.7 s) runs beside the annotation instead of after it.
    The process runs this module, which imports nothing of Kronika's but itself
    (no pyarrow), so it is ready sooner.

    The process imports matplotlib, then waits for one request on its stdin; at
    end of input (the build needed no drawing, or ended) it exits. Any failure
    returns None and the caller draws in its own process: the bytes are the same.
    """

    def __init__(self, start: bool = True) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        if start:
            self.start()

    def start(self) -> None:
        """Start the process (once): a build calls it when it knows it will draw."""
        if self._proc is not None:
            return
        env = {**os.environ, "PYTHONSAFEPATH": "1"}  # never import a module from the current folder
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "kronika.plots", DRAW_FLAG],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            )
        except OSError:
            self._proc = None

    def draw(
        self, out_dir: Path, labels: dict[str, list[int]], splits: list[str], languages: list[tuple[str, dict[str, int]]]
    ) -> list[Path] | None:
        if self._proc is None:
            return None
        request = json.dumps({"out_dir": str(out_dir), "labels": labels, "splits": splits, "languages": languages})
        try:
            self._proc.communicate((request + "\n").encode(), timeout=DRAW_TIMEOUT)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.close()
            return None
        paths = [out_dir / name for name in PLOTS]
        return paths if self._proc.returncode == 0 and all(p.is_file() for p in paths) else None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


DRAW_FLAG = "--draw-plots-from-stdin"
DRAW_TIMEOUT = 120


def _serve_plots() -> int:
    """The ``PlotProcess`` side: import matplotlib first, then draw what one line asks."""
    import matplotlib.pyplot  # noqa: F401 (the slow part, done before the request comes)

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    draw_plots(Path(request["out_dir"]), request["labels"], request["splits"], [tuple(x) for x in request["languages"]])
    return 0


def _label_figure(plt: Any, labels: dict[str, list[int]], splits: list[str]) -> Any:
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    bottom = [0] * len(labels)
    for i, split in enumerate(splits):
        heights = [counts[i] for counts in labels.values()]
        ax.bar(list(labels), heights, bottom=bottom, label=split)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_title("Entity mentions per label")
    ax.set_ylabel("mentions")
    if len(splits) > 1:
        ax.legend(title="split")
    fig.tight_layout()
    return fig


def _language_figure(plt: Any, languages: list[tuple[str, dict[str, int]]]) -> Any:
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    names = [name for name, _ in languages][::-1]
    ax.barh(names, [c["documents"] for _, c in languages][::-1])
    ax.set_title("Documents per language")
    ax.set_xlabel("documents")
    fig.tight_layout()
    return fig


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """PNG with no metadata (no matplotlib version, no date), written atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return write_bytes(path, buffer.getvalue())


@contextmanager
def plot_process(start: bool) -> Iterator[PlotProcess | None]:
    """A ``PlotProcess`` when a second core can run it (started now if ``start``), closed
    at the end; None on one core, where the build draws the plots itself."""
    try:
        spare = len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not on Linux
        spare = (os.cpu_count() or 1) > 1
    drawer = PlotProcess(start=start) if spare else None
    try:
        yield drawer
    finally:
        if drawer is not None:
            drawer.close()


if __name__ == "__main__":
    # os._exit: the PNGs are written and closed; tearing matplotlib down object by
    # object took 0.1-0.3 s, which the build would wait for
    os._exit(_serve_plots() if sys.argv[1:] == [DRAW_FLAG] else 2)
