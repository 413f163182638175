"""Validate: check any Kronika Parquet file, JSONL file or corpus folder.

Depends only on ``kronika.record`` (plus pyarrow, jsonschema, yaml), never on an
annotator, so a consumer can check a download. Problems are data (``Problem``),
one line each: file, record id, field path, message; a broken file is one line,
never a traceback.

How it stays fast: types and shape are checked once per file from the Arrow
schema; the JSON Schema's patterns, enums, ranges and nulls become column-wide
``pyarrow.compute`` checks (``schema_rules`` walks the schema, so no column is
forgotten), and jsonschema only words the message for the rows they flag. What
needs Python per row (text at offsets, merges of the derived configs with their
document) is one pass over sorted lists: linear in the text. Worker threads read
and decode the files, several at once, and do the column-wide work (rules, word
counts, sha256, spans: C code that releases the GIL) while the checking thread
runs the Python checks of the rows read before; at most one heavy thread per core.

What it checks beyond the schema: rows sorted and unique; document metadata
recomputed from the text (sha256, counts, header, date, title, source file);
spans inside the text, sorted, blocks tiling it; every ``mentions`` and
``sentences`` row equal to what its document says, sentences numbered 0..n-1 and
covering every non-blank character; and for a corpus folder, that the manifest
and the card list exactly the files there with their checksums and row counts.
"""

from __future__ import annotations

import array
import gc
import hashlib
import json
import os
import queue
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from kronika.record import (
    BIO_TAGS,
    CONFIGS,
    CONTEXT_CHARS,
    SPACE_CHARS,
    SPACE_CLASS,
    WORD_RE,
    arrow_schema,
    card_features,
    class_names,
    copy_words,
    count_words,
    date_precision,
    sha256_file,
    hf_features,
    multilinguality,
    one_line,
    raw_bytes,
    present_languages,
    schema_validator,
    shown,
    size_category,
    split_header,
)

MANIFEST = "manifest.json"
CARD = "README.md"
BATCH_ROWS = 16_384  # rows read at a time
UNIT_ROWS = 2_048  # rows checked together: each column-wide check has a fixed cost
READ_AHEAD = 2  # units the reader thread may be ahead
# documents first, then sentences: mentions are checked against both
CHECK_ORDER = ("documents", "sentences", "mentions")
SORT_KEYS = {"documents": ("id",), "mentions": ("doc_id", "start"), "sentences": ("doc_id", "sentence_index")}
ENTITY_FIELDS = ("start", "end", "text", "label", "lemma", "entity_id", "source", "score")


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        """One line, whatever the data held: control characters escaped (an id with a
        newline could forge a problem line) and each part at most MAX_PART characters.
        A problem of a whole file or folder names no record or field ("-"): those parts are left out."""
        record = "-" if self.record == "-" else f"record {self.record}"
        middle = [p for p in (record, self.field) if p not in ("", "-")]
        return ": ".join(_part(p) for p in (self.file, *middle, self.message))


MAX_PART = 1000


def _part(text: str) -> str:
    text = shown(text)
    return text if len(text) <= MAX_PART else text[: MAX_PART - 3] + "..."


# (row in the batch, field path, message): what the per-config checks yield
Found = Iterator[tuple[int, str, str]]
# what a config's PREPARE computed or found column-wide, for its CHECKS
Extras = dict[str, Any]
# per-row values that workers compute for all of a unit's rows, each to wait for when needed
Early = dict[str, Callable[[], pa.Array]]
# a unit's rows: one batch, or the batches of several files (not copied into one)
Rows = pa.RecordBatch | pa.Table
Column = pa.Array | pa.ChunkedArray


def validate_path(path: Path, timings: dict[str, float] | None = None) -> list[Problem]:
    """All problems found in ``path`` (a folder, ``.parquet`` or ``.jsonl``).

    ``timings``, if given, receives the seconds spent per config (and ``corpus``
    for the manifest and card), wall and CPU, for ``scripts/bench_validate.py``.
    """
    timings = {} if timings is None else timings
    with _no_gc(), _memory_pool():
        return _validate(path, timings)


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cycle collector off while validating: the checks make millions of objects
    (Python lists of the columns) but hardly any cycles, so its passes only cost time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_POOL_LOCK = threading.Lock()
_POOL_USERS: list[pa.MemoryPool] = []  # the pool to restore, while validations run


@contextmanager
def _memory_pool() -> Iterator[None]:
    """Arrow allocates from jemalloc while validating, if pyarrow has it, rather than
    from its default mimalloc, whose fresh memory comes in huge pages that the kernel
    zeroes 2 MB at a time (with transparent huge pages on "madvise", as here): profiled
    on the news corpus, page zeroing was 8-29% of the CPU with mimalloc and under 1%
    with jemalloc. Left alone if ARROW_DEFAULT_MEMORY_POOL chose a pool; restored when
    the last validation running in the process ends."""
    pool = _jemalloc()
    if pool is None or os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        yield
        return
    with _POOL_LOCK:
        previous = _POOL_USERS[0] if _POOL_USERS else pa.default_memory_pool()
        if not _POOL_USERS and previous.backend_name == "mimalloc":
            pa.set_memory_pool(pool)
        _POOL_USERS.append(previous)
    try:
        yield
    finally:
        with _POOL_LOCK:
            _POOL_USERS.pop()
            if not _POOL_USERS:
                pa.set_memory_pool(previous)


@cache
def _jemalloc() -> pa.MemoryPool | None:
    try:
        return pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowException):  # a pyarrow built without it
        return None


def _validate(path: Path, timings: dict[str, float]) -> list[Problem]:
    if not path.exists():
        return [Problem(str(path), "-", "-", "no such file or folder")]
    if path.is_dir():
        return _validate_folder(path, timings)
    if not path.is_file():
        return [Problem(str(path), "-", "-", "is not a regular file (a FIFO or a device?)")]
    if path.suffix == ".parquet":
        index = Index()
        with _timed(timings, "file"):
            problems = check_parquet_files([path], None, index)
            return problems + list(index.finish(str(path)))
    if path.suffix == ".jsonl":
        return _validate_jsonl(path)
    return [Problem(str(path), "-", "-", "expected a folder, a .parquet or a .jsonl file")]


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Wall seconds under ``name``, CPU seconds of the process (all threads) under ``cpu:name``."""
    started, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        timings[f"cpu:{name}"] = timings.get(f"cpu:{name}", 0.0) + time.process_time() - cpu


def _one_line(err: BaseException) -> str:
    return one_line(err) or type(err).__name__


# ------------------------------------------------------------------ folders
@dataclass
class Layout:
    """Where things are: a corpus folder (config subfolders, manifest) and its card,
    or a loose folder of Parquet files (no manifest or card to check)."""

    folder: Path
    corpus: Path | None = None
    card: Path | None = None
    files: dict[str, list[Path]] = field(default_factory=dict)
    stray: list[Path] = field(default_factory=list)


def layout_of(folder: Path) -> Layout:
    """A repo root (README.md + corpus/), a corpus folder (config subfolders), or loose files."""
    if (folder / "corpus").is_dir() and ((folder / CARD).is_file() or any((folder / "corpus" / c).is_dir() for c in CONFIGS)):
        corpus, card = folder / "corpus", folder / CARD
    elif any((folder / config).is_dir() for config in CONFIGS):
        corpus, card = folder, folder.parent / CARD
    else:
        return _loose_layout(folder)
    files = {c: sorted((corpus / c).glob("*.parquet")) for c in CONFIGS}
    placed = {p for paths in files.values() for p in paths}
    stray = sorted(p for p in corpus.rglob("*.parquet") if p not in placed)
    return Layout(folder, corpus, card, {c: p for c, p in files.items() if p}, stray)


def _loose_layout(folder: Path) -> Layout:
    files: dict[str, list[Path]] = {}
    for path in sorted(folder.rglob("*.parquet")):
        try:
            names = pq.read_schema(path).names
        except Exception:  # unreadable: checked (and reported) as a documents file
            names = []
        files.setdefault(config_of(path, names), []).append(path)
    return Layout(folder, files=files)


def _validate_folder(folder: Path, timings: dict[str, float]) -> list[Problem]:
    layout = layout_of(folder)
    if not layout.files and not layout.stray:
        return [Problem(str(folder), "-", "-", "no Parquet files found")]
    index = Index(expect_all=layout.corpus is not None)
    problems = [Problem(str(p), "-", "-", "Parquet file outside the config folders") for p in layout.stray]
    for config in CHECK_ORDER:
        with _timed(timings, config):
            problems += check_parquet_files(layout.files.get(config, []), config, index)
            where = layout.files[config][0].parent if config in layout.files else (layout.corpus or folder) / config
            problems += index.finish_config(config, str(where))
    problems += _cluster_problems(index, str(layout.files["documents"][0].parent if "documents" in layout.files else folder))
    if layout.corpus is not None:
        with _timed(timings, "corpus"):
            problems += _corpus_problems(layout, index)
    return problems


def _cluster_problems(index: Index, where: str) -> list[Problem]:
    """A duplicate cluster is named by its smallest member, counts its members, and sits in one split."""
    problems = []
    for cluster, members in sorted(index.clusters.items()):
        ids = sorted(doc_id for doc_id, _, _ in members)
        if ids[0] != cluster or len(ids) < 2:
            problems.append(Problem(where, cluster, "duplicate_cluster", f"names a cluster whose smallest member is {ids[0]!r}, of {len(ids)} document(s)"))
        for doc_id, count, _ in members:
            if count != len(ids):
                problems.append(Problem(where, doc_id, "duplicate_count", f"is {count}, the cluster {cluster!r} has {len(ids)} documents"))
        if len({split for _, _, split in members}) > 1:
            problems.append(Problem(where, cluster, "duplicate_cluster", "copies of one cluster lie in different splits"))
    return problems


# -------------------------------------------------------------- Parquet files
def config_of(path: Path, columns: Iterable[str]) -> str:
    """The config a file holds: its folder name, else the best column match."""
    if path.parent.name in CONFIGS:
        return path.parent.name
    names = set(columns)

    def fit(config: str) -> int:
        props = set(CONFIGS[config]()["properties"])
        return len(names & props) - len(names ^ props)

    return max(CONFIGS, key=fit)


@dataclass
class Unit:
    """Rows of one config checked together (from one shard or several small ones),
    and the work on them a worker thread does beside the checks that need Python
    (None: this thread does it, see OFFLOADED)."""

    config: str
    split: str
    origin: Origin
    rows: Rows
    prepared: Future[Prepared] | None


@dataclass
class Prepared:
    """A unit's rows as ``prepare`` left them: the rows a schema rule flags (with their
    messages), the other rows (``batch``; ``keep``: their rows in the unit), and what
    the config's vectorised checks computed or found in those (``extras``)."""

    flagged: dict[int, list[tuple[str, str]]]
    keep: list[int] | None
    batch: Rows
    extras: Extras


