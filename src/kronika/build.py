"""Build: seeds folder -> corpus folder (Parquet shards, manifest) + card.

The build is a plan of shards. Seeds are sorted by id and cut into contiguous
shards of about ``shard_size`` seeds, at points chosen by the ids themselves
(``cut_points``); ``run_shard`` turns one shard's seeds
into one Parquet file and is a pure function of its ``ShardSpec``, so any
engine (a local process pool, or Ray: ``ray_engine``) can run it and the bytes
are the same. Annotators load once per worker process.

A bad seed fails the whole build (the previous corpus stays untouched) unless
``keep_going`` is set; then it is left out and listed with its reason. Every
input is accounted for in the manifest and the build report.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import cache
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from kronika import __version__, croissant, stats
from kronika.assemble import assemble, choose_entities
from kronika.duplicates import SignatureCache, clusters
from kronika.goldpass import GOLD_PASS
from kronika.gold import gold_path, load_gold_file, read_gold
from kronika.ingest import Document, SeedError, list_seeds, read_seed, seed_bytes, seed_text, shown
from kronika.language import Lingua
from kronika.layers import (
    EnvironmentFailure, LayerCache, Tools, automatic_layers, describe_tools, gold_lexicon, registered, share_lingua, tools_for,
)
from kronika.lexicon import entries_digest
from kronika.registry import RegistryError
from kronika.output import OutputError, check_output, commit, locked, recover, staging
from kronika.preflight import ToolsMissing, check_tools
from kronika.record import CONFIGS, sha256_file
from kronika.splits import RULE as SPLIT_RULE
from kronika.splits import SPLITS, SplitError, assign, read_pins
from kronika.views import SentenceTable, mention_rows, sentence_spans
from kronika.write import (
    CardError, card_text, card_yaml, config_schema, config_table, present_languages, write_json, write_parquet,
    writer_fingerprint,
)

DEFAULT_SHARD_SIZE = 250
MANIFEST = "manifest.json"
CROISSANT = "croissant.json"
WORKER_MEMORY = 1 << 30  # a worker with its models and a shard in memory stays well below this


class BuildError(RuntimeError):
    """The build cannot finish; the message lists every reason, one per line."""


@dataclass(frozen=True)
class ShardSpec:
    index: int
    seeds: tuple[str, ...]
    seeds_root: str
    stage: str
    version: str
    lexicon: tuple[Any, ...] = ()
    cache_dir: str | None = None
    # per seed, in order: (split, duplicate cluster or None, cluster size)
    placement: tuple[tuple[str, str | None, int], ...] = ()
    models: tuple[str, ...] = ()  # trained entity model folders (absolute paths)


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

    @property
    def documents(self) -> int:
        return sum(o["num_rows"] for key, o in self.outputs.items() if key.startswith("documents/"))


@dataclass
class BuildReport:
    version: str
    seeds: int
    built: int
    rejected: list[dict[str, str]]
    skipped: list[dict[str, str]]
    from_cache: int
    misaligned_mentions: int
    shards: int
    jobs: int
    wall_seconds: float
    articles_per_second: float
    languages: dict[str, int] = field(default_factory=dict)  # documents built per language
    annotator_seconds: dict[str, float] = field(default_factory=dict)  # summed over workers; cached shards cost none

    def summary(self) -> str:
        lines = [
            f"built {self.built} of {self.seeds} seeds into {self.shards} shard(s) with {self.jobs} job(s), "
            f"{self.from_cache} from the cache, in {self.wall_seconds:.2f} s ({self.articles_per_second:.1f} articles/s)",
        ]
        if self.languages:
            lines.append("documents per language: " + ", ".join(f"{lang} {n}" for lang, n in self.languages.items()))
        if self.annotator_seconds:
            lines.append("time in annotators (all workers): " + ", ".join(f"{name} {s:.1f} s" for name, s in self.annotator_seconds.items()))
        if self.misaligned_mentions:
            lines.append(f"{self.misaligned_mentions} mention(s) not on token boundaries have no BIO tags in `sentences` (listed in the manifest)")
        lines += [f"rejected {r['file']}: {r['reason']}" for r in self.rejected]
        lines += [f"skipped {r['file']}: {r['reason']}" for r in self.skipped]
        return "\n".join(lines)


def spec_to_json(spec: ShardSpec) -> str:
    """A spec as JSON, for engines that ship work as data (Ray)."""
    data = asdict(spec)
    data["lexicon"] = [[e.lemma, e.label, e.entity_id] for e in spec.lexicon]
    return json.dumps(data, ensure_ascii=False)


def spec_from_json(text: str) -> ShardSpec:
    from kronika.entities import LexiconEntry

    data = json.loads(text)
    data["seeds"] = tuple(data["seeds"])
    data["placement"] = tuple(tuple(p) for p in data["placement"])
    data["models"] = tuple(data["models"])
    data["lexicon"] = tuple(LexiconEntry(*e) for e in data["lexicon"])
    return ShardSpec(**data)


def plan(
    seeds: list[Path], root: Path, stage: Path, shard_size: int, placement: dict[str, tuple[str, str | None, int]], **common: Any
) -> list[ShardSpec]:
    """Contiguous shards in id order, about ``shard_size`` seeds each (see ``cut_points``).

    ``placement`` gives each seed's split and duplicate cluster; a shard writes
    one file per config and split.
    """
    cuts = cut_points([p.stem for p in seeds], shard_size)
    chunks = [seeds[a:b] for a, b in zip([0, *cuts], cuts)]
    return [
        ShardSpec(
            i, tuple(str(p) for p in chunk), str(root), str(stage),
            placement=tuple(placement.get(p.stem, (SPLITS[0], None, 1)) for p in chunk), **common,
        )
        for i, chunk in enumerate(chunks)
    ]


def cut_points(ids: list[str], shard_size: int) -> list[int]:
    """End indices of the shards of ``ids`` (sorted), the last one ``len(ids)``.

    Where a shard ends depends on the ids themselves, not on counting from
    the start: once a shard has ``shard_size // 2`` seeds it ends after the
    first id whose hash hits (about one in ``shard_size // 2 + 1``), and at
    ``2 * shard_size`` seeds at the latest. Shards average about
    ``shard_size`` seeds, and adding or removing a seed changes its own shard
    (at most the next one too), so an incremental build copies the other
    shards from the cache (with fixed-size shards, all shards after the new
    seed would shift).
    """
    least = max(1, shard_size // 2)
    spread = max(1, shard_size - least + 1)
    cuts, size = [], 0
    for i, seed_id in enumerate(ids):
        size += 1
        hit = int.from_bytes(hashlib.sha256(seed_id.encode()).digest()[:8], "big") % spread == 0
        if size >= 2 * shard_size or (size >= least and hit):
            cuts.append(i + 1)
            size = 0
    if size:
        cuts.append(len(ids))
    return cuts


def run_shard(spec: ShardSpec) -> ShardResult:
    """Build one shard: its seeds -> one Parquet file per config (none for a config without rows).

    With a cache, a shard whose seeds, gold layers, annotators and version are
    all unchanged is copied from the shard cache; a changed shard is rebuilt from
    the layer cache, so only new or edited seeds are annotated again.
    """
    tools = tools_for(spec.lexicon, spec.models)
    if not spec.cache_dir:
        result = _build_shard(spec, tools, None)
        result.seconds = tools.take_seconds()
        return result
    shards = ShardCache(Path(spec.cache_dir) / "shards")
    key = shard_key(spec, tools.fingerprint)
    stored = shards.get(key, spec) if key else None
    if stored is not None:
        return stored
    result = _build_shard(spec, tools, LayerCache(Path(spec.cache_dir)))
    result.seconds = tools.take_seconds()
    if key and not result.rejects:
        shards.put(key, result)
    return result


def shard_key(spec: ShardSpec, fingerprint: str) -> str | None:
    """Content address of a shard's output: version, annotators, writer, every seed's and gold file's bytes."""
    digest = hashlib.sha256(
        f"{spec.version}\n{fingerprint}\n{entries_digest(spec.lexicon)}\n{writer_fingerprint()}\n{spec.placement}\n".encode()
    )
    try:
        for seed in map(Path, spec.seeds):
            gold = gold_path(seed)
            digest.update(f"{seed.name}\n".encode() + hashlib.sha256(seed_bytes(seed, Path(spec.seeds_root))).digest())
            digest.update(hashlib.sha256(gold.read_bytes()).digest() if gold.is_file() else b"-")
    except (OSError, SeedError):  # a bad seed or gold file: build the shard normally, which reports it
        return None
    return digest.hexdigest()


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
        for _ in spec.seeds:
            tick()
        return result

    def put(self, key: str, result: ShardResult) -> None:
        entry = self.folder / key[:2] / key
        tmp = entry.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            for key, output in result.outputs.items():
                shutil.copyfile(output["file"], tmp / _cached_name(key))
            (tmp / "result.json").write_text(json.dumps(result.__dict__), encoding="utf-8")
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EnvironmentFailure(f"shard cache {shown(self.folder)}: {err.strerror or err}") from None
        try:
            os.replace(tmp, entry)
        except OSError:  # another worker stored the same shard first
            shutil.rmtree(tmp, ignore_errors=True)


def _part(spec: ShardSpec, key: str) -> Path:
    config, split = key.split("/")
    return Path(spec.stage) / config / f"part-{spec.index:05d}-{split}.parquet"


def _cached_name(key: str) -> str:
    return key.replace("/", ".") + ".parquet"


class _SplitRows:
    """The rows of one split of a shard, config by config."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self.mentions: list[dict[str, Any]] = []
        self.sentences = SentenceTable()

    def tables(self, version: str) -> dict[str, Any]:
        return {
            "documents": config_table(self.documents, "documents", version),
            "mentions": config_table(self.mentions, "mentions", version),
            "sentences": self.sentences.to_arrow(config_schema("sentences", version)),
        }


def _build_shard(spec: ShardSpec, tools: Tools, cache: LayerCache | None) -> ShardResult:
    result = ShardResult(spec.index)
    rows = {split: _SplitRows() for split in SPLITS}
    for seed, (split, cluster, size) in zip(map(Path, spec.seeds), spec.placement):
        try:
            row, hit = build_row(seed, Path(spec.seeds_root), tools, cache)
        except SeedError as err:  # the seed's own content; an environment failure stops the build
            result.rejects.append((err.path, err.reason))
            continue
        row["duplicate_cluster"], row["duplicate_count"] = cluster, size
        spans = sentence_spans(row)
        out = rows[split]
        misaligned = out.sentences.add(row, spans)
        out.documents.append(row)
        out.mentions += mention_rows(row, spans)
        result.misaligned += [{"doc_id": row["id"], **{k: m[k] for k in ("start", "end", "text")}} for m in misaligned]
        result.cached += hit
        if row["language"] not in result.languages:
            result.languages.append(row["language"])
        result.language_counts[row["language"]] = result.language_counts.get(row["language"], 0) + 1
        tick()
    for split, out in rows.items():
        for config, table in out.tables(spec.version).items():
            if table.num_rows:
                key = f"{config}/{split}"
                path = _part(spec, key)
                write_parquet(table, path)
                result.outputs[key] = {"file": str(path), "num_rows": table.num_rows, "num_bytes": table.nbytes}
    return result


def build_row(seed: Path, root: Path, tools: Tools, cache: LayerCache | None) -> tuple[dict[str, Any], bool]:
    """One seed -> one published row, and whether its layers came from the cache."""
    doc = read_seed(seed, root)
    gold_file = gold_path(seed)
    gold = read_gold(gold_file, doc) if gold_file.exists() or gold_file.is_symlink() else None
    try:
        layers, hit = _layers(doc, tools, cache)
        automatic, status = (layers.entities, layers.entity_status) if gold is not None else tools.with_gold(
            doc.text, layers.language, layers.entities, layers.entity_status
        )
    except EnvironmentFailure:
        raise
    except (ImportError, OSError, MemoryError) as err:  # the machine's fault, not the seed's
        raise EnvironmentFailure(f"annotators failed on {shown(seed)}: {type(err).__name__}: {err}") from None
    except Exception as err:  # an annotator bug on this text must not take the other seeds down
        raise SeedError(seed, f"annotation failed: {type(err).__name__}: {err}") from None
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


def _layers(doc: Document, tools: Tools, cache: LayerCache | None):
    if cache is not None:
        found = cache.get(doc.sha256, tools.fingerprint)
        if found is not None:
            return found, True
    tools.load()
    layers = automatic_layers(doc, tools)
    if cache is not None:
        cache.put(doc.sha256, tools.fingerprint, layers)
    return layers, False


# ------------------------------------------------------------------- driver
def build(
    seeds_dir: Path,
    out_dir: Path,
    *,
    jobs: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    keep_going: bool = False,
    cache_dir: Path | None = None,
    progress: bool = True,
    engine: str = "local",
    ray_address: str | None = None,
    drop_duplicates: bool = False,
    verbose: bool = False,
    entity_models: tuple[Path, ...] = (),
) -> BuildReport:
    """Build the corpus; raise ``BuildError`` (output untouched) on bad seeds or a failing machine.

    Before any seed is read: the output folder is checked (never the seeds, a
    repository root or a folder that is not a corpus), the annotators'
    packages are checked, and the output is locked.
    """
    try:
        models = model_folders(out_dir, entity_models)
        return _build(seeds_dir, out_dir, jobs, shard_size, keep_going, cache_dir, progress, engine, ray_address, drop_duplicates, verbose, models)
    except (OutputError, ToolsMissing, CardError, EnvironmentFailure, SplitError, RegistryError) as err:
        raise BuildError(str(err)) from None
    except OSError as err:
        where = f"{shown(err.filename)}: " if err.filename else ""
        raise BuildError(f"{where}{err.strerror or err}") from None


def _build(
    seeds_dir: Path, out_dir: Path, jobs: int | None, shard_size: int, keep_going: bool,
    cache_dir: Path | None, progress: bool, engine: str, ray_address: str | None, drop_duplicates: bool, verbose: bool,
    models: tuple[str, ...],
) -> BuildReport:
    started = time.perf_counter()
    if not seeds_dir.is_dir():
        raise BuildError(f"{shown(seeds_dir)}: seeds folder not found")
    if shard_size < 1:
        raise BuildError(f"shard size must be at least 1, not {shard_size}")
    check_output(out_dir, seeds_dir)
    check_tools(registered(models))
    jobs = usable_jobs(jobs)
    seeds, skipped, named = list_seeds(seeds_dir)
    if not seeds and not named:
        raise BuildError(f"{shown(seeds_dir)}: no seed files (*.txt)")
    card = out_dir.resolve().parent / "README.md"
    beside = [card, card.with_name(CROISSANT)]
    with locked(out_dir):
        recover(out_dir, beside)
        lexicon = gold_lexicon(_gold_files(seeds))
        placement = place(seeds, seeds_dir, out_dir, cache_dir)
        if drop_duplicates:
            seeds, dropped = _drop_copies(seeds, placement)
            skipped += dropped
        with staging(out_dir) as stage:
            specs = plan(
                seeds, seeds_dir, stage, shard_size, placement, version=__version__, lexicon=lexicon,
                cache_dir=str(cache_dir) if cache_dir else None, models=models,
            )
            results = _run_engine(specs, engine, ray_address, jobs, progress, len(seeds), verbose)
            rejects = named + [r for res in results for r in res.rejects]
            if rejects and not keep_going:
                raise BuildError("\n".join(f"{file}: {reason}" for file, reason in rejects))
            if not any(r.documents for r in results):
                raise BuildError(f"none of the {len(seeds) + len(named)} seed(s) could be built; {shown(out_dir)} is unchanged")
            splits = _finish(stage, results, out_dir, rejects, skipped, models, lexicon)
            commit(stage, out_dir, dict(zip(beside, _dataset_files(stage, card, out_dir, splits, results))))
    wall = time.perf_counter() - started
    built = sum(r.documents for r in results)
    return BuildReport(
        version=__version__,
        seeds=len(seeds) + len(named),
        built=built,
        rejected=[{"file": f, "reason": r} for f, r in rejects],
        skipped=[{"file": f, "reason": r} for f, r in skipped],
        from_cache=sum(r.cached for r in results),
        misaligned_mentions=sum(len(r.misaligned) for r in results),
        shards=len(specs),
        jobs=jobs,
        wall_seconds=round(wall, 3),
        articles_per_second=round(built / wall, 1) if wall else 0.0,
        languages=_summed([r.language_counts for r in results]),
        annotator_seconds={k: round(v, 2) for k, v in _summed([r.seconds for r in results]).items()},
    )


def _summed(counts: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for one in counts:
        for key, value in one.items():
            total[key] = total.get(key, 0) + value
    return dict(sorted(total.items(), key=lambda item: (-item[1], item[0])))


def usable_jobs(requested: int | None) -> int:
    """Worker processes: as asked, but no more than the cores and the memory allow."""
    if requested is not None and requested < 1:
        raise BuildError(f"jobs must be at least 1, not {requested}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    by_memory = max(1, _available_memory() // WORKER_MEMORY)
    return max(1, min(requested or cores, cores, by_memory))


def _available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def _run_engine(
    specs: list[ShardSpec], engine: str, ray_address: str | None, jobs: int, progress: bool, total: int, verbose: bool
) -> list[ShardResult]:
    if engine == "ray":
        from kronika.ray_engine import run_on_ray

        return run_on_ray(specs, ray_address, jobs, verbose)
    return sorted(_run(specs, jobs, progress, total), key=lambda r: r.index)


def model_folders(out_dir: Path, given: tuple[Path, ...]) -> tuple[str, ...]:
    """Trained entity models for this build: ``--entity-model`` folders, and every model
    committed under ``models/`` of the dataset root (a folder with a ``card.json``)."""
    committed = out_dir.resolve().parent / "models"
    found = sorted(p for p in committed.iterdir() if (p / "card.json").is_file()) if committed.is_dir() else []
    return tuple(dict.fromkeys(str(Path(p).resolve()) for p in [*given, *found]))


def place(seeds: list[Path], root: Path, out_dir: Path, cache_dir: Path | None) -> dict[str, tuple[str, str | None, int]]:
    """Each seed's split and duplicate cluster, decided over the whole corpus before any shard runs.

    Seeds that cannot be read are left out here; their shard reports them.
    """
    cache = SignatureCache(cache_dir)
    signatures, paths = {}, {}
    for seed in seeds:
        try:
            raw = seed_bytes(seed, root)
            signatures[seed.stem] = cache.get(hashlib.sha256(raw).hexdigest(), lambda: seed_text(raw, seed))
        except SeedError:
            continue
        paths[seed.stem] = seed
    found = clusters(signatures, lambda doc_id: read_seed(paths[doc_id], root).text)
    cluster_of = {doc_id: c.id for doc_id, c in found.items()}
    split_of = assign(sorted(signatures), cluster_of, read_pins(root), previous_splits(out_dir))
    return {
        doc_id: (split_of[doc_id], found[doc_id].id if doc_id in found else None, found[doc_id].size if doc_id in found else 1)
        for doc_id in signatures
    }


def previous_splits(out_dir: Path) -> dict[str, str]:
    """The split of every document of the previous corpus, if it was split by the same rule."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(manifest, dict) or manifest.get("split_rule") != SPLIT_RULE:
        return {}
    before: dict[str, str] = {}
    for entry in manifest.get("files", []):
        config, _, name = str(entry.get("path", "")).partition("/")
        split = name.split("-", 1)[0]
        if config == "documents" and split in SPLITS:
            try:
                ids = pq.read_table(out_dir / entry["path"], columns=["id"]).column("id").to_pylist()
            except (OSError, ValueError, KeyError):
                return {}
            before.update(dict.fromkeys(ids, split))
    return before


def _drop_copies(seeds: list[Path], placement: dict[str, tuple[str, str | None, int]]) -> tuple[list[Path], list[tuple[str, str]]]:
    """``--drop-duplicates``: keep the document that names each cluster (its smallest id)."""
    kept, dropped = [], []
    for seed in seeds:
        cluster = placement.get(seed.stem, ("", None, 1))[1]
        if cluster is None or cluster == seed.stem:
            kept.append(seed)
        else:
            dropped.append((shown(seed), f"duplicate of {cluster} (--drop-duplicates)"))
    return kept, dropped


def _gold_files(seeds: list[Path]) -> Iterator[dict[str, Any]]:
    """Readable gold files; a broken one is reported by its seed's shard."""
    for seed in seeds:
        path = gold_path(seed)
        if path.exists():
            try:
                yield load_gold_file(path)
            except SeedError:
                continue


def _run(specs: list[ShardSpec], jobs: int, progress: bool, total: int) -> Iterable[ShardResult]:
    """Shard results as they finish. The first shard that fails stops the build:
    the shards not yet started are cancelled."""
    bar = tqdm(total=total, unit="article", disable=not progress or None, file=sys.stderr, mininterval=0.5, desc="loading models")
    with bar:
        if jobs == 1 or len(specs) == 1:
            _set_tick(lambda: _advance(bar))
            try:
                for spec in specs:
                    yield run_shard(spec)
            finally:
                _set_tick(None)
            return
        # A fork server imports Kronika once and forks the workers from that clean,
        # single-threaded process: no re-import per worker, no fork of our threads.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["kronika.build"])
        # The fork server runs `python -c`, which would put the current folder first
        # on sys.path: a `tqdm.py` there would be imported by every worker.
        os.environ["PYTHONSAFEPATH"] = "1"
        key = os.urandom(16)
        server = LinguaServer(ctx=context, authkey=key)
        server.start(exit_with, (os.getpid(),))
        ticks = context.SimpleQueue()
        counter = threading.Thread(target=_count_ticks, args=(ticks, bar), daemon=True)
        counter.start()
        with server, ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_start_worker,
            initargs=(server.address, key, os.getpid(), ticks),
        ) as pool:
            futures = {pool.submit(run_shard, spec): spec for spec in sorted(specs, key=_size, reverse=True)}
            try:
                for future in as_completed(futures):
                    yield future.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            finally:
                ticks.put(None)
                counter.join(timeout=5)


