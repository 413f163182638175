"""The build driver: seeds folder -> corpus folder (Parquet shards, manifest) + card.

The build is a plan of shards (``plan``): seeds are sorted by id and cut into
contiguous shards at points chosen by the ids themselves. Before any shard
runs, the driver places every seed (split, duplicate cluster) over the whole
corpus; an engine (``engines.local`` or ``engines.ray``) runs the pure shard
function (``shard.run_shard``) on each, and the driver names the files, writes
the manifest, the card and ``croissant.json``, and commits the staged corpus.
Dependencies point one way: the CLI -> this driver -> engines, shard, plan ->
the stages; nothing below imports the driver.

A bad seed fails the whole build (the previous corpus stays untouched) unless
``keep_going`` is set; then it is left out and listed with its reason. Every
input is accounted for in the manifest and the build report.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from kronika import __version__, croissant, stats
from kronika.build.engines.local import map_chunks, run_local, start_forkserver
from kronika.build.engines.ray import check_ray, run_on_ray
from kronika.build.plan import DEFAULT_SHARD_SIZE, ShardSpec, plan
from kronika.build.shard import ShardResult
from kronika.duplicates import Signature, SignatureCache, clusters, signature
from kronika.goldpass import GOLD_PASS
from kronika.gold import gold_mentions, gold_path, has_gold, load_gold_file
from kronika.ingest import SeedError, list_seeds, read_seed, seed_bytes, seed_text, shown
from kronika.layers import EnvironmentFailure, describe_tools, gold_lexicon, registered
from kronika.registry import RegistryError
from kronika.output import OutputError, check_cache, check_output, commit, locked, recover, staging
from kronika.plots import PlotProcess, plot_process
from kronika.preflight import ToolsMissing, check_tools
from kronika.record import CONFIGS, sha256_file
from kronika.splits import RULE as SPLIT_RULE
from kronika.splits import SPLITS, SplitError, assign, read_pins
from kronika.write import CardError, card_text, card_yaml, present_languages, write_json

MANIFEST = "manifest.json"
CROISSANT = "croissant.json"
WORKER_MEMORY = 1 << 30  # a worker with its models and a shard in memory stays well below this


class BuildError(RuntimeError):
    """The build cannot finish; the message lists every reason, one per line."""


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
    dropped_copies: int = 0  # --drop-duplicates: seeds left out as copies (among ``seeds``, listed in ``skipped``)
    annotator_seconds: dict[str, float] = field(default_factory=dict)  # summed over workers; cached shards cost none

    def summary(self) -> str:
        lines = [
            f"built {self.built} of {self.seeds} seeds{_dropped_note(self.dropped_copies)} into {self.shards} shard(s) with {self.jobs} job(s), "
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


def _dropped_note(copies: int) -> str:
    return f" ({copies} dropped as copies)" if copies else ""


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
    drawer: PlotProcess | None = None,
) -> BuildReport:
    """Build the corpus; raise ``BuildError`` (output untouched) on bad seeds or a failing machine.

    ``drawer``: a ``plots.PlotProcess`` the caller started (and closes), so that
    matplotlib loads while the build is imported; else the build starts its own.

    Before any seed is read: the output folder is checked (never the seeds, a
    repository root or a folder that is not a corpus), the annotators'
    packages are checked, and the output is locked.
    """
    try:
        models = model_folders(out_dir, entity_models)
        return _build(seeds_dir, out_dir, jobs, shard_size, keep_going, cache_dir, progress, engine, ray_address, drop_duplicates, verbose, models, drawer)
    except (OutputError, ToolsMissing, CardError, EnvironmentFailure, SplitError, RegistryError) as err:
        raise BuildError(str(err)) from None
    except OSError as err:
        where = f"{shown(err.filename)}: " if err.filename else ""
        raise BuildError(f"{where}{err.strerror or err}") from None


def _build(
    seeds_dir: Path, out_dir: Path, jobs: int | None, shard_size: int, keep_going: bool,
    cache_dir: Path | None, progress: bool, engine: str, ray_address: str | None, drop_duplicates: bool, verbose: bool,
    models: tuple[str, ...], drawer: PlotProcess | None = None,
) -> BuildReport:
    started = time.perf_counter()
    if not seeds_dir.is_dir():
        raise BuildError(f"{shown(seeds_dir)}: seeds folder not found")
    if shard_size < 1:
        raise BuildError(f"shard size must be at least 1, not {shard_size}")
    check_output(out_dir, seeds_dir)
    if cache_dir is not None:
        check_cache(cache_dir, seeds_dir)
    check_tools(registered(models))
    if engine == "ray":
        check_ray(ray_address)
    jobs = usable_jobs(jobs)
    seeds, skipped, named = list_seeds(seeds_dir)
    copies: dict[str, str] = {}  # --drop-duplicates: each dropped copy's split
    if not seeds and not named:
        raise BuildError(f"{shown(seeds_dir)}: no seed files (*.txt)")
    card = out_dir.resolve().parent / "README.md"
    beside = [card, card.with_name(CROISSANT)]
    # no plots are cached without a cache: the drawing process starts at once; with one,
    # when a shard is assembled rather than copied (``_run_engine``), since a build that
    # copies every shard keeps its figures (an idle process slowed it by 0.2 s)
    plotting = nullcontext(drawer) if drawer is not None else plot_process(start=cache_dir is None)
    with locked(out_dir), plotting as drawer:
        recover(out_dir, beside)
        pool = engine == "local" and jobs > 1 and len(seeds) > shard_size  # shards for a pool
        if pool:
            start_forkserver()
        golds, broken_gold = _gold_files(seeds, seeds_dir)
        lexicon = gold_lexicon(golds.values())
        placement = place(seeds, seeds_dir, out_dir, cache_dir, jobs if pool else 1)
        if drop_duplicates:
            seeds, dropped, copies = _drop_copies(seeds, placement, set(golds), broken_gold)
            skipped += dropped
        given = len(seeds) + len(named) + len(copies)  # every seed given, dropped copies included
        with staging(out_dir) as stage:
            specs = plan(
                seeds, seeds_dir, stage, shard_size, placement, version=__version__, lexicon=lexicon,
                cache_dir=str(cache_dir) if cache_dir else None, models=models,
            )
            results = _run_engine(specs, engine, ray_address, jobs, progress, len(seeds), verbose, drawer)
            rejects = named + [r for res in results for r in res.rejects]
            if rejects and not keep_going:
                raise BuildError("\n".join(f"{file}: {reason}" for file, reason in rejects))
            if not any(r.documents for r in results):
                reasons = "".join(f"\n{file}: {reason}" for file, reason in rejects)
                raise BuildError(f"none of the {given} seed(s){_dropped_note(len(copies))} could be built{reasons}")
            splits = _finish(stage, results, out_dir, rejects, skipped, copies, models, lexicon)
            commit(stage, out_dir, dict(zip(beside, _dataset_files(stage, card, out_dir, splits, results, cache_dir, drawer))))
    wall = time.perf_counter() - started
    built = sum(r.documents for r in results)
    return BuildReport(
        version=__version__,
        seeds=given,
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
        dropped_copies=len(copies),
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
    specs: list[ShardSpec], engine: str, ray_address: str | None, jobs: int, progress: bool, total: int, verbose: bool,
    drawer: PlotProcess | None = None,
) -> list[ShardResult]:
    """Every shard's result, in plan order, from the chosen engine; the plot process
    starts once a shard was assembled (the figures will change)."""
    if engine == "ray":
        return run_on_ray(specs, ray_address, jobs, verbose)
    results = []
    for result in run_local(specs, jobs, progress, total):
        if drawer is not None and not result.copied:
            drawer.start()
        results.append(result)
    return sorted(results, key=lambda r: r.index)


def model_folders(out_dir: Path, given: tuple[Path, ...]) -> tuple[str, ...]:
    """Trained entity models for this build: ``--entity-model`` folders, and every model
    committed under ``models/`` of the dataset root (a folder with a ``card.json``)."""
    committed = out_dir.resolve().parent / "models"
    found = sorted(p for p in committed.iterdir() if (p / "card.json").is_file()) if committed.is_dir() else []
    return tuple(dict.fromkeys(str(Path(p).resolve()) for p in [*given, *found]))


def place(
    seeds: list[Path], root: Path, out_dir: Path, cache_dir: Path | None, jobs: int = 1
) -> dict[str, tuple[str, str | None, int]]:
    """Each seed's split and duplicate cluster, decided over the whole corpus before any shard runs.

    Seeds that cannot be read are left out here; their shard reports them. ``jobs`` > 1:
    the signatures the cache lacks are computed on that many processes (the fork server
    must run): placement comes before every shard, so on one core it would be the part
    of a parallel build that does not scale.
    """
    cache = SignatureCache(cache_dir)
    signatures, missing = {}, []
    for seed in seeds:
        try:
            raw = seed_bytes(seed, root)
        except SeedError:
            continue
        sha = hashlib.sha256(raw).hexdigest()
        if jobs > 1 and not cache.has(sha):
            missing.append((seed, sha))
            continue
        try:
            signatures[seed.stem] = cache.get(sha, lambda: seed_text(raw, seed))
        except SeedError:
            continue
    computed = _signatures([seed for seed, _ in missing], root, jobs)
    for (seed, sha), (read_sha, sig) in zip(missing, computed):
        if sig is not None:  # cached only under the sha of the bytes it was computed from
            signatures[seed.stem] = cache.add(sha, sig) if read_sha == sha else sig
    paths = {seed.stem: seed for seed in seeds if seed.stem in signatures}  # in the seeds' order
    signatures = {doc_id: signatures[doc_id] for doc_id in paths}
    verdicts = cache.verdicts()
    found = clusters(signatures, lambda doc_id: read_seed(paths[doc_id], root).text, verdicts)
    cache.save(verdicts)
    cluster_of = {doc_id: c.id for doc_id, c in found.items()}
    split_of = assign(sorted(signatures), cluster_of, read_pins(root), previous_splits(out_dir))
    return {
        doc_id: (split_of[doc_id], found[doc_id].id if doc_id in found else None, found[doc_id].size if doc_id in found else 1)
        for doc_id in signatures
    }


PARALLEL_SIGNATURES = 256  # fewer missing signatures than this are computed here: a pool costs more


def _signatures(seeds: list[Path], root: Path, jobs: int) -> list[tuple[str, Signature | None]]:
    if jobs < 2 or len(seeds) < PARALLEL_SIGNATURES:
        return signatures_of(seeds, root)
    return map_chunks(partial(signatures_of, root=root), seeds, jobs)


def signatures_of(seeds: list[Path], root: Path) -> list[tuple[str, Signature | None]]:
    """The sha256 of each seed's bytes as read here, and its duplicate signature (None:
    its text cannot be read; its shard says why)."""
    found: list[tuple[str, Signature | None]] = []
    for seed in seeds:
        try:
            raw = seed_bytes(seed, root)
            found.append((hashlib.sha256(raw).hexdigest(), signature(seed_text(raw, seed))))
        except SeedError:
            found.append(("", None))
    return found


def previous_splits(out_dir: Path) -> dict[str, str]:
    """The split of every document of the previous corpus, and of every copy it dropped
    (``--drop-duplicates``), if it was split by the same rule."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(manifest, dict) or manifest.get("split_rule") != SPLIT_RULE:
        return {}
    files = manifest.get("files")
    if not isinstance(files, list) or not all(isinstance(e, dict) for e in files):
        return {}  # a damaged manifest is no ledger, as an unreadable one
    copies = manifest.get("dropped_copies")
    before: dict[str, str] = {}
    if isinstance(copies, dict):
        before.update({k: v for k, v in copies.items() if isinstance(k, str) and v in SPLITS})
    for entry in files:
        config, _, name = str(entry.get("path", "")).partition("/")
        split = name.split("-", 1)[0]
        if config == "documents" and split in SPLITS:
            try:
                ids = pq.ParquetFile(out_dir / entry["path"]).read(columns=["id"]).column("id").to_pylist()
            except (OSError, ValueError, KeyError):
                return {}
            before.update(dict.fromkeys(ids, split))
    return before


