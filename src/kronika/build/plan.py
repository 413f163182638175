"""The shard plan: where the sorted seeds are cut, and each shard's ``ShardSpec``.

A spec is all a shard needs (plain data, JSON for engines that ship work as
data), so the engines depend on this module and ``shard``, never on the driver.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kronika.splits import SPLITS

DEFAULT_SHARD_SIZE = 250


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
    """Shards of one split each, contiguous in id order, about ``shard_size`` seeds
    each (see ``cut_points``): the train shards first, then validation, then test.

    ``placement`` gives each seed's split and duplicate cluster; a shard writes
    one file per config. Cutting each split apart, rather than the seeds as a
    whole, keeps the small splits in few files: cut together, every shard held
    all three splits, and the news corpus had 17 validation and 17 test files of
    about 25 documents each, which cost `validate` as much to open as the 17 train
    files (and readers of the Hub's files the same).
    """
    where = {p.stem: placement.get(p.stem, (SPLITS[0], None, 1)) for p in seeds}
    order = {split: i for i, split in enumerate(SPLITS)}
    groups: dict[str, list[Path]] = {}
    for seed in seeds:
        groups.setdefault(where[seed.stem][0], []).append(seed)
    chunks = []
    for split in sorted(groups, key=lambda s: (order.get(s, len(order)), s)):
        group = groups[split]
        cuts = cut_points([p.stem for p in group], shard_size)
        chunks += [group[a:b] for a, b in zip([0, *cuts], cuts)]
    return [
        ShardSpec(
            i, tuple(str(p) for p in chunk), str(root), str(stage),
            placement=tuple(where[p.stem] for p in chunk), **common,
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