_tick: Any = None


def _set_tick(callback: Any) -> None:
    global _tick
    _tick = callback


def tick() -> None:
    """One more article done (the progress bar counts articles, not shards)."""
    if _tick is not None:
        _tick()


def _count_ticks(ticks: Any, bar: Any) -> None:
    """The build's side of the workers' ticks: advance the bar until told to stop (None)."""
    while ticks.get() is not None:
        _advance(bar)


def _advance(bar: Any) -> None:
    """One article on the bar; the first one ends the model-loading step."""
    if bar.n == 0:
        bar.set_description("building", refresh=False)
    bar.update(1)


class LinguaServer(BaseManager):
    """One process that holds lingua's models for every worker of a local build.

    lingua loads a language's models (up to 0.5 s each) in every process that
    uses them; served from one process they load once per build, not once per
    worker. Its answers are the same wherever it runs, so the bytes are too.
    """


@cache
def _one_lingua() -> Lingua:
    return Lingua()


LinguaServer.register("lingua", callable=_one_lingua)


def _start_worker(address: Any, key: bytes, main_pid: int, ticks: Any = None) -> None:
    """Pool initializer: this worker's tagger asks the build's lingua server, and it
    reports every article it finishes to the build's progress bar."""
    exit_with(main_pid)
    if ticks is not None:
        _set_tick(lambda: ticks.put(1))
    server = LinguaServer(address=address, authkey=key)
    server.connect()
    share_lingua(server.lingua())


