"""The one source of truth for the shape of a Kronika record.

The JSON Schema below is written once, here. The Arrow schema (and from it the
Hugging Face ``Features`` in the card) is derived from it by ``arrow_schema``,
so the three cannot drift apart. ``schema/*.schema.json`` are dumps of these
dicts; a test checks the files are up to date (``kronika schema`` rewrites them).

This module imports nothing but the standard library and pyarrow, so a consumer
can validate a download without any annotator installed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

SCHEMA_BASE = "https://kronika.dev/schema"
LABELS = ["PER", "ORG", "LOC", "EVT", "PRO"]
BLOCK_KINDS = ["heading", "paragraph", "boilerplate"]
DATE_PRECISIONS = ["year", "month", "day"]
ENTITY_STATUSES = ["gold", "automatic", "lexicon", "none"]
NEWLINES = ["lf", "crlf"]

ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$"
# BCP-47 primary language subtag, or "und" for undetermined.
LANG_PATTERN = r"^([a-z]{2,3}|und)$"
# ISO 639-3 plus ISO 15924 script, as FineWeb-2 writes it ("pol_Latn"), or "und".
LANG_SCRIPT_PATTERN = r"^([a-z]{3}_[A-Z][a-z]{3}|und)$"
ENTITY_ID_PATTERN = r"^(PER|ORG|LOC|GPE|EVT|PRO)-[A-Za-z0-9][A-Za-z0-9_.-]*$"
LAYER_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*_v[0-9]+$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
DATE_PATTERN = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"
WORD_RE = re.compile(r"\w+(?:[-'’.]\w+)*")
# Combining marks (a decomposed "ó" is "o" + U+0301): tokens keep them with their letter.
COMBINING_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"

# Limits that keep every stage linear in the input (README, "Limits").
MAX_SEED_BYTES = 20 * 1024 * 1024  # a larger seed is rejected by name, before a byte is read
MAX_MENTION_CHARS = 300  # longest BSNLP gold mention: 154 characters
CONTEXT_CHARS = 200  # a `mentions` row shows at most this much of its sentence on each side


@dataclass(frozen=True, order=True)
class Mention:
    """One entity mention: ``text[start:end] == mention.text`` (code points)."""

    start: int
    end: int
    text: str
    label: str
    lemma: str
    entity_id: str
    source: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        # Explicit rather than dataclasses.asdict, which deep-copies and is slow in the build loop.
        return {
            "start": self.start, "end": self.end, "text": self.text, "label": self.label,
            "lemma": self.lemma, "entity_id": self.entity_id, "source": self.source, "score": self.score,
        }


@dataclass(frozen=True, order=True)
class LanguageSpan:
    start: int
    end: int
    language: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "language": self.language, "score": self.score}


@dataclass(frozen=True, order=True)
class Block:
    start: int
    end: int
    kind: str


def copy_words(text: str) -> list[str]:
    """The words duplicates are compared on (NFKC, case-folded): a text without any copies
    nothing, and exact copies of one with some share a cluster (``kronika.duplicates``)."""
    return _COPY_WORD.findall(unicodedata.normalize("NFKC", text).casefold())


_COPY_WORD = re.compile(r"\w+")


def count_words(text: str) -> int:
    """Words are runs of letters/digits, joined by inner hyphens, apostrophes or dots."""
    return len(WORD_RE.findall(text))


HEADER_RE = re.compile(r"[ \t]*date[ \t]+(?P<date>[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?)(?:[ \t]+|\n)")
_PRECISION = {4: "year", 7: "month", 10: "day"}


def split_header(text: str) -> tuple[str, str | None]:
    """The raw inline header at the start of ``text`` and its date, or ("", None).

    A date that is not a real calendar date is no header: nothing is guessed.
    Here rather than in ingest so that ``validate`` can recompute the metadata.
    """
    match = HEADER_RE.match(text)
    if not match or not _is_real_date(match["date"]):
        return "", None
    return match[0], match["date"]


def _is_real_date(value: str) -> bool:
    parts = [int(p) for p in value.split("-")] + [1, 1]
    try:
        dt.date(parts[0], parts[1], parts[2])
    except ValueError:
        return False
    return True


def date_precision(date: str | None) -> str | None:
    return _PRECISION[len(date)] if date else None


def sha256_file(path: Any) -> str:
    """sha256 of a file's bytes, read in 1 MB chunks (the manifest's checksums)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def raw_bytes(row: dict[str, Any]) -> bytes:
    """Rebuild the seed file's exact bytes from a ``documents`` row (see ingest)."""
    meta = row["metadata"]
    content = meta["header"] + row["text"]
    if meta["newline"] == "crlf":
        content = content.replace("\n", "\r\n")
    return (b"\xef\xbb\xbf" if meta["bom"] else b"") + content.encode("utf-8")


