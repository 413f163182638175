"""``kronika train``: train the entity model (``crf_v1``) from gold layers or gold JSONL.

Inputs (``--gold``, one or more):

* a seeds folder: every ``<id>.gold.json`` with its seed ``<id>.txt``;
* one ``<id>.gold.json`` (its seed is read from beside it);
* gold JSONL, one ``{id, topic, text, entities: [{start, end, text, label, lemma, eid}]}``
  a line (the shape of the BSNLP files).

A document's language is, in this order: ``xx=PATH`` written on the command
line, the record's ``language`` field, a language code in the file name
(``bsnlp_pl_dev.jsonl``), or the one language of ``--languages``. Nothing is
guessed beyond that: a document without a language is an error.

**Held-out figure.** A deterministic part of the documents (``--holdout-topic``,
or else the 10 % with the smallest text hashes, so identical texts fall on the
same side) is kept out of training, and the card records the model's exact
F1 on it. The model written is the one that was measured, trained *without*
the held-out part, so the card never claims a figure for a model it does not
describe. ``--retrain-all`` trains once more on everything and then says
``"measured_before_retraining_on_all": true`` on the card.

**Tuning** (``--tune``): c1/c2 are chosen on a validation split of the
training part only (its 10 % with the smallest hashes, among the training
documents), never on the held-out documents; then the model is trained on
the whole training part with the chosen values.

Training data from BSNLP carries no license: write such models under /tmp,
never into the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kronika.crf import (
    CARD_FORMAT, DEFAULT_PARAMS, FEATURE_SET, SOURCE, EntityModel, GoldDoc, ModelError, TrainResult,
    card_params, data_digest, doc_key, train, write_model,
)
from kronika.jsonl import InputError

HOLDOUT_FRACTION = 0.1
TUNING_GRID: tuple[tuple[float, float], ...] = ((0.02, 0.01), (0.05, 0.01), (0.1, 0.01), (0.2, 0.01), (0.05, 0.05), (0.1, 0.001))
# Two-letter codes recognised in file names (bsnlp_pl_dev.jsonl): the languages
# simplemma lemmatises, which are the ones the features know.
KNOWN_LANGUAGES = frozenset(
    "ast bg ca cs cy da de el en enm es et fa fi fr ga gd gl gv hbs hi hu hy id is it ka la lb lt lv mk ms nb nl nn pl pt ro ru se sk sl sq sv sw tl tr uk".split()
)
_NAME_TOKEN = re.compile(r"[A-Za-z]+")


class TrainError(ValueError):
    """Bad input or options; the message names the file (and line)."""


# ------------------------------------------------------------------ reading gold
def language_from_name(path: str | Path) -> str | None:
    """The one two-letter language code among the words of a file name, or None."""
    words = {w.lower() for w in _NAME_TOKEN.findall(Path(path).name) if len(w) == 2}
    found = sorted(words & KNOWN_LANGUAGES)
    return found[0] if len(found) == 1 else None


def split_language(arg: str) -> tuple[str | None, str]:
    """``pl=path`` -> ("pl", "path"); a plain path -> (None, path)."""
    lang, sep, rest = arg.partition("=")
    if sep and re.fullmatch(r"[a-z]{2,3}", lang):
        return lang, rest
    return None, arg


def read_inputs(args: Sequence[str], languages: Sequence[str]) -> list[GoldDoc]:
    docs: list[GoldDoc] = []
    only = languages[0] if len(languages) == 1 else None
    for arg in args:
        lang, raw = split_language(arg)
        docs.extend(read_input(Path(raw), lang, only))
    return docs


def read_input(path: Path, lang: str | None, only: str | None) -> list[GoldDoc]:
    """The gold documents of one ``--gold`` argument, each with its language."""
    from kronika.eval_entities import read_gold, read_seed_gold
    from kronika.ingest import GOLD_SUFFIX

    if path.is_dir():
        rows = read_seed_gold(path)
        lines = [f"{path}/{r['id']}{GOLD_SUFFIX}" for r in rows]
    elif path.name.endswith(GOLD_SUFFIX):
        rows = [_read_gold_file(path)]
        lines = [str(path)]
    elif not path.exists():
        raise TrainError(f"{path}: no such file or folder")
    else:
        rows = read_gold(str(path), None)
        lines = [f"{path}:{r.get('_line', '?')}" for r in rows]
    from_name = None if path.is_dir() or path.name.endswith(GOLD_SUFFIX) else language_from_name(path)
    out = []
    for row, where in zip(rows, lines):
        language = lang or row.get("language") or row.get("lang") or from_name or only
        if not language:
            raise TrainError(f"{where}: no language for this document: write xx={path} or pass --languages xx")
        out.append(GoldDoc(
            id=str(row.get("id", where)), text=row["text"], language=language,
            mentions=tuple(row["entities"]), topic=row.get("topic"), where=where,
        ))
    return out


def _read_gold_file(path: Path) -> dict[str, Any]:
    """One gold layer with its seed (``<id>.txt`` beside it)."""
    from kronika.gold import read_gold as read_layer
    from kronika.ingest import GOLD_SUFFIX, SEED_SUFFIX, SeedError, read_seed

    seed = path.with_name(path.name[: -len(GOLD_SUFFIX)] + SEED_SUFFIX)
    if not path.exists():
        raise TrainError(f"{path}: no such gold file")
    if not seed.exists():
        raise TrainError(f"{path}: its seed {seed.name} is not beside it")
    try:
        doc = read_seed(seed, path.parent)
        mentions = read_layer(path, doc)
    except SeedError as exc:
        raise TrainError(str(exc)) from None
    return {"id": doc.id, "text": doc.text, "entities": [m.to_dict() for m in mentions]}


# ------------------------------------------------------------------ splits
def holdout_split(docs: Sequence[GoldDoc], topic: str | None, fraction: float) -> tuple[list[GoldDoc], list[GoldDoc]]:
    """(training, held out): the topic's documents, or the ``fraction`` with the smallest hashes."""
    if topic is not None:
        held = [d for d in docs if d.topic == topic]
        if not held:
            topics = sorted({d.topic for d in docs if d.topic})
            raise TrainError(f"--holdout-topic {topic!r}: no document has this topic (topics: {', '.join(topics) or 'none'})")
        return [d for d in docs if d.topic != topic], held
    ordered = sorted(docs, key=lambda d: (doc_key(d), d.id))
    n = math.ceil(len(ordered) * fraction) if fraction > 0 and len(ordered) > 1 else 0
    held_keys = {doc_key(d) for d in ordered[:n]}  # identical texts stay together
    return [d for d in ordered if doc_key(d) not in held_keys], [d for d in ordered if doc_key(d) in held_keys]


