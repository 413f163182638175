#!/usr/bin/env python3
"""Make a synthetic seed folder of N articles from any folder of real articles.

Each synthetic article takes a title and 3-8 paragraphs from randomly chosen
source articles (fixed seed, so the output is deterministic). Paragraphs are
real text, so the annotators do real work; nothing is copied into the repo.

    python scripts/make_synthetic.py --source ../shared/data/news --n 100000 --out /tmp/syn100k
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path


def load_articles(source: Path) -> list[tuple[str, list[str]]]:
    articles = []
    for path in sorted(source.rglob("*.txt")):
        parts = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        if len(parts) >= 2:
            articles.append((parts[0], parts[1:]))
    return articles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="folder with *.txt articles (searched recursively)")
    parser.add_argument("--n", type=int, required=True, help="number of articles to write")
    parser.add_argument("--out", type=Path, required=True, help="output seed folder (created)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    articles = load_articles(args.source)
    if not articles:
        print(f"{args.source}: no usable *.txt articles", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    width = len(str(args.n))
    for i in range(args.n):
        title, paragraphs = rng.choice(articles)
        body = [rng.choice(rng.choice(articles)[1]) for _ in range(rng.randint(3, 8))]
        text = "\n\n".join([title, *body]) + "\n"
        (args.out / f"syn_{i:0{width}d}.txt").write_text(text, encoding="utf-8")
    print(f"wrote {args.n} articles to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
