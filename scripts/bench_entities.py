"""Benchmark the Polish entity annotator on one core.

Usage: python scripts/bench_entities.py FOLDER [--limit N] [--repeat R]

Loads the annotator once (load time reported separately), then annotates every
``*.txt`` in FOLDER as Polish, R times over, and prints articles/second. The
last line is one JSON object. The target is >= 200 articles/s on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def pin_one_core() -> None:
    """Measure on one core, as the target is stated (no-op where unsupported)."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_entities.py")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    files = sorted(args.folder.glob("*.txt"))[: args.limit]
    if not files:
        print(f"error: no *.txt files in {args.folder}", file=sys.stderr)
        return 2
    texts = [f.read_text(encoding="utf-8") for f in files]
    pin_one_core()
    from kronika.entities import get_annotator

    t0 = time.perf_counter()
    ann = get_annotator()
    load = time.perf_counter() - t0
    mentions = 0
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for text in texts:
            mentions += len(ann.annotate(text, "pl"))
    elapsed = time.perf_counter() - t0
    n = len(texts) * args.repeat
    chars = sum(map(len, texts)) * args.repeat
    result = {
        "articles": n,
        "articles_per_second": round(n / elapsed, 1),
        "chars_per_second": round(chars / elapsed),
        "mentions": mentions,
        "load_seconds": round(load, 2),
        "cores": 1,
    }
    print(f"loaded in {load:.2f}s; {n} articles in {elapsed:.2f}s: {n / elapsed:.1f} articles/s on one core")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
