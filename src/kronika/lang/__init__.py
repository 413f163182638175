"""Language packs: one folder per language (``lang/<code>/``), read as plain files.

Why files and not tables in the modules: adding a language used to mean editing
seven modules whose copies of the same knowledge disagreed. Now a language is
one folder (plus its entries in ``kronika.registry``), and the shared modules
read every folder's files:

* ``boilerplate.txt`` -- site-furniture phrases, one a line (``kronika.blocks``);
* ``abbreviations.txt`` -- forms that keep their dots as one token (``kronika.tokens``);
* ``sentence_joins.txt`` -- short forms re-joined with the next sentence (``kronika.sentences``).

Every language's list applies to every document (a Czech teaser in a Polish
article is still boilerplate), as it always did. A folder may hold more files
for its own annotators (``pl/words.txt``, ``pl/lexicon.tsv``); a file's format
is in its header. This module reads with the standard library only, so the
shared modules import it without any annotator installed.

``PENDING`` holds the lines of languages whose pack does not ship the file yet
(the packs for bg, cs, en, ru, sl and uk are written elsewhere): a pack's file,
once there, is read instead of its ``PENDING`` lines, so moving them into the
pack verbatim changes nothing.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

CODE = re.compile(r"^[a-z]{2,3}$")

PENDING: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "boilerplate.txt": ("watch video", "watch:", "read more", "read also", "advertisement", "subscribe to"),
        "abbreviations.txt": ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "e.g.", "i.e."),
        "sentence_joins.txt": ("mr", "mrs", "ms", "st", "sen", "rep", "gov", "vs", "e.g", "i.e"),
    },
    "cs": {
        "boilerplate.txt": ("čtěte také", "přečtěte si také"),
        "sentence_joins.txt": ("ing",),
    },
    "sl": {"boilerplate.txt": ("preberite še", "preberi tudi")},
    "ru": {"boilerplate.txt": ("читайте также", "смотрите также")},
    "uk": {"boilerplate.txt": ("читайте також", "дивіться також")},
    "bg": {"boilerplate.txt": ("вижте още", "прочетете още")},
}


def folder(code: str) -> Traversable:
    """The pack of ``code`` (which need not exist)."""
    return resources.files(__name__).joinpath(code)


@cache
def languages() -> tuple[str, ...]:
    """Codes of the language folders that exist, sorted."""
    root = resources.files(__name__)
    return tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and CODE.match(p.name)))


def read_text(code: str, name: str) -> str | None:
    """The text of ``lang/<code>/<name>``, or None if the pack has no such file."""
    path = folder(code).joinpath(name)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _content_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def lines(code: str, name: str) -> tuple[str, ...]:
    """The non-comment lines of one pack's file (its ``PENDING`` lines if it has none)."""
    text = read_text(code, name)
    if text is None:
        return PENDING.get(code, {}).get(name, ())
    return tuple(_content_lines(text))


def words(code: str, name: str) -> tuple[str, ...]:
    """``lines`` split at white space."""
    return tuple(w for line in lines(code, name) for w in line.split())


def _codes() -> list[str]:
    return sorted(set(languages()) | set(PENDING))


@cache
def every_line(name: str) -> tuple[str, ...]:
    """The lines of ``name`` in every pack (pending ones too), in code order: what
    the shared modules apply to every document."""
    return tuple(item for code in _codes() for item in lines(code, name))


@cache
def every_word(name: str) -> tuple[str, ...]:
    """``every_line`` split at white space."""
    return tuple(item for code in _codes() for item in words(code, name))


@cache
def sections(code: str, name: str) -> dict[str, frozenset[str]]:
    """A sectioned word list (``pl/words.txt``): ``[name]`` lines start a section,
    the other lines hold its words separated by white space."""
    text = read_text(code, name)
    if text is None:
        raise FileNotFoundError(f"language pack {code!r} has no {name}")
    out: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in _content_lines(text):
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1].strip(), set())
        elif current is None:
            raise ValueError(f"lang/{code}/{name}: words before the first [section]: {line!r}")
        else:
            current.update(line.split())
    return {key: frozenset(value) for key, value in out.items()}
