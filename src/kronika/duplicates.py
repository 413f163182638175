"""Duplicates: exact copies and near-copies across the whole corpus.

News comes back republished: the same agency wire with a changed headline or
a corrected name. Nothing is deleted here; documents are grouped so that the
card can report the copies and the splits can keep every copy on one side.

* **Exact**: the same normalised text (NFKC, case-folded, words only).
* **Near**: MinHash over word 5-grams with FineWeb's 14 bands x 8 rows
  (rensa), and every candidate pair from a shared band verified by the exact
  Jaccard similarity of the two 5-gram sets (at least ``MIN_JACCARD``).

A signature depends only on the text, so it is cached by the seed's sha256
(``SignatureCache``): adding one article hashes one article. Clusters are
the connected components of the verified pairs; a cluster is named by its
smallest id. Everything is a pure function of the texts: deterministic.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kronika.atomic import write_text
from kronika.record import copy_words

BANDS, ROWS = 14, 8
SHINGLE_WORDS = 5
MIN_JACCARD = 0.7  # 14 x 8 bands put the S-curve's midpoint at about 0.72
SEED = 20240601  # the permutations; changing it changes the signatures
SIGNATURE_FORMAT = f"minhash-{BANDS}x{ROWS}-w{SHINGLE_WORDS}-s{SEED}-1"


@dataclass(frozen=True)
class Signature:
    exact: str  # sha256 of the normalised words
    bands: tuple[str, ...]  # one hash per LSH band; () when the text has too few words


@dataclass(frozen=True)
class Cluster:
    id: str  # the smallest member id
    size: int


words = copy_words  # the one definition, shared with ``kronika.validate``


def shingles(tokens: list[str]) -> set[str]:
    return set(_windows(tokens))


def _windows(tokens: list[str]) -> list[str]:
    """Every run of ``SHINGLE_WORDS`` words, joined (repeats kept: MinHash ignores them)."""
    return list(map(" ".join, zip(*(tokens[i:] for i in range(SHINGLE_WORDS)))))


NO_WORDS = hashlib.sha256(b"").hexdigest()  # the ``exact`` hash of a text without words


def signature(text: str) -> Signature:
    tokens = words(text)
    exact = hashlib.sha256(" ".join(tokens).encode()).hexdigest()
    grams = _windows(tokens)
    if not grams:
        return Signature(exact, ())
    from rensa import RMinHash  # imported here: validation and the viewer never need it

    minhash = RMinHash(num_perm=BANDS * ROWS, seed=SEED)
    minhash.update(grams)
    values = minhash.digest()
    bands = tuple(
        hashlib.blake2b(repr(values[b * ROWS : (b + 1) * ROWS]).encode(), digest_size=8).hexdigest() for b in range(BANDS)
    )
    return Signature(exact, bands)


def jaccard(a: str, b: str) -> float:
    left, right = shingles(words(a)), shingles(words(b))
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def clusters(
    signatures: dict[str, Signature], text_of: Callable[[str], str], verdicts: dict[str, bool] | None = None
) -> dict[str, Cluster]:
    """Cluster of every document that has copies (documents alone are left out).

    ``text_of(id)`` gives a document's text; it is called only for candidate
    pairs, to verify them. ``verdicts`` keeps each verified pair's outcome by its
    two ``exact`` hashes (the words decide the Jaccard), so a later build reads
    no text for pairs it has seen (``SignatureCache.verdicts``).
    """
    verdicts = {} if verdicts is None else verdicts

    def near(a: str, b: str) -> bool:
        key = " ".join(sorted((signatures[a].exact, signatures[b].exact)))
        if key not in verdicts:
            verdicts[key] = jaccard(text_of(a), text_of(b)) >= MIN_JACCARD
        return verdicts[key]

    parent = {doc_id: doc_id for doc_id in signatures}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    # texts without a word ("***", "2024 - 2025") all hash alike; they copy nothing
    for group in _groups((doc_id, sig.exact) for doc_id, sig in signatures.items() if sig.exact != NO_WORDS):
        for other in group[1:]:
            join(group[0], other)
    for a, b in sorted(_candidates(signatures)):
        if find(a) != find(b) and near(a, b):
            join(a, b)
    members: dict[str, list[str]] = defaultdict(list)
    for doc_id in signatures:
        members[find(doc_id)].append(doc_id)
    return {
        doc_id: Cluster(min(group), len(group))
        for group in members.values() if len(group) > 1 for doc_id in group
    }


def _groups(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    by_key: dict[str, list[str]] = defaultdict(list)
    for doc_id, key in pairs:
        by_key[key].append(doc_id)
    return [sorted(group) for group in by_key.values() if len(group) > 1]


def _candidates(signatures: dict[str, Signature]) -> set[tuple[str, str]]:
    """Pairs that share at least one band (each pair once, smaller id first)."""
    pairs: set[tuple[str, str]] = set()
    for band in range(BANDS):
        keyed = ((doc_id, sig.bands[band]) for doc_id, sig in signatures.items() if sig.bands)
        for group in _groups(keyed):
            pairs.update((a, b) for i, a in enumerate(group) for b in group[i + 1 :])
    return pairs


class SignatureCache:
    """Signatures by seed sha256 and near-copy verdicts, one JSON file each under
    ``<dir>/signatures/<format>/``. Safe to delete.

    One file, not one per seed: a build looks every seed up, and opening 4,000 small
    files cost more than the rest of the placement. ``save`` writes what a build added.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder / "signatures" / SIGNATURE_FORMAT if folder else None
        self._known: dict[str, Signature] = {  # malformed entries are dropped rather than fail the build
            sha: Signature(v[0], tuple(v[1])) for sha, v in self._read("index.json").items()
            if isinstance(v, list) and len(v) == 2 and isinstance(v[1], list)
        }
        self._added = False
        self._verdicts_read = 0  # how many verdicts ``verdicts`` found (``clusters`` only adds)

    def has(self, sha256: str) -> bool:
        return sha256 in self._known

    def add(self, sha256: str, found: Signature) -> Signature:
        """Keep a signature computed elsewhere (in a worker process)."""
        self._known[sha256] = found
        self._added = True
        return found

    def get(self, sha256: str, text: Callable[[], str]) -> Signature:
        """The signature of the seed with these bytes; ``text()`` is called only on a miss."""
        found = self._known.get(sha256)
        if found is None:
            found = self._known[sha256] = signature(text())
            self._added = True
        return found

    def verdicts(self) -> dict[str, bool]:
        """The near-copy verdicts of earlier builds (``clusters`` adds to them)."""
        found = {k: v for k, v in self._read("verdicts.json").items() if isinstance(v, bool)}
        self._verdicts_read = len(found)
        return found

    def save(self, verdicts: dict[str, bool]) -> None:
        """Store new signatures and verdicts (a cache that cannot be written only costs speed)."""
        if self.folder is None:
            return
        try:
            if self._added:
                write_text(self.folder / "index.json", json.dumps({k: [v.exact, list(v.bands)] for k, v in sorted(self._known.items())}))
                self._added = False
            if len(verdicts) != self._verdicts_read:
                write_text(self.folder / "verdicts.json", json.dumps(verdicts, sort_keys=True))
        except OSError:
            pass

    def _read(self, name: str) -> dict[str, Any]:
        if self.folder is None:
            return {}
        try:
            data = json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


