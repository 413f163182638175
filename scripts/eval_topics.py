"""Measure the trained entity model (``crf_v1``) on articles it never saw.

For each gold JSONL file (one language each, e.g. the BSNLP dev files):

* **unseen 10 %**: train on 90 % of the documents, test on the 10 % with the
  smallest text hashes (the split ``kronika train`` holds out by default);
* **unseen 10 %, novel only**: the same model on those test documents that
  have no near copy in its training part (at most ``NEAR_COPY`` of their word
  5-grams in any one training document): news data repeats agency stories, and
  a copy of a training article measures memory, not generalisation;
* **leave one topic out**: for each topic with at least ``--min-docs``
  documents, train on the other topics and test on that topic (harder: the
  test articles' entities are mostly new to the model).

Nothing is tuned on a test part: the trainer parameters are the defaults of
``kronika.crf`` unless ``--tune`` is given, which picks c1/c2 on a validation
split of each training part only. Training runs in ``--jobs`` processes.
Prints a table, the acceptance check and, last, one JSON object.

    .venv/bin/python scripts/eval_topics.py /work/shared/data/bsnlp_*_dev.jsonl --jobs 2
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from kronika.train import holdout_split, measure, read_input, split_language, tune
from kronika.crf import train

NEAR_COPY = 0.5
TARGET_F1 = 0.80
TARGET_MEAN_F1 = 0.85
TARGET_LEMMA = 0.90


@dataclass(frozen=True)
class Job:
    path: str
    language: str | None
    split: str  # "unseen10" or "topic:<name>"
    tune: bool


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def novel(fit: list[Any], held: list[Any]) -> list[Any]:
    """The held-out documents with no near copy among the training documents."""
    index: dict[tuple[str, ...], list[int]] = {}
    for n, doc in enumerate(fit):
        for sh in _shingles(doc.text):
            index.setdefault(sh, []).append(n)
    out = []
    for doc in held:
        mine = _shingles(doc.text)
        shared: dict[int, int] = {}
        for sh in mine:
            for n in index.get(sh, ()):
                shared[n] = shared.get(n, 0) + 1
        if not mine or max(shared.values(), default=0) < NEAR_COPY * len(mine):
            out.append(doc)
    return out


def run_job(job: Job) -> list[dict[str, Any]]:
    docs = read_input(Path(job.path), job.language, job.language)
    language = docs[0].language
    topic = job.split.removeprefix("topic:") if job.split.startswith("topic:") else None
    fit, held = holdout_split(docs, topic, 0.1)
    t0 = time.perf_counter()
    params = tune(fit, [language], open("/dev/null", "w"))[0] if job.tune else {}
    result = train(fit, params)
    seconds = time.perf_counter() - t0
    tests = [(job.split, held)]
    if job.split == "unseen10":
        tests.append(("unseen10-novel", novel(fit, held)))
    rows = []
    for split, test in tests:
        res = measure(result, [language], test)
        rows.append({
            "language": language, "split": split, "train_docs": len(fit), "test_docs": len(test),
            "train_seconds": round(seconds, 1), "params": {k: result.params[k] for k in ("c1", "c2", "max_iterations")},
            **{k: res[k] for k in ("precision", "recall", "f1", "per_label_f1", "lemma_accuracy", "entity_id_accuracy", "gold_mentions", "docs_per_second")},
        })
    return rows


def plan(paths: list[str], min_docs: int, tune_params: bool, topics: bool) -> list[Job]:
    jobs = []
    for arg in paths:
        lang, raw = split_language(arg)
        docs = read_input(Path(raw), lang, lang)
        jobs.append((len(docs), Job(raw, lang, "unseen10", tune_params)))
        if not topics:
            continue
        counts: dict[str, int] = {}
        for d in docs:
            if d.topic:
                counts[d.topic] = counts.get(d.topic, 0) + 1
        for topic, n in sorted(counts.items()):
            if n >= min_docs and len(docs) - n >= min_docs:
                jobs.append((len(docs) - n, Job(raw, lang, f"topic:{topic}", tune_params)))
    return [job for _n, job in sorted(jobs, key=lambda x: -x[0])]  # longest first: better packing


def report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: (r["language"], not r["split"].startswith("unseen10"), r["split"]))
    print(f"{'lang':5} {'split':28} {'train':>5} {'test':>5} {'P':>6} {'R':>6} {'F1':>6} {'lemma':>6} {'id':>6} {'train s':>8}")
    for r in rows:
        print(f"{r['language']:5} {r['split']:28} {r['train_docs']:5} {r['test_docs']:5} {r['precision']:6.3f} {r['recall']:6.3f} "
              f"{r['f1']:6.3f} {r['lemma_accuracy']:6.3f} {r['entity_id_accuracy']:6.3f} {r['train_seconds']:8.1f}")
    unseen = {r["language"]: r for r in rows if r["split"] == "unseen10"}
    fresh = {r["language"]: r for r in rows if r["split"] == "unseen10-novel"}
    topic_f1: dict[str, list[float]] = {}
    for r in rows:
        if r["split"].startswith("topic:"):
            topic_f1.setdefault(r["language"], []).append(r["f1"])
    summary = {
        "unseen10_f1": {k: v["f1"] for k, v in unseen.items()},
        "unseen10_lemma_accuracy": {k: v["lemma_accuracy"] for k, v in unseen.items()},
        "unseen10_entity_id_accuracy": {k: v["entity_id_accuracy"] for k, v in unseen.items()},
        "unseen10_mean_f1": round(mean(v["f1"] for v in unseen.values()), 4) if unseen else None,
        "unseen10_novel_f1": {k: v["f1"] for k, v in fresh.items()},
        "unseen10_novel_mean_f1": round(mean(v["f1"] for v in fresh.values()), 4) if fresh else None,
        "topic_mean_f1": {k: round(mean(v), 4) for k, v in topic_f1.items()},
        "topic_mean_lemma_accuracy": {k: round(mean(r["lemma_accuracy"] for r in rows if r["language"] == k and r["split"].startswith("topic:")), 4) for k in topic_f1},
        "unseen10_train_seconds_total": round(sum(v["train_seconds"] for v in unseen.values()), 1),
    }
    if unseen:
        ok_each = all(v["f1"] >= TARGET_F1 for v in unseen.values())
        ok_mean = summary["unseen10_mean_f1"] >= TARGET_MEAN_F1
        ok_lemma = all(v["lemma_accuracy"] >= TARGET_LEMMA for v in unseen.values())
        print(f"targets on unseen 10%: each F1 >= {TARGET_F1}: {ok_each}; mean F1 {summary['unseen10_mean_f1']} >= {TARGET_MEAN_F1}: {ok_mean}; "
              f"lemma >= {TARGET_LEMMA}: {ok_lemma}; training time of the six (sum) {summary['unseen10_train_seconds_total']} s")
        summary["targets_met"] = {"each_f1": ok_each, "mean_f1": ok_mean, "lemma": ok_lemma}
    return {"results": rows, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold", nargs="+", help="gold JSONL files, one language each (xx=PATH names the language)")
    parser.add_argument("--min-docs", type=int, default=40, help="hold out only topics with at least this many documents")
    parser.add_argument("--jobs", type=int, default=2, help="training processes")
    parser.add_argument("--tune", action="store_true", help="choose c1/c2 on a validation split of each training part")
    parser.add_argument("--no-topics", action="store_true", help="only the unseen-10%% split")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    jobs = plan(args.gold, args.min_docs, args.tune, not args.no_topics)
    t0 = time.perf_counter()
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for done in pool.map(run_job, jobs):
            for row in done:
                print(f"  done {row['language']} {row['split']}: F1={row['f1']:.4f} ({row['train_seconds']} s)", file=sys.stderr, flush=True)
                rows.append(row)
    out = report(rows)
    out["summary"]["wall_seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
