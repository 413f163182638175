"""Validate: check any Kronika Parquet file, JSONL file or corpus folder.

Depends only on ``kronika.record`` (plus pyarrow, jsonschema, yaml), never on an
annotator, so a consumer can check a download. It reports problems as data
(``Problem``), one line each: file, record id, field path, message. It catches
what ``datasets`` accepts silently: missing columns or struct fields, other
integer widths, labels outside the set, and a card whose ``num_examples`` does
not match the files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from kronika.record import arrow_schema, count_words, document_schema, raw_bytes

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: record {self.record}: {self.field}: {self.message}"


def validate_path(path: Path) -> list[Problem]:
    """All problems found in ``path`` (a folder, ``.parquet`` or ``.jsonl``)."""
    if not path.exists():
        return [Problem(str(path), "-", "-", "no such file or folder")]
    if path.is_dir():
        return _validate_folder(path)
    if path.suffix == ".parquet":
        return _check_records(_parquet_records(path), str(path))
    if path.suffix == ".jsonl":
        return _check_records(_jsonl_records(path), str(path))
    return [Problem(str(path), "-", "-", "expected a folder, a .parquet or a .jsonl file")]


# ------------------------------------------------------------------- readers
Records = Iterator[tuple[str, dict[str, Any] | Problem]]


def _parquet_records(path: Path) -> Records:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        yield "-", Problem(str(path), "-", "-", f"not a readable Parquet file ({err})")
        return
    schema_problems = list(_schema_problems(pf.schema_arrow, str(path)))
    for problem in schema_problems:
        yield "-", problem
    if schema_problems:
        return
    for batch in pf.iter_batches(batch_size=256):
        for i, row in enumerate(batch.to_pylist()):
            yield str(row.get("id") or f"#{i}"), row


def _schema_problems(actual: pa.Schema, file: str) -> Iterator[Problem]:
    """Compare a file's Arrow schema with the expected one, column by column."""
    expected = arrow_schema()
    for field in expected:
        if field.name not in actual.names:
            yield Problem(file, "-", field.name, "column is missing")
        elif not actual.field(field.name).type.equals(field.type):
            got = actual.field(field.name).type
            yield Problem(file, "-", field.name, f"has Arrow type {got}, expected {field.type}")
    for name in actual.names:
        if name not in expected.names:
            yield Problem(file, "-", name, "column is not in the schema")


def _jsonl_records(path: Path) -> Records:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                yield f"line {number}", Problem(str(path), f"line {number}", "-", f"invalid JSON ({err.msg})")
                continue
            rid = row.get("id") if isinstance(row, dict) else None
            yield (f"{rid} (line {number})" if isinstance(rid, str) else f"line {number}"), row


# ------------------------------------------------------------------- records
_VALIDATOR = Draft202012Validator(document_schema(), format_checker=FormatChecker())


def _check_records(records: Iterable[tuple[str, dict[str, Any] | Problem]], file: str, seen: set[str] | None = None) -> list[Problem]:
    seen = set() if seen is None else seen
    problems: list[Problem] = []
    for rid, row in records:
        if isinstance(row, Problem):
            problems.append(row)
            continue
        found = [Problem(file, rid, path, msg) for path, msg in check_row(row)]
        problems.extend(found)
        doc_id = row.get("id") if isinstance(row, dict) else None
        if isinstance(doc_id, str):
            if doc_id in seen:
                problems.append(Problem(file, rid, "id", "duplicate id"))
            seen.add(doc_id)
    return problems


