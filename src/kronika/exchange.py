"""Exchange with annotation tools: ``kronika export`` and ``kronika import``.

Every format works on the same small in-memory shape, ``AnnotatedText`` (a
document id, its exact ``text`` and its ``Mention`` list, offsets in code
points). Export reads the corpus's ``documents`` Parquet rows; import reads a
tool's file back, checks every mention against the seed text (read from
``seeds/<id>.txt``, so offsets are checked against what the build will see)
and writes ``seeds/<id>.gold.json`` in the exact gold format (ANNOTATION.md §9).

Formats, each in its own module with ``write(docs, path)`` and
``read(path, text_of)``: ``conll`` (a file), ``spacy`` (a ``DocBin`` file,
needs the ``spacy`` extra), ``labelstudio`` (a JSON file) and ``brat`` (a
folder of ``.txt`` + ``.ann``). All four carry lemma and entity id, so export
then import gives back the same gold layer.

Import is all or nothing: every document is checked before any gold file is
written, and each file is written atomically. An import keeps the annotator of
the gold file it replaces unless ``--annotator`` is given. Bad input ends with
one line naming the file, line or record, and field, and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from jsonschema import Draft202012Validator

from kronika.record import ENTITY_ID_PATTERN, ID_PATTERN, LABELS, Mention, gold_schema

EXIT_USAGE = 2
GOLD_LAYER = "gold_v1"
FORMATS = {"conll": "conll", "spacy": "spacy_docbin", "labelstudio": "labelstudio", "brat": "brat"}
LAYERS = ("published", "gold")
TextOf = Callable[[str, str], str]  # (doc_id, where) -> document text, or ExchangeError
_GOLD_VALIDATOR = Draft202012Validator(gold_schema())


class ExchangeError(ValueError):
    """Bad exchange input or output; ``str(err)`` is one line: where, field, problem."""


@dataclass
class AnnotatedText:
    """One document as the exchange formats see it (offsets in code points)."""

    doc_id: str
    text: str
    mentions: list[Mention] = field(default_factory=list)
    language: str = "und"


def format_module(name: str) -> ModuleType:
    """The module implementing format ``name`` (``conll``, ``spacy``, ...)."""
    if name not in FORMATS:
        raise ExchangeError(f"format: {name!r} is not one of {', '.join(FORMATS)}")
    return importlib.import_module(f"kronika.{FORMATS[name]}")


# ------------------------------------------------------------ shared checks
def make_mention(
    text: str, start: Any, end: Any, label: Any, lemma: Any, entity_id: Any, where: str, surface: str | None = None
) -> Mention:
    """A gold ``Mention`` checked against ``text``; ``where`` names file and record.

    ``surface`` is the mention text the tool wrote, if it wrote one: it must be
    ``text[start:end]``.
    """
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ExchangeError(f"{where}: {name}: {value!r} is not an offset")
    if not start < end <= len(text):
        raise ExchangeError(f"{where}: end: span [{start}, {end}) does not fit a text of {len(text)} characters")
    if surface is not None and text[start:end] != surface:
        raise ExchangeError(f"{where}: text: {surface!r} is not the document text at [{start}, {end}), {text[start:end]!r}")
    if label not in LABELS:
        raise ExchangeError(f"{where}: label: {label!r} is not one of {' '.join(LABELS)}")
    if not isinstance(lemma, str) or not lemma.strip():
        raise ExchangeError(f"{where}: lemma: missing or empty")
    if not isinstance(entity_id, str) or not re.fullmatch(ENTITY_ID_PATTERN, entity_id):
        raise ExchangeError(f"{where}: entity_id: {entity_id!r} does not match {ENTITY_ID_PATTERN}")
    return Mention(start, end, text[start:end], label, lemma, entity_id, GOLD_LAYER, None)


def check_no_overlap(mentions: list[Mention], where: str) -> list[Mention]:
    """Mentions sorted by offsets; overlapping ones are an error (gold has none)."""
    ordered = sorted(mentions)
    for previous, mention in zip(ordered, ordered[1:]):
        if mention.start < previous.end:
            raise ExchangeError(
                f"{where}: mentions: [{mention.start}, {mention.end}) {mention.text!r} overlaps "
                f"[{previous.start}, {previous.end}) {previous.text!r}"
            )
    return ordered


def check_text(doc_id: str, text: str, expected: str, where: str) -> None:
    """The tool's copy of the text must be the seed text, or the offsets mean nothing."""
    if text == expected:
        return
    at = next((i for i, (a, b) in enumerate(zip(text, expected)) if a != b), min(len(text), len(expected)))
    raise ExchangeError(
        f"{where}: text: differs from the seed text of {doc_id!r} at character {at} "
        f"({text[at:at + 20]!r} vs {expected[at:at + 20]!r}); was the seed edited after export?"
    )


def sentence_spans(doc: AnnotatedText) -> list[tuple[int, int]]:
    """Sentences of ``doc`` (newline = hard boundary, none cutting a mention)."""
    from kronika.views import sentence_spans as spans

    row = {"text": doc.text, "blocks": [{"start": 0, "end": len(doc.text)}], "entities": [m.to_dict() for m in doc.mentions]}
    return spans(row)


