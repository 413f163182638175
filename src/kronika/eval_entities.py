"""``kronika eval-entities``: score the automatic entity layers against gold JSONL.

Only the automatic annotators run (the gold layer never does): each line's
``text`` is annotated as Polish and compared with its ``entities``. Printed:
micro precision/recall/F1 for exact span+label, span-only F1, per-label F1,
lemma accuracy over exactly matched spans, documents per second. The last line
is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kronika.jsonl import InputError, json_objects
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kronika.record import LABELS

REQUIRED = ("start", "end", "text", "label", "lemma")


GoldError = InputError  # bad gold input; the message names file, line and field


@dataclass
class Tally:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    span_tp: int = 0
    span_pred: int = 0
    span_gold: int = 0
    lemma_ok: int = 0
    lemma_n: int = 0

    def add(self, gold: list[dict[str, Any]], pred: list[Any]) -> None:
        g = {(e["start"], e["end"], e["label"]): e for e in gold}
        p = {(m.start, m.end, m.label): m for m in pred}
        for key, m in p.items():
            if key in g:
                self.tp[key[2]] += 1
                self.lemma_n += 1
                self.lemma_ok += m.lemma == g[key]["lemma"]
            else:
                self.fp[key[2]] += 1
        for key in g:
            if key not in p:
                self.fn[key[2]] += 1
        gs = {(e["start"], e["end"]) for e in gold}
        ps = {(m.start, m.end) for m in pred}
        self.span_tp += len(gs & ps)
        self.span_pred += len(ps)
        self.span_gold += len(gs)


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _check_entity(path: str, lineno: int, n: int, e: Any, text: str) -> None:
    where = f"{path}:{lineno}: entities[{n}]"
    if not isinstance(e, dict):
        raise GoldError(f"{where}: not an object")
    for key in REQUIRED:
        if key not in e:
            raise GoldError(f"{where}: missing field '{key}'")
    if not isinstance(e["start"], int) or not isinstance(e["end"], int) or not 0 <= e["start"] < e["end"] <= len(text):
        raise GoldError(f"{where}: field 'start'/'end' out of range")
    if text[e["start"] : e["end"]] != e["text"]:
        raise GoldError(f"{where}: field 'text' does not match text[start:end]")
    if e["label"] not in LABELS:
        raise GoldError(f"{where}: field 'label' is {e['label']!r}, not one of {LABELS}")


def read_gold(path: str, limit: int | None) -> list[dict[str, Any]]:
    """Parse and check the gold file (errors name file, line and field)."""
    docs: list[dict[str, Any]] = []
    for lineno, doc in json_objects(path, limit):
        for key in ("text", "entities"):
            if key not in doc:
                raise GoldError(f"{path}:{lineno}: missing field '{key}'")
        if not isinstance(doc["text"], str):
            raise GoldError(f"{path}:{lineno}: field 'text' is not a string")
        if not isinstance(doc["entities"], list):
            raise GoldError(f"{path}:{lineno}: field 'entities' is not a list")
        for n, e in enumerate(doc["entities"]):
            _check_entity(path, lineno, n, e, doc["text"])
        docs.append(doc)
    return docs


def read_seed_gold(folder: Path) -> list[dict[str, Any]]:
    """The gold layers of a seeds folder as evaluation documents (gold never reaches the annotator)."""
    from kronika.gold import gold_path, read_gold as read_layer
    from kronika.ingest import SeedError, list_seeds, read_seed

    docs = []
    for seed in list_seeds(folder)[0]:
        if not gold_path(seed).exists():
            continue
        try:
            doc = read_seed(seed, folder)
            mentions = read_layer(gold_path(seed), doc)
        except SeedError as exc:
            raise GoldError(str(exc)) from None
        docs.append({"id": doc.id, "text": doc.text, "entities": [m.to_dict() for m in mentions]})
    if not docs:
        raise GoldError(f"{folder}: no seed with a gold layer (*.gold.json)")
    return docs


def evaluate(docs: list[dict[str, Any]]) -> dict[str, Any]:
    from kronika.entities import get_annotator

    ann = get_annotator()
    tally = Tally()
    t0 = time.perf_counter()
    for doc in docs:
        tally.add(doc["entities"], ann.annotate(doc["text"], "pl"))
    elapsed = time.perf_counter() - t0
    tp, fp, fn = sum(tally.tp.values()), sum(tally.fp.values()), sum(tally.fn.values())
    p, r, f = prf(tp, fp, fn)
    _sp, _sr, span_f = prf(tally.span_tp, tally.span_pred - tally.span_tp, tally.span_gold - tally.span_tp)
    per_label = {lab: round(prf(tally.tp[lab], tally.fp[lab], tally.fn[lab])[2], 4) for lab in LABELS}
    return {
        "documents": len(docs),
        "gold_mentions": tp + fn,
        "predicted_mentions": tp + fp,
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
        "span_f1": round(span_f, 4),
        "per_label_f1": per_label,
        "lemma_accuracy": round(tally.lemma_ok / tally.lemma_n, 4) if tally.lemma_n else 0.0,
        "docs_per_second": round(len(docs) / elapsed, 1) if elapsed > 0 else 0.0,
        "annotator": ann.fingerprint(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kronika eval-entities", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gold", required=True,
        help="JSONL of {id, text, entities: [{start, end, text, label, lemma}]}, or a seeds folder (its *.gold.json layers)",
    )
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N documents")
    args = parser.parse_args(argv)
    try:
        docs = read_seed_gold(Path(args.gold)) if Path(args.gold).is_dir() else read_gold(args.gold, args.limit)
    except GoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res = evaluate(docs)
    print(f"documents: {res['documents']}  gold mentions: {res['gold_mentions']}  predicted: {res['predicted_mentions']}")
    print(f"exact span+label: P={res['precision']:.4f} R={res['recall']:.4f} F1={res['f1']:.4f}")
    print(f"span only: F1={res['span_f1']:.4f}")
    for lab, f in res["per_label_f1"].items():
        print(f"  {lab}: F1={f:.4f}")
    print(f"lemma accuracy (exact matches): {res['lemma_accuracy']:.4f}")
    print(f"documents/second: {res['docs_per_second']}")
    print(json.dumps(res, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