def check_row(row: Any) -> list[tuple[str, str]]:
    """(field path, message) for everything wrong with one row."""
    errors = sorted(_VALIDATOR.iter_errors(row), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        return [(_json_path(e.absolute_path), e.message) for e in errors]
    return list(_semantic_problems(row))


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


def _semantic_problems(row: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """What JSON Schema cannot say: offsets, tiling, order, losslessness."""
    text, meta = row["text"], row["metadata"]
    if hashlib.sha256(raw_bytes(row)).hexdigest() != meta["sha256"]:
        yield "metadata.sha256", "header + text do not rebuild the seed bytes (sha256 differs)"
    if meta["char_count"] != len(text):
        yield "metadata.char_count", f"is {meta['char_count']}, text has {len(text)} characters"
    if meta["word_count"] != count_words(text):
        yield "metadata.word_count", f"is {meta['word_count']}, text has {count_words(text)} words"
    if (meta["date"] is None) != (meta["date_precision"] is None):
        yield "metadata.date_precision", "must be null exactly when date is null"
    elif meta["date"] and {4: "year", 7: "month", 10: "day"}[len(meta["date"])] != meta["date_precision"]:
        yield "metadata.date_precision", f"{meta['date_precision']!r} does not match date {meta['date']!r}"
    yield from _span_problems("blocks", row["blocks"], text)
    yield from _block_gap_problems(row["blocks"], text)
    yield from _span_problems("languages", row["languages"], text)
    yield from _span_problems("entities", row["entities"], text)
    yield from _entity_problems(row)


def _span_problems(name: str, spans: list[dict[str, Any]], text: str) -> Iterator[tuple[str, str]]:
    previous_end = 0
    for i, span in enumerate(spans):
        start, end = span["start"], span["end"]
        where = f"{name}[{i}]"
        if not start < end <= len(text):
            yield f"{where}.end", f"[{start}, {end}) is empty or outside text of length {len(text)}"
            continue
        if start < previous_end:
            yield f"{where}.start", f"{start} overlaps or precedes the previous span ending at {previous_end}"
        if "text" in span and text[start:end] != span["text"]:
            yield f"{where}.text", f"text[{start}:{end}] is {text[start:end]!r}, not {span['text']!r}"
        previous_end = end


def _block_gap_problems(blocks: list[dict[str, Any]], text: str) -> Iterator[tuple[str, str]]:
    """Blocks tile the text: only white space lies outside them, and none at their edges."""
    edges = [0] + [x for b in blocks for x in (b["start"], b["end"])] + [len(text)]
    for i in range(0, len(edges) - 1, 2):
        gap = text[edges[i] : edges[i + 1]]
        if gap.strip():
            yield f"blocks[{i // 2}].start", f"non-blank text {gap.strip()[:30]!r} lies outside every block"
    for i, block in enumerate(blocks):
        content = text[block["start"] : block["end"]]
        if content != content.strip():
            yield f"blocks[{i}]", "block begins or ends with white space"


def _entity_problems(row: dict[str, Any]) -> Iterator[tuple[str, str]]:
    status, entities = row["entity_status"], row["entities"]
    if status == "none" and entities:
        yield "entity_status", "is 'none' but the record has entities"
    if status == "gold":
        for i, mention in enumerate(entities):
            if not mention["source"].startswith("gold_"):
                yield f"entities[{i}].source", f"{mention['source']!r} in a gold-reviewed record"


# ------------------------------------------------------------------ folders
def _validate_folder(folder: Path) -> list[Problem]:
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return [Problem(str(folder), "-", "-", "no Parquet files found")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for file in files:
        problems += _check_records(_parquet_records(file), str(file), seen)
    problems += _manifest_problems(folder)
    problems += _card_problems(folder)
    return problems


def _manifest_problems(folder: Path) -> list[Problem]:
    manifest = folder / MANIFEST
    if not manifest.exists():
        return []
    problems = []
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
        path = folder / entry["path"]
        if not path.exists():
            problems.append(Problem(str(manifest), "-", entry["path"], "listed file is missing"))
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(Problem(str(manifest), "-", entry["path"], "sha256 does not match the file"))
    return problems


def _card_problems(folder: Path) -> list[Problem]:
    """The card (README.md beside or above the folder) must count the rows right."""
    card = next((c for c in (folder / "README.md", folder.parent / "README.md") if c.exists()), None)
    if card is None:
        return []
    meta = read_card(card)
    problems = []
    for info in meta.get("dataset_info") or []:
        name = info.get("config_name", "default")
        config = next((c for c in meta.get("configs", []) if c.get("config_name") == name), None)
        if config is None:
            problems.append(Problem(str(card), "-", f"dataset_info[{name}]", "no config of that name"))
            continue
        for split in info.get("splits", []):
            files = _split_files(card.parent, config, split["name"])
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
            if rows != split.get("num_examples"):
                field = f"dataset_info[{name}].splits[{split['name']}].num_examples"
                problems.append(Problem(str(card), "-", field, f"says {split.get('num_examples')}, files hold {rows}"))
    return problems


def read_card(card: Path) -> dict[str, Any]:
    """The YAML front matter of a dataset card."""
    text = card.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text[4 : text.index("\n---\n", 4)]) or {}


def _split_files(root: Path, config: dict[str, Any], split: str) -> list[Path]:
    for entry in config.get("data_files", []):
        if entry.get("split") == split:
            paths = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
            return sorted(f for p in paths for f in root.glob(p))
    return []
