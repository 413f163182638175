"""One shard: its seeds -> one Parquet file per config and split, and its ``ShardResult``.

``run_shard`` is a pure function of its ``ShardSpec`` (the writer owns the
bytes), so every engine runs this same function and the output is the same;
this module is the whole interface an engine needs, with ``plan``. Annotators
load once per process (``layers.tools_for``). Each finished article is
reported through ``tick``, which an engine points at its progress bar.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kronika.assemble import assemble, choose_entities
from kronika.build.plan import ShardSpec
from kronika.gold import gold_path, read_gold
from kronika.ingest import Document, SeedError, read_seed, seed_bytes, shown
from kronika.layers import EnvironmentFailure, LayerCache, Layers, Tools, automatic_layers, tools_for
from kronika.lexicon import entries_digest
from kronika.splits import SPLITS
from kronika.views import SentenceTable, mention_rows, sentence_spans
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

    @property
    def documents(self) -> int:
        return sum(o["num_rows"] for key, o in self.outputs.items() if key.startswith("documents/"))


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


def _layers(doc: Document, tools: Tools, cache: LayerCache | None) -> tuple[Layers, bool]:
    """A document's automatic layers, and whether they came from the cache (then no model loads)."""
    if cache is not None:
        found = cache.get(doc.sha256, tools.fingerprint)
        if found is not None:
            return found, True
    tools.load()
    layers = automatic_layers(doc, tools)
    if cache is not None:
        cache.put(doc.sha256, tools.fingerprint, layers)
    return layers, False


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
