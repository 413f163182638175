"""Gold layer: hand-checked mentions kept beside a seed as ``<id>.gold.json``.

The file is standoff: offsets point into the built document ``text``, and its
``sha256`` pins it to one exact version of the seed, so an edited seed cannot
silently keep stale offsets. Format: ``schema/gold.schema.json`` and
ANNOTATION.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

from kronika.ingest import GOLD_SUFFIX, Document, SeedError
from kronika.record import Mention, gold_schema

_VALIDATOR = Draft202012Validator(gold_schema(), format_checker=FormatChecker())


def gold_path(seed: Path) -> Path:
    return seed.with_name(seed.stem + GOLD_SUFFIX)


def load_gold_file(path: Path) -> dict:
    """Parse and schema-check a gold file; errors name the file and field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise SeedError(path, f"invalid UTF-8 at byte offset {err.start}") from None
    except json.JSONDecodeError as err:
        raise SeedError(path, f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    error = next(iter(sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise SeedError(path, f"{where}: {error.message}")
    return data


def read_gold(path: Path, doc: Document) -> list[Mention]:
    """The gold mentions of ``doc``, checked against its text."""
    data = load_gold_file(path)
    if data["doc_id"] != doc.id:
        raise SeedError(path, f"doc_id: {data['doc_id']!r} is not the seed's id {doc.id!r}")
    if data["sha256"] != doc.sha256:
        raise SeedError(path, "sha256: written for another version of the seed; re-check the offsets")
    mentions = [Mention(**m, source=data["layer"], score=None) for m in data["mentions"]]
    previous_end = 0
    for i, m in enumerate(mentions):
        if not m.start < m.end <= len(doc.text) or doc.text[m.start : m.end] != m.text:
            raise SeedError(path, f"mentions/{i}: text[{m.start}:{m.end}] is {doc.text[m.start:m.end]!r}, not {m.text!r}")
        if m.start < previous_end:
            raise SeedError(path, f"mentions/{i}: overlaps or precedes the previous mention")
        previous_end = m.end
    return mentions
