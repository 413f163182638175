"""Duplicate clusters on real news: recall of planted near-copies, purity, splits, and their cost.

    python scripts/bench_duplicates.py planted --news ../shared/data/news --n 300
    python scripts/bench_duplicates.py cost --news ../shared/data/news

``planted``: 300 real articles (taken round-robin over the languages), and for
every tenth one a copy with about 1% of its words replaced. It builds them with
the whole ``kronika build`` command and reports the share of planted pairs that
share a cluster (target >= 0.95), clusters that join unrelated articles (word
5-gram Jaccard below 0.5 to every other member; target 0) and clusters that
straddle splits (target 0).

``cost``: a full build of the news folder (one job, no cache) beside the
duplicate stage alone (signatures, LSH, verification, splits) on the same
seeds, in the same run; the share is the figure to compare with 10%.

The last line of each is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from kronika.build import place
from kronika.duplicates import jaccard
from kronika.ingest import list_seeds

KRONIKA = str(Path(sys.executable).with_name("kronika"))


def news_files(news: Path) -> list[Path]:
    by_language = [sorted(folder.glob("*.txt")) for folder in sorted(news.iterdir()) if folder.is_dir()]
    return [path for group in zip(*by_language) for path in group] if by_language else []


def copy_seeds(files: list[Path], seeds: Path) -> None:
    seeds.mkdir(parents=True)
    for path in files:
        shutil.copyfile(path, seeds / f"{path.parent.name}_{path.name}")


def edited(text: str, rng: random.Random, share: float = 0.01) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * share))):
        words[i] = f"zmieniono{i}"
    return " ".join(words)


def build(seeds: Path, out: Path) -> float:
    started = time.perf_counter()
    argv = [KRONIKA, "build", "--seeds", str(seeds), "--out", str(out), "--quiet", "--no-cache", "--jobs", "1", "--keep-going"]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def planted(args: argparse.Namespace) -> dict:
    rng = random.Random(3)
    root = Path(tempfile.mkdtemp(prefix="kronika-dups-"))
    seeds = root / "seeds"
    copy_seeds(news_files(args.news)[: args.n], seeds)
    originals = sorted(seeds.iterdir())[:: 10]
    pairs = []
    for path in originals:
        copy = seeds / f"zz_copy_of_{path.name}"
        copy.write_text(edited(path.read_text(encoding="utf-8"), rng), encoding="utf-8")
        pairs.append((path.stem, copy.stem))
    build(seeds, root / "corpus")
    rows = pq.read_table(root / "corpus" / "documents", columns=["id", "text", "duplicate_cluster"]).to_pylist()
    splits = {}
    for path in (root / "corpus" / "documents").glob("*.parquet"):
        splits.update(dict.fromkeys(pq.read_table(path, columns=["id"]).column("id").to_pylist(), path.name.split("-")[0]))
    cluster = {r["id"]: r["duplicate_cluster"] for r in rows}
    text = {r["id"]: r["text"] for r in rows}
    found = sum(1 for a, b in pairs if cluster.get(a) and cluster.get(a) == cluster.get(b))
    members = defaultdict(list)
    for doc_id, name in cluster.items():
        if name:
            members[name].append(doc_id)
    impure = [name for name, group in members.items() if any(max(jaccard(text[a], text[b]) for b in group if b != a) < 0.5 for a in group)]
    straddling = [name for name, group in members.items() if len({splits[d] for d in group}) > 1]
    shutil.rmtree(root)
    return {
        "articles": args.n, "planted_pairs": len(pairs), "recall": round(found / len(pairs), 3),
        "clusters": len(members), "impure_clusters": len(impure), "straddling_clusters": len(straddling),
    }


def cost(args: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix="kronika-dupcost-"))
    seeds = root / "seeds"
    copy_seeds([p for folder in sorted(args.news.iterdir()) if folder.is_dir() for p in sorted(folder.glob("*.txt"))], seeds)
    full = build(seeds, root / "corpus")
    listed, _, _ = list_seeds(seeds)
    started = time.perf_counter()
    placement = place(listed, seeds, root / "nowhere", None)
    stage = time.perf_counter() - started
    shutil.rmtree(root)
    return {
        "articles": len(listed), "clustered": sum(1 for p in placement.values() if p[1]),
        "build_seconds": round(full, 2), "duplicate_stage_seconds": round(stage, 2), "share": round(stage / full, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["planted", "cost"])
    parser.add_argument("--news", type=Path, required=True, help="folder of <lang>/*.txt articles")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    result = planted(args) if args.what == "planted" else cost(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
