"""``kronika eval-entities``: score an entity annotator against gold JSONL or gold layers.

By default it scores what the build would publish: the language layer decides each
document's language (nothing is forced), and the registry's entity annotators for
that language run and are merged (the gold layer never runs); ``--model
MODEL_DIR`` adds a model trained by ``kronika train`` to them, as ``kronika build
--entity-model`` does. ``--model-only MODEL_DIR`` scores the model alone, in each
document's given language (its ``language`` field, else the language written in the
file name, else ``--language``). Printed:
micro precision/recall/F1 for exact span+label, span-only F1, per-label
P/R/F1, lemma and entity-id accuracy over exactly matched mentions, documents
per second. The last line is one JSON object with the headline figures.

``score_documents(docs, annotate)`` is the reusable part: it takes one
callable per document, so any annotator (or a registry choosing one per
document language) can be measured the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kronika.jsonl import InputError, json_objects
from kronika.record import LABELS, Mention

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
    id_ok: int = 0
    id_n: int = 0

    def add(self, gold: list[dict[str, Any]], pred: list[Any]) -> None:
        g = {(e["start"], e["end"], e["label"]): e for e in gold}
        p = {(m.start, m.end, m.label): m for m in pred}
        for key, m in p.items():
            if key in g:
                self.tp[key[2]] += 1
                self.lemma_n += 1
                self.lemma_ok += m.lemma == g[key]["lemma"]
                gold_id = g[key].get("eid") or g[key].get("entity_id")
                if gold_id:
                    self.id_n += 1
                    self.id_ok += m.entity_id == normalise_id(str(gold_id))
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


def normalise_id(eid: str) -> str:
    """A gold id in the schema's ASCII form (``PER-Michał-Dworczyk`` -> ``PER-Michal-Dworczyk``),
    which is what an annotator may publish; the comparison is made on that form."""
    from kronika.crf import normalise_id as normalise

    return normalise(eid)


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
        doc["_line"] = lineno  # where it came from, for later messages
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



def language_of(doc: dict[str, Any], path: str | Path, default: str | None) -> str | None:
    """A document's language: its ``language``/``lang`` field, else a language code
    written in the file name (``bsnlp_pl_dev.jsonl``), else ``default``."""
    from kronika.train import language_from_name

    return doc.get("language") or doc.get("lang") or language_from_name(path) or default


def select_topics(docs: list[dict[str, Any]], topics: set[str] | None, exclude: set[str] | None) -> list[dict[str, Any]]:
    """The documents whose ``topic`` is in ``topics`` (all if None) and not in ``exclude``."""
    return [
        d for d in docs
        if (topics is None or d.get("topic") in topics) and not (exclude and d.get("topic") in exclude)
    ]


DocAnnotator = Callable[[dict[str, Any]], list[Mention]]


def score_documents(docs: list[dict[str, Any]], annotate: DocAnnotator) -> dict[str, Any]:
    """Exact span+label P/R/F1 (overall, per label), span-only F1, lemma and id
    accuracy on exact matches, and speed, of ``annotate(doc)`` against each doc's gold."""
    tally = Tally()
    t0 = time.perf_counter()
    for doc in docs:
        tally.add(doc["entities"], annotate(doc))
    elapsed = time.perf_counter() - t0
    return summary(tally, len(docs), elapsed)


def summary(tally: Tally, documents: int, elapsed: float) -> dict[str, Any]:
    tp, fp, fn = sum(tally.tp.values()), sum(tally.fp.values()), sum(tally.fn.values())
    p, r, f = prf(tp, fp, fn)
    _sp, _sr, span_f = prf(tally.span_tp, tally.span_pred - tally.span_tp, tally.span_gold - tally.span_tp)
    per_label = {lab: prf(tally.tp[lab], tally.fp[lab], tally.fn[lab]) for lab in LABELS}
    return {
        "documents": documents,
        "gold_mentions": tp + fn,
        "predicted_mentions": tp + fp,
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
        "span_f1": round(span_f, 4),
        "per_label_f1": {lab: round(v[2], 4) for lab, v in per_label.items()},
        "per_label": {lab: {"precision": round(v[0], 4), "recall": round(v[1], 4), "f1": round(v[2], 4)} for lab, v in per_label.items()},
        "lemma_accuracy": round(tally.lemma_ok / tally.lemma_n, 4) if tally.lemma_n else 0.0,
        "entity_id_accuracy": round(tally.id_ok / tally.id_n, 4) if tally.id_n else 0.0,
        "docs_per_second": round(documents / elapsed, 1) if elapsed > 0 else 0.0,
    }


