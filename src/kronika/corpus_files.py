"""Where a corpus keeps its rows: configs, splits and shards, read from the file names.

Shards are named as ``push_to_hub`` names them (``<config>/<split>-NNNNN-of-NNNNN.parquet``),
so the split of every file is in its name. Readers (stats, Croissant, diff) take the
splits from there rather than assuming ``train``: a corpus with validation and test
splits, or with only some of them, is read the same way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SHARD_RE = re.compile(r"^(?P<split>\w+(?:\.\w+)*)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet$")
SPLIT_ORDER = ("train", "validation", "test")


def split_of(name: str) -> str | None:
    """The split a shard's file name names, or None for a file that is no shard."""
    match = SHARD_RE.match(name)
    return match["split"] if match else None


def shards(corpus: Path) -> dict[str, dict[str, list[Path]]]:
    """``{config: {split: [shard paths]}}``, configs by name, splits train/validation/test first."""
    found: dict[str, dict[str, list[Path]]] = {}
    for path in sorted(corpus.glob("*/*.parquet")):
        split = split_of(path.name)
        if split is not None:
            found.setdefault(path.parent.name, {}).setdefault(split, []).append(path)
    return {config: dict(sorted(splits.items(), key=lambda kv: split_rank(kv[0]))) for config, splits in sorted(found.items())}


def split_rank(split: str) -> tuple[int, str]:
    """Sort key putting the usual splits in their usual order, others after by name."""
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def manifest(corpus: Path) -> dict[str, Any]:
    """The corpus manifest; an empty one when it is missing (a hand-made folder)."""
    try:
        return json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