def prepare(batch: Rows, config: str, early: Early | None = None) -> Prepared:
    """Schema rules first (column-wide); the semantic checks see only the rows that
    pass them (they rely on types and non-null values). ``early``: per-row values
    of all the rows that other workers are computing (see ``EARLY``)."""
    flagged = {row: [(r.where, r.message()) for r in rules] for row, rules in flag_rows(batch, config).items()}
    flagged.update(_structure_flags(batch, config, flagged))
    keep, kept = None, batch
    if flagged:
        keep = [i for i in range(batch.num_rows) if i not in flagged]
        kept = batch.take(pa.array(keep, pa.int64()))
    early = {name: _kept(values, keep) for name, values in (early or {}).items()}
    return Prepared(flagged, keep, kept, PREPARE[config](kept, early))


def _kept(values: Callable[[], pa.Array], keep: list[int] | None) -> Callable[[], pa.Array]:
    return values if keep is None else lambda: values().take(pa.array(keep, pa.int64()))


CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
WORKERS = max(2, min(4, CPUS))  # threads reading files and preparing units (C code, no GIL held)
LOAD_AHEAD = 2 * WORKERS  # files being read ahead of the unit being formed
WHOLE_FILE_BYTES = 64 << 20  # a file smaller than this (uncompressed) is read in one go by a worker


class Slots:
    """At most ``size`` threads doing heavy work at once, one per core: more runnable
    threads than cores only thrash the caches and pass the GIL around (measured: ~20%
    more CPU for the same work, on the 2 cores here). The checking thread goes first:
    the workers only feed it. Two slots at least: the checks wait for workers."""

    def __init__(self, size: int) -> None:
        self.free, self.urgent = max(2, size), 0
        self.changed = threading.Condition()

    @contextmanager
    def held(self, urgent: bool = False) -> Iterator[None]:
        with self.changed:
            self.urgent += urgent
            try:
                while not self.free or (self.urgent and not urgent):
                    self.changed.wait()
            finally:
                self.urgent -= urgent
            self.free -= 1
        try:
            yield
        finally:
            with self.changed:
                self.free += 1
                self.changed.notify_all()


_SLOTS = Slots(CPUS)


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="kronika-validate")


def _submit(work: Callable[..., Any], *args: Any) -> Future[Any]:
    """``work(*args)`` in a worker, once a slot is free (the work never waits for other work)."""
    return _pool().submit(_in_slot, work, *args)


def _in_slot(work: Callable[..., Any], *args: Any) -> Any:
    with _SLOTS.held():
        return work(*args)


def check_parquet_files(paths: list[Path], config: str | None, index: Index) -> list[Problem]:
    """Files of one config in name order: each readable and of the right shape, then
    their rows, in units of about UNIT_ROWS.

    Worker threads read and decompress the files (several at once) and prepare each
    unit (schema rules, word counts, checksums, spans: C code that releases the GIL);
    the reader thread hands the units over in order; this thread runs the checks
    that need Python on one unit while the workers read and prepare the next ones.
    """
    problems: list[Problem] = []
    for item in _read_ahead(_units(paths, config, index)):
        if isinstance(item, Problem):
            problems.append(item)
        else:
            prepared = item.prepared.result() if item.prepared is not None else None
            with _SLOTS.held(urgent=True):
                problems += check_batch(item.rows, item.config, index, item.origin, item.split, prepared)
    return problems


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _read_ahead(items: Iterator[Any]) -> Iterator[Any]:
    """Run a generator in a reader thread, READ_AHEAD items ahead of its consumer."""
    channel: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
    done = object()

    def run() -> None:
        try:
            for item in items:
                channel.put(item)
            channel.put(done)
        except BaseException as err:  # handed to the consumer, which raises it
            channel.put(_Failed(err))

    threading.Thread(target=run, name="kronika-validate-reader", daemon=True).start()
    while (item := channel.get()) is not done:
        if isinstance(item, _Failed):
            raise item.error
        yield item


@dataclass
class Loaded:
    """One Parquet file as a worker found it: what it says about itself, its problems,
    and its batches (all of them; None for a large file, which is streamed)."""

    path: Path
    config: str | None
    problems: list[Problem]
    pf: pq.ParquetFile | None = None
    rows: int | None = None  # None: not a readable Parquet file
    version: str = ""
    usable: bool = False  # readable and of the config's shape
    batches: list[tuple[pa.RecordBatch, Path, int] | Problem] | None = None
    num_bytes: int = 0  # the data's uncompressed size, from the file's metadata (the card's num_bytes)


def _load(path: Path, config: str | None) -> Loaded:
    """Open a file, check its shape and, unless it is large, read and decode it all (in a worker)."""
    file = str(path)
    if not path.is_file():  # a FIFO would block the open forever
        return Loaded(path, config, [Problem(file, "-", "-", "is not a regular file")])
    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
        schema = pf.schema_arrow
    except Exception as err:  # truncated, not Parquet, corrupt footer: one line
        return Loaded(path, config, [Problem(file, "-", "-", f"not a readable Parquet file ({_one_line(err)})")])
    config = config or config_of(path, schema.names)
    version = (schema.metadata or {}).get(b"kronika_version", b"").decode("utf-8", "replace")
    metadata = pf.metadata
    clean = _CLEAN_SCHEMA.get(config)
    if clean is not None and schema.equals(clean, check_metadata=True):  # the shards of a config share one schema
        loaded = Loaded(path, config, [], pf, metadata.num_rows, version, usable=True)
    else:
        loaded = Loaded(path, config, list(_schema_problems(schema, file, config)), pf, metadata.num_rows, version)
        if loaded.problems:
            return loaded
        loaded.problems, loaded.usable = _metadata_problems(schema, file, config), True
        if not loaded.problems:
            _CLEAN_SCHEMA[config] = schema
    loaded.num_bytes = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if loaded.num_bytes < WHOLE_FILE_BYTES:
        loaded.batches = list(_read_batches(pf, path, config))
    return loaded


_CLEAN_SCHEMA: dict[str, pa.Schema] = {}  # per config, a file schema (metadata and all) found to have no problem


def _loaded_in_order(paths: list[Path], config: str | None) -> Iterator[Loaded]:
    """``_load`` of each path, in order, up to LOAD_AHEAD files ahead in the workers."""
    ahead: deque[Future[Loaded]] = deque()
    for path in paths:
        ahead.append(_submit(_load, path, config))
        if len(ahead) > LOAD_AHEAD:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _units(paths: list[Path], config: str | None, index: Index) -> Iterator[Unit | Problem]:
    pending: list[tuple[pa.RecordBatch, Path, int]] = []
    for loaded in _loaded_in_order(paths, config):
        path, config = loaded.path, loaded.config
        if loaded.rows is None:
            index.incomplete.add(config or "documents")
        else:
            assert config is not None
            index.seen.add(config)
            index.rows[path] = loaded.rows
            index.num_bytes[path] = loaded.num_bytes
            index.versions[path] = loaded.version
            if not loaded.usable:
                index.incomplete.add(config)
        yield from loaded.problems
        if not loaded.usable or loaded.pf is None or config is None:
            continue
        if pending and split_of(pending[0][1]) != split_of(path):  # a unit holds one split
            yield _unit(pending, config)
            pending = []
        for item in loaded.batches if loaded.batches is not None else _read_batches(loaded.pf, path, config):
            if isinstance(item, Problem):
                index.incomplete.add(config)
                yield item
                continue
            pending.append(item)
            if sum(p[0].num_rows for p in pending) >= UNIT_ROWS:
                yield _unit(pending, config)
                pending = []
    if pending and config is not None:
        yield _unit(pending, config)


def _read_batches(pf: pq.ParquetFile, path: Path, config: str) -> Iterator[tuple[pa.RecordBatch, Path, int] | Problem]:
    """Batches with the expected schema (field metadata and all), or one Problem
    where the file stops decoding: a page failing its CRC, invalid UTF-8, ..."""
    schema = expected_schema(config)
    batches = pf.iter_batches(batch_size=BATCH_ROWS, use_threads=False)  # threads cost more than they win on shards
    base = 0
    while True:
        try:
            batch = next(batches)
            batch.validate(full=True)
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        except StopIteration:
            return
        except Exception as err:
            yield Problem(str(path), "-", "-", f"cannot be decoded after row {base} ({_one_line(err)})")
            return
        yield batch, path, base
        base += batch.num_rows


def _unit(pending: list[tuple[pa.RecordBatch, Path, int]], config: str) -> Unit:
    starts = list(accumulate((p[0].num_rows for p in pending[:-1]), initial=0))
    origin = Origin([str(p[1]) for p in pending], starts, [p[2] for p in pending])
    batches = [p[0] for p in pending]
    rows = batches[0] if len(batches) == 1 else pa.Table.from_batches(batches)
    if config not in OFFLOADED:
        return Unit(config, split_of(pending[0][1]), origin, rows, None)
    early = {name: start(batches) for name, start in EARLY.get(config, {}).items()}
    return Unit(config, split_of(pending[0][1]), origin, rows, _submit(prepare, rows, config, early))


# Configs whose units a worker prepares: their preparation is long C work (RE2 word
# counts, sha256), and reading, not the Python checks, takes most of their time. The
# others' is mostly Python (rules over short columns): done by the checking thread,
# which their Python checks keep busy anyway, it costs less than passing the GIL.
OFFLOADED = {"documents"}


def _in_parallel(work: Callable[[Column], pa.Array], column: str, batches: list[pa.RecordBatch]) -> Callable[[], pa.Array]:
    """``work`` on a column of the batches, in WORKERS parts (of about as many bytes) at
    once; returns the wait for the whole column's result."""
    sizes = [b.column(column).nbytes for b in batches]
    total, parts, part, size = sum(sizes), [], [], 0
    for batch, nbytes in zip(batches, sizes):
        part.append(batch.column(column))
        size += nbytes
        if size * WORKERS >= total * (len(parts) + 1) and len(parts) < WORKERS - 1:
            parts.append(part)
            part = []
    parts.append(part)
    futures = [_submit(work, pa.chunked_array(p, type=batches[0].schema.field(column).type)) for p in parts if p]
    return lambda: pa.concat_arrays([f.result() for f in futures]) if len(futures) != 1 else futures[0].result()



SHARD_NAME = re.compile(r"(?P<split>[A-Za-z0-9_]+)-(?P<number>\d{5})-of-(?P<count>\d{5})\.parquet")


def split_of(path: Path) -> str:
    """The split a shard holds, from its Hub name (``train-00000-of-00003.parquet``); "" if unnamed."""
    match = SHARD_NAME.fullmatch(path.name)
    return match["split"] if match else ""


@cache
def expected_schema(config: str) -> pa.Schema:
    return arrow_schema(CONFIGS[config]())


@cache
def _expected_features(config: str) -> dict[str, Any]:
    return {"info": {"features": hf_features(expected_schema(config))}}


