"""Read JSON Lines of objects, with errors that name the file and line.

Shared by the evaluation commands, whose gold files are JSONL: a bad line ends
the run with one message, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """Bad input; the message names the file and line (``path:line: ...``)."""


def json_objects(path: Path | str, limit: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line, at most ``limit`` of them."""
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror})") from None
    count, number = 0, 0
    with handle:
        try:
            for number, line in enumerate(handle, 1):
                if limit is not None and count >= limit:
                    return
                if not line.strip():
                    continue
                yield number, _parse(path, number, line)
                count += 1
        except UnicodeDecodeError:
            raise InputError(f"{path}:{number + 1}: not UTF-8") from None


def _parse(path: Path | str, number: int, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise InputError(f"{path}:{number}: expected a JSON object")
    return row
