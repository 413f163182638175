"""Kronika's language tagger against lingua (all 75 languages, high accuracy).

    python scripts/bench_language.py --gold ../shared/data/lid_dev.jsonl \
        --news ../shared/data/news

Runs both detectors on the same sentences in this one process, single thread,
model loading excluded from the timings, and prints accuracy, chars/s and the
speed ratio; then span-level switching (``LanguageTagger.decide`` with the
sentence's own language and with another as context), and document-level
accuracy of ``LanguageTagger.tag_document`` on ``NEWS/<lang>/*.txt`` (folder
name = gold language), with the expected calibration error of the scores
(``kronika eval-language`` prints the reliability diagram). Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import time
from collections import Counter
from pathlib import Path

from kronika.eval_language import expected_calibration_error, read_gold, reliability
from kronika.language import ANNOTATOR, LanguageTagger, tool_versions
from kronika.record import Block

_BLOCK = re.compile(r"[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*")


def blocks_of(text: str) -> list[Block]:
    """Blank-line separated blocks; the first is the heading (title line)."""
    spans = [m.span() for m in _BLOCK.finditer(text)]
    return [Block(s, e, "heading" if i == 0 else "paragraph") for i, (s, e) in enumerate(spans)]


def _timed(fn, texts: list[str]) -> tuple[list[str], float]:
    start = time.perf_counter()
    out = [fn(text) for text in texts]
    return out, time.perf_counter() - start


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_sentences(tagger: LanguageTagger, gold_path: Path, limit: int | None) -> dict:
    from lingua import LanguageDetectorBuilder

    rows = read_gold(gold_path, limit)
    texts, gold = [t for t, _ in rows], [g for _, g in rows]
    chars = sum(map(len, texts))
    tagged, ours_s = _timed(tagger.detect, texts)
    ours = [lang for lang, _ in tagged]
    ece = expected_calibration_error(reliability([score for _, score in tagged], [p == g for p, g in zip(ours, gold)]))
    rss_ours = _rss_mb()
    start = time.perf_counter()
    lingua = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
    print(f"lingua all-languages load: {time.perf_counter() - start:.1f} s")

    def lingua_detect(text: str) -> str:
        lang = lingua.detect_language_of(text)
        return lang.iso_code_639_1.name.lower() if lang else "und"

    theirs, theirs_s = _timed(lingua_detect, texts)
    result = {}
    for name, pred, secs in (("kronika", ours, ours_s), ("lingua_all_high", theirs, theirs_s)):
        acc = sum(p == g for p, g in zip(pred, gold)) / len(gold)
        result[name] = {"accuracy": round(acc, 4), "chars_per_second": round(chars / secs)}
        print(f"{name:<16} accuracy {acc:.4f}  {chars / secs:>12,.0f} chars/s")
    ratio = theirs_s / ours_s
    print(f"speed ratio kronika/lingua: {ratio:.1f}x on {len(texts)} sentences, {chars} chars")
    print(f"kronika score calibration: ECE {ece:.4f} (all sentences; the held-out half: scripts/fit_calibration.py)")
    result.update(speed_ratio=round(ratio, 2), sentences=len(texts), rss_mb_kronika=round(rss_ours), ece=ece)
    return result


def bench_switching(tagger: LanguageTagger, gold_path: Path, limit: int | None) -> dict:
    """Span-level switching: each sentence judged inside a document of its own
    language (it must keep it) and of another language drawn at random, seed 0
    (it must switch to its own)."""
    rows = read_gold(gold_path, limit)
    languages = sorted({g for _, g in rows})
    draw = random.Random(0)
    kept = switched = 0
    for text, gold in rows:
        kept += tagger.decide(text, gold, 0.9)[0] == gold
        other = draw.choice([lang for lang in languages if lang != gold])
        switched += tagger.decide(text, other, 0.9)[0] == gold
    result = {"keep_rate": round(kept / len(rows), 4), "switch_rate": round(switched / len(rows), 4)}
    print(f"switching: keeps its own language {result['keep_rate']:.4f}, "
          f"switches to it from another {result['switch_rate']:.4f} ({len(rows)} sentences)")
    return result


def bench_news(tagger: LanguageTagger, news: Path) -> dict:
    files = sorted(news.glob("*/*.txt"))
    gold, pred, scores, chars = [], [], [], 0
    start = time.perf_counter()
    for path in files:
        text = path.read_text(encoding="utf-8")
        chars += len(text)
        gold.append(path.parent.name)
        doc = tagger.tag_document(text, blocks_of(text))
        pred.append(doc.language)
        scores.append(doc.score)
    secs = time.perf_counter() - start
    acc = sum(p == g for p, g in zip(pred, gold)) / max(len(gold), 1)
    ece = expected_calibration_error(reliability(scores, [p == g for p, g in zip(pred, gold)]))
    confused = Counter((g, p) for g, p in zip(gold, pred) if g != p)
    print(f"news documents: accuracy {acc:.4f} on {len(files)} files, {chars / secs:,.0f} chars/s (spans included)")
    for (g, p), n in confused.most_common(10):
        print(f"  {g} -> {p}: {n}")
    print(f"news documents: score calibration ECE {ece:.4f}")
    return {"accuracy": round(acc, 4), "documents": len(files), "chars_per_second": round(chars / secs), "ece": ece}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--news", type=Path)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tagger = LanguageTagger(preload=True)
    print(f"kronika tagger load: {time.perf_counter() - start:.1f} s, {_rss_mb():.0f} MB max RSS")
    summary = {"annotator": ANNOTATOR, "tools": tool_versions()}
    summary["sentences"] = bench_sentences(tagger, args.gold, args.limit)
    summary["switching"] = bench_switching(tagger, args.gold, args.limit)
    if args.news:
        summary["news"] = bench_news(tagger, args.news)
    summary["max_rss_mb"] = round(_rss_mb())
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