def evaluate(docs: list[dict[str, Any]], models: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the build publishes: each document's language decided by the language layer
    (never forced), then the registry's entity annotators for that language (plus the
    trained ``models``), merged by the registry's ranks."""
    from kronika.blocks import split_blocks
    from kronika.layers import tools_for

    tools = tools_for((), models)

    def annotate(doc: dict[str, Any]) -> list[Any]:
        doc["detected"] = tools.tagger.tag_document(doc["text"], split_blocks(doc["text"])).language
        return tools.entities(doc["text"], doc["detected"])

    res = score_documents(docs, annotate)
    detected = Counter(doc["detected"] for doc in docs)
    return {**res, "annotator": tools.fingerprint, "languages_detected": dict(sorted(detected.items()))}


def evaluate_model(docs: list[dict[str, Any]], model_dir: Path) -> dict[str, Any]:
    """A ``kronika train`` model, each document in its own language (``doc["language"]``)."""
    from kronika.crf import EntityModel

    model = EntityModel.load(model_dir)
    res = score_documents(docs, lambda doc: model.annotate(doc["text"], doc["language"]))
    return {**res, "annotator": f"{model.card.get('source', 'crf_v1')}:{model.fingerprint}", "model": str(model_dir)}


def _language_problem(docs: list[dict[str, Any]], languages: tuple[str, ...], where: str) -> str | None:
    for doc in docs:
        if doc.get("language") is None:
            return f"{where}: document {doc.get('id')!r}: no language (add a 'language' field or pass --language)"
        if doc["language"] not in languages:
            return f"{where}: document {doc.get('id')!r} is {doc['language']!r}; the model knows {', '.join(languages)}"
    return None


def _split(value: str | None) -> set[str] | None:
    return {v.strip() for v in value.split(",") if v.strip()} if value else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kronika eval-entities", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gold", required=True,
        help="JSONL of {id, text, entities: [{start, end, text, label, lemma}]}, or a seeds folder (its *.gold.json layers)",
    )
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N documents")
    parser.add_argument("--model", type=Path, action="append", default=[], help="add a model folder written by `kronika train` to the registry's annotators, as `kronika build --entity-model` does")
    parser.add_argument("--model-only", type=Path, default=None, help="score a model folder alone, in each document's given language (no language layer, no other annotator)")
    parser.add_argument("--language", default=None, help="language of documents that name none (with --model-only; default: from the file name)")
    parser.add_argument("--topics", default=None, help="only documents of these topics (comma-separated `topic` fields)")
    parser.add_argument("--exclude-topics", default=None, help="leave out documents of these topics")
    return parser


def load_docs(gold: str, limit: int | None, default_language: str | None) -> list[dict[str, Any]]:
    """Gold documents from a JSONL file or a seeds folder, each with its ``language``."""
    path = Path(gold)
    docs = read_seed_gold(path) if path.is_dir() else read_gold(gold, limit)
    for doc in docs:
        doc["language"] = language_of(doc, path if not path.is_dir() else "", default_language)
    return docs


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        docs = load_docs(args.gold, args.limit, args.language)
    except GoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    docs = select_topics(docs, _split(args.topics), _split(args.exclude_topics))
    if not docs:
        print(f"error: {args.gold}: no document left after the topic filters", file=sys.stderr)
        return 2
    if args.model_only:
        from kronika.crf import EntityModel, ModelError

        try:
            languages = EntityModel.load(args.model_only).languages
        except ModelError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        problem = _language_problem(docs, languages, args.gold)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        res = evaluate_model(docs, args.model_only)
    else:
        from kronika.registry import RegistryError

        try:
            res = evaluate(docs, tuple(str(m.resolve()) for m in args.model))
        except RegistryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print_report(res)
    return 0


def print_report(res: dict[str, Any]) -> None:
    print(f"documents: {res['documents']}  gold mentions: {res['gold_mentions']}  predicted: {res['predicted_mentions']}")
    print(f"exact span+label: P={res['precision']:.4f} R={res['recall']:.4f} F1={res['f1']:.4f}")
    print(f"span only: F1={res['span_f1']:.4f}")
    for lab, v in res["per_label"].items():
        print(f"  {lab}: P={v['precision']:.4f} R={v['recall']:.4f} F1={v['f1']:.4f}")
    print(f"lemma accuracy (exact matches): {res['lemma_accuracy']:.4f}")
    print(f"entity-id accuracy (exact matches with a gold id): {res['entity_id_accuracy']:.4f}")
    print(f"documents/second: {res['docs_per_second']}")
    print(json.dumps(res, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    raise SystemExit(main())