def as_eval_doc(doc: GoldDoc) -> dict[str, Any]:
    return {"id": doc.id, "text": doc.text, "language": doc.language, "topic": doc.topic, "entities": list(doc.mentions)}


def measure(result: TrainResult, languages: Sequence[str], docs: Sequence[GoldDoc]) -> dict[str, Any]:
    """``eval-entities`` figures of a freshly trained model on ``docs``."""
    from kronika.eval_entities import score_documents

    with tempfile.TemporaryDirectory(prefix="kronika-model-") as tmp:
        write_model(Path(tmp), result, base_card(result, languages))
        model = EntityModel.load(tmp)
        return score_documents([as_eval_doc(d) for d in docs], lambda d: model.annotate(d["text"], d["language"]))


def tune(docs: Sequence[GoldDoc], languages: Sequence[str], log: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """c1/c2 with the best exact F1 on a validation split of ``docs`` (the training part)."""
    fit, valid = holdout_split(docs, None, HOLDOUT_FRACTION)
    if not fit or not valid:
        raise TrainError("--tune: too few training documents for a validation split")
    trials = []
    for c1, c2 in TUNING_GRID:
        res = measure(train(fit, {"c1": c1, "c2": c2}), languages, valid)
        trials.append({"c1": c1, "c2": c2, "validation_f1": res["f1"]})
        print(f"  tune c1={c1} c2={c2}: validation F1={res['f1']:.4f}", file=log, flush=True)
    best = max(trials, key=lambda t: (t["validation_f1"], -t["c1"], -t["c2"]))
    return {"c1": best["c1"], "c2": best["c2"]}, trials


# ------------------------------------------------------------------ card
def base_card(result: TrainResult, languages: Sequence[str]) -> dict[str, Any]:
    gaz = result.gazetteer
    return {
        "format": CARD_FORMAT,
        "source": SOURCE,
        "feature_set": FEATURE_SET,
        "languages": sorted(languages),
        "training": {
            "documents": result.documents,
            "mentions": result.mentions,
            "unencodable_mentions": result.unencodable,
            "sha256": result.digest,
        },
        "trainer": card_params(result.params),
        "gazetteer": {"forms": len(gaz.entries), "matched_forms": len(gaz.match)},
    }


def heldout_card(split: str, held: Sequence[GoldDoc], res: dict[str, Any] | None, retrained: bool) -> dict[str, Any]:
    if res is None:
        return {"split": split, "documents": 0, "note": "nothing held out: no held-out figure"}
    keep = ("precision", "recall", "f1", "span_f1", "per_label_f1", "lemma_accuracy", "entity_id_accuracy", "gold_mentions", "predicted_mentions")
    return {
        "split": split,
        "documents": len(held),
        "sha256": data_digest(held),
        **{k: res[k] for k in keep},
        "measured_before_retraining_on_all": retrained,
    }


# ------------------------------------------------------------------ command
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """One line, not the usage block (like the other kronika commands)."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kronika train", description=__doc__.splitlines()[0])
    parser.add_argument("--gold", nargs="+", required=True, metavar="PATH",
                        help="seeds folder, <id>.gold.json or gold JSONL; prefix xx= to give the language (pl=seeds)")
    parser.add_argument("--out", type=Path, required=True, help="model folder to write (model.crfsuite, card.json, gazetteer.json)")
    parser.add_argument("--languages", default=None, help="train only on these languages (comma-separated); one language also names documents that name none")
    parser.add_argument("--holdout-topic", default=None, help="hold out this topic for the card's F1 (default: 10%% of documents by text hash)")
    parser.add_argument("--holdout-fraction", type=float, default=HOLDOUT_FRACTION, help="fraction held out when no topic is given (0: none)")
    parser.add_argument("--retrain-all", action="store_true", help="after measuring, train again on all documents (the card says so)")
    parser.add_argument("--tune", action="store_true", help="choose c1/c2 on a validation split of the training part")
    parser.add_argument("--c1", type=float, default=DEFAULT_PARAMS["c1"], help=f"L1 penalty (default {DEFAULT_PARAMS['c1']})")
    parser.add_argument("--c2", type=float, default=DEFAULT_PARAMS["c2"], help=f"L2 penalty (default {DEFAULT_PARAMS['c2']})")
    parser.add_argument("--max-iterations", type=int, default=DEFAULT_PARAMS["max_iterations"], help=f"L-BFGS iterations (default {DEFAULT_PARAMS['max_iterations']})")
    parser.add_argument("--quiet", action="store_true", help="print only the last JSON line")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (TrainError, InputError, ModelError) as exc:
        print(f"kronika train: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    log = open("/dev/null", "w") if args.quiet else sys.stdout  # noqa: SIM115
    t0 = time.perf_counter()
    wanted = sorted({x.strip() for x in args.languages.split(",") if x.strip()}) if args.languages else []
    docs = read_inputs(args.gold, wanted)
    if wanted:
        docs = [d for d in docs if d.language in wanted]
    if not docs:
        raise TrainError(f"{', '.join(args.gold)}: no gold document{' in ' + ','.join(wanted) if wanted else ''}")
    languages = sorted({d.language for d in docs})
    fit, held = holdout_split(docs, args.holdout_topic, args.holdout_fraction)
    if not fit:
        raise TrainError("every document is held out: nothing left to train on")
    params: dict[str, Any] = {"c1": args.c1, "c2": args.c2, "max_iterations": args.max_iterations}
    tuning = None
    if args.tune:
        chosen, trials = tune(fit, languages, log)
        params |= chosen
        tuning = {"split": "10% of the training part by text hash", "trials": trials, "chosen": chosen}
    print(f"training on {len(fit)} documents ({', '.join(languages)}), holding out {len(held)}", file=log, flush=True)
    result = train(fit, params)
    res = measure(result, languages, held) if held else None
    split = f"topic:{args.holdout_topic}" if args.holdout_topic else f"{args.holdout_fraction:g} of documents by text hash"
    if args.retrain_all and held:
        result = train(docs, params)
    card = base_card(result, languages)
    card["heldout"] = heldout_card(split, held, res, args.retrain_all and bool(held))
    if tuning:
        card["tuning"] = tuning
    write_model(args.out, result, card)
    seconds = time.perf_counter() - t0
    model = EntityModel.load(args.out)
    if res:
        print(f"held out ({split}): {len(held)} documents, exact F1={res['f1']:.4f} P={res['precision']:.4f} "
              f"R={res['recall']:.4f}, lemma accuracy {res['lemma_accuracy']:.4f}", file=log)
    print(f"model written to {args.out} in {seconds:.1f} s", file=log)
    summary = {"out": str(args.out), "fingerprint": model.fingerprint, "languages": languages, "documents": result.documents,
               "heldout_f1": res["f1"] if res else None, "seconds": round(seconds, 1)}
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
