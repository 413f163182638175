"""Splits: every document goes to ``train``, ``validation`` or ``test``, deterministically.

* A document's split comes from a hash of its duplicate cluster's id (its own
  id when it has no copy), so copies never straddle splits.
* A seed can be pinned to a split in ``seeds/splits.tsv`` (``id<TAB>split``), for
  curated test sets; a pin moves the document's whole cluster.
* Adding documents never moves an existing one: the previous corpus, when it
  was split by the same rule, is the ledger. A document keeps the split it had,
  and a new copy of it joins that split.

The proportions are set here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

SPLITS = ("train", "validation", "test")
PROPORTIONS = {"train": 80, "validation": 10, "test": 10}  # percent
RULE = "sha256-of-cluster-" + "/".join(str(PROPORTIONS[s]) for s in SPLITS)
PINS_FILE = "splits.tsv"


class SplitError(ValueError):
    """A bad pin file; one line naming the file and line."""


def hashed_split(key: str) -> str:
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 100
    for name in SPLITS:
        if bucket < PROPORTIONS[name]:
            return name
        bucket -= PROPORTIONS[name]
    return SPLITS[-1]


def read_pins(seeds_dir: Path) -> dict[str, str]:
    """``seeds/splits.tsv``: one ``id<TAB>split`` a line; ``#`` starts a comment."""
    path = seeds_dir / PINS_FILE
    if not path.exists():
        return {}
    pins: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SplitError(f"{path}: cannot be read: {err}") from None
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in SPLITS:
            raise SplitError(f"{path}:{number}: expected `id<TAB>split` with split one of {', '.join(SPLITS)}")
        pins[parts[0]] = parts[1]
    return pins


def assign(
    ids: list[str], cluster_of: Mapping[str, str], pins: Mapping[str, str], before: Mapping[str, str]
) -> dict[str, str]:
    """The split of every id.

    ``cluster_of`` maps the ids that have copies to their cluster id;
    ``before`` maps ids to the split they had in the previous corpus.
    """
    members: dict[str, list[str]] = {}
    for doc_id in ids:
        members.setdefault(cluster_of.get(doc_id, doc_id), []).append(doc_id)
    out: dict[str, str] = {}
    for cluster, group in members.items():
        pinned = sorted({pins[doc_id] for doc_id in group if doc_id in pins})
        if len(pinned) > 1:
            raise SplitError(f"{PINS_FILE}: copies of {cluster} are pinned to different splits ({', '.join(pinned)})")
        known = sorted(doc_id for doc_id in group if doc_id in before)
        choice = pinned[0] if pinned else before[known[0]] if known else hashed_split(cluster)
        for doc_id in group:
            out[doc_id] = choice if pinned else before.get(doc_id, choice)
    return out
