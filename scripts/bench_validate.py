#!/usr/bin/env python3
"""Validation benchmark (issue 10): rows/s per config, and linearity in an article's length.

    python scripts/bench_validate.py /tmp/news/corpus             # a built corpus folder
    python scripts/bench_validate.py --news ../shared/data/news   # build one first (in a temp folder)

Per config: each run is a fresh process that validates the whole corpus folder
and reports the seconds (wall, and CPU of all its threads) spent per config (documents, sentences, mentions: each
config's rows and its cross-checks; `corpus` is the manifest and the card); the
best of ``--repeat`` runs is taken (and the median shown: on a shared machine the
best is the run the others left a core to). The wall time of `kronika validate` (process
start-up included) is measured the same way. Linearity: one article of 1 MB and
one of 5 MB (paragraphs of the corpus's own texts, or of --news) are built and
validated (in-process timings, so start-up is left out): for linear validation
the time ratio is about 5.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

CONFIGS = ("documents", "mentions", "sentences")
TIMED = """
import json, sys
from pathlib import Path
from kronika.validate import validate_path
timings = {}
problems = validate_path(Path(sys.argv[1]), timings)
print(json.dumps({"timings": timings, "problems": len(problems)}))
"""


def kronika(*args: str) -> list[str]:
    return [sys.executable, "-m", "kronika.cli", *args]


def build(seeds: Path, out: Path) -> None:
    subprocess.run(kronika("build", "--seeds", str(seeds), "--out", str(out), "--no-cache", "--quiet", "--keep-going"),
                   check=True, stdout=subprocess.DEVNULL)


def flatten_news(news: Path, seeds: Path) -> None:
    """news/<lang>/<name>.txt -> seeds/<lang>_<name>.txt (names repeat across languages)."""
    seeds.mkdir(parents=True)
    for path in sorted(news.glob("*/*.txt")):
        shutil.copyfile(path, seeds / f"{path.parent.name}_{path.name}")


def rows_per_config(corpus: Path) -> dict[str, int]:
    return {c: sum(pq.ParquetFile(p).metadata.num_rows for p in (corpus / c).glob("*.parquet")) for c in CONFIGS}


def timed_run(corpus: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", TIMED, str(corpus)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_seconds(corpus: Path) -> float:
    started = time.perf_counter()
    subprocess.run(kronika("validate", str(corpus)), stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def per_config(corpus: Path, repeat: int) -> dict:
    rows = rows_per_config(corpus)
    runs = [timed_run(corpus) for _ in range(repeat)]
    best = {name: min(r["timings"].get(name, 0.0) for r in runs) for name in (*CONFIGS, "corpus")}
    median = {name: statistics.median(r["timings"].get(name, 0.0) for r in runs) for name in CONFIGS}
    cpu = {name: min(r["timings"].get(f"cpu:{name}", 0.0) for r in runs) for name in (*CONFIGS, "corpus")}
    wall = min(cli_seconds(corpus) for _ in range(repeat))
    return {
        "rows": rows,
        "seconds": {k: round(v, 4) for k, v in best.items()},
        "cpu_seconds": {k: round(v, 4) for k, v in cpu.items()},
        "rows_per_second": {c: round(rows[c] / best[c]) if best[c] else None for c in CONFIGS},
        "rows_per_second_median": {c: round(rows[c] / median[c]) if median[c] else None for c in CONFIGS},
        "rows_per_cpu_second": {c: round(rows[c] / cpu[c]) if cpu[c] else None for c in CONFIGS},
        "load_average": round(os.getloadavg()[0], 2),
        "cli_wall_seconds": round(wall, 3),
        "cli_rows_per_second": round(sum(rows.values()) / wall),
        "problems": runs[0]["problems"],
    }


def article_text(corpus: Path, news: Path | None) -> str:
    """Paragraphs to repeat into one long article: --news's Polish files, else the corpus's texts."""
    if news is not None:
        texts = [p.read_text(encoding="utf-8") for p in sorted(news.glob("pl/*.txt"))]
    else:
        texts = [t for p in sorted((corpus / "documents").glob("*.parquet")) for t in pq.read_table(p, columns=["text"])["text"].to_pylist()]
    return "\n\n".join(t.strip() for t in texts if t.strip())


def one_article(text: str, megabytes: int, folder: Path) -> Path:
    """Build a corpus of one article of about ``megabytes`` MB; return the corpus folder."""
    size = megabytes * 1_000_000
    body = text
    while len(body.encode()) < size:
        body += "\n\n" + text
    seeds = folder / "seeds"
    seeds.mkdir(parents=True)
    (seeds / f"article_{megabytes}mb.txt").write_bytes(body.encode()[:size].decode("utf-8", "ignore").encode())
    build(seeds, folder / "corpus")
    return folder / "corpus"


def linearity(text: str, work: Path, repeat: int) -> dict:
    """Validation seconds (start-up excluded: in-process timings) of a 1 MB and a 5 MB article."""
    small, large = one_article(text, 1, work / "1mb"), one_article(text, 5, work / "5mb")
    t1 = min(sum(timed_run(small)["timings"].values()) for _ in range(repeat))
    t5 = min(sum(timed_run(large)["timings"].values()) for _ in range(repeat))
    return {
        "seconds_1mb": round(t1, 3),
        "seconds_5mb": round(t5, 3),
        "ratio": round(t5 / t1, 2),
        "cli_wall_seconds_1mb": round(min(cli_seconds(small) for _ in range(repeat)), 3),
        "cli_wall_seconds_5mb": round(min(cli_seconds(large) for _ in range(repeat)), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, nargs="?", help="a built corpus folder (with config subfolders)")
    parser.add_argument("--news", type=Path, help="news/<lang>/*.txt: build the corpus from these first")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts (default 3)")
    parser.add_argument("--no-linearity", action="store_true", help="skip the 1 MB / 5 MB article check")
    args = parser.parse_args()
    if args.corpus is None and args.news is None:
        parser.error("give a corpus folder or --news")
    with tempfile.TemporaryDirectory(prefix="kronika-bench-validate-") as tmp:
        work = Path(tmp)
        corpus = args.corpus
        if corpus is None:
            flatten_news(args.news, work / "seeds")
            build(work / "seeds", work / "news" / "corpus")
            corpus = work / "news" / "corpus"
        result = {"corpus": str(args.corpus or args.news), **per_config(corpus, args.repeat)}
        for config in CONFIGS:
            print(f"{config:10s} {result['rows'][config]:8d} rows  {result['seconds'][config]:7.3f} s  "
                  f"{result['rows_per_second'][config] or 0:9d} rows/s  ({result['cpu_seconds'][config]:.3f} CPU s: "
                  f"{result['rows_per_cpu_second'][config] or 0} rows per CPU second)")
        print("median of the runs: " + ", ".join(f"{c} {result['rows_per_second_median'][c] or 0} rows/s" for c in CONFIGS))
        print(f"load average {result['load_average']} on {os.cpu_count()} cores")
        print(f"kronika validate: {result['cli_wall_seconds']} s wall (start-up included), {result['problems']} problem(s)")
        if not args.no_linearity:
            result["linearity"] = linearity(article_text(corpus, args.news), work, args.repeat)
            lin = result["linearity"]
            print(f"one article: 1 MB {lin['seconds_1mb']} s, 5 MB {lin['seconds_5mb']} s, ratio {lin['ratio']} (linear: about 5); "
                  f"kronika validate wall {lin['cli_wall_seconds_1mb']} s and {lin['cli_wall_seconds_5mb']} s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