def _schema_problems(actual: pa.Schema, file: str, config: str) -> Iterator[Problem]:
    """Compare a file's Arrow schema with the expected one, column by column."""
    expected = expected_schema(config)
    for fld in expected:
        if fld.name not in actual.names:
            yield Problem(file, "-", fld.name, "column is missing")
        elif not actual.field(fld.name).type.equals(fld.type):
            got = actual.field(fld.name).type
            yield Problem(file, "-", fld.name, f"has Arrow type {got}, expected {fld.type}")
    for name in actual.names:
        if name not in expected.names:
            yield Problem(file, "-", name, "column is not in the schema")


def _metadata_problems(schema: pa.Schema, file: str, config: str) -> list[Problem]:
    """The HF features in the file metadata are what ``datasets`` loads (class labels included)."""
    raw = (schema.metadata or {}).get(b"huggingface")
    expected = _expected_features(config)
    try:
        found = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        found = "invalid JSON"
    problems = []
    if found != expected:
        problems.append(Problem(file, "-", "(schema metadata).huggingface", "is missing or does not match the config's features"))
    for field in expected_schema(config):  # the label names other readers see (DuckDB: parquet_kv_metadata)
        names = class_names(field)
        if not names:
            continue
        if (schema.metadata or {}).get(f"{field.name}.names".encode()) != json.dumps(names).encode():
            problems.append(Problem(file, "-", f"(schema metadata).{field.name}.names", f"is missing or is not {names}"))
        if class_names(schema.field(field.name)) != names:
            problems.append(Problem(file, "-", f"{field.name} (field metadata)", f"the class label names are not {names}"))
    return problems


# ------------------------------------------------------ vectorised schema rules
@dataclass(frozen=True)
class Rule:
    """One JSON Schema constraint on one leaf, checked over a whole column at once."""

    path: tuple[str, ...]  # column, then struct fields; "[]" steps into list items
    kind: str  # null | enum | pattern | minimum | maximum | minLength | maxLength | nan
    value: Any = None

    @property
    def where(self) -> str:
        out = ""
        for part in self.path:
            out += "[*]" if part == "[]" else (f".{part}" if out else part)
        return out

    def message(self) -> str:
        if self.kind in ("null", "nan"):
            return f"is {'null' if self.kind == 'null' else 'NaN'}"
        return f"violates {self.kind} {self.value!r}"


# Keywords the rules cover; the shape ones are checked from the Arrow schema.
RULE_KEYWORDS = {"enum", "pattern", "minimum", "maximum", "minLength", "maxLength"}
SHAPE_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "$ref", "description", "x-class-label"}


def schema_rules(schema: dict[str, Any]) -> list[Rule]:
    """Every value constraint of a config's JSON Schema, as column rules."""
    defs = schema.get("$defs", {})
    return [rule for name, node in schema["properties"].items() for rule in _node_rules(node, defs, (name,))]


def _node_rules(node: dict[str, Any], defs: dict[str, Any], path: tuple[str, ...]) -> Iterator[Rule]:
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    types = node["type"] if isinstance(node["type"], list) else [node["type"]]
    if "null" not in types:
        yield Rule(path, "null")
    if "enum" in node:
        yield Rule(path, "enum", tuple(v for v in node["enum"] if v is not None))
    for key in ("pattern", "minimum", "maximum", "minLength", "maxLength"):
        if key in node:
            yield Rule(path, key, node[key])
    if "number" in types:
        yield Rule(path, "nan")
    for name, child in node.get("properties", {}).items():
        yield from _node_rules(child, defs, (*path, name))
    if "items" in node:
        yield from _node_rules(node["items"], defs, (*path, "[]"))


RULES = {config: schema_rules(make()) for config, make in CONFIGS.items()}


class Leaves:
    """The values at a schema path across a batch and the batch row of each value
    (only asked for where a rule is broken), computed once per path."""

    def __init__(self, batch: Rows) -> None:
        self.batch = batch
        self.cache: dict[tuple[str, ...], Column] = {}
        self.row_cache: dict[tuple[str, ...], Column | None] = {}

    def values(self, path: tuple[str, ...]) -> Column:
        if path not in self.cache:
            if len(path) == 1:
                self.cache[path] = self.batch.column(path[0])
            elif path[-1] == "[]":
                self.cache[path] = pc.list_flatten(self.values(path[:-1]))
            else:
                self.cache[path] = pc.struct_field(self.values(path[:-1]), path[-1])
        return self.cache[path]

    def rows(self, path: tuple[str, ...]) -> Column | None:
        """The batch row of each value at ``path`` (None where the values are the rows)."""
        if path not in self.row_cache:
            if len(path) == 1:
                self.row_cache[path] = None
            elif path[-1] == "[]":
                parents, rows = pc.list_parent_indices(self.values(path[:-1])), self.rows(path[:-1])
                self.row_cache[path] = parents if rows is None else pc.take(rows, parents)
            else:
                self.row_cache[path] = self.rows(path[:-1])
        return self.row_cache[path]

UNIQUE_FIRST = 256  # a pattern is matched against the distinct values of a longer column (ids and labels repeat)


def _violations(rule: Rule, leaves: Leaves) -> Column:
    """True where a value breaks the rule (a null only breaks a "null" rule)."""
    kind, value, values = rule.kind, rule.value, leaves.values(rule.path)
    if kind == "null":
        return values.is_null()
    if kind == "nan":
        return pc.fill_null(pc.is_nan(values), False)
    if kind == "enum":
        ok = pc.is_in(values, value_set=_value_set(value, values.type))
        return pc.fill_null(pc.and_(pc.invert(ok), values.is_valid()), False)
    if kind == "pattern":
        if len(values) < UNIQUE_FIRST:
            return pc.fill_null(pc.invert(pc.match_substring_regex(values, value)), False)
        distinct = pc.unique(values)
        wrong = distinct.filter(pc.fill_null(pc.invert(pc.match_substring_regex(distinct, value)), False))
        return pc.is_in(values, value_set=wrong) if len(wrong) else pa.nulls(0, pa.bool_())
    if kind in ("minLength", "maxLength"):
        # characters <= bytes: the byte lengths (from the offsets) settle "at least 1"
        # and, where no string has more bytes than the limit, "at most" too
        if kind == "minLength" and value <= 1:
            ok = pc.greater_equal(pc.binary_length(values), value)
        elif kind == "maxLength" and (pc.max(pc.binary_length(values)).as_py() or 0) <= value:
            return pa.nulls(0, pa.bool_())
        else:
            compare = pc.greater_equal if kind == "minLength" else pc.less_equal
            ok = compare(pc.utf8_length(values), value)
    else:
        ok = (pc.greater_equal if kind == "minimum" else pc.less_equal)(values, value)
    return pc.fill_null(pc.invert(ok), False)  # a null value gives a null, so no violation


@cache
def _value_set(values: tuple[Any, ...], type_: pa.DataType) -> pa.Array:
    return pa.array(list(values), type_)


def flag_rows(batch: Rows, config: str) -> dict[int, list[Rule]]:
    """Rows of the batch that break a rule of the config's JSON Schema, with the rules."""
    leaves, flagged = Leaves(batch), {}
    for rule in RULES[config]:
        if rule.kind == "null" and not leaves.values(rule.path).null_count:
            continue
        bad = _violations(rule, leaves)
        if not _true_count(bad):
            continue
        hits, rows = pc.indices_nonzero(bad), leaves.rows(rule.path)
        for row in set((hits if rows is None else pc.take(rows, hits)).to_pylist()):
            flagged.setdefault(row, []).append(rule)
    return flagged


def schema_errors(row: Any, config: str) -> list[tuple[str, str]]:
    """jsonschema's (field path, message) for one row: the wording of flagged rows."""
    errors = sorted(_validator(config).iter_errors(row), key=lambda e: list(map(str, e.absolute_path)))
    return [(_json_path(e.absolute_path), e.message) for e in errors]


@cache
def _validator(config: str) -> Any:
    """Built when a row is first worded: a clean corpus never imports jsonschema (35-60 ms)."""
    return schema_validator(CONFIGS[config]())


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


# ------------------------------------------------------------------- batches
@dataclass
class Origin:
    """Where the rows of a checked batch come from: the file and row number of each,
    or the record ids given (JSONL)."""

    files: list[str]
    starts: list[int]  # first batch row of each file's part
    bases: list[int]  # that row's number in its file (0-based)
    labels: list[str] | None = None

    def file(self, row: int) -> str:
        return self.files[bisect_right(self.starts, row) - 1]

    def number(self, row: int) -> int:
        part = bisect_right(self.starts, row) - 1
        return self.bases[part] + row - self.starts[part] + 1


def check_batch(
    batch: Rows, config: str, index: Index, origin: Origin, split: str = "", prepared: Prepared | None = None
) -> Iterator[Problem]:
    """Schema rules first; rows that break one are worded by jsonschema and left out
    of the semantic checks (which rely on types and non-null values). ``split`` is
    the split the rows are in ("" if unknown: a JSONL file, a shard not so named);
    ``prepared`` is ``prepare(batch, config)`` if a worker already did it."""
    prepared = prepare(batch, config) if prepared is None else prepared
    label = Labels(config, batch, origin)
    for row in sorted(prepared.flagged):
        record = batch.slice(row, 1).to_pylist()[0]
        found = schema_errors(record, config) or prepared.flagged[row]
        yield from (Problem(origin.file(row), label(row), path, message) for path, message in found)
        index.note_broken(config, record)
    keep = prepared.keep
    for row, path, message in CHECKS[config](prepared.batch, index, prepared.extras, split):
        row = row if keep is None else keep[row]
        yield Problem(origin.file(row), label(row), path, message)


def _structure_flags(batch: pa.RecordBatch, config: str, flagged: dict[int, Any]) -> dict[int, list[tuple[str, str]]]:
    """Rows whose parallel lists differ in length: the vectorised token checks need them aligned."""
    if config != "sentences":
        return {}
    counts = [pc.list_value_length(batch.column(c)) for c in ("tokens", "token_offsets", "ner_tags")]
    differ = pc.or_(pc.not_equal(counts[0], counts[1]), pc.not_equal(counts[0], counts[2]))
    out = {}
    for row in pc.indices_nonzero(pc.fill_null(differ, False)).to_pylist():
        if row not in flagged:
            n = [c[row].as_py() for c in counts]
            out[row] = [("ner_tags", f"{n[0]} tokens, {n[1]} offsets and {n[2]} tags differ in number")]
    return out


class Labels:
    """Record ids for messages: the document id, ``doc@start``, ``doc#sentence``
    (``#row`` where the key itself is broken)."""

    def __init__(self, config: str, batch: pa.RecordBatch, origin: Origin) -> None:
        self.config, self.batch, self.origin = config, batch, origin
        self.keys: list[list[Any]] | None = None

    def __call__(self, row: int) -> str:
        if self.origin.labels is not None:
            return self.origin.labels[row]
        if self.keys is None:
            self.keys = [self.batch.column(k).to_pylist() for k in SORT_KEYS[self.config]]
        key = [column[row] for column in self.keys]
        return record_id(self.config, key) or f"#{self.origin.number(row)}"


