"""Fit the language-score calibration (``src/kronika/language_calibration.json``).

    python scripts/fit_calibration.py --gold ../shared/data/lid_dev.jsonl \
        --news ../shared/data/news [--out src/kronika/language_calibration.json]

The language *decisions* of ``langid`` are not touched; only their scores are
mapped, so that a score is the probability that the language is right. What is
fitted, on the ``fit`` half of each data set only (``kronika.eval_language.half``:
by the sha256 of a sentence's text, of a news file's ``<lang>/<name>``):

* ``sentence`` maps, one per path of ``LanguageTagger.detect_raw`` (fast-path
  agreement, CLD2 alone, lingua, a single candidate): the dev sentences, raw
  score -> whether the language is the gold one;
* ``document`` maps, one per path of ``document_raw`` (the long-document sample
  path shares the fast path's map, fitted on the documents of both: either is
  fastText and CLD2 agreeing): the news files (folder name = gold language), with the blocks the build
  splits; documents are rarely wrong, so each bin is shrunk towards the sentence
  map of its path by ``PRIOR_WEIGHT`` pseudo-documents, and below the lowest raw
  score of the documents the sentence map's knots stand (capped by the first
  document knot): no unfounded 1.0 where no document was seen;
* ``span`` maps, one per path of ``decide_raw`` that has a raw score of its own
  (keeping the context language on fastText's or CLD2's word, lingua's
  confirmation): each dev sentence judged inside a document of its own language
  and inside one of another language (drawn with seed 0), as
  ``scripts/bench_language.py`` measures switching; the spans that take the
  document's score keep it (it is calibrated already).

A map: the points sorted by raw score in bins of ``BIN_SIZE`` (the last one
takes a short remainder), each bin's accuracy shrunk towards the prior
(the raw score itself for sentences and spans) by ``PRIOR_WEIGHT``
pseudo-observations, then made non-decreasing by pool-adjacent-violators
(isotonic regression over the bins). A knot is a pooled block's mean raw score
and its probability; ``kronika.language.Calibration`` interpolates linearly
between knots. Pure Python, no scikit-learn.

The file holds only these knots (a few dozen numbers per path, derived from the
data: model parameters, like a model's weights); the data itself is not copied
into the repository. The other half of each data set is for measuring: the
script prints the reliability diagram and ECE of both halves, before (raw
scores) and after, and ``kronika eval-language --half held-out`` measures it
again. Same data, same file, byte for byte.
"""

from __future__ import annotations

import argparse
import json
import random
from bisect import bisect_right
from collections import defaultdict
from pathlib import Path

from kronika.eval_language import (
    FIT, HELD_OUT, expected_calibration_error, half, news_files, print_reliability, read_gold, reliability,
)  # fmt: skip
from kronika.language import (
    CALIBRATION, CONTEXT, FAST, MIN_DOC_LETTERS, SAMPLE, MIN_DOC_SCORE, SPAN_PATHS, UND, Calibration, LanguageTagger,
    _body_text, has_letters,
)  # fmt: skip

BIN_SIZE = 100
PRIOR_WEIGHT = 10
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "kronika" / CALIBRATION
FORMAT = "kronika language calibration 1"

Point = tuple[float, bool]  # raw score, right


def interpolate(knots: list[list[float]], raw: float) -> float:
    """``Calibration.apply`` without rounding (the prior of a document map)."""
    xs = [x for x, _ in knots]
    i = bisect_right(xs, raw)
    if i == 0:
        return knots[0][1]
    if i == len(knots):
        return knots[-1][1]
    (x0, y0), (x1, y1) = knots[i - 1], knots[i]
    return y0 + (y1 - y0) * (raw - x0) / (x1 - x0)


