"""Atomic file writes: a hidden temporary file beside the target, then a rename.

A reader, or a build killed half-way, sees the old file or the new one, never a
part of one. The temporary name carries the process id, so two workers writing
one cache file at once do not write into each other's, and it is removed when
the write fails. Text is written as UTF-8 bytes, with no newline translation:
the same bytes on every platform.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))