def record_id(config: str, key: list[Any]) -> str:
    if any(k is None for k in key):
        return ""
    return ("#" if config == "sentences" else "@").join(map(str, key))


def _offsets(lists: pa.Array) -> list[int]:
    """List offsets (rebased to 0) of a list column, for Python loops over its flat values."""
    return [0, *accumulate(pc.fill_null(pc.list_value_length(lists), 0).to_pylist())]


def _order_problems(config: str, split: str, keys: list[Any], index: Index) -> tuple[list[tuple[int, str, str]], set[int]]:
    """Rows must be sorted and unique by the config's key, across batches and the
    shards of a split (each split is sorted on its own).

    Returns the problems and the rows that repeat the key of the row before.
    """
    name = SORT_KEYS[config][-1]
    sort = ", ".join(SORT_KEYS[config])
    last, found, repeats = index.last_key.get((config, split)), [], set()
    for row, key in enumerate(keys):
        if last is not None and key <= last:
            if key == last:
                repeats.add(row)
                found.append((row, name, "duplicate id" if config == "documents" else f"duplicate row: same ({sort}) as the row before"))
            else:
                found.append((row, name, f"rows out of order: {key!r} comes after {last!r} (rows are sorted by {sort})"))
        last = key
    index.last_key[(config, split)] = last
    return found, repeats


def _previous_in_row(values: Column, parents: Column, first: Column | int | str) -> Column:
    """For each flat list value, the value before it in the same row, else ``first``
    (one value, or one per flat value)."""
    if len(values) == 0:
        return values
    same = pc.equal(parents[1:], parents[:-1])
    column = isinstance(first, (pa.Array, pa.ChunkedArray))
    head = first[0].as_py() if column else first
    rest = first[1:] if column else first
    return pa.chunked_array([pa.array([head], values.type), *_chunks(pc.if_else(same, values[:-1], rest).cast(values.type))])


def _bad(mask: Column) -> list[int]:
    return pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()


def _chunks(values: Column) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _true_count(mask: Column) -> int:
    return sum(chunk.true_count for chunk in _chunks(mask))


# ------------------------------------------------------------------ documents
@cache
def word_pattern() -> str | None:
    """``record.WORD_RE`` for RE2, counting exactly what ``count_words`` counts.

    RE2's ``\\w`` is ASCII and its Unicode tables are not Python's, so the class is
    read off Python's own ``re`` over the BMP (texts with characters beyond it are
    counted by ``count_words``, see ``word_counts``). The pattern is anchored and
    skips to the next word: ``count_substring_regex`` consumes match after match,
    and an anchored match needs no backward scan (twice as fast). None, and Python
    counts, if WORD_RE uses anything else RE2 would read differently, or if the
    pattern does not count a sample right.
    """
    if re.search(r"\\[^w]|\[\^", WORD_RE.pattern.replace("\\w", "")):
        return None
    bmp = array.array("I", [*range(0xD800), *range(0xE000, 0x10000)]).tobytes().decode("utf-32-le")
    ranges = []
    for match in re.finditer(r"\w+", bmp):
        first, last = ord(match[0][0]), ord(match[0][-1])
        ranges.append(f"\\x{{{first:x}}}" if first == last else f"\\x{{{first:x}}}-\\x{{{last:x}}}")
    word = "".join(ranges)
    pattern = f"^[^{word}]*" + WORD_RE.pattern.replace("\\w", f"[{word}]")
    sample = ["Ala ma kota.", "F-16, Kirby’ego i m.in. 10-13 -- x", "", " .- ż_1 ...a'b'c ", "Straße 3.5 ٣٤ Σίσυφος"]
    try:
        counts = pc.count_substring_regex(pa.array(sample), pattern).to_pylist()
    except pa.ArrowException:
        return None
    return pattern if counts == [count_words(t) for t in sample] else None


def word_counts(texts: pa.Array) -> list[int]:
    """``count_words`` of every text, exactly, by RE2 where that is exact (no GIL held)."""
    return _word_counts(texts).to_pylist()


def _word_counts(texts: Column) -> pa.Array:
    pattern = word_pattern()
    if pattern is None:
        return pa.array([count_words(t or "") for t in texts.to_pylist()], pa.int64())
    if isinstance(texts, pa.ChunkedArray):  # one array: RE2 compiles the pattern once per chunk
        texts = texts.combine_chunks()
    counts = pc.fill_null(pc.count_substring_regex(texts, pattern), 0).cast(pa.int64())
    beyond = _beyond_bmp(texts)
    if not beyond:
        return counts
    values = counts.to_pylist()
    for row in beyond:
        values[row] = count_words(texts[row].as_py() or "")
    return pa.array(values, pa.int64())


FOUR_BYTE_LEAD = pa.scalar(0xF0, pa.uint8())  # the smallest lead byte of a 4-byte UTF-8 sequence (uint8: no cast of the bytes)


def _beyond_bmp(texts: Column) -> list[int]:
    """Rows whose text has a character beyond the BMP, found by the lead bytes of
    4-byte UTF-8 (F0-F4): the largest byte of the UTF-8, by SIMD passes over Arrow's
    buffers (no copy), says whether a block of rows has any (~20 times faster than
    a regex over all characters)."""
    rows: set[int] = set()
    base = 0
    for chunk in _chunks(texts):
        utf8, offsets = _utf8_bytes(chunk)
        if len(utf8) and pc.max(utf8).as_py() >= FOUR_BYTE_LEAD.as_py():
            for first in range(0, len(chunk), BMP_BLOCK_ROWS):
                start, stop = offsets[first] - offsets[0], offsets[min(first + BMP_BLOCK_ROWS, len(chunk))] - offsets[0]
                block = utf8.slice(start, stop - start)
                if stop > start and pc.max(block).as_py() >= FOUR_BYTE_LEAD.as_py():
                    hits = pc.indices_nonzero(pc.greater_equal(block, FOUR_BYTE_LEAD)).to_pylist()
                    rows.update(base + bisect_right(offsets, offsets[0] + start + hit) - 1 for hit in hits)
        base += len(chunk)
    return sorted(rows)


BMP_BLOCK_ROWS = 64  # rows whose bytes are searched together once the largest byte says they hold one


def _string_offsets(texts: pa.Array) -> memoryview:
    """A string array's offsets into its data buffer (len + 1), read in place."""
    _, offsets_buffer, _ = texts.buffers()
    code = "q" if pa.types.is_large_string(texts.type) else "i"
    if not len(texts) or offsets_buffer is None:
        return memoryview(array.array(code, [0]))
    return memoryview(offsets_buffer).cast(code)[texts.offset : texts.offset + len(texts) + 1]


def _utf8_bytes(texts: pa.Array) -> tuple[pa.Array, memoryview]:
    """A string array's UTF-8 (as uint8, from its first string's start) and its offsets (len + 1)."""
    data = texts.buffers()[2]
    offsets = _string_offsets(texts)
    size = offsets[-1] - offsets[0]
    if data is None or not size:
        return pa.array([], pa.uint8()), offsets
    return pa.Array.from_buffers(pa.uint8(), size, [None, data], offset=offsets[0]), offsets


def _prepare_documents(batch: Rows, early: Early | None = None) -> Extras:
    """What a worker can check or compute without Python per row: the sha256 of plain
    texts (hashlib releases the GIL), spans and counts recomputed column-wide, and
    the word counts (RE2: given in ``early`` when other workers count them)."""
    texts, meta = batch.column("text"), batch.column("metadata")
    lengths = pc.utf8_length(texts)
    counted = (early or {}).get("words") or (lambda: _word_counts(texts))
    return {
        "vector_meta": list(_vector_metadata_problems(batch, lengths)),
        "sha256": _plain_sha256(batch),
        "spans": [problem for name in ("blocks", "languages", "entities") for problem in _span_problems(name, batch.column(name), lengths)]
        + list(_edge_space_problems(batch.column("entities"))),
        "words": lambda: _word_problems(pc.struct_field(meta, "word_count"), counted()),
    }


def _word_problems(stored: Column, counted: Column) -> list[tuple[int, str, str]]:
    return [(row, "metadata.word_count", f"is {stored[row].as_py()}, text has {counted[row].as_py()} words")
            for row in _bad(pc.not_equal(stored, counted))]


def _plain_sha256(batch: pa.RecordBatch) -> list[str | None]:
    """sha256 of rows whose raw bytes are their text's UTF-8 as Arrow holds it (no
    header, BOM or CRLF: then ``raw_bytes`` is exactly that), hashed in place."""
    meta = batch.column("metadata")
    plain = pc.and_(
        pc.and_(pc.equal(pc.struct_field(meta, "header"), ""), pc.equal(pc.struct_field(meta, "newline"), "lf")),
        pc.invert(pc.struct_field(meta, "bom")),
    ).to_pylist()
    return _utf8_sha256(batch.column("text"), plain)


def _utf8_sha256(texts: Column, wanted: list[bool | None]) -> list[str | None]:
    """sha256 of the UTF-8 bytes of the wanted strings, read in place from Arrow's buffers."""
    if not any(wanted):
        return [None] * len(wanted)
    digests: list[str | None] = []
    for chunk in _chunks(texts):
        base = len(digests)
        data, offsets = chunk.buffers()[2], _string_offsets(chunk)
        view = memoryview(data if data is not None else b"")
        digests += [hashlib.sha256(view[offsets[i] : offsets[i + 1]]).hexdigest() if wanted[base + i] else None for i in range(len(chunk))]
    return digests


@dataclass
class DocumentColumns:
    """One batch of documents as Python lists (one conversion per column, not per row)."""

    ids: list[str]
    texts: list[str]
    meta: dict[str, list[Any]]
    status: list[str]
    language: list[str]
    blocks: tuple[list[int], dict[str, list[Any]]]  # offsets, flat start/end/kind
    entities: EntityStore
    entity_offsets: list[int]
    clusters: list[tuple[str | None, int | None]]  # duplicate_cluster, duplicate_count

    @classmethod
    def of(cls, batch: pa.RecordBatch) -> DocumentColumns:
        meta = batch.column("metadata")
        names = META_FIELDS
        flat_blocks = pc.list_flatten(batch.column("blocks"))
        return cls(
            ids=batch.column("id").to_pylist(),
            texts=batch.column("text").to_pylist(),
            meta={n: pc.struct_field(meta, n).to_pylist() for n in names},
            status=batch.column("entity_status").to_pylist(),
            language=batch.column("language").to_pylist(),
            blocks=(_offsets(batch.column("blocks")), {f: pc.struct_field(flat_blocks, f).to_pylist() for f in ("start", "end", "kind")}),
            entities=EntityStore(pc.list_flatten(batch.column("entities"))),
            entity_offsets=_offsets(batch.column("entities")),
            clusters=list(zip(batch.column("duplicate_cluster").to_pylist(), batch.column("duplicate_count").to_pylist())),
        )


