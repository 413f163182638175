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

from kronika.record import BIO_TAGS, CONFIGS, arrow_schema, count_words, raw_bytes

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
        return _check_records(*_parquet_records(path), str(path), Index())
    if path.suffix == ".jsonl":
        return _check_records(*_jsonl_records(path), str(path), Index())
    return [Problem(str(path), "-", "-", "expected a folder, a .parquet or a .jsonl file")]


# ------------------------------------------------------------------- readers
Records = Iterator[tuple[str, dict[str, Any] | Problem]]


def config_of(path: Path, columns: Iterable[str]) -> str:
    """The config a file holds: its folder name, else the best column match."""
    if path.parent.name in CONFIGS:
        return path.parent.name
    names = set(columns)
    return max(CONFIGS, key=lambda c: len(names & set(CONFIGS[c]()["properties"])) - len(names ^ set(CONFIGS[c]()["properties"])))


def _record_id(config: str, row: Any, fallback: str) -> str:
    if not isinstance(row, dict):
        return fallback
    if config == "documents":
        return str(row.get("id") or fallback)
    if config == "mentions":
        return f"{row.get('doc_id')}@{row.get('start')}" if "doc_id" in row else fallback
    return f"{row.get('doc_id')}#{row.get('sentence_index')}" if "doc_id" in row else fallback


def _parquet_records(path: Path) -> tuple[str, Records]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        return "documents", iter([("-", Problem(str(path), "-", "-", f"not a readable Parquet file ({err})"))])
    config = config_of(path, pf.schema_arrow.names)
    return config, _parquet_rows(pf, path, config)


def _parquet_rows(pf: pq.ParquetFile, path: Path, config: str) -> Records:
    schema_problems = list(_schema_problems(pf.schema_arrow, str(path), config))
    yield from (("-", problem) for problem in schema_problems)
    if schema_problems:
        return
    number = 0
    for batch in pf.iter_batches(batch_size=256):
        for row in batch.to_pylist():
            number += 1
            yield _record_id(config, row, f"#{number}"), row


def _schema_problems(actual: pa.Schema, file: str, config: str) -> Iterator[Problem]:
    """Compare a file's Arrow schema with the expected one, column by column."""
    expected = arrow_schema(CONFIGS[config]())
    for field in expected:
        if field.name not in actual.names:
            yield Problem(file, "-", field.name, "column is missing")
        elif not actual.field(field.name).type.equals(field.type):
            got = actual.field(field.name).type
            yield Problem(file, "-", field.name, f"has Arrow type {got}, expected {field.type}")
    for name in actual.names:
        if name not in expected.names:
            yield Problem(file, "-", name, "column is not in the schema")


def _jsonl_records(path: Path) -> tuple[str, Records]:
    rows = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                rows.append((number, Problem(str(path), f"line {number}", "-", f"invalid JSON ({err.msg})")))
    first = next((r for _, r in rows if isinstance(r, dict)), {})
    config = config_of(path, first)

    def records() -> Records:
        for number, row in rows:
            rid = _record_id(config, row, "")
            yield (f"{rid} (line {number})" if rid else f"line {number}"), row

    return config, records()


# ------------------------------------------------------------------- records
_VALIDATORS = {name: Draft202012Validator(make(), format_checker=FormatChecker()) for name, make in CONFIGS.items()}


def _check_records(config: str, records: Records, file: str, index: Index) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[Any] = index.seen.setdefault(config, set())
    for rid, row in records:
        if isinstance(row, Problem):
            problems.append(row)
            continue
        found = check_row(row, config) or list(index.cross_check(config, row))
        problems += [Problem(file, rid, path, msg) for path, msg in found]
        key = rid.split(" (line")[0]
        if key in seen:
            problems.append(Problem(file, rid, "id", "duplicate id"))
        seen.add(key)
        if config == "documents" and not found:
            index.add_document(row)
    return problems