def _drop_copies(
    seeds: list[Path], placement: dict[str, tuple[str, str | None, int]], gold: set[str], doomed: set[str]
) -> tuple[list[Path], list[tuple[str, str]], dict[str, str]]:
    """``--drop-duplicates``: keep one document of each cluster: the first in id order
    with a gold file its shard accepts (``gold``: hand-checked work is never dropped),
    else the first its shard will not reject. A seed whose gold file is broken
    (``doomed``) is never dropped: its shard rejects it with the reason, and its copies
    are not lost with it. Kept documents are alone in the corpus (no cluster, count 1:
    what ``validate`` recomputes); ``placement`` is updated in place, splits unchanged.
    Also returns each dropped copy's split: the manifest keeps it, so a copy built
    later (its kept document gone) stays in that split instead of leaking across."""
    members: dict[str, list[str]] = {}
    for doc_id, (_split, cluster, _count) in sorted(placement.items()):
        if cluster is not None:
            members.setdefault(cluster, []).append(doc_id)
    kept_of = {
        cluster: next((d for d in ids if d in gold), None) or next((d for d in ids if d not in doomed), None)
        for cluster, ids in members.items()
    }
    kept, dropped, copies = [], [], {}
    for seed in seeds:
        split, cluster, _count = placement.get(seed.stem, ("", None, 1))
        if cluster is None:
            kept.append(seed)
        elif seed.stem == kept_of[cluster] or seed.stem in doomed:
            kept.append(seed)
            placement[seed.stem] = (split, None, 1)
        else:
            dropped.append((shown(seed), f"duplicate of {kept_of[cluster]} (--drop-duplicates)"))
            copies[seed.stem] = split
    return kept, dropped, copies


