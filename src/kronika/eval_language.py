"""``kronika eval-language --gold FILE.jsonl``: sentence-level accuracy and speed.

Reads ``{"text": ..., "lang": ...}`` lines (ISO 639-1 gold), tags every text with
``LanguageTagger.detect`` and prints per-language accuracy, the most confused
pairs and throughput (characters per second, model loading excluded). The last
line is one JSON object with at least ``accuracy`` and ``chars_per_second``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from kronika.jsonl import InputError, json_objects

PROG = "kronika eval-language"
GoldError = InputError  # bad gold input; the message names file and line


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True, type=Path, help="JSONL with text and lang")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N examples")
    parser.add_argument("--top", type=int, default=10, help="confused pairs to list")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be a positive integer")
    return args


def read_gold(path: Path, limit: int | None = None) -> list[tuple[str, str]]:
    """``(text, lang)`` pairs; blank lines are skipped."""
    rows = []
    for number, row in json_objects(path, limit):
        for field in ("text", "lang"):
            if not isinstance(row.get(field), str):
                raise GoldError(f"{path}:{number}: missing or non-string field {field!r}")
        rows.append((row["text"], row["lang"]))
    if not rows:
        raise GoldError(f"{path}: no examples")
    return rows


def _report(gold: list[str], pred: list[str], seconds: float, chars: int, top: int) -> dict:
    """Print the human-readable tables; return the summary object."""
    totals, hits = Counter(gold), Counter(g for g, p in zip(gold, pred) if g == p)
    print(f"{'lang':<6}{'n':>6}{'accuracy':>10}")
    for lang in sorted(totals):
        print(f"{lang:<6}{totals[lang]:>6}{hits[lang] / totals[lang]:>10.4f}")
    confused = Counter((g, p) for g, p in zip(gold, pred) if g != p)
    print(f"top confused pairs (gold -> predicted), {sum(confused.values())} errors:")
    for (g, p), n in confused.most_common(top):
        print(f"  {g} -> {p}: {n}")
    accuracy = sum(hits.values()) / len(gold)
    speed = chars / seconds if seconds > 0 else 0.0
    print(f"overall accuracy {accuracy:.4f} on {len(gold)} texts; {speed:,.0f} chars/s ({chars} chars in {seconds:.2f} s)")
    return {
        "accuracy": round(accuracy, 4),
        "chars_per_second": round(speed),
        "examples": len(gold),
        "languages": len(totals),
        "seconds": round(seconds, 3),
        "confused": [[g, p, n] for (g, p), n in confused.most_common(top)],
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        rows = read_gold(args.gold, args.limit)
    except GoldError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    from kronika.language import ANNOTATOR, LanguageTagger, tool_versions

    tagger = LanguageTagger(preload=True)  # model loading stays out of the timing
    texts = [text for text, _ in rows]
    start = time.perf_counter()
    pred = [tagger.detect(text)[0] for text in texts]
    seconds = time.perf_counter() - start
    summary = _report([lang for _, lang in rows], pred, seconds, sum(map(len, texts)), args.top)
    summary.update(annotator=ANNOTATOR, tools=tool_versions())
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