# ---------------------------------------------------------------- JSON Schema
def _offset() -> dict[str, Any]:
    return {"type": "integer", "minimum": 0}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema, type=[schema["type"], "null"])
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _object(properties: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


MENTION_DEF = _object(
    {
        "start": _offset(),
        "end": _offset(),
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_MENTION_CHARS},
        "label": {"type": "string", "enum": LABELS},
        "lemma": {"type": "string", "minLength": 1},
        "entity_id": {"type": "string", "pattern": ENTITY_ID_PATTERN},
        "source": {"type": "string", "pattern": LAYER_PATTERN},
        "score": _nullable({"type": "number", "minimum": 0, "maximum": 1}),
    },
    "An entity mention: half-open [start, end) in code points of the document text.",
)

BLOCK_DEF = _object(
    {
        "start": _offset(),
        "end": _offset(),
        "kind": {"type": "string", "enum": BLOCK_KINDS},
    },
    "A run of non-blank lines; blocks are separated by blank lines.",
)

LANGUAGE_SPAN_DEF = _object(
    {
        "start": _offset(),
        "end": _offset(),
        "language": {"type": "string", "pattern": LANG_PATTERN},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "A span of the text in one language.",
)

METADATA_DEF = _object(
    {
        "source_file": {"type": "string", "minLength": 1},
        "sha256": {"type": "string", "pattern": SHA256_PATTERN},
        "header": {"type": "string", "description": "Raw inline header removed from the text."},
        "bom": {"type": "boolean", "description": "The file started with a UTF-8 BOM."},
        "newline": {"type": "string", "enum": NEWLINES},
        "date": _nullable({"type": "string", "pattern": DATE_PATTERN}),
        "date_precision": _nullable({"type": "string", "enum": DATE_PRECISIONS}),
        "title": _nullable({"type": "string"}),
        "char_count": {"type": "integer", "minimum": 0},
        "word_count": {"type": "integer", "minimum": 0},
        "license": {"type": "string", "minLength": 1},
    },
    "Facts about the source file.",
)


def document_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of one ``documents`` row."""
    schema = _object(
        {
            "id": {"type": "string", "pattern": ID_PATTERN},
            "text": {"type": "string"},
            "metadata": {"$ref": "#/$defs/metadata"},
            "blocks": {"type": "array", "items": {"$ref": "#/$defs/block"}},
            "language": {"type": "string", "pattern": LANG_PATTERN},
            "language_script": {"type": "string", "pattern": LANG_SCRIPT_PATTERN},
            "language_score": {"type": "number", "minimum": 0, "maximum": 1},
            "languages": {"type": "array", "items": {"$ref": "#/$defs/language_span"}},
            "entities": {"type": "array", "items": {"$ref": "#/$defs/mention"}},
            "entity_status": {"type": "string", "enum": ENTITY_STATUSES},
            "duplicate_cluster": _nullable({
                "type": "string",
                "pattern": ID_PATTERN,
                "description": "The smallest id of the document's cluster of exact and near copies; null when it has none.",
            }),
            "duplicate_count": {"type": "integer", "minimum": 1, "description": "Documents in that cluster (1 when alone)."},
        },
        "One Kronika article (config `documents`).",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}/document.schema.json",
        "title": "Kronika document",
        **schema,
        "$defs": {
            "metadata": METADATA_DEF,
            "block": BLOCK_DEF,
            "language_span": LANGUAGE_SPAN_DEF,
            "mention": MENTION_DEF,
        },
    }


def one_line(message: object, limit: int = 300) -> str:
    """A message on one line (white space runs collapsed), at most ``limit`` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(path: Any) -> str:
    """A path as it can be printed on one line and written to JSON.

    Control characters (a newline, an ANSI escape) and bytes that are not
    UTF-8 (kept by Python as surrogates) are escaped, so a file name can
    neither forge output lines nor break the manifest.
    """
    text = str(path)
    if text.isprintable():  # surrogates are not printable either
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of the file name
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


# Where ``str.splitlines`` breaks a line (and brat, and editors with universal newlines):
# a name never spans one
LINE_BREAK_CHARS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
LINE_BREAKS = re.compile(f"[{''.join(sorted(LINE_BREAK_CHARS))}]")

# Python's white space (``str.isspace``), spelled out (finding it takes 0.1 s; a test
# compares it with str.isspace): the characters, and an RE2 character class of them,
# for column-wide checks
SPACE_CHARS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
SPACE_CLASS = "".join(f"\\x{{{ord(c):x}}}" for c in SPACE_CHARS)


def edge_space(value: str) -> bool:
    """Starts or ends with white space: no mention text or base form may (the token-based
    exports, CoNLL and spaCy, cannot place such a span; brat and Label Studio trim it)."""
    return value[:1].isspace() or value[-1:].isspace()


def schema_validator(schema: dict[str, Any]) -> Any:
    """jsonschema's validator of ``schema`` (imported here, when first needed), with
    ``pattern`` read as JSON Schema means it (ECMA 262): ``$`` ends the string. Python's
    ``re.search`` lets ``$`` match before a final newline, so an id ending in one
    passed, and a newline in an id breaks the line-based exports."""
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

    def pattern(validator: Any, regex: str, instance: Any, schema: dict[str, Any]) -> Any:
        if validator.is_type(instance, "string") and not _ecma_pattern(regex).search(instance):
            yield ValidationError(f"{instance!r} does not match {regex!r}")

    strict = validators.extend(Draft202012Validator, {"pattern": pattern})
    return strict(schema, format_checker=FormatChecker())


def _ecma_pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex[:-1] + r"\Z" if regex.endswith("$") and not regex.endswith("\\$") else regex)