def _gold_files(seeds: list[Path], root: Path) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The gold files their seeds' shards accept (by seed id), and the seeds whose gold
    file they reject (written for another version of its seed, offsets off its text, a
    dangling link): such a file is reported by its shard and teaches the gold pass nothing."""
    accepted, broken = {}, set()
    for seed in seeds:
        if has_gold(seed):
            path = gold_path(seed)
            try:
                data = load_gold_file(path)
                gold_mentions(path, data, read_seed(seed, root))
                accepted[seed.stem] = data
            except SeedError:
                broken.add(seed.stem)
    return accepted, broken


def _finish(
    stage: Path, results: list[ShardResult], out_dir: Path, rejects: list[tuple[str, str]], skipped: list,
    copies: dict[str, str], models: tuple[str, ...], lexicon: tuple[Any, ...],
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
        "dropped_copies": dict(sorted(copies.items())),  # id -> split: a copy keeps it in later builds
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
    stage: Path, card: Path, out_dir: Path, splits: dict[str, dict[str, Any]], results: list[ShardResult],
    cache_dir: Path | None = None, drawer: PlotProcess | None = None,
) -> tuple[str, str]:
    """The new card and ``croissant.json`` (``commit`` writes both), and the plots inside the staged corpus.

    They describe the staged corpus under the name it will have (``corpus``).
    Plots of unchanged figures come from the cache (no matplotlib import).
    """
    prefix = out_dir.resolve().name
    languages = present_languages([lang for r in results for lang in r.languages])
    for config in splits.values():
        for split in config.values():
            split["paths"] = [f"{prefix}/{name}" for name in split["paths"]]
    figures = stats.compute(stage)  # read once, for the plots and the card
    stats.write_plots(stage, stage / "stats", stats=figures, cache=cache_dir, drawer=drawer)
    section = stats.card_section(stage, plots_prefix=f"{prefix}/stats", version=__version__, stats=figures)
    text = card_text(card, card_yaml(version=__version__, splits=splits, languages=languages), stats_section=section)
    return text, croissant.document(stage, version=__version__, prefix=prefix, languages=languages)


def write_report(report: BuildReport, path: Path) -> None:
    """``--report FILE``: the build report as JSON."""
    write_json(path, asdict(report))
