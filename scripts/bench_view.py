#!/usr/bin/env python3
"""Benchmark `kronika view` (issue 13): render a 10,000-document corpus; target at most 60 s.

A base corpus is built from real articles (DIR/<lang>/*.txt) and its rows are
replicated, with distinct document ids, until there are --n documents, written
as Parquet directly (kronika.write). With --distinct-entities (the default) each
replica gets its own entity ids too, so there are as many entity pages as a
corpus of --n different articles could have: the slow case. The render runs as
`kronika view` in a subprocess, so start-up is counted; the process's peak RSS
is sampled (psutil).

    python scripts/bench_view.py --news ../shared/data/news
    python scripts/bench_view.py --corpus corpus --n 10000

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from kronika.write import config_table, write_parquet

SHARD_ROWS = 1000


def base_corpus(news: Path, take: dict[str, int], work: Path) -> Path:
    """Build a corpus from the first articles (sorted) of each language folder."""
    from kronika.build import build

    seeds = work / "seeds"
    seeds.mkdir(parents=True)
    for lang, count in take.items():
        for path in sorted((news / lang).glob("*.txt"))[:count]:
            name = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{lang}_{path.stem}")
            shutil.copyfile(path, seeds / f"{name}.txt")
    build(seeds, work / "base", cache_dir=None, progress=False)
    return work / "base"


def replicate(base: Path, n: int, out: Path, distinct_entities: bool) -> int:
    """Write ``n`` documents: the base rows again and again, ids ``<id>.r<k>``."""
    rows = pq.read_table(base / "documents").to_pylist()
    shards, batch, written = 0, [], 0
    total = -(-n // SHARD_ROWS)
    for k in range(-(-n // len(rows))):
        for row in rows:
            if written == n:
                break
            copy = dict(row, id=f"{row['id']}.r{k:04d}")
            if distinct_entities:
                copy["entities"] = [dict(m, entity_id=f"{m['entity_id']}.r{k:04d}") for m in row["entities"] or []]
            batch.append(copy)
            written += 1
            if len(batch) == SHARD_ROWS:
                shards = _flush(batch, out, shards, total)
    if batch:
        _flush(batch, out, shards, total)
    return written


def _flush(batch: list[dict], out: Path, shard: int, total: int) -> int:
    batch.sort(key=lambda r: r["id"])
    write_parquet(config_table(batch, "documents", "0.1.0"), out / "documents" / f"train-{shard:05d}-of-{total:05d}.parquet")
    batch.clear()
    return shard + 1


def timed_view(corpus: Path, site: Path) -> dict:
    cmd = [sys.executable, "-m", "kronika.cli", "view", "--corpus", str(corpus), "--out", str(site)]
    started = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    line = proc.stdout.read().strip()
    if proc.returncode:
        raise SystemExit(f"kronika view failed: {' '.join(cmd)}")
    files = [p for p in site.rglob("*") if p.is_file()]
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1), "files": len(files),
            "site_mb": round(sum(p.stat().st_size for p in files) / 2**20, 1), "summary": line}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--news", type=Path, help="news folder <lang>/*.txt: build the base corpus from it")
    source.add_argument("--corpus", type=Path, help="an existing corpus folder as the base")
    parser.add_argument("--take", default="pl=300,en=100,cs=50,ru=50", help="base articles per language (with --news)")
    parser.add_argument("--n", type=int, default=10_000, help="documents to render (default: 10000)")
    parser.add_argument("--same-entities", action="store_true", help="keep the base entity ids in every replica (fewer entity pages)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kronika-bench-view-"))
    try:
        started = time.perf_counter()
        take = {lang: int(k) for lang, k in (part.split("=") for part in args.take.split(","))}
        base = args.corpus or base_corpus(args.news, take, work)
        base_rows = pq.ParquetFile(next((base / "documents").glob("*.parquet"))).metadata.num_rows if args.corpus else None
        documents = replicate(base, args.n, work / "corpus", not args.same_entities)
        prepared = time.perf_counter() - started
        result = timed_view(work / "corpus", work / "site")
        print(result.pop("summary"))
        mentions = sum(len(r or []) for p in (work / "corpus" / "documents").glob("*.parquet") for r in pq.read_table(p, columns=["entities"]).column(0).to_pylist())
        figures = {"documents": documents, "mentions": mentions, "base_documents": base_rows or len(pq.read_table(base / "documents", columns=["id"])),
                   "distinct_entities": not args.same_entities, "prepare_seconds": round(prepared, 1), **result, "target_seconds": 60,
                   "ok": result["seconds"] <= 60}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