class EntityStore:
    """The entities of a unit of documents, flat; a field becomes a Python list when
    first needed (most are only needed by the ``mentions`` check)."""

    def __init__(self, flat: pa.Array) -> None:
        self.flat = flat
        self.fields: dict[str, list[Any]] = {}
        self.matched = bytearray(len(flat))  # which entities a mentions row has claimed

    def __call__(self, name: str) -> list[Any]:
        if name not in self.fields:
            self.fields[name] = pc.struct_field(self.flat, name).to_pylist()
        return self.fields[name]


def _check_documents(batch: pa.RecordBatch, index: Index, extras: Extras, split: str) -> Found:
    """Metadata recomputed from the text, spans, order; then the rows go into the index."""
    cols = DocumentColumns.of(batch)
    order, repeats = _order_problems("documents", split, cols.ids, index)
    yield from order
    yield from extras["vector_meta"]
    yield from _row_metadata_problems(cols, extras["sha256"])
    yield from extras["spans"]
    yield from _block_gap_problems(cols)
    yield from _entity_text_problems(cols)
    yield from _status_problems(cols)
    yield from index.add_documents(cols, repeats, split)
    yield from extras["words"]()


def _vector_metadata_problems(batch: pa.RecordBatch, lengths: pa.Array) -> Found:
    meta, ids = batch.column("metadata"), batch.column("id")
    chars = pc.struct_field(meta, "char_count")
    for row in _bad(pc.not_equal(chars, lengths)):
        yield row, "metadata.char_count", f"is {chars[row].as_py()}, text has {lengths[row].as_py()} characters"
    source, expected = pc.struct_field(meta, "source_file"), pc.binary_join_element_wise(ids, ".txt", "")
    for row in _bad(pc.not_equal(source, expected)):
        yield row, "metadata.source_file", f"is {source[row].as_py()!r}, expected {expected[row].as_py()!r} (id + .txt)"
    language, script = batch.column("language"), batch.column("language_script")
    for row in _bad(pc.not_equal(pc.equal(language, "und"), pc.equal(script, "und"))):  # und goes with und
        yield row, "language_script", f"is {script[row].as_py()!r} for language {language[row].as_py()!r}"


META_FIELDS = ("sha256", "header", "bom", "newline", "date", "date_precision", "title")


def _row_metadata_problems(cols: DocumentColumns, plain_sha256: list[str | None]) -> Found:
    """sha256, header, date and title: cheap per row, and each needs Python's view of the text."""
    offsets, blocks = cols.blocks
    texts = cols.texts
    for row, values in enumerate(zip(*(cols.meta[name] for name in META_FIELDS))):
        sha256, header, _, _, date, precision, title = values
        text = texts[row]
        digest = plain_sha256[row] or hashlib.sha256(raw_bytes({"text": text, "metadata": dict(zip(META_FIELDS, values))})).hexdigest()
        if digest != sha256:
            yield row, "metadata.sha256", "header + text do not rebuild the seed bytes (sha256 differs)"
        for path, message in _header_problems(header, text, date, precision):
            yield row, path, message
        if title is not None:
            first = offsets[row] if offsets[row] < offsets[row + 1] else None
            block = None if first is None else (blocks["start"][first], blocks["end"][first], blocks["kind"][first])
            for path, message in _title_problems(title, header, text, block):
                yield row, path, message


def _header_problems(header: str, text: str, date: str | None, precision: str | None) -> list[tuple[str, str]]:
    """The header must be exactly what ingest finds at the start of header + text
    (so an empty header means the text starts with no header), its date the date."""
    found, found_date = split_header(header + text if header else text)
    problems = []
    if found != header:
        if header:
            problems.append(("metadata.header", f"{header!r} is not the inline header ingest finds at the start of the file ({found!r})"))
        else:
            problems.append(("metadata.header", f"is empty, but the text starts with the inline header {found!r}"))
    elif found_date != date:
        problems.append(("metadata.date", f"is {date!r}, the header {header!r} says {found_date!r}"))
    if precision != date_precision(date):
        problems.append(("metadata.date_precision", f"{precision!r} does not match date {date!r}"))
    return problems


def _title_problems(title: str | None, header: str, text: str, block: tuple[int, int, str] | None) -> Iterator[tuple[str, str]]:
    """A title is the first line (trimmed) of a file without header, a heading block,
    followed by a blank line."""
    if title is None:
        return
    if header:
        yield "metadata.title", "must be null: a file with an inline header has no title"
        return
    line_end = text.find("\n")
    first_line = text[: line_end if line_end >= 0 else len(text)].strip()
    if title != first_line:
        yield "metadata.title", f"{title[:60]!r} is not the text's first line {first_line[:60]!r}"
    elif block is None or text[block[0] : block[1]] != title:
        yield "metadata.title", "is not the text of blocks[0]"
    elif block[2] != "heading":
        yield "blocks[0].kind", f"is {block[2]!r}, but the block is the title (a heading)"
    elif text[line_end + 1 : line_end + 2] != "\n":
        yield "metadata.title", "the first line is not followed by a blank line, so it is no title"


def _span_problems(name: str, lists: pa.Array, lengths: pa.Array) -> Found:
    """Spans are non-empty, inside the text (of ``lengths`` characters), sorted and not overlapping (vectorised)."""
    flat = pc.list_flatten(lists)
    if not len(flat):
        return
    starts, ends, parents = pc.struct_field(flat, "start"), pc.struct_field(flat, "end"), pc.list_parent_indices(lists)
    limits = pc.take(lengths, parents)
    outside = pc.or_(pc.greater_equal(starts, ends), pc.greater(ends, limits))
    previous = _previous_in_row(ends, parents, 0)
    bad = _bad(pc.or_(outside, pc.less(starts, previous)))
    if not bad:
        return
    offsets = _offsets(lists)
    for k in bad:
        row = parents[k].as_py()
        s, e, where = starts[k].as_py(), ends[k].as_py(), f"{name}[{k - offsets[row]}]"
        if outside[k].as_py():
            yield row, f"{where}.end", f"[{s}, {e}) is empty or outside text of length {limits[k].as_py()}"
        else:
            yield row, f"{where}.start", f"{s} overlaps or precedes the previous span ending at {previous[k].as_py()}"


def _edge_space_problems(entities: pa.Array) -> Found:
    """No entity's text or lemma starts or ends with white space (CoNLL and spaCy could
    not place it; the build trims every mention, ``record.edge_space``). Found by
    trimming: a trim is a table lookup per edge character, 5 times cheaper than a regex."""
    flat = pc.list_flatten(entities)
    if not len(flat):
        return
    parents, offsets = pc.list_parent_indices(entities), None
    for name in ("text", "lemma"):
        values = pc.struct_field(flat, name)
        for k in _bad(pc.not_equal(pc.binary_length(pc.utf8_trim(values, SPACE_CHARS)), pc.binary_length(values))):
            offsets = offsets or _offsets(entities)
            row = parents[k].as_py()
            yield row, f"entities[{k - offsets[row]}].{name}", "starts or ends with white space"


def _block_gap_problems(cols: DocumentColumns) -> Found:
    """Blocks tile the text: only white space with a blank line between them, none at their edges."""
    offsets, blocks = cols.blocks
    starts, ends = blocks["start"], blocks["end"]
    for row, text in enumerate(cols.texts):
        pos, first = 0, offsets[row]
        for k in range(first, offsets[row + 1]):
            s, e = starts[k], ends[k]
            gap = text[pos:s]
            if (gap and not gap.isspace()) or (k > first and gap.count("\n") < 2) or text[s : s + 1].isspace() or text[e - 1 : e].isspace():
                yield row, *_block_problem(text, pos, s, e, k - first)
            pos = e if e > pos else pos
        tail = text[pos:]
        if tail and not tail.isspace():
            yield row, f"blocks[{offsets[row + 1] - offsets[row]}].start", f"non-blank text {tail.strip()[:30]!r} lies outside every block"


def _block_problem(text: str, pos: int, start: int, end: int, number: int) -> tuple[str, str]:
    gap = text[pos:start]
    if gap and not gap.isspace():
        return f"blocks[{number}].start", f"non-blank text {gap.strip()[:30]!r} lies outside every block"
    if number and gap.count("\n") < 2:
        return f"blocks[{number}].start", "no blank line separates the block from the one before"
    return f"blocks[{number}]", "block begins or ends with white space"


def _entity_text_problems(cols: DocumentColumns) -> Found:
    offsets, ents = cols.entity_offsets, cols.entities
    starts, ends, surfaces = ents("start"), ents("end"), ents("text")
    for row, text in enumerate(cols.texts):
        first, stop = offsets[row], offsets[row + 1]
        if [text[s:e] for s, e in zip(starts[first:stop], ends[first:stop])] == surfaces[first:stop]:
            continue  # one comparison of lists per document: the common case
        for k in range(first, stop):
            s, e = starts[k], ends[k]
            if text[s:e] != surfaces[k]:
                yield row, f"entities[{k - first}].text", f"text[{s}:{e}] is {text[s:e]!r}, not {surfaces[k]!r}"


def _status_problems(cols: DocumentColumns) -> Found:
    offsets = cols.entity_offsets
    for row, status in enumerate(cols.status):
        if status == "none" and offsets[row + 1] > offsets[row]:
            yield row, "entity_status", "is 'none' but the record has entities"
        if status == "gold":
            sources = cols.entities("source")
            for k in range(offsets[row], offsets[row + 1]):
                if not sources[k].startswith("gold_"):
                    yield row, f"entities[{k - offsets[row]}].source", f"{sources[k]!r} in a gold-reviewed record"


# ------------------------------------------------------------------ sentences
_TAG_LABELS = pa.array([tag[2:] for tag in BIO_TAGS])
_INSIDE = pa.array([i for i, tag in enumerate(BIO_TAGS) if tag.startswith("I-")], pa.int64())


def _check_sentences(batch: pa.RecordBatch, index: Index, extras: Extras, split: str) -> Found:
    """Tokens in order inside their sentence, well-formed BIO (vectorised); then each
    row against its document: tokens are the text there, tags its aligned mentions."""
    keys = list(zip(batch.column("doc_id").to_pylist(), batch.column("sentence_index").to_pylist()))
    yield from _order_problems("sentences", split, keys, index)[0]
    yield from _token_problems(batch)
    yield from _bio_problems(batch)
    yield from SentenceMerge(batch, keys, index, split).problems()


