"""Measure kronika.names on BSNLP-shaped gold JSONL files (one language per file).

    python scripts/eval_names.py ../shared/data/bsnlp_ru_dev.jsonl [...] \
        [--topics asia_bibi] [--also brexit:5] [--exclude-topics asia_bibi,brexit] [--limit N]

Each document is annotated with its file's known language (``bsnlp_<lang>_dev.jsonl``,
or ``--language``): both layers of ``NameAnnotator`` merged by
``kronika.entities.merge_layers``, no trained model. Prints, per file: exact span+label
precision/recall/F1 overall and per label, lemma accuracy and entity-id accuracy on the
exactly matched mentions, and docs/s of the annotator alone (after a warm-up document,
so loading the language pack is not counted, and reported apart). The last line is JSON
with every figure.

The gold data has no license: nothing here writes or keeps any of it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from kronika.entities import merge_layers
from kronika.names import NameAnnotator

LABELS = ("PER", "ORG", "LOC", "EVT", "PRO")


def language_of(path: Path, forced: str | None) -> str:
    if forced:
        return forced
    match = re.search(r"bsnlp_([a-z]{2})_", path.name)
    if not match:
        sys.exit(f"cannot tell the language of {path.name}; pass --language")
    return match.group(1)


def read_docs(path: Path, topics: set[str], exclude: set[str], limit: int | None, also: dict[str, int] | None = None) -> list[dict]:
    """Documents of ``topics`` (all if empty) not in ``exclude``, plus the first
    ``also[topic]`` documents of the topics named in ``also``."""
    docs = []
    also = dict(also or {})
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if also.get(doc.get("topic"), 0) > 0:
                also[doc["topic"]] -= 1
                docs.append(doc)
                continue
            if topics and doc.get("topic") not in topics:
                continue
            if doc.get("topic") in exclude:
                continue
            docs.append(doc)
            if limit and len(docs) >= limit:
                break
    return docs


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def evaluate(annotator: NameAnnotator, docs: list[dict], language: str) -> dict:
    t0 = time.perf_counter()
    if docs:
        annotator.annotate_layers(docs[0]["text"], language)  # loads the language pack
    load = time.perf_counter() - t0
    tp, fp, fn = Counter(), Counter(), Counter()
    lemma_ok = id_ok = matched = 0
    elapsed = 0.0
    for doc in docs:
        start = time.perf_counter()
        pred = merge_layers(annotator.annotate_layers(doc["text"], language))
        elapsed += time.perf_counter() - start
        gold = {(g["start"], g["end"], g["label"]): g for g in doc["entities"]}
        got = {(m.start, m.end, m.label): m for m in pred}
        for key, m in got.items():
            if key in gold:
                tp[key[2]] += 1
                matched += 1
                lemma_ok += m.lemma == gold[key]["lemma"]
                id_ok += m.entity_id == gold[key].get("eid")
            else:
                fp[key[2]] += 1
        for key in gold:
            if key not in got:
                fn[key[2]] += 1
    overall = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {
        "language": language,
        "docs": len(docs),
        **overall,
        "per_label": {lab: prf(tp[lab], fp[lab], fn[lab]) for lab in LABELS},
        "lemma_accuracy": round(lemma_ok / matched, 4) if matched else 0.0,
        "id_accuracy": round(id_ok / matched, 4) if matched else 0.0,
        "docs_per_s": round(len(docs) / elapsed, 1) if elapsed else 0.0,
        "load_s": round(load, 2),
    }


def show(result: dict, name: str) -> None:
    print(f"== {name} ({result['language']}, {result['docs']} docs)")
    print(f"   exact P {result['p']:.3f}  R {result['r']:.3f}  F1 {result['f1']:.3f}")
    for lab, r in result["per_label"].items():
        print(f"   {lab:4} P {r['p']:.3f}  R {r['r']:.3f}  F1 {r['f1']:.3f}  (tp {r['tp']}, fp {r['fp']}, fn {r['fn']})")
    print(f"   lemma accuracy {result['lemma_accuracy']:.3f}   id accuracy {result['id_accuracy']:.3f}")
    print(f"   {result['docs_per_s']:.0f} docs/s (pack load {result['load_s']:.2f} s, not counted)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--language", help="language of every file (default: from the file name)")
    ap.add_argument("--topics", default="", help="only these topics (comma-separated)")
    ap.add_argument("--exclude-topics", default="", help="leave these topics out (comma-separated)")
    ap.add_argument("--also", default="", help="TOPIC:N,...: add the first N documents of TOPIC")
    ap.add_argument("--limit", type=int, default=None, help="at most this many documents per file")
    args = ap.parse_args(argv)
    topics = {t for t in args.topics.split(",") if t}
    exclude = {t for t in args.exclude_topics.split(",") if t}
    annotator = NameAnnotator()
    results = {}
    for path in args.paths:
        language = language_of(path, args.language)
        also = {t.split(":")[0]: int(t.split(":")[1]) for t in args.also.split(",") if t}
        docs = read_docs(path, topics, exclude, args.limit, also)
        results[path.name] = evaluate(annotator, docs, language)
        show(results[path.name], path.name)
    print(json.dumps({"topics": sorted(topics), "excluded_topics": sorted(exclude), "results": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