def gold_schema() -> dict[str, Any]:
    """JSON Schema of a standoff gold file (``seeds/<id>.gold.json``)."""
    gold_mention = _object(
        {k: v for k, v in MENTION_DEF["properties"].items() if k not in ("source", "score")},
        "A hand-checked mention; offsets into the built document `text`.",
    )
    schema = _object(
        {
            "doc_id": {"type": "string", "pattern": ID_PATTERN},
            "sha256": {"type": "string", "pattern": SHA256_PATTERN},
            "layer": {"type": "string", "pattern": LAYER_PATTERN},
            "annotator": {"type": "string", "minLength": 1},
            "mentions": {"type": "array", "items": {"$ref": "#/$defs/gold_mention"}},
            "origin": _object(
                {
                    "tool": {"type": "string", "minLength": 1, "description": "format it was imported from, or `hand`"},
                    "file": {"type": "string", "description": "the imported file's name"},
                    "time": {"type": "string", "format": "date-time"},
                },
                "Where this gold layer came from (written by `kronika import`).",
            ),
        },
        "Gold entity mentions of one seed, kept apart from the seed text.",
    )
    schema["required"].remove("origin")  # gold files written before 0.2 have none
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}/gold.schema.json",
        "title": "Kronika gold layer",
        **schema,
        "$defs": {"gold_mention": gold_mention},
    }


BIO_TAGS = ["O"] + [f"{p}-{label}" for label in LABELS for p in ("B", "I")]
CLASS_LABEL = "x-class-label"  # our annotation keyword: integer ids named by a list (HF ClassLabel)


def _top(name: str, title: str, properties: dict[str, Any], description: str, defs: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}/{name}",
        "title": title,
        **_object(properties, description),
        "$defs": defs,
    }


def mention_schema() -> dict[str, Any]:
    """JSON Schema of one ``mentions`` row: one entity mention with its context."""
    props = {"doc_id": {"type": "string", "pattern": ID_PATTERN}}
    props |= {k: v for k, v in MENTION_DEF["properties"].items()}
    props |= {
        "language": {"type": "string", "pattern": LANG_PATTERN},
        "entity_status": {"type": "string", "enum": ENTITY_STATUSES, "description": "the document's: filter on it to drop unannotated text"},
        "sentence_index": {"type": "integer", "minimum": 0},
        "sentence_start": _offset(),
        "sentence_end": _offset(),
        "context_start": _offset(),
        "context_end": _offset(),
        "context": {
            "type": "string",
            "minLength": 1,
            "description": f"text[context_start:context_end]: the sentence, cut to {CONTEXT_CHARS} characters either side of the mention",
        },
    }
    return _top("mention.schema.json", "Kronika mention", props, "One entity mention (config `mentions`); offsets into the document text.", {})


def sentence_schema() -> dict[str, Any]:
    """JSON Schema of one ``sentences`` row: tokens with BIO tags for token classification."""
    props = {
        "doc_id": {"type": "string", "pattern": ID_PATTERN},
        "sentence_index": {"type": "integer", "minimum": 0},
        "start": _offset(),
        "end": _offset(),
        "language": {"type": "string", "pattern": LANG_PATTERN},
        "entity_status": {
            "type": "string",
            "enum": ENTITY_STATUSES,
            "description": "the document's: `none` means no annotator ran, so all-O tags say nothing",
        },
        "tokens": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "token_offsets": {"type": "array", "items": {"$ref": "#/$defs/offset"}},
        "ner_tags": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": len(BIO_TAGS) - 1, CLASS_LABEL: BIO_TAGS},
        },
    }
    offset = _object({"start": _offset(), "end": _offset()}, "A token's [start, end) in the document text.")
    return _top("sentence.schema.json", "Kronika sentence", props, "One sentence (config `sentences`).", {"offset": offset})


