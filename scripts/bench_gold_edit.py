"""One reviewed gold file added to a built news corpus: the rebuild's share of a full build, and its bytes.

    python scripts/bench_gold_edit.py --news ../shared/data/news

Builds the news folder (one job, with a cache), then writes a gold layer for one
Polish article (its published mentions, one id changed, as a reviewer would),
rebuilds with the cache, and rebuilds from scratch in another folder. Reports
both times, the share (target <= 0.15) and whether the two outputs are
byte-identical. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

KRONIKA = str(Path(sys.executable).with_name("kronika"))


def build(seeds: Path, out: Path, cache: Path | None) -> float:
    argv = [KRONIKA, "build", "--seeds", str(seeds), "--out", str(out), "--quiet", "--jobs", "1", "--keep-going"]
    argv += ["--cache", str(cache)] if cache else ["--no-cache"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def tree(corpus: Path) -> str:
    """sha256 of the corpus folder, its card and croissant.json."""
    digest = hashlib.sha256()
    files = [*sorted(p for p in corpus.rglob("*") if p.is_file()), corpus.parent / "README.md", corpus.parent / "croissant.json"]
    for path in files:
        digest.update(str(path.relative_to(corpus.parent)).encode() + path.read_bytes())
    return digest.hexdigest()


def reviewed_gold(root: Path) -> str:
    """A gold layer for the first Polish article with at least 6 mentions."""
    rows = pq.read_table(root / "corpus" / "documents", columns=["id", "metadata", "entities"]).to_pylist()
    row = next(r for r in sorted(rows, key=lambda r: r["id"]) if r["id"].startswith("pl_") and len(r["entities"]) >= 6)
    mentions = [{k: m[k] for k in ("start", "end", "text", "label", "lemma", "entity_id")} for m in row["entities"][:6]]
    mentions[0]["entity_id"] = mentions[0]["entity_id"] + "-reviewed"
    gold = {"doc_id": row["id"], "sha256": row["metadata"]["sha256"], "layer": "gold_v1", "annotator": "bench", "mentions": mentions}
    (root / "seeds" / f"{row['id']}.gold.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    return row["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--news", type=Path, required=True, help="folder of <lang>/*.txt articles")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kronika-gold-"))
    (root / "seeds").mkdir()
    for folder in sorted(p for p in args.news.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.txt")):
            shutil.copyfile(path, root / "seeds" / f"{folder.name}_{path.name}")
    full = build(root / "seeds", root / "corpus", root / "cache")
    doc_id = reviewed_gold(root)
    rebuild = build(root / "seeds", root / "corpus", root / "cache")
    scratch = build(root / "seeds", root / "scratch" / "corpus", None)
    same = tree(root / "corpus") == tree(root / "scratch" / "corpus")
    shutil.rmtree(root)
    print(json.dumps({
        "gold_document": doc_id, "full_build_seconds": round(full, 2), "rebuild_seconds": round(rebuild, 2),
        "share": round(rebuild / full, 3), "from_scratch_seconds": round(scratch, 2), "identical_to_full_rebuild": same,
    }))


if __name__ == "__main__":
    main()
