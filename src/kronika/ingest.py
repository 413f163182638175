"""Ingest: one seed file -> one ``Document``, losslessly.

Rules (documented in the README, section "Seeds"):

* Strict UTF-8. Empty files, invalid UTF-8, NUL bytes, directories and symlinks
  that leave the seeds folder are rejected with a ``SeedError`` naming the file.
* A leading UTF-8 BOM is dropped from ``text`` and recorded (``bom``).
* Line ends: if every ``\\n`` in the file is part of ``\\r\\n``, the text is
  normalised to ``\\n`` and ``newline = "crlf"`` is recorded; otherwise the text
  keeps its bytes as they are (``newline = "lf"``; stray ``\\r`` stay in ``text``).
* An inline header ``[spaces]date YYYY[-MM[-DD]]`` followed by spaces or one line
  break is moved out of ``text`` into ``header`` (raw) and ``date``. A header
  whose date is not a real calendar date stays in the text: nothing is guessed.
* A title is the first line when the file has no inline header, the line is at
  most 300 characters, is followed by a blank line and more text, and its block
  is not boilerplate. The title stays in ``text`` (as a heading block).

``record.raw_bytes`` inverts all of this: BOM + header + text (+ CRLF) gives
the seed's exact bytes, and ``sha256`` pins them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from kronika.blocks import split_blocks
from kronika.record import ID_PATTERN, Block, date_precision, split_header

SEED_SUFFIX = ".txt"
GOLD_SUFFIX = ".gold.json"
MAX_TITLE_CHARS = 300


class SeedError(ValueError):
    """A seed that cannot be built; ``str(err)`` is one line naming the file."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.reason = message


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source_file: str
    sha256: str
    header: str
    bom: bool
    newline: str
    date: str | None
    date_precision: str | None
    title: str | None
    blocks: list[Block]


def list_seeds(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Seed files (``*.txt``) sorted by id, and other entries with why they are skipped.

    Gold layers (``*.gold.json``) live beside the seeds and are not reported.
    """
    seeds, other = [], []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(GOLD_SUFFIX) or path.name.startswith("."):
            continue
        if path.suffix == SEED_SUFFIX:
            seeds.append(path)
        else:
            other.append((path, f"not a seed: only *{SEED_SUFFIX} files are built"))
    return sorted(seeds, key=lambda p: p.stem), other


def read_seed(path: Path, root: Path) -> Document:
    """Read and check one seed file; raise ``SeedError`` on anything bad."""
    _check_path(path, root)
    return parse_seed(path.read_bytes(), path.name, path)


def _check_path(path: Path, root: Path) -> None:
    if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
        raise SeedError(path, "symlink points outside the seeds folder")
    if path.is_dir():
        raise SeedError(path, "is a directory, not a seed file")
    if not path.is_file():
        raise SeedError(path, "is not a regular file")


def parse_seed(raw: bytes, name: str, where: Path | str | None = None) -> Document:
    """Turn raw seed bytes into a Document. ``name`` is the file name (id = stem)."""
    where = where or name
    doc_id = Path(name).stem
    if not re.fullmatch(ID_PATTERN, doc_id):
        raise SeedError(where, f"file name stem {doc_id!r} is not a valid id (letters, digits, . _ -; no spaces)")
    text, bom, newline = _decode(raw, where)
    header, date = split_header(text)
    text = text[len(header) :]
    if not text.strip():
        raise SeedError(where, "no article text")
    blocks = split_blocks(text)
    title = _title(text, blocks) if not header else None
    if title is not None:
        blocks[0] = Block(blocks[0].start, blocks[0].end, "heading")
    return Document(
        id=doc_id,
        text=text,
        source_file=name,
        sha256=hashlib.sha256(raw).hexdigest(),
        header=header,
        bom=bom,
        newline=newline,
        date=date,
        date_precision=date_precision(date),
        title=title,
        blocks=blocks,
    )


def _decode(raw: bytes, where: Path | str) -> tuple[str, bool, str]:
    if not raw:
        raise SeedError(where, "empty file")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise SeedError(where, f"NUL byte at byte offset {nul}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SeedError(where, f"invalid UTF-8 at byte offset {err.start}") from None
    bom = text.startswith("\ufeff")
    text = text[1:] if bom else text
    crlf = "\r\n" in text and text.count("\n") == text.count("\r\n")
    return (text.replace("\r\n", "\n") if crlf else text), bom, ("crlf" if crlf else "lf")


def _title(text: str, blocks: list[Block]) -> str | None:
    first_line, sep, rest = text.partition("\n")
    if not (sep and rest.startswith("\n") and rest.strip() and blocks):
        return None
    first = blocks[0]
    if first.kind == "boilerplate" or len(first_line) > MAX_TITLE_CHARS or "\n" in text[first.start : first.end]:
        return None
    return text[first.start : first.end]