def exit_with(pid: int) -> None:
    """End this process once process ``pid`` (the build's) is gone.

    Workers and the lingua server are children of the fork server, not of the
    build: if the build is killed (``kill -9``, out of memory) nobody tells
    them, and they would wait forever, holding their models.
    """

    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(pid, 0)
            except OSError:  # gone (or its pid reused by another user's process)
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-build", daemon=True).start()


def _size(spec: ShardSpec) -> int:
    """Bytes of a shard's seeds. Running the biggest shards first leaves small
    ones for the end, so no worker waits long for the last shard of another."""
    total = 0
    for seed in spec.seeds:
        try:
            total += os.stat(seed).st_size
        except OSError:
            pass
    return total


def _finish(
    stage: Path, results: list[ShardResult], out_dir: Path, rejects: list[tuple[str, str]], skipped: list,
    models: tuple[str, ...], lexicon: tuple[Any, ...],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Give each config's non-empty shards their Hub names per split; write the manifest.

    Returns, per config and split with rows, its file paths (relative to the
    output folder), row count and Arrow size, for the card. A split without
    rows is left out: ``datasets`` fails on an empty split.
    """
    splits: dict[str, dict[str, dict[str, Any]]] = {}
    entries = []
    for config in CONFIGS:
        for split in SPLITS:
            key = f"{config}/{split}"
            outputs = [r.outputs[key] for r in results if key in r.outputs]
            names = [f"{config}/{split}-{i:05d}-of-{len(outputs):05d}.parquet" for i in range(len(outputs))]
            for output, name in zip(outputs, names):
                os.replace(output["file"], stage / name)
                entries.append({"path": name, "sha256": sha256_file(stage / name), "num_rows": output["num_rows"]})
            if outputs:
                splits.setdefault(config, {})[split] = {
                    "paths": names,
                    "num_examples": sum(o["num_rows"] for o in outputs),
                    "num_bytes": sum(o["num_bytes"] for o in outputs),
                }
    manifest = {
        "name": "kronika",
        "version": __version__,
        "split_rule": SPLIT_RULE,
        "files": entries,
        "rejected": [{"file": _relative(f, out_dir), "reason": r} for f, r in rejects],
        "skipped": [{"file": _relative(str(p), out_dir), "reason": r} for p, r in skipped],
        "misaligned_mentions": [m for r in results for m in r.misaligned],
        "annotators": {**describe_tools(models), "gold_pass": {"layer": GOLD_PASS, "entities": len(lexicon)}},
    }
    write_json(stage / MANIFEST, manifest)
    return splits


def _relative(path: str, out_dir: Path) -> str:
    """Paths in committed files are relative to the dataset root, never absolute."""
    try:
        return os.path.relpath(path, out_dir.resolve().parent)
    except ValueError:
        return Path(path).name


def _dataset_files(
    stage: Path, card: Path, out_dir: Path, splits: dict[str, dict[str, Any]], results: list[ShardResult]
) -> tuple[str, str]:
    """The new card and ``croissant.json`` (``commit`` writes both), and the plots inside the staged corpus.

    They describe the staged corpus under the name it will have (``corpus``).
    """
    prefix = out_dir.resolve().name
    languages = present_languages([lang for r in results for lang in r.languages])
    for config in splits.values():
        for split in config.values():
            split["paths"] = [f"{prefix}/{name}" for name in split["paths"]]
    figures = stats.compute(stage)  # read once, for the plots and the card
    stats.write_plots(stage, stage / "stats", stats=figures)
    section = stats.card_section(stage, plots_prefix=f"{prefix}/stats", version=__version__, stats=figures)
    text = card_text(card, card_yaml(version=__version__, splits=splits, languages=languages), stats_section=section)
    return text, croissant.document(stage, version=__version__, prefix=prefix, languages=languages)


def write_report(report: BuildReport, path: Path) -> None:
    write_json(path, asdict(report))