# ------------------------------------------------------------------ export
def read_corpus(corpus: Path, layer: str = "published") -> tuple[list[AnnotatedText], int]:
    """Documents of a corpus folder (or one Parquet file), and how many were skipped.

    ``layer="gold"`` keeps only documents whose published entities are gold.
    """
    import pyarrow.parquet as pq

    files = [corpus] if corpus.is_file() else sorted(corpus.glob("documents/*.parquet"))
    if not files:
        raise ExchangeError(f"{corpus}: no documents/*.parquet here; pass the corpus folder or a Parquet file")
    docs, skipped = [], 0
    columns = ["id", "text", "language", "entities", "entity_status"]
    for path in files:
        try:
            rows = pq.read_table(path, columns=columns).to_pylist()
        except Exception as err:  # pyarrow raises many kinds; all mean "not a documents file"
            raise ExchangeError(f"{path}: cannot read the documents columns {columns}: {err}") from None
        for row in rows:
            if layer == "gold" and row["entity_status"] != "gold":
                skipped += 1
                continue
            mentions = [Mention(**m) for m in row["entities"]]
            docs.append(AnnotatedText(row["id"], row["text"], mentions, row["language"]))
    return docs, skipped


def export_main(argv: list[str]) -> int:
    """``kronika export --format F --corpus corpus --out PATH [--layer published|gold]``."""
    parser = argparse.ArgumentParser(prog="kronika export", description="Write the corpus entities for an annotation tool.")
    parser.add_argument("--format", required=True, choices=list(FORMATS))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus folder or a documents Parquet file (default: corpus)")
    parser.add_argument("--out", type=Path, required=True, help="output file (a folder for brat)")
    parser.add_argument("--layer", choices=LAYERS, default="published", help="published entities, or only documents with gold (default: published)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as err:
        return int(err.code or 0)
    try:
        docs, skipped = read_corpus(args.corpus, args.layer)
        format_module(args.format).write(docs, args.out)
    except (ExchangeError, OSError) as err:
        print(f"kronika export: {err}", file=sys.stderr)
        return EXIT_USAGE
    note = f"; {skipped} document(s) without gold skipped" if skipped else ""
    print(f"{args.out}: {len(docs)} document(s), {sum(len(d.mentions) for d in docs)} mention(s){note}")
    return 0


# ------------------------------------------------------------------ import
class SeedTexts:
    """``text_of`` for import: the seed text of a document id, read once."""

    def __init__(self, seeds: Path) -> None:
        self.seeds = seeds
        self.documents: dict[str, Any] = {}

    def __call__(self, doc_id: str, where: str) -> str:
        return self.document(doc_id, where).text

    def document(self, doc_id: str, where: str = "") -> Any:
        from kronika.ingest import SEED_SUFFIX, SeedError, read_seed

        if doc_id not in self.documents:
            path = self.seeds / f"{doc_id}{SEED_SUFFIX}"
            if not re.fullmatch(ID_PATTERN, doc_id) or not path.is_file():
                raise ExchangeError(f"{where}: doc_id: {doc_id!r} has no seed file {path}")
            try:
                self.documents[doc_id] = read_seed(path, self.seeds)
            except SeedError as err:
                raise ExchangeError(str(err)) from None
        return self.documents[doc_id]


def gold_record(doc: AnnotatedText, sha256: str, annotator: str) -> dict[str, Any]:
    """The gold file content for ``doc`` (ANNOTATION.md §9), schema-checked."""
    mentions = [
        {"start": m.start, "end": m.end, "text": m.text, "label": m.label, "lemma": m.lemma, "entity_id": m.entity_id}
        for m in sorted(doc.mentions)
    ]
    record = {"doc_id": doc.doc_id, "sha256": sha256, "layer": GOLD_LAYER, "annotator": annotator, "mentions": mentions}
    error = next(iter(_GOLD_VALIDATOR.iter_errors(record)), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise ExchangeError(f"{doc.doc_id}: {where}: {error.message}")
    return record


def _existing_annotator(path: Path) -> str | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("annotator")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def import_main(argv: list[str]) -> int:
    """``kronika import --format F --in PATH --seeds seeds [--annotator NAME]``."""
    parser = argparse.ArgumentParser(prog="kronika import", description="Write gold layers from an annotation tool's file.")
    parser.add_argument("--format", required=True, choices=list(FORMATS))
    parser.add_argument("--in", dest="source", type=Path, required=True, help="the tool's file (a folder for brat)")
    parser.add_argument("--seeds", type=Path, default=Path("seeds"), help="seed folder (default: seeds)")
    parser.add_argument("--annotator", default=None, help="annotator to record (default: keep the existing gold file's)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as err:
        return int(err.code or 0)
    from kronika.ingest import GOLD_SUFFIX
    from kronika.write import write_json

    texts = SeedTexts(args.seeds)
    try:
        docs = format_module(args.format).read(args.source, texts)
        records = []
        for doc in docs:
            seed = texts.document(doc.doc_id, str(args.source))
            target = args.seeds / f"{doc.doc_id}{GOLD_SUFFIX}"
            annotator = args.annotator or _existing_annotator(target) or f"imported from {args.format}"
            records.append((target, gold_record(doc, seed.sha256, annotator)))
        for target, record in records:
            write_json(target, record)
    except (ExchangeError, OSError) as err:
        print(f"kronika import: {err}", file=sys.stderr)
        return EXIT_USAGE
    for target, record in records:
        print(f"{target}: {len(record['mentions'])} mention(s)")
    return 0


def unique_ids(docs: list[AnnotatedText], where: str) -> list[AnnotatedText]:
    """A document may appear once per import file."""
    seen: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen:
            raise ExchangeError(f"{where}: doc_id: {doc.doc_id!r} appears twice")
        seen.add(doc.doc_id)
    return docs