def fit_map(points: list[Point], prior, below: list[list[float]] = ()) -> list[list[float]]:
    """Knots ``[raw, probability]`` of the monotone map (module docstring);
    ``below``: the prior's knots, kept where the points do not reach (under the
    lowest raw score), capped by the first fitted knot."""
    points = sorted(points)
    bins = [points[i : i + BIN_SIZE] for i in range(0, len(points), BIN_SIZE)]
    if len(bins) > 1 and len(bins[-1]) < BIN_SIZE // 2:
        bins[-2:] = [bins[-2] + bins[-1]]
    # block: [sum of raw, count, sum of value * weight, weight]
    blocks: list[list[float]] = []
    for b in bins:
        n, mean = len(b), sum(x for x, _ in b) / len(b)
        value = (sum(ok for _, ok in b) + PRIOR_WEIGHT * prior(mean)) / (n + PRIOR_WEIGHT)
        blocks.append([mean * n, n, value * (n + PRIOR_WEIGHT), n + PRIOR_WEIGHT])
        while len(blocks) > 1 and blocks[-2][2] / blocks[-2][3] >= blocks[-1][2] / blocks[-1][3]:
            last = blocks.pop()  # pool adjacent violators (equal values pooled too: fewer knots)
            for i in range(4):
                blocks[-1][i] += last[i]
    # Knots at the blocks' mean raw scores, linear between them. (Knots at each
    # block's ends, a step function as isotonic regression is, fitted the fit half
    # exactly but did worse on the held-out half: ECE 0.0058 against 0.0032.)
    # Blocks that share a raw score (ties: many raw scores are exactly 1.0, and the
    # bins cut through them) are one point of the map: their values are pooled. (The
    # largest of them was taken before, so 300 lingua confirmations at 1.0 of which
    # 11% were wrong got a score of 1.0.)
    pooled: list[list[float]] = []  # [raw, sum of value * weight, weight]
    for s, n, v, w in blocks:
        x = round(s / n, 4)
        if pooled and x <= pooled[-1][0]:
            pooled[-1][1] += v
            pooled[-1][2] += w
        else:
            pooled.append([x, v, w])
    knots = [[x, round(v / w, 4)] for x, v, w in pooled]
    low = [[x, min(y, knots[0][1])] for x, y in below if x < points[0][0]]
    out: list[list[float]] = []
    for x, y in low + knots:  # a prior knot rounded onto the first fitted one
        if out and x <= out[-1][0]:
            out[-1][1] = max(out[-1][1], y)
        else:
            out.append([x, y])
    return out


def sentence_points(tagger: LanguageTagger, rows: list[tuple[str, str]]) -> dict[str, dict[str, list[Point]]]:
    """Per half and path: (raw score, right) of ``detect_raw``."""
    out: dict[str, dict[str, list[Point]]] = {FIT: defaultdict(list), HELD_OUT: defaultdict(list)}
    for text, gold in rows:
        language, raw, path = tagger.detect_raw(text)
        if language != UND:
            out[half(text)][path].append((raw, language == gold))
    return out


def document_points(tagger: LanguageTagger, news: Path) -> dict[str, dict[str, list[Point]]]:
    from kronika.blocks import split_blocks

    out: dict[str, dict[str, list[Point]]] = {FIT: defaultdict(list), HELD_OUT: defaultdict(list)}
    for gold, path in news_files(news):
        text = path.read_text(encoding="utf-8")
        body = _body_text(text, split_blocks(text))
        language, raw, how = tagger.document_raw(body)
        if has_letters(body, MIN_DOC_LETTERS) and raw >= MIN_DOC_SCORE:
            out[half(f"{gold}/{path.name}")][how].append((raw, language == gold))
    return out


def span_points(tagger: LanguageTagger, rows: list[tuple[str, str]]) -> dict[str, dict[str, list[Point]]]:
    """Each sentence in a document of its own language and of another one."""
    languages = sorted({gold for _, gold in rows})
    draw = random.Random(0)
    out: dict[str, dict[str, list[Point]]] = {FIT: defaultdict(list), HELD_OUT: defaultdict(list)}
    for text, gold in rows:
        other = draw.choice([lang for lang in languages if lang != gold])
        for context in (gold, other):
            language, raw, path = tagger.decide_raw(text, context, 0.9)
            if path in SPAN_PATHS:
                out[half(text)][path].append((raw, language == gold))
    return out


