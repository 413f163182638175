"""Gold layer: hand-checked mentions kept beside a seed as ``<id>.gold.json``.

The file is standoff: offsets point into the built document ``text``, and its
``sha256`` pins it to one exact version of the seed, so an edited seed cannot
silently keep stale offsets. Format: ``schema/gold.schema.json`` and
ANNOTATION.md.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from kronika.ingest import GOLD_SUFFIX, Document, SeedError, seed_bytes
from kronika.record import Mention, edge_space, gold_schema, one_line, schema_validator


@cache
def _validator() -> Any:
    """The gold schema's validator, built on the first gold file (a build without
    gold files, and every worker, starts without importing jsonschema)."""
    return schema_validator(gold_schema())


def gold_path(seed: Path) -> Path:
    return seed.with_name(seed.stem + GOLD_SUFFIX)


def has_gold(seed: Path) -> bool:
    """Whether ``seed`` has a gold file: a dangling link counts, and its shard rejects it."""
    path = gold_path(seed)
    return path.exists() or path.is_symlink()


def load_gold_file(path: Path) -> dict:
    """Parse and schema-check a gold file; errors name the file and field.

    Every failure is a one-line ``SeedError(path, reason)``: a folder, a FIFO or
    device, an unreadable or too large file (read as seeds are: checked first, then
    read with a bound), invalid UTF-8 or JSON, JSON nested too deeply for Python
    (``RecursionError``), a number too long to convert (``ValueError``).
    """
    if path.is_dir():
        raise SeedError(path, "is a folder, not a gold file")
    raw = seed_bytes(path, path.parent, "gold")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise SeedError(path, f"invalid UTF-8 at byte offset {err.start}") from None
    except json.JSONDecodeError as err:
        raise SeedError(path, f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise SeedError(path, "invalid JSON: nested too deeply to read") from None
    except ValueError as err:  # e.g. a number beyond the int conversion limit
        raise SeedError(path, f"invalid JSON: {one_line(err)}") from None
    try:
        errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    except RecursionError:
        raise SeedError(path, "nested too deeply to check against the gold schema") from None
    if errors:
        error = errors[0]
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise SeedError(path, f"{where}: {one_line(error.message)}")
    time = (data.get("origin") or {}).get("time")
    if time is not None and not is_rfc3339(time):
        raise SeedError(path, f"origin/time: {one_line(repr(time))} is not an RFC 3339 date-time")
    return data


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def is_rfc3339(value: str) -> bool:
    """``value`` is an RFC 3339 date-time (what the schema's ``format: date-time`` means).

    Checked here because jsonschema checks formats only with optional packages.
    """
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def read_gold(path: Path, doc: Document) -> list[Mention]:
    """The gold mentions of ``doc``, checked against its text."""
    return gold_mentions(path, load_gold_file(path), doc)


def gold_mentions(path: Path, data: dict, doc: Document) -> list[Mention]:
    """The mentions of the loaded gold file ``data`` (from ``path``), checked against ``doc``."""
    if data["doc_id"] != doc.id:
        raise SeedError(path, f"doc_id: {data['doc_id']!r} is not the seed's id {doc.id!r}")
    if data["sha256"] != doc.sha256:
        raise SeedError(path, "sha256: written for another version of the seed; re-check the offsets")
    mentions = [Mention(**m, source=data["layer"], score=None) for m in data["mentions"]]
    previous_end = 0
    for i, m in enumerate(mentions):
        if not m.start < m.end <= len(doc.text) or doc.text[m.start : m.end] != m.text:
            raise SeedError(path, f"mentions/{i}: text[{m.start}:{m.end}] is {doc.text[m.start:m.end]!r}, not {m.text!r}")
        for field, value in (("text", m.text), ("lemma", m.lemma)):
            if edge_space(value) or not value.strip():
                raise SeedError(path, f"mentions/{i}/{field}: {value!r} is blank or starts or ends with white space")
        if m.start < previous_end:
            raise SeedError(path, f"mentions/{i}: overlaps or precedes the previous mention")
        previous_end = m.end
    return mentions
