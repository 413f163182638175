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
then import gives back the same gold layer, and the layer each mention was
published from (its ``source``). Import reads that layer back into
``AnnotatedText.exported_layers`` for information only: every imported
mention becomes ``gold_v1``. Export streams the documents (one row group at a
time) and reads the corpus's ``sentences`` config (only ``doc_id``, ``start``,
``end``) so that formats with sentences use the dataset's own.

Import cannot forge gold. Only what a person changed becomes a gold layer:

* Label Studio: only submitted ``annotations`` count, never ``predictions``;
  a task without one is skipped and reported.
* A document whose imported mentions are identical to the automatic layers the
  corpus publishes for it (``--corpus``; entities whose source is not
  ``gold_*``), or that has no mention, or that the corpus does not hold (in
  this version of the seed), looks unreviewed: it is not written unless
  ``--accept-unreviewed`` is given.
* An existing gold file with other mentions is replaced only with ``--force``;
  one with the same mentions is left as it is ("unchanged").

Refused documents are reported, one stderr line per reason (a count and a few
ids), the others are written, and the exit status is 1. ``--dry-run`` prints
the same plan (per file: new / replace / unchanged, mention counts) and writes
nothing. Every gold file written records ``origin`` (format, the imported
file's name, UTC time). Import writes only ``<id>.gold.json`` files in the seed
folder, each atomically (hidden temporary file, fsync, rename), and never
deletes anything. Bad input is checked before anything is written (all or
nothing) and ends with one line naming the file, line or record, and field,
and exit status 2. An import keeps the annotator of the gold file it replaces
unless ``--annotator`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import tempfile
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from kronika.record import ENTITY_ID_PATTERN, ID_PATTERN, LABELS, Mention, edge_space, gold_schema, one_line, schema_validator, shown

EXIT_REFUSED = 1  # some documents were not written (unreviewed, or would overwrite gold)
EXIT_USAGE = 2
GOLD_LAYER = "gold_v1"
FORMATS = {"conll": "conll", "spacy": "spacy_docbin", "labelstudio": "labelstudio", "brat": "brat"}
LAYERS = ("published", "gold")
TextOf = Callable[[str, str], str]  # (doc_id, where) -> document text, or ExchangeError


@cache
def _gold_validator() -> Any:
    return schema_validator(gold_schema())


class ExchangeError(ValueError):
    """Bad exchange input or output; ``str(err)`` is one line: where, field, problem."""


@dataclass
class AnnotatedText:
    """One document as the exchange formats see it (offsets in code points)."""

    doc_id: str
    text: str
    mentions: list[Mention] = field(default_factory=list)
    language: str = "und"
    skipped: str | None = None  # why the tool's file holds no annotation for it (nothing is written)
    sentences: list[tuple[int, int]] | None = None  # the corpus's sentence spans, when exported from a corpus
    # Import: the layer the file says each mention was published from, by (start, end); informational only.
    exported_layers: dict[tuple[int, int], str] = field(default_factory=dict)


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
    if edge_space(text[start:end]):
        raise ExchangeError(f"{where}: text: {text[start:end]!r} starts or ends with white space; select the name alone")
    if label not in LABELS:
        raise ExchangeError(f"{where}: label: {label!r} is not one of {' '.join(LABELS)}")
    if not isinstance(lemma, str) or not lemma.strip():
        raise ExchangeError(f"{where}: lemma: missing or empty")
    if edge_space(lemma):
        raise ExchangeError(f"{where}: lemma: {lemma!r} starts or ends with white space")
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
    """Sentences of ``doc``, none cutting a mention.

    The corpus's own (``doc.sentences``, from its ``sentences`` config) when
    they hold every mention; otherwise the same splitter over the whole text
    (newline = hard boundary).
    """
    from kronika.views import sentence_spans as spans

    if doc.sentences:
        ordered = sorted(doc.sentences)
        starts = [s for s, _ in ordered]
        if all((i := bisect_right(starts, m.start) - 1) >= 0 and m.end <= ordered[i][1] for m in doc.mentions):
            return ordered
    row = {"text": doc.text, "blocks": [{"start": 0, "end": len(doc.text)}], "entities": [m.to_dict() for m in doc.mentions]}
    return spans(row)


def by_offsets(mentions: Iterable[Mention]) -> list[Mention]:
    """Mentions in a stable order: by start, then end (then the rest, so equal spans keep one order)."""
    return sorted(mentions, key=lambda m: (m.start, m.end, m.label, m.source, m.entity_id, m.lemma))


@contextmanager
def atomic_text(path: Path) -> Iterator[Any]:
    """A text handle writing ``path`` through a hidden temporary file, renamed at the end (removed on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # named by the process, as in kronika.atomic
    try:
        with tmp.open("w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # our own temporary file
        raise


# ------------------------------------------------------------------ export
DOCUMENT_COLUMNS = ["id", "text", "language", "entities", "entity_status"]
SENTENCE_COLUMNS = ["doc_id", "start", "end"]


@dataclass
class Tally:
    """What an export went through: documents written, their mentions, documents skipped."""

    documents: int = 0
    mentions: int = 0
    skipped: int = 0


def read_sentences(corpus: Path) -> dict[str, list[tuple[int, int]]]:
    """Sentence spans per document id from ``corpus/sentences/*.parquet`` (empty if there are none).

    Reads three integer/string columns a row group at a time, never the tokens.
    """
    import pyarrow.parquet as pq

    out: dict[str, list[tuple[int, int]]] = {}
    if corpus.is_file():
        return out
    for path in sorted(corpus.glob("sentences/*.parquet")):
        try:
            for batch in pq.ParquetFile(path).iter_batches(columns=SENTENCE_COLUMNS):
                ids, starts, ends = (batch.column(i).to_pylist() for i in range(3))
                for doc_id, start, end in zip(ids, starts, ends):
                    out.setdefault(doc_id, []).append((start, end))
        except Exception as err:  # pyarrow raises many kinds; all mean "not a sentences file"
            raise ExchangeError(f"{path}: cannot read the sentences columns {SENTENCE_COLUMNS}: {one_line(err)}") from None
    return out


def iter_corpus(
    corpus: Path, layer: str = "published", tally: Tally | None = None, with_sentences: bool = True
) -> Iterator[AnnotatedText]:
    """Documents of a corpus folder (or one Parquet file), a batch of rows at a time.

    ``layer="gold"`` keeps only documents whose published entities are gold.
    With ``with_sentences`` each document carries its sentences from the
    corpus's ``sentences`` config, when the corpus has one. Missing files are
    reported before the first document; ``tally`` counts as the documents go by.
    """
    files = [corpus] if corpus.is_file() else sorted(corpus.glob("documents/*.parquet"))
    if not files:
        raise ExchangeError(f"{corpus}: no documents/*.parquet here; pass the corpus folder or a Parquet file")
    sentences = read_sentences(corpus) if with_sentences else {}
    return _iter_documents(files, sentences, layer, tally if tally is not None else Tally())


def _iter_documents(files: list[Path], sentences: dict[str, list[tuple[int, int]]], layer: str, tally: Tally) -> Iterator[AnnotatedText]:
    import pyarrow.parquet as pq

    for path in files:
        try:
            batches = pq.ParquetFile(path).iter_batches(columns=DOCUMENT_COLUMNS, batch_size=256)
            rows = (row for batch in batches for row in batch.to_pylist())
            for row in rows:
                if layer == "gold" and row["entity_status"] != "gold":
                    tally.skipped += 1
                    continue
                mentions = [Mention(**m) for m in row["entities"]]
                tally.documents += 1
                tally.mentions += len(mentions)
                yield AnnotatedText(row["id"], row["text"], mentions, row["language"], sentences=sentences.get(row["id"]))
        except ExchangeError:
            raise
        except Exception as err:  # pyarrow raises many kinds; all mean "not a documents file"
            raise ExchangeError(f"{path}: cannot read the documents columns {DOCUMENT_COLUMNS}: {one_line(err)}") from None


def read_corpus(corpus: Path, layer: str = "published") -> tuple[list[AnnotatedText], int]:
    """Documents of a corpus folder (or one Parquet file) as a list, and how many were skipped."""
    tally = Tally()
    docs = list(iter_corpus(corpus, layer, tally))
    return docs, tally.skipped


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
    tally = Tally()
    try:
        module = format_module(args.format)
        check_out(args.out, args.corpus, folder=args.format == "brat")
        docs = iter_corpus(args.corpus, args.layer, tally, with_sentences=getattr(module, "USES_SENTENCES", False))
        module.write(docs, args.out)
    except (ExchangeError, OSError) as err:
        print(f"kronika export: {one_line(err, 1000)}", file=sys.stderr)
        return EXIT_USAGE
    note = f"; {tally.skipped} document(s) without gold skipped" if tally.skipped else ""
    print(f"{args.out}: {tally.documents} document(s), {tally.mentions} mention(s){note}")
    return 0


def check_out(out: Path, corpus: Path, folder: bool) -> None:
    """Refuse an ``--out`` where the export could overwrite what it did not write.

    Never inside the corpus, never in a seeds folder (the ``seeds/`` beside the
    corpus, or any folder holding gold files: brat's ``<id>.txt`` would replace the
    seeds); brat's folder must be new, empty or an earlier brat export.
    """
    from kronika.ingest import GOLD_SUFFIX

    if not corpus.exists():
        return  # nothing is written: reading the corpus fails first
    target = out.resolve()
    home = target if folder else target.parent
    data = (corpus if corpus.is_dir() else corpus.parent).resolve()
    if target == data or target.is_relative_to(data):
        raise ExchangeError(f"{out}: lies inside the corpus {corpus}; give a path of its own (for example --out export/)")
    seeds = (data if corpus.is_dir() else data.parent).parent / "seeds"
    if home == seeds or home.is_relative_to(seeds) or (home.is_dir() and any(home.glob(f"*{GOLD_SUFFIX}"))):
        raise ExchangeError(f"{out}: is in a seeds folder; export never writes there (give, for example, --out export/)")
    if folder and home.is_dir() and not (home / "annotation.conf").is_file() and any(home.iterdir()):
        raise ExchangeError(f"{out}: is not empty and not a brat export (no annotation.conf); refusing to write into it")


# ------------------------------------------------------------------ import
def read_input(path: Path, what: str = "file") -> bytes:
    """The bytes of an import file; a folder, a FIFO or device (it would block or never
    end), a missing or unreadable file is one-line ``ExchangeError``."""
    if path.is_dir():
        raise ExchangeError(f"{path}: is a folder; --in must be a {what}")
    try:
        if path.exists() and not path.is_file():
            raise ExchangeError(f"{path}: is not a regular file; --in must be a {what}")
        return path.read_bytes()
    except OSError as err:
        raise ExchangeError(f"{path}: cannot read: {err.strerror or err}") from None


def decode_utf8(data: bytes, where: Path | str) -> str:
    """The text of an import file, without the byte order mark some editors write
    (a document text never starts with one: the build keeps a seed's BOM apart)."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise ExchangeError(f"{where}: invalid UTF-8 at byte offset {err.start}") from None


def load_json(path: Path) -> Any:
    """Parse a JSON import file; every failure is one line naming the file."""
    text = decode_utf8(read_input(path), path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ExchangeError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise ExchangeError(f"{path}: invalid JSON: nested too deeply to read") from None
    except ValueError as err:  # a number beyond Python's int conversion limit
        raise ExchangeError(f"{path}: invalid JSON: {one_line(err)}") from None


def read_source(module: ModuleType, path: Path, text_of: TextOf) -> list[AnnotatedText]:
    """``module.read`` with every failure turned into a one-line ``ExchangeError``."""
    try:
        return module.read(path, text_of)
    except ExchangeError:
        raise
    except RecursionError:
        raise ExchangeError(f"{path}: nested too deeply to read") from None
    except UnicodeDecodeError as err:
        raise ExchangeError(f"{path}: invalid UTF-8 at byte offset {err.start}") from None
    except OSError as err:
        raise ExchangeError(f"{getattr(err, 'filename', None) or path}: cannot read: {err.strerror or err}") from None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as err:
        raise ExchangeError(f"{path}: not a valid {module.__name__.rsplit('.', 1)[-1]} file ({type(err).__name__}: {one_line(err)})") from None


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
            if not isinstance(doc_id, str) or not re.fullmatch(ID_PATTERN, doc_id) or not path.is_file():
                raise ExchangeError(f"{where}: doc_id: {doc_id!r} has no seed file {path}")
            try:
                self.documents[doc_id] = read_seed(path, self.seeds)
            except SeedError as err:
                raise ExchangeError(str(err)) from None
        return self.documents[doc_id]


def gold_record(doc: AnnotatedText, sha256: str, annotator: str, origin: dict[str, str] | None = None) -> dict[str, Any]:
    """The gold file content for ``doc`` (ANNOTATION.md §9), schema-checked."""
    mentions = [
        {"start": m.start, "end": m.end, "text": m.text, "label": m.label, "lemma": m.lemma, "entity_id": m.entity_id}
        for m in sorted(doc.mentions)
    ]
    record: dict[str, Any] = {"doc_id": doc.doc_id, "sha256": sha256, "layer": GOLD_LAYER, "annotator": annotator}
    if origin is not None:
        record["origin"] = origin
    record["mentions"] = mentions
    error = next(iter(_gold_validator().iter_errors(record)), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise ExchangeError(f"{doc.doc_id}: {where}: {error.message}")
    return record


def origin_of(tool: str, source: Path, now: datetime | None = None) -> dict[str, str]:
    """``origin`` of an imported gold file: the format, the file's name (no folders) and UTC time."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {"tool": tool, "file": source.name or source.resolve().name, "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _key(mentions: list[Any]) -> list[tuple[Any, ...]]:
    """What makes two mention lists the same annotation (from ``Mention``s or gold dicts)."""
    rows = [m if isinstance(m, dict) else m.to_dict() for m in mentions]
    return sorted((r["start"], r["end"], r["label"], r["lemma"], r["entity_id"]) for r in rows)


@dataclass
class Published:
    """What the corpus publishes for one document: the seed hash and the automatic mentions."""

    sha256: str
    automatic: list[tuple[Any, ...]]


def read_published(corpus: Path) -> dict[str, Published]:
    """Per document id of the corpus: its seed hash and its automatic mentions.

    A document publishes either its gold layer (``entity_status`` gold: no automatic
    mentions here) or the automatic layers, whatever their names: the gold pass
    (``gold_lexicon_v1``) is automatic too, though its name starts with ``gold_``.
    """
    import pyarrow.parquet as pq

    files = [corpus] if corpus.is_file() else sorted(corpus.glob("documents/*.parquet"))
    if not files:
        raise ExchangeError(
            f"{corpus}: no documents/*.parquet here; import compares with the corpus to tell reviewed from automatic "
            "mentions: pass --corpus, or --accept-unreviewed"
        )
    out: dict[str, Published] = {}
    for path in files:
        try:
            rows = pq.read_table(path, columns=["id", "metadata", "entities", "entity_status"]).to_pylist()
        except Exception as err:  # pyarrow raises many kinds; all mean "not a documents file"
            raise ExchangeError(f"{path}: cannot read the documents columns: {one_line(err)}") from None
        for row in rows:
            entities = [] if row["entity_status"] == "gold" else row["entities"]
            out[row["id"]] = Published((row["metadata"] or {}).get("sha256") or "", _key(entities))
    return out


def _existing_gold(path: Path) -> dict[str, Any] | None:
    """The gold file at ``path``: its content, ``{}`` if unreadable, ``None`` if absent."""
    from kronika.gold import load_gold_file
    from kronika.ingest import SeedError

    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ExchangeError(f"{path}: exists and is not a regular file; import will not replace it")
    if not path.exists():
        return None
    try:
        return load_gold_file(path)
    except SeedError:
        return {}


def write_gold(path: Path, record: dict[str, Any]) -> None:
    """Write one gold file atomically: a hidden temporary file beside it, fsync, rename."""
    data = (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # our own temporary file, nothing else
        raise


# Why a document is not written without a flag (reason -> message); ids follow in the message.
UNREVIEWED = {
    "empty": "{n} document(s) with no mention ({ids})",
    "automatic": "{n} document(s) identical to the automatic layers of {corpus} ({ids})",
    "unknown": "{n} document(s) not in {corpus}, or built from another version of the seed ({ids}): "
               "cannot tell reviewed from automatic mentions",
}
SHOWN_IDS = 5


def _ids(ids: list[str]) -> str:
    """The first SHOWN_IDS ids, escaped: an id from a tool's file is not checked yet and
    could hold a newline or a terminal escape."""
    listed = ", ".join(shown(i) for i in ids[:SHOWN_IDS])
    return listed + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


@dataclass
class Planned:
    """One gold file an import would touch."""

    target: Path
    action: str  # new | replace | unchanged
    record: dict[str, Any]
    before: int | None = None  # mentions in the file it replaces (None: unreadable or absent)

    def describe(self) -> str:
        count = len(self.record["mentions"])
        if self.action == "replace":
            was = "an unreadable file" if self.before is None else f"{self.before}"
            return f"{self.target}: replace, {was} -> {count} mention(s)"
        return f"{self.target}: {self.action}, {count} mention(s)"


def unreviewed_reason(doc: AnnotatedText, sha256: str, published: dict[str, Published] | None) -> str | None:
    """Why ``doc`` looks unreviewed (a key of ``UNREVIEWED``), or None."""
    if not doc.mentions:
        return "empty"
    if published is None:
        return None
    row = published.get(doc.doc_id)
    if row is None or row.sha256 != sha256:
        return "unknown"
    return "automatic" if _key(doc.mentions) == row.automatic else None


def import_main(argv: list[str]) -> int:
    """``kronika import --format F --in PATH --seeds seeds [--corpus corpus] [--accept-unreviewed] [--force] [--dry-run]``.

    Exit status: 0 done; 1 some documents refused (the others are written), or
    nothing to import; 2 bad input or usage (nothing written).
    """
    parser = argparse.ArgumentParser(prog="kronika import", description="Write gold layers from an annotation tool's file.")
    parser.add_argument("--format", required=True, choices=list(FORMATS))
    parser.add_argument("--in", dest="source", type=Path, required=True, help="the tool's file (a folder for brat)")
    parser.add_argument("--seeds", type=Path, default=Path("seeds"), help="seed folder (default: seeds)")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"),
                        help="built corpus, to tell reviewed from automatic mentions (default: corpus)")
    parser.add_argument("--annotator", default=None, help="annotator to record (default: keep the existing gold file's)")
    parser.add_argument("--accept-unreviewed", action="store_true",
                        help="also write documents that look unreviewed: identical to the automatic layers, "
                             "with no mention, or not in the corpus")
    parser.add_argument("--force", action="store_true", help="replace existing gold files whose mentions differ")
    parser.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")
    try:
        args = parser.parse_args(argv)
    except SystemExit as err:
        return int(err.code or 0)
    from kronika.ingest import GOLD_SUFFIX

    def fail(message: object) -> int:
        print(f"kronika import: {one_line(message, 1000)}", file=sys.stderr)
        return EXIT_USAGE

    if not args.seeds.is_dir():
        return fail(f"{args.seeds}: --seeds is not a folder")
    texts = SeedTexts(args.seeds)
    origin = origin_of(args.format, args.source)
    plans: list[Planned] = []
    refused: dict[str, list[str]] = {}
    accepted: dict[str, list[str]] = {}
    skipped: list[str] = []
    try:
        docs = read_source(format_module(args.format), args.source, texts)
        published: dict[str, Published] | None = None
        if not args.accept_unreviewed or args.corpus.exists():
            published = read_published(args.corpus)
        for doc in docs:
            if doc.skipped:
                skipped.append(doc.doc_id)
                continue
            seed = texts.document(doc.doc_id, str(args.source))
            target = args.seeds / f"{doc.doc_id}{GOLD_SUFFIX}"
            existing = _existing_gold(target)
            annotator = args.annotator or (existing or {}).get("annotator") or f"imported from {args.format}"
            record = gold_record(doc, seed.sha256, annotator, origin)
            same = bool(existing) and _key(existing["mentions"]) == _key(record["mentions"])
            if same and (existing["sha256"], existing["layer"]) == (seed.sha256, GOLD_LAYER):
                plans.append(Planned(target, "unchanged", existing))
                continue
            # Same mentions as the gold file, only its seed hash or layer is updated: nothing to review.
            reason = None if same else unreviewed_reason(doc, seed.sha256, published)
            if reason is not None:
                (accepted if args.accept_unreviewed else refused).setdefault(reason, []).append(doc.doc_id)
                if not args.accept_unreviewed:
                    continue
            if existing is not None and not same and not args.force:
                refused.setdefault("overwrite", []).append(doc.doc_id)
                continue
            before = len(existing["mentions"]) if existing else None
            plans.append(Planned(target, "new" if existing is None else "replace", record, before))
    except ExchangeError as err:
        return fail(err)
    written = 0
    if not args.dry_run:
        for plan in plans:
            if plan.action == "unchanged":
                continue
            try:
                write_gold(plan.target, plan.record)
            except OSError as err:
                note = f" ({written} gold file(s) written before)" if written else ""
                return fail(f"{plan.target}: cannot write: {err.strerror or err}{note}")
            written += 1
    for plan in plans:
        print(plan.describe())
    counts = {action: sum(p.action == action for p in plans) for action in ("new", "replace", "unchanged")}
    summary = ", ".join(f"{n} {action}" for action, n in counts.items())
    print(f"dry run, nothing written: {summary}" if args.dry_run else f"{written} gold file(s) written: {summary}")
    corpus = args.corpus
    for reason, ids in sorted(accepted.items(), key=lambda item: list(UNREVIEWED).index(item[0])):
        message = UNREVIEWED[reason].format(n=len(ids), ids=_ids(ids), corpus=corpus)
        print(f"kronika import: note: {message}: written anyway (--accept-unreviewed)", file=sys.stderr)
    for reason, ids in sorted(refused.items(), key=lambda item: [*UNREVIEWED, "overwrite"].index(item[0])):
        if reason == "overwrite":
            message = (f"{len(ids)} document(s) already have a gold layer with other mentions ({_ids(ids)}): "
                       "not written; pass --force to replace them")
        else:
            message = (UNREVIEWED[reason].format(n=len(ids), ids=_ids(ids), corpus=corpus)
                       + ": not written; review them, or pass --accept-unreviewed")
        print(f"kronika import: {message}", file=sys.stderr)
    if skipped:
        print(f"kronika import: {len(skipped)} task(s) with no submitted annotation ({_ids(skipped)}): "
              "nothing written for them", file=sys.stderr)
    if refused or not plans:
        if not plans and not refused and not skipped:
            print(f"kronika import: {args.source}: no document to import", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def unique_ids(docs: list[AnnotatedText], where: str) -> list[AnnotatedText]:
    """A document may appear once per import file."""
    seen: set[str] = set()
    for doc in docs:
        if doc.doc_id in seen:
            raise ExchangeError(f"{where}: doc_id: {doc.doc_id!r} appears twice")
        seen.add(doc.doc_id)
    return docs
