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

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from kronika.blocks import split_blocks
from kronika.record import ID_PATTERN, MAX_SEED_BYTES, Block, date_precision, shown, split_header

SEED_SUFFIX = ".txt"
GOLD_SUFFIX = ".gold.json"
MAX_TITLE_CHARS = 300
MAX_ID_CHARS = 200  # as ID_PATTERN says


class SeedError(ValueError):
    """A seed that cannot be built; ``str(err)`` is one line naming the file."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{shown(path)}: {message}")
        self.path = shown(path)
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


def list_seeds(folder: Path) -> tuple[list[Path], list[tuple[str, str]], list[tuple[str, str]]]:
    """Seeds sorted by id, other entries with why they are skipped, and seeds
    rejected by their name alone (no byte of them is read).

    Gold layers (``<id>.gold.json``) beside their seed are not reported; one
    without a seed is skipped with that reason, and so are hidden files.
    """
    seeds, skipped, rejected = [], [], []
    entries = sorted(folder.iterdir())
    stems = {p.name[: -len(SEED_SUFFIX)] for p in entries if p.name.endswith(SEED_SUFFIX)}
    for path in entries:
        name = path.name
        if name.startswith("."):
            skipped.append((shown(path), "hidden file"))
        elif name.endswith(GOLD_SUFFIX):
            if name[: -len(GOLD_SUFFIX)] not in stems:
                skipped.append((shown(path), "gold layer without a seed"))
        elif not name.endswith(SEED_SUFFIX):
            skipped.append((shown(path), f"not a seed: only *{SEED_SUFFIX} files are built"))
        elif (problem := name_problem(name)) is not None:
            rejected.append((shown(path), problem))
        else:
            seeds.append(path)
    return sorted(seeds, key=lambda p: p.stem), skipped, rejected


def name_problem(name: str) -> str | None:
    """Why a seed's file name cannot give an id, or None."""
    if shown(name) != name:
        return "file name is not printable UTF-8"
    doc_id = name[: -len(SEED_SUFFIX)] if name.endswith(SEED_SUFFIX) else Path(name).stem
    if len(doc_id) > MAX_ID_CHARS:
        return f"file name stem has {len(doc_id)} characters; an id may have at most {MAX_ID_CHARS}"
    if not re.fullmatch(ID_PATTERN, doc_id):
        return f"file name stem {doc_id!r} is not a valid id (letters, digits, . _ -; at most 200 characters)"
    return None


def read_seed(path: Path, root: Path) -> Document:
    """Read and check one seed file; raise ``SeedError`` on anything bad."""
    return parse_seed(seed_bytes(path, root), path.name, path)


def seed_bytes(path: Path, root: Path, what: str = "seed") -> bytes:
    """The bytes of one seed (or gold file: ``what``), read only once its type and
    size are known to be fine.

    A FIFO would block the build forever and a link to ``/dev/zero`` would
    never end, so the file is checked with ``stat`` first and read with a bound.
    """
    try:
        # One open and one fstat: every build reads every seed (the cache key needs its
        # bytes), and the lstat + stat + open of pathlib cost as much as the reading.
        # O_NONBLOCK: opening a FIFO returns at once; O_NOFOLLOW: a symlink is checked first.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError as err:
            if err.errno != errno.ELOOP:
                raise
            if not path.resolve().is_relative_to(root.resolve()):
                raise SeedError(path, "symlink points outside the seeds folder") from None
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            size = _check_kind(path, os.fstat(fd), what)
            # asking for the bound itself would allocate 20 MB for every seed
            raw = _read_up_to(fd, size + 1)
            if len(raw) > size:  # it grew since the fstat
                raw += _read_up_to(fd, MAX_SEED_BYTES - size)
        finally:
            os.close(fd)
    except FileNotFoundError:
        if path.is_symlink():
            raise SeedError(path, "is a symbolic link to a missing file") from None
        raise SeedError(path, "vanished during the build (no such file)") from None
    except OSError as err:
        raise SeedError(path, f"cannot be read: {err.strerror or err}") from None
    if len(raw) > MAX_SEED_BYTES:
        raise SeedError(path, f"grew past {MAX_SEED_BYTES:,} bytes while it was read")
    return raw


def _read_up_to(fd: int, size: int) -> bytes:
    """At most ``size`` bytes, fewer only at the end of the file (``os.read`` on the
    descriptor: a buffered file object per seed cost as much as the read itself)."""
    parts = []
    while size > 0 and (part := os.read(fd, size)):
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _check_kind(path: Path, info: os.stat_result, what: str = "seed") -> int:
    """The size of a regular seed file; ``SeedError`` for any other kind or a seed too big."""
    if stat.S_ISDIR(info.st_mode):
        raise SeedError(path, f"is a directory, not a {what} file")
    if not stat.S_ISREG(info.st_mode):
        raise SeedError(path, f"is a {_file_kind(info.st_mode)}, not a regular file")
    if info.st_size > MAX_SEED_BYTES:
        raise SeedError(path, f"is {info.st_size:,} bytes; a {what} file may have at most {MAX_SEED_BYTES:,}")
    return info.st_size


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
    return next((kind for test, kind in kinds if test(mode)), "special file")


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


def seed_text(raw: bytes, where: Path | str) -> str:
    """The article text of a seed without the rest of ``parse_seed`` (blocks, title): what duplicates compare."""
    text = _decode(raw, where)[0]
    return text[len(split_header(text)[0]) :]


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
    if text[first.start : first.end] != first_line.strip():  # the first line is blank: no title
        return None
    return text[first.start : first.end]