def _token_problems(batch: pa.RecordBatch) -> Found:
    starts, ends = batch.column("start"), batch.column("end")
    for row in _bad(pc.greater_equal(starts, ends)):
        yield row, "end", f"sentence [{starts[row].as_py()}, {ends[row].as_py()}) is empty"
    lists = batch.column("token_offsets")
    flat = pc.list_flatten(lists)
    if not len(flat):
        return
    t_start, t_end, parents = pc.struct_field(flat, "start"), pc.struct_field(flat, "end"), pc.list_parent_indices(lists)
    tokens = pc.list_flatten(batch.column("tokens"))
    previous = _previous_in_row(t_end, parents, pc.take(starts, parents))
    bad = pc.or_(
        pc.or_(pc.less(t_start, previous), pc.greater(t_end, pc.take(ends, parents))),
        pc.not_equal(pc.subtract(t_end, t_start), pc.utf8_length(tokens)),
    )
    offsets, reported = _offsets(lists), set()
    for k in _bad(bad):
        row = parents[k].as_py()
        if row not in reported:  # the first misfit of a row says it all
            reported.add(row)
            s, e = t_start[k].as_py(), t_end[k].as_py()
            yield row, f"token_offsets[{k - offsets[row]}]", f"[{s}, {e}) does not fit token {tokens[k].as_py()!r} in order inside the sentence"
    for k in _bad(pc.match_substring_regex(tokens, f"[{SPACE_CLASS}]")):  # one line per token in CoNLL
        row = parents[k].as_py()
        yield row, f"tokens[{k - offsets[row]}]", f"{tokens[k].as_py()!r} holds white space"


def _bio_problems(batch: pa.RecordBatch) -> Found:
    """An I-X must follow a B-X or I-X of the same row."""
    lists = batch.column("ner_tags")
    tags = pc.list_flatten(lists)
    if not len(tags):
        return
    parents = pc.list_parent_indices(lists)
    labels = pc.take(_TAG_LABELS, tags)
    previous = _previous_in_row(labels, parents, "")
    bad = pc.and_(pc.is_in(tags, value_set=_INSIDE), pc.not_equal(previous, labels))
    offsets = _offsets(lists)
    for k in _bad(bad):
        row, name = parents[k].as_py(), BIO_TAGS[tags[k].as_py()]
        yield row, f"ner_tags[{k - offsets[row]}]", f"{name} does not continue a {name[2:]} mention"


class SentenceMerge:
    """Sentence rows against their documents, in one pass over the tokens."""

    def __init__(self, batch: pa.RecordBatch, keys: list[tuple[str, int]], index: Index, split: str = "") -> None:
        self.keys, self.index, self.split = keys, index, split
        self.starts, self.ends = batch.column("start").to_pylist(), batch.column("end").to_pylist()
        self.language = batch.column("language").to_pylist()
        self.status = batch.column("entity_status").to_pylist()
        self.offsets = _offsets(batch.column("tokens"))
        flat = pc.list_flatten(batch.column("token_offsets"))
        self.tokens = pc.list_flatten(batch.column("tokens")).to_pylist()
        self.t_start, self.t_end = pc.struct_field(flat, "start").to_pylist(), pc.struct_field(flat, "end").to_pylist()
        self.tags = pc.list_flatten(batch.column("ner_tags")).to_pylist()

    def problems(self) -> Found:
        for row, (doc_id, number) in enumerate(self.keys):
            self.index.add_sentence(doc_id, number, self.starts[row], self.ends[row])
            doc = self.index.document(doc_id)
            if doc is None:
                if self.index.orphan("sentences", doc_id):
                    yield row, "doc_id", "no document with this id (nor for the rows after it with this doc_id)"
                continue
            yield from ((row, path, msg) for path, msg in _split_problems(doc, self.split))
            if self.language[row] != doc.language:
                yield row, "language", f"is {self.language[row]!r}, the document's is {doc.language!r}"
            if self.status[row] != doc.status:
                yield row, "entity_status", f"is {self.status[row]!r}, the document's is {doc.status!r}"
            if self.ends[row] > len(doc.text):
                yield row, "end", f"{self.ends[row]} is outside the document text of length {len(doc.text)}"
                continue
            yield from ((row, path, msg) for path, msg in self._text_problems(row, doc.text))
            yield from ((row, path, msg) for path, msg in self._tag_problems(row, doc))

    def _text_problems(self, row: int, text: str) -> Iterator[tuple[str, str]]:
        """Tokens are the text at their offsets, and only white space lies between them."""
        first, stop, pos = self.offsets[row], self.offsets[row + 1], self.starts[row]
        tokens, t_start, t_end = self.tokens, self.t_start, self.t_end
        for k in range(first, stop):
            s, e = t_start[k], t_end[k]
            if s > pos and not text[pos:s].isspace():
                yield f"token_offsets[{k - first}]", f"text[{pos}:{s}] {text[pos:s][:30]!r} is not white space and in no token"
                return
            if text[s:e] != tokens[k]:
                yield f"tokens[{k - first}]", f"{tokens[k]!r} is not text[{s}:{e}]"
                return
            pos = e
        gap = text[pos : self.ends[row]]
        if gap and not gap.isspace():
            yield f"token_offsets[{stop - first}]", f"text[{pos}:{self.ends[row]}] {gap[:30]!r} is not white space and in no token"

    def _tag_problems(self, row: int, doc: Doc) -> Iterator[tuple[str, str]]:
        """The tags decode to exactly the document's mentions that sit on token edges here."""
        first, stop = self.offsets[row], self.offsets[row + 1]
        start, end = self.starts[row], self.ends[row]
        ents = doc.store
        starts, ends, labels = ents("start"), ents("end"), ents("label")
        k = bisect_left(starts, start, doc.first, doc.stop)
        aligned = set()
        while k < doc.stop and starts[k] < end:
            if ends[k] <= end and self._on_edges(first, stop, starts[k], ends[k]):
                aligned.add((starts[k], ends[k], labels[k]))
            k += 1
        tags = self.tags[first:stop]
        decoded = _decode_bio(self.t_start[first:stop], self.t_end[first:stop], tags) if any(tags) else set()
        if decoded != aligned:
            yield "ner_tags", f"decode to {sorted(decoded)}, the document has {sorted(aligned)} here"

    def _on_edges(self, first: int, stop: int, s: int, e: int) -> bool:
        i = bisect_left(self.t_start, s, first, stop)
        j = bisect_left(self.t_end, e, first, stop)
        return i < stop and self.t_start[i] == s and j < stop and self.t_end[j] == e


def _split_problems(doc: Doc, split: str) -> Iterator[tuple[str, str]]:
    """A derived row lives in its document's split (copies never straddle splits)."""
    if split and doc.split and split != doc.split:
        yield "doc_id", f"the document is in split {doc.split!r}, this row in {split!r}"


def _decode_bio(starts: list[int], ends: list[int], tags: list[int]) -> set[tuple[int, int, str]]:
    spans, current = set(), None
    for s, e, tag in zip(starts, ends, tags):
        name = BIO_TAGS[tag]
        if name.startswith("I-") and current and current[2] == name[2:]:
            current = (current[0], e, current[2])
            continue
        if current:
            spans.add(current)
        current = (s, e, name[2:]) if name != "O" else None
    if current:
        spans.add(current)
    return spans


# ------------------------------------------------------------------- mentions
MENTION_COLUMNS = ("doc_id", *ENTITY_FIELDS, "language", "entity_status", "sentence_index", "sentence_start", "sentence_end", "context_start", "context_end", "context")


def _check_mentions(batch: pa.RecordBatch, index: Index, extras: Extras, split: str) -> Found:
    """Each row is its document's entity with the same start (every copied field
    equal), its context window is recomputed, its sentence is the ``sentences`` row."""
    cols = {name: batch.column(name).to_pylist() for name in MENTION_COLUMNS}
    keys = list(zip(cols["doc_id"], cols["start"]))
    yield from _order_problems("mentions", split, keys, index)[0]
    for row in range(batch.num_rows):
        m = {name: values[row] for name, values in cols.items()}
        yield from ((row, path, msg) for path, msg in _window_problems(m))
        yield from ((row, path, msg) for path, msg in index.mention_problems(m, split))


