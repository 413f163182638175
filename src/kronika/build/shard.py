"""One shard: its seeds -> one Parquet file per config and split, and its ``ShardResult``.

``run_shard`` is a pure function of its ``ShardSpec`` (the writer owns the
bytes), so every engine runs this same function and the output is the same;
this module is the whole interface an engine needs, with ``plan``. Annotators
load once per process (``layers.tools_for``). Each finished article is
reported through ``tick``, which an engine points at its progress bar.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kronika.assemble import assemble, choose_entities
from kronika.atomic import write_text
from kronika.build.plan import ShardSpec
from kronika.gold import gold_path, has_gold, read_gold
from kronika.goldpass import GoldPass, vocabulary_of
from kronika.ingest import Document, SeedError, read_seed, seed_bytes, shown
from kronika.layers import EnvironmentFailure, LayerCache, Layers, Tools, automatic_layers_later, tools_for
from kronika.lexicon import entries_digest
from kronika.sentences import remembering
from kronika.splits import SPLITS
from kronika.views import MentionTable, SentenceTable, sentence_spans
from kronika.write import config_schema, config_table, write_parquet, writer_fingerprint


@dataclass
class ShardResult:
    index: int
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "config/split" -> file, num_rows, num_bytes
    languages: list[str] = field(default_factory=list)  # distinct document languages
    language_counts: dict[str, int] = field(default_factory=dict)  # documents per language
    seconds: dict[str, float] = field(default_factory=dict)  # time in each annotator (this build's work only)
    rejects: list[tuple[str, str]] = field(default_factory=list)
    misaligned: list[dict[str, Any]] = field(default_factory=list)
    cached: int = 0
    copied: bool = False  # the whole shard came from the shard cache (nothing was assembled)

    @property
    def documents(self) -> int:
        return sum(o["num_rows"] for key, o in self.outputs.items() if key.startswith("documents/"))


def run_shard(spec: ShardSpec) -> ShardResult:
    """Build one shard: its seeds -> one Parquet file per config (none for a config without rows).

    With a cache, a shard whose seeds, gold layers, annotators and version are
    all unchanged is copied from the shard cache. When only the gold lexicon
    changed, the last build of the same seeds is patched: the documents the
    change can reach are re-assembled and every other row is kept. Any other
    change rebuilds the shard from the layer cache, so only new or edited seeds
    are annotated again.
    """
    _collect_garbage_rarely()
    tools = tools_for(spec.lexicon, spec.models)
    if not spec.cache_dir:
        result = _build_shard(spec, tools, None)
        result.seconds = tools.take_seconds()
        return result
    shards = ShardCache(Path(spec.cache_dir) / "shards")
    keys = shard_keys(spec, tools.fingerprint, _with_cached_index(Path(spec.cache_dir), tools))
    stored = shards.get(keys.key, spec) if keys else None
    if stored is not None:
        return stored
    layers = LayerCache(Path(spec.cache_dir))
    previous = shards.latest(keys.base) if keys else None
    try:
        if previous is not None and keys is not None:
            result = _patch_shard(spec, tools, layers, previous, keys)
        else:
            result = _build_shard(spec, tools, layers)
    except BaseException:
        with contextlib.suppress(EnvironmentFailure):
            layers.close()
        raise
    layers.close()  # every layer written (or the first write failure raised) before the shard counts
    result.seconds = tools.take_seconds()
    if keys and not result.rejects:
        shards.put(keys, result)
    return result


def _with_cached_index(cache_dir: Path, tools: Tools) -> GoldPass:
    """``tools.gold_pass`` with its anchor index read from the cache, or computed and
    kept there (keyed by the annotators and the gold entries, like the layers)."""
    gold = tools.gold_pass
    if not gold.entries or gold.indexed:  # once per process, not per shard
        return gold
    key = hashlib.sha256(f"{GOLD_INDEX_FORMAT}\0{tools.fingerprint}\0{entries_digest(gold.entries)}".encode()).hexdigest()
    path = cache_dir / "goldpass" / f"{key}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        always, by_anchor = tuple(stored["always"]), stored["by_anchor"]
        positions = [*always, *(i for ids in by_anchor.values() for i in ids)]
        if all(isinstance(i, int) and 0 <= i < len(gold.entries) for i in positions):
            gold.use_index((always, by_anchor))
            return gold
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # missing or unreadable: computed again
    always, by_anchor = gold.anchor_index()
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs speed
        write_text(path, json.dumps({"always": list(always), "by_anchor": by_anchor}, ensure_ascii=False))
    return gold


GOLD_INDEX_FORMAT = 1
# Bump when what a stored shard holds changes (2: num_bytes from the written file).
RESULT_FORMAT = 2
GC_FIRST_GENERATION = 20_000


def _collect_garbage_rarely() -> None:
    """A shard allocates millions of small objects and frees nearly all of them at
    once; CPython's default (a collection every 700 surviving allocations, each
    scanning young objects again) cost about 7% of a build. Collecting 30 times
    less often keeps the same memory bound in practice (one document's objects)."""
    first, second, third = gc.get_threshold()
    if first < GC_FIRST_GENERATION:
        gc.set_threshold(GC_FIRST_GENERATION, second, third)


@dataclass(frozen=True)
class ShardKeys:
    """``base``: the shard's inputs but the gold lexicon; ``per_doc``: per seed, the
    digest of the gold entries that could match in it; ``key``: both (the output's address)."""

    base: str
    per_doc: tuple[str, ...]

    @property
    def key(self) -> str:
        return hashlib.sha256("\n".join((self.base, *self.per_doc)).encode()).hexdigest()


def shard_keys(spec: ShardSpec, fingerprint: str, gold_pass: GoldPass | None = None) -> ShardKeys | None:
    """Content address of a shard's output: version, annotators, writer, every seed's
    bytes, and per seed its gold file and the gold lexicon entries that could match
    in it (``GoldPass.relevant``), so a reviewed gold file reaches only its own
    document and those that hold one of its names."""
    gold_pass = gold_pass or GoldPass(spec.lexicon)
    digest = hashlib.sha256(f"{RESULT_FORMAT}\n{spec.version}\n{fingerprint}\n{writer_fingerprint()}\n{spec.placement}\n".encode())
    per_doc = []
    try:
        for seed in map(Path, spec.seeds):
            gold = gold_path(seed)
            raw = seed_bytes(seed, Path(spec.seeds_root))
            digest.update(f"{seed.name}\n".encode() + hashlib.sha256(raw).digest())
            own = hashlib.sha256(gold.read_bytes()).hexdigest() if gold.is_file() else "-"
            # the decoded bytes hold every word of the document's text (and its header's)
            relevant = gold_pass.relevant(vocabulary_of([raw.decode("utf-8", "replace")]))
            per_doc.append(f"{own} {entries_digest(relevant)}")
    except (OSError, SeedError):  # a bad seed or gold file: build the shard normally, which reports it
        return None
    return ShardKeys(digest.hexdigest(), tuple(per_doc))


class ShardCache:
    """Built shards by content address: ``<dir>/<key[:2]>/<key>/`` holds the
    Parquet file of each config and the shard's result."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str, spec: ShardSpec) -> ShardResult | None:
        entry = self.folder / key[:2] / key
        try:
            data = json.loads((entry / "result.json").read_text(encoding="utf-8"))
            for key in data["outputs"]:
                target = _part(spec, key)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(entry / _cached_name(key), target)
                data["outputs"][key]["file"] = str(target)
        except (OSError, ValueError, KeyError):
            return None
        result = ShardResult(**{**data, "index": spec.index})
        result.cached = result.documents
        result.seconds = {}
        result.copied = True
        for _ in spec.seeds:
            tick()
        return result

    def put(self, keys: ShardKeys, result: ShardResult) -> None:
        key = keys.key
        entry = self.folder / key[:2] / key
        tmp = entry.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            for name, output in result.outputs.items():
                shutil.copyfile(output["file"], tmp / _cached_name(name))
            (tmp / "result.json").write_text(json.dumps(result.__dict__), encoding="utf-8")
            (tmp / "per_doc.json").write_text(json.dumps(keys.per_doc), encoding="utf-8")
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EnvironmentFailure(f"shard cache {shown(self.folder)}: {err.strerror or err}") from None
        try:
            os.replace(tmp, entry)
        except OSError:  # another worker stored the same shard first
            shutil.rmtree(tmp, ignore_errors=True)
        self._point(keys.base, key)

    def latest(self, base: str) -> _Previous | None:
        """The last stored build of a shard with these inputs but another gold lexicon."""
        try:
            key = (self.folder / "latest" / base).read_text(encoding="ascii").strip()
            entry = self.folder / key[:2] / key
            data = json.loads((entry / "result.json").read_text(encoding="utf-8"))
            per_doc = tuple(json.loads((entry / "per_doc.json").read_text(encoding="utf-8")))
            files = {name: entry / _cached_name(name) for name in data["outputs"]}
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return _Previous(per_doc, files, data.get("misaligned", []), data["outputs"])

    def _point(self, base: str, key: str) -> None:
        """``latest/<base>`` names the last stored key (a lost pointer only costs speed)."""
        pointer = self.folder / "latest" / base
        tmp = pointer.with_name(f".{base}.{os.getpid()}.tmp")
        try:
            pointer.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(key, encoding="ascii")
            os.replace(tmp, pointer)
        except OSError:
            tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class _Previous:
    per_doc: tuple[str, ...]
    files: dict[str, Path]  # "config/split" -> cached Parquet
    misaligned: list[dict[str, Any]]
    outputs: dict[str, dict[str, Any]]  # "config/split" -> num_rows, num_bytes (and the old file)


def _part(spec: ShardSpec, key: str) -> Path:
    config, split = key.split("/")
    return Path(spec.stage) / config / f"part-{spec.index:05d}-{split}.parquet"


def _cached_name(key: str) -> str:
    return key.replace("/", ".") + ".parquet"


class _SplitRows:
    """The rows of one split of a shard, config by config."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self.mentions = MentionTable()
        self.sentences = SentenceTable()

    def tables(self, version: str) -> dict[str, Any]:
        return {
            "documents": config_table(self.documents, "documents", version),
            "mentions": self.mentions.to_arrow(config_schema("mentions", version)),
            "sentences": self.sentences.to_arrow(config_schema("sentences", version)),
        }


def _build_shard(spec: ShardSpec, tools: Tools, cache: LayerCache | None) -> ShardResult:
    result = ShardResult(spec.index)
    rows = _collect(spec, tools, cache, result, range(len(spec.seeds)))
    for split, out in rows.items():
        for config, table in out.tables(spec.version).items():
            _write(spec, result, f"{config}/{split}", table)
    return result


def _collect(
    spec: ShardSpec, tools: Tools, cache: LayerCache | None, result: ShardResult, which: Iterable[int]
) -> dict[str, _SplitRows]:
    """The rows of the seeds at positions ``which``, by split; counts go into ``result``.

    Every seed is read and its language tagged first; then each row is finished
    (entity layers, spans, row): by then a served lingua
    (``language_server.LinguaClient``) has answered what it was asked about the
    spans while the shard went on."""
    with remembering():  # the language layer's sentence splits, looked up again for the rows
        return _collect_rows(spec, tools, cache, result, which)


def _collect_rows(
    spec: ShardSpec, tools: Tools, cache: LayerCache | None, result: ShardResult, which: Iterable[int]
) -> dict[str, _SplitRows]:
    rows = {split: _SplitRows() for split in SPLITS}
    begun: list[tuple[int, Callable[[], tuple[dict[str, Any], bool]] | SeedError]] = []
    for i in which:
        try:
            begun.append((i, begin_row(Path(spec.seeds[i]), Path(spec.seeds_root), tools, cache)))
        except SeedError as err:  # the seed's own content; an environment failure stops the build
            begun.append((i, err))
    for i, finish in begun:
        split, cluster, size = spec.placement[i]
        try:
            if isinstance(finish, SeedError):
                raise finish
            row, hit = finish()
        except SeedError as err:
            result.rejects.append((err.path, err.reason))
            continue
        row["duplicate_cluster"], row["duplicate_count"] = cluster, size
        spans = sentence_spans(row)
        out = rows[split]
        misaligned = out.sentences.add(row, spans)
        out.documents.append(row)
        out.mentions.add(row, spans)
        result.misaligned += [{"doc_id": row["id"], **{k: m[k] for k in ("start", "end", "text")}} for m in misaligned]
        result.cached += hit
        _count_language(result, row["language"])
        tick()
    return rows


def _count_language(result: ShardResult, language: str) -> None:
    if language not in result.languages:
        result.languages.append(language)
    result.language_counts[language] = result.language_counts.get(language, 0) + 1


def _write(spec: ShardSpec, result: ShardResult, key: str, table: pa.Table) -> None:
    if table.num_rows:
        path = _part(spec, key)
        num_bytes = write_parquet(table, path)
        result.outputs[key] = {"file": str(path), "num_rows": table.num_rows, "num_bytes": num_bytes}


def _patch_shard(spec: ShardSpec, tools: Tools, cache: LayerCache, previous: _Previous, keys: ShardKeys) -> ShardResult:
    """The previous build of these seeds with the documents whose gold entries changed
    re-assembled: their rows replace the old ones, in seed order, and the tables are
    written as a full build writes them (the bytes are the same; a test checks it)."""
    result = ShardResult(spec.index)
    changed = [i for i, (old, new) in enumerate(zip(previous.per_doc, keys.per_doc)) if old != new]
    fresh = _collect(spec, tools, cache, result, changed)
    stems = [Path(seed).stem for seed in spec.seeds]
    position = {stem: i for i, stem in enumerate(stems)}
    gone = {stems[i] for i in changed}
    languages: dict[str, str] = {}
    touched = {spec.placement[i][0] for i in changed}
    for split in SPLITS:
        if split not in touched:  # no changed document in this split: its files stay as they were
            for config in _DOC_COLUMN:
                _copy_previous(spec, result, f"{config}/{split}", previous, languages)
            continue
        for config, table in fresh[split].tables(spec.version).items():
            name = f"{config}/{split}"
            kept = _kept_rows(previous.files.get(name), config, spec.version, gone)
            table = _in_seed_order(kept, table, config, position)
            if config == "documents":
                languages.update(zip(table["id"].to_pylist(), table["language"].to_pylist()))
            _write(spec, result, name, table)
    kept_docs = [i for i in range(len(stems)) if stems[i] not in gone]
    result.languages, result.language_counts = [], {}
    for stem in stems:
        if stem in languages:
            _count_language(result, languages[stem])
    result.misaligned = sorted(
        [m for m in previous.misaligned if m["doc_id"] not in gone] + result.misaligned,
        key=lambda m: position[m["doc_id"]],
    )
    result.cached += len(kept_docs)
    for _ in kept_docs:
        tick()
    return result


def _copy_previous(spec: ShardSpec, result: ShardResult, name: str, previous: _Previous, languages: dict[str, str]) -> None:
    source = previous.files.get(name)
    if source is None:
        return
    path = _part(spec, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    result.outputs[name] = {**previous.outputs[name], "file": str(path)}
    if name.startswith("documents/"):
        table = pq.ParquetFile(path).read(columns=["id", "language"])
        languages.update(zip(table["id"].to_pylist(), table["language"].to_pylist()))


_DOC_COLUMN = {"documents": "id", "mentions": "doc_id", "sentences": "doc_id"}


def _kept_rows(path: Path | None, config: str, version: str, gone: set[str]) -> pa.Table | None:
    if path is None:
        return None
    table = pq.ParquetFile(path).read().cast(config_schema(config, version))
    keep = pc.invert(pc.is_in(table[_DOC_COLUMN[config]], value_set=pa.array(sorted(gone), pa.string())))
    return table.filter(keep)


def _in_seed_order(kept: pa.Table | None, fresh: pa.Table, config: str, position: dict[str, int]) -> pa.Table:
    """Old and new rows of one config, ordered by their document's place in the shard
    (rows of one document stay in their order), as one contiguous table."""
    if kept is None or not kept.num_rows:
        return fresh
    table = pa.concat_tables([kept, fresh]) if fresh.num_rows else kept
    docs = table[_DOC_COLUMN[config]].to_pylist()
    order = sorted(range(len(docs)), key=lambda row: (position[docs[row]], row))
    return table.take(pa.array(order, pa.int64())).combine_chunks()


def build_row(seed: Path, root: Path, tools: Tools, cache: LayerCache | None) -> tuple[dict[str, Any], bool]:
    """One seed -> one published row, and whether its layers came from the cache."""
    return begin_row(seed, root, tools, cache)()


def begin_row(seed: Path, root: Path, tools: Tools, cache: LayerCache | None) -> Callable[[], tuple[dict[str, Any], bool]]:
    """``build_row`` in two steps: the seed is read and its language tagged now, and
    the call returned finishes its row (``layers.automatic_layers_later``)."""
    doc = read_seed(seed, root)
    gold = read_gold(gold_path(seed), doc) if has_gold(seed) else None
    with _annotating(seed):
        layers_later, hit = _layers(doc, tools, cache)

    def finish() -> tuple[dict[str, Any], bool]:
        with _annotating(seed):
            layers = layers_later()
            automatic, status = (layers.entities, layers.entity_status) if gold is not None else tools.with_gold(
                doc.text, layers.language, layers.entities, layers.entity_status
            )
        entities, status = choose_entities(gold, automatic, status)
        row = assemble(
            doc,
            language=layers.language,
            language_script=layers.language_script,
            language_score=layers.language_score,
            languages=layers.languages,
            entities=entities,
            entity_status=status,
        )
        return row, hit

    return finish


@contextlib.contextmanager
def _annotating(seed: Path) -> Iterator[None]:
    """An annotator's failure: the machine's (stops the build) or the seed's (rejects it)."""
    try:
        yield
    except EnvironmentFailure:
        raise
    except (ImportError, OSError, MemoryError) as err:  # the machine's fault, not the seed's
        raise EnvironmentFailure(f"annotators failed on {shown(seed)}: {type(err).__name__}: {err}") from None
    except Exception as err:  # an annotator bug on this text must not take the other seeds down
        raise SeedError(seed, f"annotation failed: {type(err).__name__}: {err}") from None


def _layers(doc: Document, tools: Tools, cache: LayerCache | None) -> tuple[Callable[[], Layers], bool]:
    """A document's automatic layers to finish, and whether they came from the cache (then no model loads)."""
    if cache is not None:
        found = cache.get(doc.sha256, tools.fingerprint)
        if found is not None:
            return lambda: found, True
    tools.load()
    later = automatic_layers_later(doc, tools)

    def finish() -> Layers:
        layers = later()
        if cache is not None:
            cache.put(doc.sha256, tools.fingerprint, layers)
        return layers

    return finish, False


# ------------------------------------------------------------------- progress
_tick: Callable[[], None] | None = None


def set_tick(callback: Callable[[], None] | None) -> None:
    """Where this process reports finished articles (an engine's progress bar; None: nowhere)."""
    global _tick
    _tick = callback


def tick() -> None:
    """One more article done (the progress bar counts articles, not shards)."""
    if _tick is not None:
        _tick()