SCHEMAS = {
    "document.schema.json": document_schema,
    "mention.schema.json": mention_schema,
    "sentence.schema.json": sentence_schema,
    "gold.schema.json": gold_schema,
}
# config name -> JSON Schema of its rows
CONFIGS = {"documents": document_schema, "mentions": mention_schema, "sentences": sentence_schema}


def schema_text(name: str) -> str:
    """The exact bytes (as text) of ``schema/<name>``."""
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------- Arrow schema
_SCALARS = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}


def _arrow_type(node: dict[str, Any], defs: dict[str, Any]) -> pa.DataType:
    """Map one JSON Schema node to its Arrow type ("null" in a type list is dropped:
    Arrow fields are all nullable, and the JSON Schema enforces presence)."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    kind = node["type"]
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        return pa.struct(_arrow_fields(node, defs))
    if kind == "array":
        return pa.list_(_arrow_type(node["items"], defs))
    return _SCALARS[kind]


def _arrow_fields(node: dict[str, Any], defs: dict[str, Any]) -> list[pa.Field]:
    return [_arrow_field(name, child, defs) for name, child in node["properties"].items()]


def _arrow_field(name: str, node: dict[str, Any], defs: dict[str, Any]) -> pa.Field:
    """A field; class-label names ride along in the field metadata."""
    names = node.get("items", {}).get(CLASS_LABEL) or node.get(CLASS_LABEL)
    metadata = {CLASS_LABEL: json.dumps(names)} if names else None
    return pa.field(name, _arrow_type(node, defs), metadata=metadata)


def arrow_schema(json_schema: dict[str, Any] | None = None) -> pa.Schema:
    """Arrow schema derived from the JSON Schema (column order = property order)."""
    node = json_schema or document_schema()
    return pa.schema(_arrow_fields(node, node.get("$defs", {})))


# ------------------------------------------------ Hugging Face `Features`
_HF_DTYPES = {"string": "string", "int64": "int64", "double": "float64", "bool": "bool"}


def class_names(field: pa.Field) -> list[str] | None:
    """The label names of a ClassLabel field (from its metadata), else None."""
    raw = (field.metadata or {}).get(CLASS_LABEL.encode())
    return json.loads(raw) if raw else None


def hf_features(schema: pa.Schema | None = None) -> dict[str, Any]:
    """``datasets.Features.to_dict()`` of the Arrow schema, without importing datasets."""
    return {f.name: _hf_feature(f.type, class_names(f)) for f in (schema or arrow_schema())}


def _hf_feature(typ: pa.DataType, names: list[str] | None = None) -> dict[str, Any]:
    if pa.types.is_struct(typ):
        return {f.name: _hf_feature(f.type) for f in typ}
    if pa.types.is_list(typ):
        return {"feature": _hf_feature(typ.value_type, names), "_type": "List"}
    if names:
        return {"names": names, "_type": "ClassLabel"}
    return {"dtype": _HF_DTYPES[str(typ)], "_type": "Value"}


def present_languages(languages: list[str]) -> list[str]:
    """The card's ``language`` list: the languages the documents have, sorted, once each.

    ``und`` (undetermined) names no language, so it is listed only when nothing
    else is, since the Hub wants the list non-empty.
    """
    named = sorted({lang for lang in languages if lang != "und"})
    return named or ["und"]


def multilinguality(languages: list[str]) -> str:
    """The card's ``multilinguality`` for its ``language`` list (``present_languages``)."""
    return "multilingual" if len(languages) > 1 else "monolingual"


def size_category(n: int) -> str:
    """The card's ``size_categories`` entry for ``n`` documents."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def card_features(schema: pa.Schema | None = None) -> list[dict[str, Any]]:
    """The card's ``dataset_info.features`` YAML list (``Features._to_yaml_list()``)."""
    return [_card_feature(f.name, f.type, class_names(f)) for f in (schema or arrow_schema())]


def _card_feature(name: str, typ: pa.DataType, names: list[str] | None = None) -> dict[str, Any]:
    if pa.types.is_struct(typ):
        return {"name": name, "struct": [_card_feature(f.name, f.type) for f in typ]}
    if pa.types.is_list(typ):
        inner = _card_feature(name, typ.value_type, names)
        return {"name": name, "list": inner.get("struct") or inner.get("dtype") or inner}
    if names:
        return {"name": name, "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(names)}}}}
    return {"name": name, "dtype": _HF_DTYPES[str(typ)]}