def _window_problems(m: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The mention lies inside its sentence; the context is the window CONTEXT_CHARS either side."""
    start, end, s_start, s_end = m["start"], m["end"], m["sentence_start"], m["sentence_end"]
    c_start, c_end = m["context_start"], m["context_end"]
    if not start < end or len(m["text"]) != end - start:
        yield "end", f"[{start}, {end}) does not fit the mention text {m['text']!r}"
    elif not s_start <= start < end <= s_end:
        yield "sentence_start", f"mention [{start}, {end}) is not inside the sentence [{s_start}, {s_end})"
    elif (c_start, c_end) != (max(s_start, start - CONTEXT_CHARS), min(s_end, end + CONTEXT_CHARS)):
        yield "context_start", f"[{c_start}, {c_end}) is not the sentence cut to {CONTEXT_CHARS} characters either side of the mention"
    elif len(m["context"]) != c_end - c_start:
        yield "context", "length does not match context_end - context_start"
    elif m["context"][start - c_start : end - c_start] != m["text"]:
        yield "text", "is not the context text at the mention's offsets"


PREPARE: dict[str, Callable[[Rows, Early], Extras]] = {
    "documents": _prepare_documents,
    "mentions": lambda batch, early=None: {},
    "sentences": lambda batch, early=None: {},
}
# per-row work started as soon as a unit is formed, in parallel parts (the long RE2 counts)
EARLY: dict[str, dict[str, Callable[[list[pa.RecordBatch]], Callable[[], pa.Array]]]] = {
    "documents": {"words": lambda batches: _in_parallel(_word_counts, "text", batches)},
}
CHECKS: dict[str, Callable[[pa.RecordBatch, Index, Extras, str], Found]] = {
    "documents": _check_documents,
    "mentions": _check_mentions,
    "sentences": _check_sentences,
}


# ---------------------------------------------------------------------- index
@dataclass(slots=True)
class Doc:
    """What the derived configs are checked against: one document, whose entities
    (sorted by start) are ``store`` rows first..stop-1."""

    text: str
    language: str
    store: EntityStore
    first: int
    stop: int
    split: str
    status: str = ""


class Index:
    """What the documents say, and what the derived rows have claimed so far."""

    def __init__(self, expect_all: bool = False) -> None:
        self.expect_all = expect_all  # a corpus folder: every config must be there
        self.docs: dict[str, Doc] = {}
        self.broken: set[str] = set()  # documents that failed the schema: their rows are not cross-checked
        self.orphans: set[tuple[str, str]] = set()  # (config, doc_id) reported as having no document
        self.seen: set[str] = set()
        self.incomplete: set[str] = set()  # configs with a file that could not be read to the end
        self.last_key: dict[tuple[str, str], Any] = {}  # (config, split) -> key of the last row
        self.sentences: dict[str, dict[int, tuple[int, int]]] = {}
        self.rows: dict[Path, int] = {}
        self.num_bytes: dict[Path, int] = {}
        self.versions: dict[Path, str] = {}
        self.clusters: dict[str, list[tuple[str, int | None, str]]] = {}  # cluster -> (id, count, split) of its members
        self.by_text: dict[str, tuple[str, str | None]] = {}  # text -> (id, duplicate_cluster) of its first document

    # -- documents
    def add_documents(self, cols: DocumentColumns, repeats: set[int], split: str = "") -> Found:
        offsets, store = cols.entity_offsets, cols.entities
        for row, doc_id in enumerate(cols.ids):
            if doc_id in self.docs:
                if row not in repeats:
                    yield row, "id", "duplicate id (an earlier row has it)"
                continue
            self.docs[doc_id] = Doc(cols.texts[row], cols.language[row], store, offsets[row], offsets[row + 1], split, cols.status[row])
            cluster, count = cols.clusters[row]
            first, first_cluster = self.by_text.setdefault(cols.texts[row], (doc_id, cluster))
            if first != doc_id and (cluster is None or cluster != first_cluster) and copy_words(cols.texts[row]):
                # exact copies are one cluster (texts without a word copy nothing: no cluster)
                yield row, "duplicate_cluster", f"is {cluster!r}, but the text is that of {first!r} (cluster {first_cluster!r}): exact copies share one cluster"
            if cluster is not None:
                self.clusters.setdefault(cluster, []).append((doc_id, count, split))
            elif count != 1:
                yield row, "duplicate_count", f"is {count}, but the document has no duplicate cluster (alone: 1)"

    def add_document(self, row: dict[str, Any]) -> None:
        """One ``documents`` row given as a dict (tests, tools)."""
        batch = pa.RecordBatch.from_pylist([row], schema=expected_schema("documents"))
        list(self.add_documents(DocumentColumns.of(batch), set()))

    def note_broken(self, config: str, record: dict[str, Any]) -> None:
        """A row that failed the schema: its document's derived rows are not checked,
        and a broken mentions row still claims its entity (one problem, not two)."""
        if config == "documents" and isinstance(record.get("id"), str):
            self.broken.add(record["id"])
        doc = self.docs.get(record.get("doc_id")) if config == "mentions" and isinstance(record.get("doc_id"), str) else None
        if doc is not None and isinstance(record.get("start"), int):
            starts = doc.store("start")
            k = bisect_left(starts, record["start"], doc.first, doc.stop)
            if k < doc.stop and starts[k] == record["start"]:
                doc.store.matched[k] = 1

    def document(self, doc_id: str) -> Doc | None:
        return self.docs.get(doc_id)

    def orphan(self, config: str, doc_id: str) -> bool:
        """The first derived row of a document that is not there (and not just
        unreadable or broken): one line per document, not one per row."""
        if not (self.docs or self.expect_all) or "documents" in self.incomplete or doc_id in self.broken:
            return False
        if (config, doc_id) in self.orphans:
            return False
        self.orphans.add((config, doc_id))
        return True

    # -- derived rows
    def cross_check(self, config: str, row: dict[str, Any]) -> Iterator[tuple[str, str]]:
        """Check one derived row given as a dict against the documents added so far."""
        batch = pa.RecordBatch.from_pylist([row], schema=expected_schema(config))
        self.last_key.pop((config, ""), None)
        for _, path, message in CHECKS[config](batch, self, PREPARE[config](batch), ""):
            yield path, message

    def add_sentence(self, doc_id: str, number: int, start: int, end: int) -> None:
        self.sentences.setdefault(doc_id, {}).setdefault(number, (start, end))

    def mention_problems(self, m: dict[str, Any], split: str = "") -> Iterator[tuple[str, str]]:
        doc = self.docs.get(m["doc_id"])
        if doc is None:
            if self.orphan("mentions", m["doc_id"]):
                yield "doc_id", "no document with this id (nor for the rows after it with this doc_id)"
            return
        yield from _split_problems(doc, split)
        if m["language"] != doc.language:
            yield "language", f"is {m['language']!r}, the document's is {doc.language!r}"
        if m["entity_status"] != doc.status:
            yield "entity_status", f"is {m['entity_status']!r}, the document's is {doc.status!r}"
        if m["context"] != doc.text[m["context_start"] : m["context_end"]]:
            yield "context", f"is not the document text [{m['context_start']}, {m['context_end']})"
        yield from self._sentence_of_mention(m, doc)
        store = doc.store
        k = bisect_left(store("start"), m["start"], doc.first, doc.stop)
        if k == doc.stop or store("start")[k] != m["start"]:
            yield "start", "no entity of the document starts here"
            return
        for name in ENTITY_FIELDS:
            if m[name] != store(name)[k]:
                yield name, f"is {m[name]!r}, the document's entity has {store(name)[k]!r}"
        if store.matched[k]:
            yield "start", "duplicate: another mentions row already has this entity"
        store.matched[k] = 1

    def _sentence_of_mention(self, m: dict[str, Any], doc: Doc) -> Iterator[tuple[str, str]]:
        if "sentences" not in self.seen and not self.expect_all:
            if m["sentence_end"] > len(doc.text):
                yield "sentence_end", f"{m['sentence_end']} is outside the document text"
            return
        if "sentences" in self.incomplete:
            return
        span = self.sentences.get(m["doc_id"], {}).get(m["sentence_index"])
        if span is None:
            yield "sentence_index", f"the document has no sentence {m['sentence_index']}"
        elif span != (m["sentence_start"], m["sentence_end"]):
            yield "sentence_start", f"[{m['sentence_start']}, {m['sentence_end']}) is not sentence {m['sentence_index']} [{span[0]}, {span[1]})"

    # -- after all rows
    def finish(self, where: str) -> Iterator[Problem]:
        for config in CHECK_ORDER:
            yield from self.finish_config(config, where)

    def finish_config(self, config: str, where: str) -> list[Problem]:
        """What only all rows together show: sentences covering each document, one mention per entity."""
        if config == "documents" or not (config in self.seen or self.expect_all) or config in self.incomplete:
            return []
        check = self._coverage_problem if config == "sentences" else self._unmatched_problem
        found = ((doc_id, check(doc_id, doc)) for doc_id, doc in self.docs.items())
        return [Problem(where, doc_id, *problem) for doc_id, problem in found if problem]

    def _unmatched_problem(self, doc_id: str, doc: Doc) -> tuple[str, str] | None:
        matched = doc.store.matched
        missing = matched.count(0, doc.first, doc.stop)
        if not missing:
            return None
        first = matched.index(0, doc.first, doc.stop)
        return (
            f"entities[{first - doc.first}]",
            f"{missing} of the document's {doc.stop - doc.first} entities have no mentions row (the first: {doc.store('text')[first]!r})",
        )

    def _coverage_problem(self, doc_id: str, doc: Doc) -> tuple[str, str] | None:
        """Sentences are numbered 0..n-1, in order, and only white space lies outside them."""
        spans = self.sentences.get(doc_id, {})
        numbers = sorted(spans)
        if numbers != list(range(len(numbers))):
            missing = next(i for i, n in enumerate(numbers + [-1]) if n != i)
            return "sentence_index", f"sentence {missing} is missing (the document's sentences are {numbers[:5]}...)"
        pos, text = 0, doc.text
        for number in numbers:
            start, end = spans[number]
            gap = text[pos:start]
            if start < pos:
                return "sentence_index", f"sentence {number} [{start}, {end}) overlaps or precedes the sentence before, ending at {pos}"
            if gap and not gap.isspace():
                return "sentence_index", f"text[{pos}:{start}] {gap.strip()[:30]!r} is in no sentence"
            pos = end
        tail = text[pos:]
        if tail and not tail.isspace():
            return "sentence_index", f"text[{pos}:{len(text)}] {tail.strip()[:30]!r} is in no sentence"
        return self._crossing_problem(doc, [spans[n] for n in numbers])

    @staticmethod
    def _crossing_problem(doc: Doc, spans: list[tuple[int, int]]) -> tuple[str, str] | None:
        """No sentence boundary cuts a mention (sorted merge of entities and sentences)."""
        i = 0
        starts, ends = doc.store("start"), doc.store("end")
        for k in range(doc.first, doc.stop):
            start, end = starts[k], ends[k]
            while i < len(spans) and spans[i][1] <= start:
                i += 1
            if i == len(spans) or not spans[i][0] <= start < end <= spans[i][1]:
                return f"entities[{k - doc.first}]", f"[{start}, {end}) is not inside one sentence"
        return None


# ------------------------------------------------------------ manifest, card
def _corpus_problems(layout: Layout, index: Index) -> list[Problem]:
    assert layout.corpus is not None and layout.card is not None
    files = [p for paths in layout.files.values() for p in paths] + layout.stray
    problems, version = _manifest_problems(layout.corpus, files, index)
    problems += _shard_name_problems(layout)
    if version is not None:
        problems += [
            Problem(str(p), "-", "(schema metadata).kronika_version", f"is {v!r}, the manifest says {version!r}")
            for p, v in index.versions.items() if v != version
        ]
    return problems + _card_problems(layout, index, version)


def _manifest_problems(corpus: Path, files: list[Path], index: Index) -> tuple[list[Problem], str | None]:
    """The manifest lists every Parquet file, with the right sha256 and row count, and nothing else."""
    path = corpus / MANIFEST
    where = str(path)
    if not path.is_file():
        return [Problem(where, "-", "-", "manifest is missing")], None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return [Problem(where, "-", "-", f"is not valid JSON ({_one_line(err)})")], None
    entries = data.get("files") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return [Problem(where, "-", "files", "must be a list of {path, sha256, num_rows}")], None
    problems, listed = [], set()
    shards = {file.relative_to(corpus).as_posix() for file in files}
    for i, entry in enumerate(entries):
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("sha256"), str)
                and type(entry.get("num_rows")) is int):
            problems.append(Problem(where, "-", f"files[{i}]", "must be {path, sha256, num_rows}"))
            continue
        if entry["path"] in listed:
            problems.append(Problem(where, "-", entry["path"], "listed twice"))
        listed.add(entry["path"])
        if entry["path"] not in shards and (corpus / entry["path"]).exists():  # ../README.md, stats/x.png, a/./b
            problems.append(Problem(where, "-", entry["path"], "listed file is not a Parquet shard of the corpus"))
            continue
        problems += _manifest_entry_problems(where, corpus, entry, index)
    for name in sorted(shards - listed):
        problems.append(Problem(where, "-", name, "Parquet file is not listed in the manifest"))
    version = data.get("version")
    if not isinstance(version, str):  # else every version check would be skipped
        problems.append(Problem(where, "-", "version", f"must be a string, not {version!r}"))
        return problems, None
    return problems, version


def _manifest_entry_problems(where: str, corpus: Path, entry: dict[str, Any], index: Index) -> list[Problem]:
    file = corpus / entry["path"]
    if not file.is_file():
        return [Problem(where, "-", entry["path"], "listed file is missing")]
    if sha256_file(file) != entry["sha256"]:
        return [Problem(where, "-", entry["path"], "sha256 does not match the file")]
    rows = index.rows.get(file)
    if rows is not None and rows != entry["num_rows"]:
        return [Problem(where, "-", entry["path"], f"num_rows says {entry['num_rows']}, the file holds {rows}")]
    return []


def by_split(paths: list[Path]) -> dict[str, list[Path]]:
    """A config's shards grouped by split, each in name order."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(split_of(path), []).append(path)
    return groups


def _shard_name_problems(layout: Layout) -> list[Problem]:
    """Shards are named as push_to_hub names them, per split: train-00000-of-0000N, none missing."""
    problems = []
    for paths in layout.files.values():
        for split, group in by_split(paths).items():
            expected = [f"{split or 'train'}-{i:05d}-of-{len(group):05d}.parquet" for i in range(len(group))]
            for path, name in zip(group, expected):
                if path.name != name:
                    problems.append(Problem(str(path), "-", "-", f"shard name should be {name} ({len(group)} shard(s) of the split)"))
                    break
    return problems


class CardError(ValueError):
    """The card's front matter is missing or does not parse."""


def read_card(card: Path) -> dict[str, Any]:
    """The YAML front matter of a dataset card (``{}`` if it has none)."""
    if not card.is_file():  # a FIFO would block the read forever
        raise CardError("is not a regular file")
    text = card.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---\n", 3)
    if end < 0:
        raise CardError("front matter has no closing ---")
    try:
        meta = yaml.load(text[4 : end + 1], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C: 30x faster
    except yaml.YAMLError as err:
        raise CardError(f"front matter is not valid YAML ({_one_line(err)})") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise CardError("front matter is not a YAML mapping")
    return meta


def _card_problems(layout: Layout, index: Index, version: str | None) -> list[Problem]:
    """The card has a config per config folder, listing exactly its files, counting its rows."""
    card = layout.card
    assert card is not None
    where = str(card)
    if not card.is_file():
        return [Problem(where, "-", "-", "dataset card is missing")]
    try:
        meta = read_card(card)
    except (CardError, OSError, UnicodeDecodeError) as err:
        return [Problem(where, "-", "-", _one_line(err))]
    configs, infos = meta.get("configs"), meta.get("dataset_info")
    if not meta or not isinstance(configs, list) or not isinstance(infos, list):
        return [Problem(where, "-", "-", "front matter has no configs and dataset_info lists")]
    by_name = {c.get("config_name"): c for c in configs if isinstance(c, dict)}
    info_by_name = {i.get("config_name"): i for i in infos if isinstance(i, dict)}
    problems = []
    for name, paths in layout.files.items():
        config, info = by_name.get(name), info_by_name.get(name)
        if config is None or info is None:
            problems.append(Problem(where, "-", f"configs[{name}]", "the card has no config (and dataset_info) of this name"))
            continue
        for split, group in by_split(paths).items():
            problems += _data_files_problems(where, card.parent, name, config, split, group)
            problems += _info_problems(where, name, info, split, sum(index.rows.get(p, 0) for p in group), sum(index.num_bytes.get(p, 0) for p in group))
        problems += _extra_split_problems(where, name, config, info, by_split(paths))
        if info.get("features") != card_features(expected_schema(name)):
            problems.append(Problem(where, "-", f"dataset_info[{name}].features", "do not match the config's schema"))
        if version is not None and config.get("version") != version:
            problems.append(Problem(where, "-", f"configs[{name}].version", f"is {config.get('version')!r}, the manifest says {version!r}"))
    for name in by_name:
        if name not in layout.files:
            problems.append(Problem(where, "-", f"configs[{name}]", "no Parquet files for this config"))
    defaults = [str(c.get("config_name")) for c in configs if isinstance(c, dict) and c.get("default")]
    if len(defaults) > 1:
        problems.append(Problem(where, "-", "configs", f"{', '.join(defaults)} are all marked default; datasets.load_dataset accepts one"))
    return problems + _claim_problems(where, meta, index)


def _claim_problems(where: str, meta: dict[str, Any], index: Index) -> list[Problem]:
    """What the card says of the documents as a whole (their languages, their number), where it says it."""
    if "documents" in index.incomplete or "documents" not in index.seen:
        return []
    languages = present_languages([doc.language for doc in index.docs.values()])
    claims = {
        "language": languages,
        "multilinguality": multilinguality(languages),
        "size_categories": [size_category(len(index.docs))],
    }
    return [Problem(where, "-", key, f"is {meta.get(key)!r}; the documents make it {value!r}")
            for key, value in claims.items() if key in meta and meta[key] != value]


def _data_files_problems(where: str, root: Path, name: str, config: dict[str, Any], split: str, paths: list[Path]) -> list[Problem]:
    """The split's data_files list exactly the split's shards."""
    split = split or "train"
    entries = [e for e in config.get("data_files") or [] if isinstance(e, dict) and e.get("split") == split]
    if len(entries) != 1:
        return [Problem(where, "-", f"configs[{name}].data_files", f"must have one {split} split")]
    listed = entries[0].get("path")
    listed = listed if isinstance(listed, list) else [listed]
    problems, matched = [], set()
    for pattern in listed:
        if isinstance(pattern, str) and (pattern.startswith("/") or ".." in Path(pattern).parts):
            problems.append(Problem(where, "-", f"configs[{name}].data_files[{split}]", f"{pattern!r} is not a path inside the dataset"))
            continue
        hits = sorted(root.glob(pattern)) if isinstance(pattern, str) and pattern else []
        if not hits:
            problems.append(Problem(where, "-", f"configs[{name}].data_files[{split}]", f"{pattern!r} matches no file"))
        matched.update(p.resolve() for p in hits)
    present = {p.resolve() for p in paths}
    for path in sorted(present - matched):
        problems.append(Problem(where, "-", f"configs[{name}].data_files[{split}]", f"does not list {path.relative_to(root.resolve()).as_posix()}"))
    for path in sorted(matched - present):
        problems.append(Problem(where, "-", f"configs[{name}].data_files[{split}]", f"lists {path.name}, which is not a shard of the split"))
    return problems


def _extra_split_problems(where: str, name: str, config: dict[str, Any], info: dict[str, Any], groups: dict[str, list[Path]]) -> list[Problem]:
    """Splits the card names that have no shards (``datasets`` fails on an empty split)."""
    present = {split or "train" for split in groups}
    named = {e.get("split") for e in config.get("data_files") or [] if isinstance(e, dict)}
    named |= {s.get("name") for s in info.get("splits") or [] if isinstance(s, dict)}
    return [Problem(where, "-", f"configs[{name}].data_files[{split}]", "the split has no shards") for split in sorted(map(str, named - present))]


def _info_problems(where: str, name: str, info: dict[str, Any], split: str, rows: int, num_bytes: int) -> list[Problem]:
    split = split or "train"
    problems = []
    splits = [s for s in info.get("splits") or [] if isinstance(s, dict)]
    entry = next((s for s in splits if s.get("name") == split), None)
    if entry is None:
        problems.append(Problem(where, "-", f"dataset_info[{name}].splits", f"has no {split} split"))
    elif entry.get("num_examples") != rows:
        field_path = f"dataset_info[{name}].splits[{split}].num_examples"
        problems.append(Problem(where, "-", field_path, f"says {entry.get('num_examples')}, files hold {rows}"))
    elif "num_bytes" in entry and entry["num_bytes"] != num_bytes:
        field_path = f"dataset_info[{name}].splits[{split}].num_bytes"
        problems.append(Problem(where, "-", field_path, f"says {entry.get('num_bytes')}, the files' data is {num_bytes} bytes"))
    return problems


# --------------------------------------------------------------------- JSONL
def _validate_jsonl(path: Path) -> list[Problem]:
    """Rows are worded by jsonschema one by one; the valid ones get the same
    semantic checks as Parquet rows."""
    file, problems = str(path), []
    config, items = _jsonl_rows(path)
    rows, labels = [], []
    for label, row in items:
        if isinstance(row, Problem):
            problems.append(row)
            continue
        errors = schema_errors(row, config)
        problems += [Problem(file, label, p, m) for p, m in errors]
        if not errors:
            rows.append(row)
            labels.append(label)
    index = Index()
    batch, labels, unconverted = _to_batch(rows, labels, config)
    problems += [Problem(file, label, "-", message) for label, message in unconverted]
    problems += check_batch(batch, config, index, Origin([file], [0], [0], labels))
    return problems + list(index.finish(file))


def _to_batch(rows: list[dict[str, Any]], labels: list[str], config: str) -> tuple[pa.RecordBatch, list[str], list[tuple[str, str]]]:
    """Rows valid by the JSON Schema as one batch; a row Arrow cannot hold (an integer
    beyond int64) is reported by itself."""
    schema = arrow_schema(CONFIGS[config]())
    try:
        return pa.RecordBatch.from_pylist(rows, schema=schema), labels, []
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        pass
    kept, kept_labels, failed = [], [], []
    for row, label in zip(rows, labels):
        try:
            pa.RecordBatch.from_pylist([row], schema=schema)
        except (pa.ArrowException, OverflowError, TypeError, ValueError) as err:
            failed.append((label, f"does not convert to the Arrow schema ({_one_line(err)})"))
            continue
        kept.append(row)
        kept_labels.append(label)
    return pa.RecordBatch.from_pylist(kept, schema=schema), kept_labels, failed


def _jsonl_rows(path: Path) -> tuple[str, list[tuple[str, dict[str, Any] | Problem]]]:
    parsed: list[tuple[int, Any]] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                parsed.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                parsed.append((number, Problem(str(path), f"line {number}", "-", f"invalid JSON ({err.msg})")))
            except RecursionError:
                parsed.append((number, Problem(str(path), f"line {number}", "-", "invalid JSON (nested too deeply to read)")))
            except ValueError as err:  # a number beyond the int conversion limit
                parsed.append((number, Problem(str(path), f"line {number}", "-", f"invalid JSON ({_one_line(err)})")))
    first = next((r for _, r in parsed if isinstance(r, dict)), {})
    config = config_of(path, first)
    items = []
    for number, row in parsed:
        rid = record_id(config, [row.get(k) for k in SORT_KEYS[config]]) if isinstance(row, dict) else ""
        items.append(((f"{rid} (line {number})" if rid else f"line {number}"), row))
    return config, items


# ---------------------------------------------------------------- one row
def check_row(row: Any, config: str = "documents") -> list[tuple[str, str]]:
    """(field path, message) for everything wrong with one row of ``config`` on its own."""
    errors = schema_errors(row, config)
    if errors:
        return errors
    batch = pa.RecordBatch.from_pylist([row], schema=expected_schema(config))
    return [(path, message) for _, path, message in CHECKS[config](batch, Index(), PREPARE[config](batch), "")]