def check_row(row: Any, config: str = "documents") -> list[tuple[str, str]]:
    """(field path, message) for everything wrong with one row of ``config``."""
    errors = sorted(_VALIDATORS[config].iter_errors(row), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        return [(_json_path(e.absolute_path), e.message) for e in errors]
    return list(_SEMANTIC[config](row))


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


def _mention_problems(row: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """A mention must lie inside its sentence, and the sentence text must fit its offsets."""
    if not row["sentence_start"] <= row["start"] < row["end"] <= row["sentence_end"]:
        yield "sentence_start", f"mention [{row['start']}, {row['end']}) is not inside the sentence [{row['sentence_start']}, {row['sentence_end']})"
    elif not row["sentence_start"] <= row["context_start"] <= row["start"] < row["end"] <= row["context_end"] <= row["sentence_end"]:
        yield "context_start", "the context window must hold the mention and lie inside its sentence"
    elif len(row["context"]) != row["context_end"] - row["context_start"]:
        yield "context", "length does not match context_end - context_start"
    elif row["context"][row["start"] - row["context_start"] : row["end"] - row["context_start"]] != row["text"]:
        yield "text", "is not the context text at the mention's offsets"


def _sentence_problems(row: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Parallel lists, tokens in order inside the sentence, well-formed BIO."""
    tokens, offsets, tags = row["tokens"], row["token_offsets"], row["ner_tags"]
    if not len(tokens) == len(offsets) == len(tags):
        yield "ner_tags", f"{len(tokens)} tokens, {len(offsets)} offsets and {len(tags)} tags differ in number"
        return
    previous = row["start"]
    for i, (token, off) in enumerate(zip(tokens, offsets)):
        if not previous <= off["start"] < off["end"] <= row["end"] or off["end"] - off["start"] != len(token):
            yield f"token_offsets[{i}]", f"[{off['start']}, {off['end']}) does not fit token {token!r} in order inside the sentence"
        previous = off["end"]
    for i, tag in enumerate(tags):
        name = BIO_TAGS[tag]
        if name.startswith("I-") and (i == 0 or BIO_TAGS[tags[i - 1]][2:] != name[2:]):
            yield f"ner_tags[{i}]", f"{name} does not continue a {name[2:]} mention"


_SEMANTIC = {"documents": _semantic_problems, "mentions": _mention_problems, "sentences": _sentence_problems}


class Index:
    """What one folder's documents say, to check the derived configs against."""

    def __init__(self) -> None:
        self.seen: dict[str, set[Any]] = {}
        self.texts: dict[str, str] = {}
        self.entities: dict[str, set[tuple[int, int, str]]] = {}
        self.mentions_seen: dict[str, int] = {}

    def add_document(self, row: dict[str, Any]) -> None:
        self.texts[row["id"]] = row["text"]
        self.entities[row["id"]] = {(m["start"], m["end"], m["label"]) for m in row["entities"]}

    def cross_check(self, config: str, row: dict[str, Any]) -> Iterator[tuple[str, str]]:
        if config == "documents" or not self.texts:
            return
        text = self.texts.get(row["doc_id"])
        if text is None:
            yield "doc_id", "no document with this id"
        elif config == "mentions":
            self.mentions_seen[row["doc_id"]] = self.mentions_seen.get(row["doc_id"], 0) + 1
            if (row["start"], row["end"], row["label"]) not in self.entities[row["doc_id"]]:
                yield "start", "no entity of the document has these offsets and label"
        else:
            yield from self._sentence_cross_check(row, text)

    def _sentence_cross_check(self, row: dict[str, Any], text: str) -> Iterator[tuple[str, str]]:
        for i, (token, off) in enumerate(zip(row["tokens"], row["token_offsets"])):
            if text[off["start"] : off["end"]] != token:
                yield f"tokens[{i}]", f"{token!r} is not text[{off['start']}:{off['end']}]"
                return
        decoded = _decode_bio(row["token_offsets"], [BIO_TAGS[t] for t in row["ner_tags"]])
        starts = {o["start"] for o in row["token_offsets"]}
        ends = {o["end"] for o in row["token_offsets"]}
        inside = {
            e for e in self.entities[row["doc_id"]]
            if row["start"] <= e[0] and e[1] <= row["end"] and e[0] in starts and e[1] in ends
        }
        if decoded != inside:
            yield "ner_tags", f"decode to {sorted(decoded)}, the document has {sorted(inside)} here"

    def count_problems(self, file: str) -> Iterator[Problem]:
        if "mentions" not in self.seen:
            return
        for doc_id, entities in self.entities.items():
            if self.mentions_seen.get(doc_id, 0) != len(entities):
                yield Problem(file, doc_id, "mentions", f"{self.mentions_seen.get(doc_id, 0)} mention rows, the document has {len(entities)}")


def _decode_bio(offsets: list[dict[str, int]], tags: list[str]) -> set[tuple[int, int, str]]:
    spans, current = set(), None
    for off, tag in zip(offsets, tags):
        if tag.startswith("I-") and current and current[2] == tag[2:]:
            current = (current[0], off["end"], current[2])
            continue
        if current:
            spans.add(current)
        current = (off["start"], off["end"], tag[2:]) if tag != "O" else None
    if current:
        spans.add(current)
    return spans


# ------------------------------------------------------------------ folders
def _validate_folder(folder: Path) -> list[Problem]:
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return [Problem(str(folder), "-", "-", "no Parquet files found")]
    problems: list[Problem] = []
    index = Index()
    order = list(CONFIGS)  # documents first: the other configs are checked against them
    opened = sorted(((_parquet_records(f), f) for f in files), key=lambda item: (order.index(item[0][0]), str(item[1])))
    for (config, records), file in opened:
        problems += _check_records(config, records, str(file), index)
    problems += list(index.count_problems(str(folder)))
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
