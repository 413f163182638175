"""The output folder: refuse a dangerous one, lock it, stage the new corpus, swap it in.

The corpus folder, its manifest and the card beside it change as one unit.
The new corpus is written into a staging folder beside the old one; the new
text of each file beside it (the card, croissant.json) goes into a file beside
that; then a journal names the staging folder and its inode, and two renames of
folders and one per file swap them in. A build killed or failing at any instant
leaves either the old state or the new one: the next build reads the journal and
rolls forward if the corpus folder is the staging folder (same inode), else back.
(Asking whether the staging folder still exists is not enough: a build that fails,
rather than is killed, removes it.)

Nothing here deletes a thing it did not create: staging folders carry a mark
file, the old corpus and the journal have fixed names of our own, and a folder
that is not a Kronika corpus is never replaced.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from kronika.ingest import shown

STAGE_MARK = ".kronika-stage"
MANIFEST = "manifest.json"
REPO_MARKERS = (".git", "pyproject.toml")


class OutputError(RuntimeError):
    """The output folder cannot be used; the message is one line saying why."""


def check_output(out: Path, seeds: Path) -> None:
    """Refuse an output folder whose replacement could lose data.

    The swap deletes the previous output, so it must be a Kronika corpus (or
    empty, or not there yet), must not hold or lie inside the seeds, and must
    not be a repository root (``--out .``).
    """
    where, sacred = out.resolve(), seeds.resolve()
    if where == sacred or where.is_relative_to(sacred) or sacred.is_relative_to(where):
        raise OutputError(f"{shown(out)}: the output folder must not be, contain or lie inside the seeds folder {shown(seeds)}")
    if out.is_symlink():  # the swap would replace the link with a folder, and the card go beside its target
        raise OutputError(f"{shown(out)}: is a symbolic link; give the folder it points to")
    if not where.exists():
        return
    if not where.is_dir():
        raise OutputError(f"{shown(out)}: exists and is not a folder")
    if any((where / marker).exists() for marker in REPO_MARKERS):
        raise OutputError(f"{shown(out)}: is a repository root; give the corpus folder (for example --out corpus)")
    if any(where.iterdir()) and not is_corpus(where):
        raise OutputError(f"{shown(out)}: is not a Kronika corpus (no valid {MANIFEST}); refusing to replace it")
    for folder in (where, where.parent):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"{shown(folder)}: is not writable")


def check_cache(cache: Path, seeds: Path) -> None:
    """Refuse a cache folder in the seeds folder (the default ``.kronika-cache`` is
    relative to the current folder): nothing but an import writes there."""
    where, sacred = cache.resolve(), seeds.resolve()
    if where == sacred or where.is_relative_to(sacred):
        raise OutputError(f"{shown(cache)}: the cache folder must not lie inside the seeds folder {shown(seeds)}; give --cache elsewhere")


def is_corpus(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("name") == "kronika"


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` (a lock file beside it); a second build fails at once.

    The lock file is removed on release. A build that opened it just before
    could then lock a file no longer there, so a lock only counts once the
    path still names the locked file.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    path = _sibling(out, "lock")
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise OutputError(f"{shown(out)}: another build (pid {holder}) is writing it; wait for it to finish") from None
        if _same_file(fd, path):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except FileNotFoundError:
        return False


def recover(out: Path, files: list[Path]) -> None:
    """Finish or undo a swap that a killed build left half done; remove stale staging.

    ``files`` are the files swapped in beside the corpus (the card, croissant.json).
    Call it while holding the lock.
    """
    journal, old = _sibling(out, "swap.json"), _sibling(out, "old")
    if journal.exists():
        record = json.loads(journal.read_text(encoding="utf-8"))
        stage = out.parent / record["stage"]
        if "inode" in record:
            in_place = out.exists() and os.stat(out).st_ino == record["inode"]
        else:  # a journal of an earlier version
            in_place = not stage.exists()
        if not in_place:  # stopped before the new corpus was in place: roll back
            if not out.exists() and old.exists():
                os.replace(old, out)
            shutil.rmtree(stage, ignore_errors=True)
        else:  # the new corpus is in place: roll forward
            for path in files:
                if _new(path).exists():
                    os.replace(_new(path), path)
        journal.unlink()
    for leftover in [_temp(journal)] + [q for path in files for q in (_new(path), _temp(_new(path)))]:
        leftover.unlink(missing_ok=True)
    if old.exists() and out.exists():
        shutil.rmtree(old)
    elif old.exists():  # an interrupted swap of a build without a journal
        os.replace(old, out)
    for stale in out.parent.glob(f".{out.name}.new-*"):
        if (stale / STAGE_MARK).exists():
            shutil.rmtree(stale)


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """An empty, marked folder beside ``out``; removed if the body raises."""
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    stage.chmod(0o755)
    (stage / STAGE_MARK).touch()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def commit(stage: Path, out: Path, files: dict[Path, str]) -> None:
    """Swap ``stage`` in as ``out`` and each text of ``files`` in at its path, as one unit (see the module doc)."""
    for path, text in files.items():
        _write_synced(_new(path), text.encode("utf-8"))
    journal = _sibling(out, "swap.json")
    # the stage's inode: after the rename it is the corpus's, so ``recover`` knows
    # whether the new corpus got in place even once the stage folder is gone
    _write_synced(journal, json.dumps({"stage": stage.name, "inode": os.stat(stage).st_ino}).encode("utf-8"))
    (stage / STAGE_MARK).unlink()
    old = _sibling(out, "old")
    try:
        if out.exists():
            os.replace(out, old)
        os.replace(stage, out)
    except BaseException:
        with suppress(OSError):  # an error, not a kill: the old corpus back now if it can be
            if old.exists() and not out.exists():
                os.replace(old, out)
        raise
    for path in files:
        os.replace(_new(path), path)
    journal.unlink()
    shutil.rmtree(old, ignore_errors=True)


def _sibling(out: Path, suffix: str) -> Path:
    return out.parent / f".{out.name}.{suffix}"


def _new(path: Path) -> Path:
    return path.with_name(f".{path.name}.kronika-new")


def _temp(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp")


def _write_synced(path: Path, data: bytes) -> None:
    """Write a file that must be complete before the next step: temp name, fsync, rename."""
    tmp = _temp(path)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