def fit(sentences, documents, spans) -> dict:
    maps: dict[str, dict[str, list[list[float]]]] = {"sentence": {}, "document": {}, "span": {}}
    for path, points in sorted(sentences[FIT].items()):
        maps["sentence"][path] = fit_map(points, lambda raw: raw)
    # A long document's sample path is the fast path on its first characters
    # (fastText and CLD2 agree): one map for both, from both paths' documents.
    pooled = dict(documents[FIT])
    if FAST in pooled or SAMPLE in pooled:
        pooled[FAST] = pooled[SAMPLE] = pooled.get(FAST, []) + pooled.get(SAMPLE, [])
    for path, points in sorted(pooled.items()):
        prior = maps["sentence"].get(FAST if path == SAMPLE else path)
        if prior:
            maps["document"][path] = fit_map(points, lambda raw, k=prior: interpolate(k, raw), below=prior)
        else:
            maps["document"][path] = fit_map(points, lambda raw: raw)
    for path, points in sorted(spans[FIT].items()):
        maps["span"][path] = fit_map(points, lambda raw: raw)
    return maps


def report(name: str, level: str, points: dict[str, dict[str, list[Point]]], calibration: Calibration) -> dict:
    """Reliability and ECE per half, raw and calibrated."""
    out = {}
    for which in (FIT, HELD_OUT):
        pairs = [(path, raw, ok) for path, ps in sorted(points[which].items()) for raw, ok in ps]
        right = [ok for _, _, ok in pairs]
        raw_rows = reliability([raw for _, raw, _ in pairs], right)
        cal_rows = reliability([calibration.apply(level, path, raw) for path, raw, _ in pairs], right)
        if which == HELD_OUT:
            print_reliability(f"{name}, {which} half, raw", raw_rows)
            print_reliability(f"{name}, {which} half, calibrated", cal_rows)
        out[which] = {"examples": len(pairs), "ece_raw": expected_calibration_error(raw_rows),
                      "ece_calibrated": expected_calibration_error(cal_rows)}
        print(f"{name}, {which} half: ECE raw {out[which]['ece_raw']:.4f} -> calibrated {out[which]['ece_calibrated']:.4f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, required=True, help="lid_dev.jsonl: {text, lang} lines")
    parser.add_argument("--news", type=Path, required=True, help="NEWS/<lang>/*.txt")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    tagger = LanguageTagger(calibration=Calibration({}))  # raw scores
    rows = read_gold(args.gold)
    sentences = sentence_points(tagger, rows)
    documents = document_points(tagger, args.news)
    spans = span_points(tagger, rows)
    maps = fit(sentences, documents, spans)
    counts = {
        level: {which: sum(map(len, pts[which].values())) for which in (FIT, HELD_OUT)}
        for level, pts in (("sentence", sentences), ("document", documents), ("span", spans))
    }  # fmt: skip
    data = {
        "format": FORMAT,
        "about": (
            "Language-score calibration of kronika.language: per level and path, knots [raw, probability] of a "
            "monotone map (linear between knots). Fitted by scripts/fit_calibration.py on the fit half of "
            "lid_dev.jsonl and of the news folder; only these numbers are derived from the data."
        ),
        "bin_size": BIN_SIZE,
        "prior_weight": PRIOR_WEIGHT,
        "points": counts,
        "unchanged": [CONTEXT],
        "maps": maps,
    }
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    calibration = Calibration(maps)
    summary = {
        "sentence": report("sentences", "sentence", sentences, calibration),
        "document": report("documents", "document", documents, calibration),
        "span": report("spans", "span", spans, calibration),
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
