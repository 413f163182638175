"""``kronika eval-language --gold FILE.jsonl``: sentence-level accuracy, calibration and speed.

Reads ``{"text": ..., "lang": ...}`` lines (ISO 639-1 gold), tags every text with
``LanguageTagger.detect`` and prints per-language accuracy, the most confused
pairs and throughput (characters per second, model loading excluded); then the
reliability diagram of the scores (per score decile: count, mean score and
accuracy, ``und`` counting as score 0 and wrong) and the expected calibration
error (ECE: the count-weighted mean of |accuracy - mean score| over the
deciles); ``--plot FILE.png`` draws the diagram (matplotlib). ``--news DIR``
does the same for documents (``DIR/<lang>/*.txt``, the folder name is the gold
language). ``--half fit`` / ``held-out`` keeps only the examples of that half of
the deterministic split ``scripts/fit_calibration.py`` fits on (``half``). The
last line is one JSON object with at least ``accuracy``, ``chars_per_second``
and ``ece``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from kronika.jsonl import InputError, json_objects

PROG = "kronika eval-language"
GoldError = InputError  # bad gold input; the message names file and line


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True, type=Path, help="JSONL with text and lang")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N examples")
    parser.add_argument("--top", type=int, default=10, help="confused pairs to list")
    parser.add_argument("--news", type=Path, default=None, help="also documents: DIR/<lang>/*.txt")
    parser.add_argument("--half", choices=("all", FIT, HELD_OUT), default="all",
                        help="only this half of the calibration split (default: all)")
    parser.add_argument("--plot", type=Path, default=None, help="draw the reliability diagram to FILE.png")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be a positive integer")
    return args


# ------------------------------------------------------------ calibration
FIT, HELD_OUT = "fit", "held-out"
BINS = 10


def half(key: str) -> str:
    """The half of the calibration split ``key`` (a sentence's text, a news file's
    ``<lang>/<name>``) falls in: by the first byte of its sha256, so the same on
    every machine and independent of the order of the data."""
    return FIT if hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()[0] % 2 == 0 else HELD_OUT


def reliability(scores: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> list[dict]:
    """Per score bin ``[i/bins, (i+1)/bins)`` (the last one closed): count, mean
    score and accuracy; empty bins are left out."""
    sums = [[0, 0.0, 0] for _ in range(bins)]
    for score, ok in zip(scores, correct):
        row = sums[min(int(score * bins), bins - 1)]
        row[0] += 1
        row[1] += score
        row[2] += bool(ok)
    return [
        {"bin": [round(i / bins, 4), round((i + 1) / bins, 4)], "count": n,
         "mean_score": round(total / n, 4), "accuracy": round(hits / n, 4)}
        for i, (n, total, hits) in enumerate(sums) if n
    ]  # fmt: skip


def expected_calibration_error(rows: list[dict]) -> float:
    """Count-weighted mean of |accuracy - mean score| over the bins of ``reliability``."""
    total = sum(r["count"] for r in rows)
    if not total:
        return 0.0
    return round(sum(r["count"] * abs(r["accuracy"] - r["mean_score"]) for r in rows) / total, 4)


def print_reliability(title: str, rows: list[dict]) -> float:
    """The text reliability diagram and the ECE line; returns the ECE."""
    ece = expected_calibration_error(rows)
    print(f"reliability ({title}): score bin, count, mean score, accuracy, gap")
    print(f"{'bin':<12}{'count':>7}{'score':>8}{'accuracy':>10}{'gap':>8}")
    for r in rows:
        lo, hi = r["bin"]
        gap = r["accuracy"] - r["mean_score"]
        print(f"{lo:.1f}-{hi:.1f}{'':<5}{r['count']:>7}{r['mean_score']:>8.4f}{r['accuracy']:>10.4f}{gap:>+8.4f}")
    print(f"expected calibration error ({title}): ECE {ece:.4f} on {sum(r['count'] for r in rows)} examples")
    return ece


def plot_reliability(diagrams: dict[str, list[dict]], path: Path) -> None:
    """Accuracy against mean score per bin, one series per diagram, with the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    for title, rows in diagrams.items():
        ece = expected_calibration_error(rows)
        ax.plot([r["mean_score"] for r in rows], [r["accuracy"] for r in rows], marker="o",
                label=f"{title} (ECE {ece:.3f})")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean score in bin", ylabel="accuracy in bin",
           title="language score reliability")
    ax.legend(loc="upper left")
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def news_files(news: Path) -> list[tuple[str, Path]]:
    """``(gold language, file)`` of ``NEWS/<lang>/*.txt``, sorted."""
    return [(path.parent.name, path) for path in sorted(news.glob("*/*.txt"))]


def document_score(tagger, text: str) -> tuple[str, float]:
    """The document language and calibrated score ``tag_document`` gives ``text``
    (blocks as the build splits them), without tagging its spans."""
    from kronika.blocks import split_blocks
    from kronika.language import MIN_DOC_LETTERS, MIN_DOC_SCORE, UND, _body_text, has_letters

    body = _body_text(text, split_blocks(text))
    language, raw, path = tagger.document_raw(body)
    if not has_letters(body, MIN_DOC_LETTERS) or raw < MIN_DOC_SCORE:
        return UND, 0.0
    return language, tagger.calibration.document(path, raw)


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
    if args.news is not None and not args.news.is_dir():
        print(f"{PROG}: error: {args.news}: not a folder", file=sys.stderr)
        return 2
    if args.half != "all":
        rows = [row for row in rows if half(row[0]) == args.half]
        if not rows:
            print(f"{PROG}: error: {args.gold}: no examples in the {args.half} half", file=sys.stderr)
            return 2
    from kronika.language import ANNOTATOR, LanguageTagger, tool_versions

    tagger = LanguageTagger(preload=True)  # model loading stays out of the timing
    texts = [text for text, _ in rows]
    start = time.perf_counter()
    tagged = [tagger.detect(text) for text in texts]
    seconds = time.perf_counter() - start
    gold = [lang for _, lang in rows]
    pred = [lang for lang, _ in tagged]
    summary = _report(gold, pred, seconds, sum(map(len, texts)), args.top)
    diagrams = {"sentences": reliability([score for _, score in tagged], [g == p for g, p in zip(gold, pred)])}
    summary["ece"] = print_reliability("sentences", diagrams["sentences"])
    summary["reliability"] = diagrams["sentences"]
    if args.half != "all":
        summary["half"] = args.half
    if args.news is not None:
        files = [(lang, path) for lang, path in news_files(args.news)
                 if args.half == "all" or half(f"{lang}/{path.name}") == args.half]
        docs = [(lang, *document_score(tagger, path.read_text(encoding="utf-8"))) for lang, path in files]
        ok = [g == p for g, p, _ in docs]
        print(f"documents: accuracy {sum(ok) / max(len(ok), 1):.4f} on {len(docs)} files")
        diagrams["documents"] = reliability([score for _, _, score in docs], ok)
        summary["documents"] = {
            "accuracy": round(sum(ok) / max(len(ok), 1), 4), "examples": len(docs),
            "ece": print_reliability("documents", diagrams["documents"]), "reliability": diagrams["documents"],
        }  # fmt: skip
    if args.plot is not None:
        plot_reliability(diagrams, args.plot)
        print(f"reliability diagram written to {args.plot}")
    summary.update(annotator=ANNOTATOR, tools=tool_versions())
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
