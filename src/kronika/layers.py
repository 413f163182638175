"""Automatic annotation layers of one document, and their cache.

The layers (language tags, automatic entities) are computed from the text
alone by the annotators of ``kronika.registry``, so they are cached under the
seed's sha256 plus a fingerprint of every registered annotator (name, version,
package versions, data files) and of the gold lexicon entries. Editing a seed,
upgrading a tool, registering an annotator or growing the lexicon changes the
key; stale entries are never read. The cache is safe to delete.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from kronika import entities, language, registry
from kronika.ingest import Document
from kronika.lexicon import entries_digest
from kronika.goldpass import GOLD_PASS, GOLD_PASS_RANK, GoldPass
from kronika.record import LanguageSpan, Mention

LAYER_FORMAT = 1


class EnvironmentFailure(RuntimeError):
    """The machine failed (a model would not load, the cache disk is full): no seed is to blame.

    The build stops on it instead of rejecting seed after seed.
    """


@dataclass(frozen=True)
class Layers:
    language: str
    language_script: str
    language_score: float
    languages: list[LanguageSpan]
    entities: list[Mention]
    entity_status: str

    def to_json(self) -> str:
        """As ``asdict`` would give it, built by hand: ``asdict`` deep-copies every
        mention and was a third of what a build spent writing its cache."""
        data = {
            "language": self.language, "language_script": self.language_script, "language_score": self.language_score,
            "languages": [s.to_dict() for s in self.languages], "entities": [m.to_dict() for m in self.entities],
            "entity_status": self.entity_status,
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Layers:
        data = json.loads(text)
        data["languages"] = [LanguageSpan(**s) for s in data["languages"]]
        data["entities"] = [Mention(**m) for m in data["entities"]]
        return cls(**data)


class Tools:
    """The registered annotators of one process, loaded on first use: a build whose
    layers all come from the cache never loads a model.

    ``entries``: the registry's entries (default: every registered one). The
    fingerprint, the language tagger and the entity layers all come from them.
    """

    def __init__(self, lexicon: tuple[entities.LexiconEntry, ...], entries: tuple[registry.Annotator, ...] | None = None) -> None:
        self.lexicon = lexicon
        self.entries = registry.entries() if entries is None else entries
        self.ranks = registry.ranks(self.entries)
        # The automatic layers never see the gold lexicon (it is a pass of its own, after
        # the cache: kronika.goldpass), so a gold edit leaves their cache valid.
        self.fingerprint = fingerprint((), self.entries)
        self.seconds: dict[str, float] = {}  # annotator (or "loading models") -> seconds, for the build report
        self._loaded: set[str] = set()

    def take_seconds(self) -> dict[str, float]:
        """The time spent since the last call, per annotator, rounded (then reset)."""
        taken, self.seconds = self.seconds, {}
        return {name: round(value, 3) for name, value in sorted(taken.items())}

    def _clock(self, name: str, started: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def load(self) -> None:
        """Load the annotators now; a failure here is the machine's, not a seed's."""
        started = time.perf_counter()
        try:
            self.tagger, self.annotators  # noqa: B018 (cached properties: loads them)
            if "tagger" not in self._loaded:
                self._loaded.add("tagger")
                self._clock("loading models", started)
        except (ImportError, OSError, MemoryError, RuntimeError) as err:
            raise EnvironmentFailure(f"cannot load the annotators: {type(err).__name__}: {err}") from None

    @cached_property
    def tagger(self) -> language.LanguageTagger:
        return registry.load(registry.language_annotator(self.entries), lingua=_shared_lingua)

    @cached_property
    def annotators(self) -> list[tuple[Any, list[registry.Annotator]]]:
        """(instance, the entity entries it serves) in merge order; entries sharing a
        factory (and argument) share one instance."""
        groups: dict[tuple[str, str | None], list[registry.Annotator]] = {}
        for entry in registry.of_kind("entities", self.entries):
            groups.setdefault((entry.factory, entry.argument), []).append(entry)
        return [(registry.load(group[0]), group) for group in groups.values()]

    @cached_property
    def gold_pass(self) -> GoldPass:
        return GoldPass(self.lexicon)

    def with_gold(self, text: str, language: str, found: list[Mention], status: str) -> tuple[list[Mention], str]:
        """The automatic mentions merged with the gold lexicon pass (which wins equal spans).

        A document no annotator serves gets ``lexicon`` where gold entities were found in it.
        """
        started = time.perf_counter()
        matches = self.gold_pass.annotate(text, language)
        self._clock(GOLD_PASS, started)
        if not matches:
            return found, status
        merged = entities.merge_layers({GOLD_PASS: matches, "automatic": found}, {GOLD_PASS: GOLD_PASS_RANK, "automatic": GOLD_PASS_RANK + 1})
        return merged, "lexicon" if status == "none" else status

    def entity_layers(self, text: str, language: str) -> dict[str, list[Mention]]:
        """Every registered entity layer that serves ``language``, by layer name."""
        out: dict[str, list[Mention]] = {}
        for instance, group in self.annotators:
            serving = [e for e in group if e.serves(language)]
            if not serving:
                continue
            started = time.perf_counter()
            found = registry.layers_of(instance, serving[0], text, language)
            self._clock("+".join(e.name for e in serving), started)
            for entry in serving:
                out[entry.name] = found.get(entry.name, [])
        return out

    def entities(self, text: str, language: str) -> list[Mention]:
        """The merged entity layers of ``text`` (``entities.merge_layers``, registry ranks)."""
        return entities.merge_layers(self.entity_layers(text, language), self.ranks)

    def entity_status(self, language: str) -> str:
        return registry.entity_status(language, self.entries)


def fingerprint(lexicon: tuple[entities.LexiconEntry, ...], entries: tuple[registry.Annotator, ...]) -> str:
    """The layer cache's key: the layer format, every entry's fingerprint (names,
    versions, package versions, data files) and the gold lexicon."""
    parts = [str(LAYER_FORMAT), registry.fingerprint(entries), entries_digest(lexicon)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


_shared_lingua: Any = None


def share_lingua(lingua: Any) -> Any:
    """Make this process's tagger use ``lingua`` (a ``language.Lingua`` or a proxy
    to one served to every worker of a build) instead of loading its own models;
    returns the one shared before (None: the tagger's own)."""
    global _shared_lingua
    previous, _shared_lingua = _shared_lingua, lingua
    return previous


def describe_tools(models: tuple[str, ...] = ()) -> dict[str, Any]:
    """Annotator names and tool versions, without loading any model (the registry's ``describe``)."""
    return registry.describe(registered(models))


@cache
def tools_for(lexicon: tuple[entities.LexiconEntry, ...], models: tuple[str, ...] = ()) -> Tools:
    """One Tools per process (per lexicon and set of trained model folders)."""
    return Tools(lexicon, registered(models))


def registered(models: tuple[str, ...] = ()) -> tuple[registry.Annotator, ...]:
    """Every registered entry, plus one per trained model folder (``kronika train``)."""
    return registry.entries([registry.model_entry(folder) for folder in models])


def gold_lexicon(gold_files: Any) -> tuple[entities.LexiconEntry, ...]:
    """Lexicon entries learned from gold layers: each (lemma, label, id) once, sorted."""
    entries = {(m["lemma"], m["label"], m["entity_id"]) for data in gold_files for m in data["mentions"]}
    return tuple(entities.LexiconEntry(*e) for e in sorted(entries))


def automatic_layers(doc: Document, tools: Tools) -> Layers:
    return automatic_layers_later(doc, tools)()


def automatic_layers_later(doc: Document, tools: Tools) -> Callable[[], Layers]:
    """The document's language now, its other layers by the call returned.

    The language spans may wait for lingua (``tag_document_later``; a tagger without
    it tags at once), and the entity layers need only the document language: a shard
    tags all its documents first and runs the entity layers after, so a served lingua
    has that time to answer (``build.shard``)."""
    name = registry.language_annotator(tools.entries).name
    started = time.perf_counter()
    later = getattr(tools.tagger, "tag_document_later", None)
    tagged = later(doc.text, doc.blocks) if later is not None else tools.tagger.tag_document(doc.text, doc.blocks)
    tools._clock(name, started)

    def finish() -> Layers:
        found = tools.entities(doc.text, tagged.language)
        started = time.perf_counter()
        spans = tagged.result().spans if later is not None else tagged.spans
        tools._clock(name, started)
        return Layers(
            language=tagged.language,
            language_script=tagged.language_script,
            language_score=tagged.score,
            languages=list(spans),
            entities=found,
            entity_status=tools.entity_status(tagged.language),
        )

    return finish


class LayerCache:
    """Content-addressed JSON files: ``<dir>/<key[:2]>/<key>.json``.

    ``put`` hands the file to a writer thread: creating thousands of small files is
    system-call time that runs beside the annotation (1.6 s for the news folder,
    a twentieth of a first build). ``close`` waits for it and raises the first
    failure, so a full disk still stops the build.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: set[Path] = set()  # subfolders known to exist (a mkdir per seed cost a syscall each)
        self._queue: queue.SimpleQueue[tuple[Path, str] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._failure: EnvironmentFailure | None = None

    def _path(self, sha256: str, fingerprint: str) -> Path:
        key = hashlib.sha256(f"{sha256}:{fingerprint}".encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.json"

    def get(self, sha256: str, fingerprint: str) -> Layers | None:
        path = self._path(sha256, fingerprint)
        try:
            return Layers.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def put(self, sha256: str, fingerprint: str, layers: Layers) -> None:
        if self._failure is not None:
            raise self._failure
        if self._writer is None:
            self._writer = threading.Thread(target=self._drain, name="layer-cache-writer", daemon=True)
            self._writer.start()
        self._queue.put((self._path(sha256, fingerprint), layers.to_json()))

    def close(self) -> None:
        """Wait for every pending write; raise the first one that failed."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        if self._failure is not None:
            raise self._failure

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is None:
                try:
                    self._write(*item)
                except EnvironmentFailure as failure:
                    self._failure = failure

    def _write(self, path: Path, text: str) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as err:
            with suppress(OSError):  # a file where a folder should be fails this too
                tmp.unlink(missing_ok=True)
            raise EnvironmentFailure(f"layer cache {self.folder}: {err.strerror or err} (use --cache DIR elsewhere, or --no-cache)") from None
