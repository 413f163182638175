"""The entity lexicon, language-neutral: entries, surface keys, ids, and a table
from surface form to entity.

A language pack supplies the rows (``lang/pl/lexicon.tsv``, written from general
knowledge: nothing in it comes from an evaluation set; its format is in its
header) and a ``forms(base, label)`` function that gives every surface form of a
base form (``kronika.lang.pl.inflect`` inflects with Morfeusz). Gold entities of
the corpus are added as extra rows and inflected the same way.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

from kronika.record import LABELS

TOKEN_RE = re.compile(r"[^\W_]+(?:[-‐'’][^\W_]+|\.(?=[^\W\d_]{2})[^\W_]+)*|[^\w\s]|_+")


@dataclass(frozen=True)
class LexiconEntry:
    """One entity known in advance: its base form, label and cross-document id."""

    lemma: str
    label: str
    entity_id: str


@dataclass(frozen=True, slots=True)
class Hit:
    """What a surface form in the lexicon stands for."""

    lemma: str
    label: str
    entity_id: str


def ascii_fold(text: str) -> str:
    """ASCII transliteration for ids (ł has no decomposition, so it is mapped by hand)."""
    text = text.replace("ł", "l").replace("Ł", "L")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if ord(c) < 128)


def match_case(form: str, model: str) -> str:
    """``form`` written with the capitalisation of ``model`` (MOSKVA, Moskva, moskva)."""
    if model.isupper() and len(model) > 1:
        return form.upper()
    if model[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


def make_entity_id(label: str, lemma: str) -> str:
    """Stable id for an entity not in the lexicon: ``PER-Wladimir-Putin``."""
    words = re.findall(r"[A-Za-z0-9]+", ascii_fold(lemma))
    return f"{label}-{'-'.join(words) if words else 'X'}"


def tokens_of(text: str) -> list[tuple[int, int, str]]:
    """Word and punctuation tokens with code-point offsets."""
    return [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(text)]


def surface_key(text: str) -> str:
    """Normalise whitespace so a lexicon form matches however the text spaces it."""
    toks = tokens_of(text)
    out: list[str] = []
    for i, (s, _e, t) in enumerate(toks):
        if i and s > toks[i - 1][1]:
            out.append(" ")
        out.append(t)
    return "".join(out)


# -------------------------------------------------------------------- loading
@dataclass(frozen=True)
class Row:
    entry: LexiconEntry
    aliases: tuple[str, ...]  # other base forms (inflected; mentions keep their own base form)
    same_lemma: tuple[str, ...]  # variants whose mentions take the entry's lemma (inflected)
    surfaces: tuple[str, ...]  # exact extra surface forms (not inflected), lemma = entry lemma


def read_rows(text: str) -> Iterator[Row]:
    """Parse ``lexicon.tsv``: base, label, entity_id (blank = derived), aliases, surfaces."""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\n").split("\t") + ["", "", ""]
        lemma, label, eid = cols[0].strip(), cols[1].strip(), cols[2].strip()
        if label not in LABELS:
            raise ValueError(f"lexicon: bad label {label!r} in line {line!r}")
        eid = eid or make_entity_id(label, lemma)
        aliases = [a.strip() for a in cols[3].split("|") if a.strip()]
        yield Row(
            LexiconEntry(lemma, label, eid),
            tuple(a for a in aliases if not a.startswith("~")),
            tuple(a[1:] for a in aliases if a.startswith("~")),
            tuple(s.strip() for s in cols[4].split("|") if s.strip()),
        )


def entries_digest(extra: Iterable[LexiconEntry] = ()) -> str:
    """sha256 of extra entries (the corpus's gold entities), order and duplicates aside.

    The lexicon files themselves enter the cache key through the registry (their
    annotators' ``data`` files), so only what a build adds is hashed here."""
    blob = "".join(f"\n{e.lemma}\t{e.label}\t{e.entity_id}" for e in sorted_entries(extra))
    return hashlib.sha256(blob.encode()).hexdigest()


def sorted_entries(extra: Iterable[LexiconEntry]) -> list[LexiconEntry]:
    return sorted(set(extra), key=lambda e: (e.lemma, e.label, e.entity_id))


Forms = Callable[[str, str], tuple[str, ...]]


class Lexicon:
    """Surface form -> Hit for the pack's language: every form ``forms`` gives."""

    def __init__(self, forms: Forms, rows: Iterable[Row], extra: Iterable[LexiconEntry] = ()) -> None:
        self.inflected: dict[str, Hit] = {}
        self.by_lemma: dict[tuple[str, str], str] = {}
        self._forms = forms
        for row in rows:
            self._add_row(row)
        for entry in sorted_entries(extra):
            self._add_row(Row(entry, (), (), ()))
        self.first: dict[str, int] = {}
        for key in self.inflected:
            first = tokens_of(key)
            n = len(first)
            self.first[first[0][2]] = max(self.first.get(first[0][2], 0), n)

    def _put(self, form: str, hit: Hit) -> None:
        self.inflected.setdefault(form, hit)
    def _add_row(self, row: Row) -> None:
        e = row.entry
        self.by_lemma.setdefault((e.lemma, e.label), e.entity_id)
        for base in (e.lemma, *row.aliases):
            self.by_lemma.setdefault((base, e.label), e.entity_id)
            hit = Hit(base, e.label, e.entity_id)
            for form in self._forms(base, e.label):
                self._put(form, hit)
        words = e.lemma.split()
        if e.label == "PER" and len(words) > 1 and len(words[-1]) > 3 and words[-1][:1].isupper():
            self._add_surname(words[-1], e)
        for variant in row.same_lemma:
            for form in self._forms(variant, e.label):
                self._put(form, Hit(e.lemma, e.label, e.entity_id))
        for surface in row.surfaces:
            self._put(surface_key(surface), Hit(e.lemma, e.label, e.entity_id))

    def _add_surname(self, surname: str, e: LexiconEntry) -> None:
        """A known person's surname alone names the same person ("Putina" -> Putin)."""
        hit = Hit(surname, "PER", e.entity_id)
        for form in self._forms(surname, "PER"):
            self._put(form, hit)

    def entity_id(self, lemma: str, label: str) -> str:
        """Lexicon id of a base form, else the stable derived id."""
        return self.by_lemma.get((lemma, label)) or make_entity_id(label, lemma)
