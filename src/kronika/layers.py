"""Automatic annotation layers of one document, and their cache.

The layers (language tags, automatic entities) are computed from the text
alone, so they are cached under the seed's sha256 plus a fingerprint of every
annotator name, tool version and lexicon entry that produced them. Editing a
seed, upgrading a tool or growing the lexicon changes the key; stale entries
are never read. The cache is safe to delete.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from functools import cache, cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from kronika import entities, language
from kronika.ingest import Document
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
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Layers:
        data = json.loads(text)
        data["languages"] = [LanguageSpan(**s) for s in data["languages"]]
        data["entities"] = [Mention(**m) for m in data["entities"]]
        return cls(**data)


class Tools:
    """The annotators of one process, loaded on first use: a build whose layers all
    come from the cache never loads a model."""

    def __init__(self, lexicon: tuple[entities.LexiconEntry, ...]) -> None:
        self.lexicon = lexicon
        parts = [str(LAYER_FORMAT), language.ANNOTATOR, json.dumps(language.tool_versions(), sort_keys=True)]
        parts.append(entities.fingerprint(lexicon))
        self.fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def load(self) -> None:
        """Load the annotators now; a failure here is the machine's, not a seed's."""
        try:
            self.tagger, self.annotator  # noqa: B018 (cached properties: loads them)
        except (ImportError, OSError, MemoryError, RuntimeError) as err:
            raise EnvironmentFailure(f"cannot load the annotators: {type(err).__name__}: {err}") from None

    @cached_property
    def tagger(self) -> language.LanguageTagger:
        if _shared_lingua is not None:
            return language.LanguageTagger(lingua=_shared_lingua)
        return language.get_tagger()

    @cached_property
    def annotator(self) -> entities.EntityAnnotator:
        return entities.get_annotator(self.lexicon)


_shared_lingua: Any = None


def share_lingua(lingua: Any) -> None:
    """Make this process's tagger use ``lingua`` (a ``language.Lingua`` or a proxy
    to one served to every worker of a build) instead of loading its own models."""
    global _shared_lingua
    _shared_lingua = lingua


def describe_tools() -> dict[str, Any]:
    """Annotator names and tool versions, without loading any model."""
    return {
        "language": {"layer": language.ANNOTATOR, "tools": language.tool_versions()},
        "entities": {"layers": list(entities.LAYERS), "tools": {"morfeusz2": _version("morfeusz2")}},
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


@cache
def tools_for(lexicon: tuple[entities.LexiconEntry, ...]) -> Tools:
    """One Tools per process (per lexicon)."""
    return Tools(lexicon)


def gold_lexicon(gold_files: Any) -> tuple[entities.LexiconEntry, ...]:
    """Lexicon entries learned from gold layers: each (lemma, label, id) once, sorted."""
    entries = {(m["lemma"], m["label"], m["entity_id"]) for data in gold_files for m in data["mentions"]}
    return tuple(entities.LexiconEntry(*e) for e in sorted(entries))


def automatic_layers(doc: Document, tools: Tools) -> Layers:
    tagged = tools.tagger.tag_document(doc.text, doc.blocks)
    found = tools.annotator.annotate(doc.text, tagged.language)
    return Layers(
        language=tagged.language,
        language_script=tagged.language_script,
        language_score=tagged.score,
        languages=list(tagged.spans),
        entities=found,
        entity_status=entities.entity_status(tagged.language),
    )


class LayerCache:
    """Content-addressed JSON files: ``<dir>/<key[:2]>/<key>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

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
        path = self._path(sha256, fingerprint)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(layers.to_json(), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise EnvironmentFailure(f"layer cache {self.folder}: {err.strerror or err} (use --cache DIR elsewhere, or --no-cache)") from None
