"""Thin, cached wrapper around Morfeusz 2 (SGJP dictionary shipped in the wheel): the
Polish pack's morphology glue.

Morfeusz is the only linguistic resource of the Polish entity annotator: it
tells which capitalised words are first names, surnames, places or
institutions (the *qualifiers*), and it generates every inflected form of a
lemma, which is how the lexicon and the base forms of mentions are built.

Analyses are cached per word form: news text repeats its vocabulary, so after
a few hundred articles almost every lookup is a dict hit (that is what makes
the annotator fast enough).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

from kronika.lexicon import match_case  # noqa: F401 (the inflection code takes it from here)

PER_QUALS = frozenset({"imię", "nazwisko", "pseudonim"})
LOC_QUALS = frozenset({"nazwa_geograficzna"})
ORG_QUALS = frozenset({"nazwa_organizacji", "nazwa_instytucji", "nazwa_firmy"})
PRO_QUALS = frozenset({"marka"})
PROPER_QUALS = PER_QUALS | LOC_QUALS | ORG_QUALS | PRO_QUALS | {"nazwa_własna", "człon_nazwy_geograficznej"}
# What a lexicon entry's label prefers among the readings of a word it inflects
# ("Bank" read as a company before the common noun). Not the sets above on purpose:
# a pseudonym is no base for a person's paradigm, and a firm's name is a product's
# too; these pairs are what the shipped forms were made with.
LABEL_QUALS = {
    "PER": frozenset({"imię", "nazwisko"}),
    "LOC": frozenset({"nazwa_geograficzna"}),
    "ORG": frozenset({"nazwa_organizacji", "nazwa_instytucji", "nazwa_firmy"}),
    "PRO": frozenset({"marka", "nazwa_firmy"}),
    "EVT": frozenset(),
}
# The SGJP cases, in the order the rules prefer them when a form reads as several
# (nominative first, accusative before dative). The one case table of the pack.
CASES = ("nom", "gen", "acc", "dat", "inst", "loc", "voc")
NOMINAL = frozenset({"subst", "depr"})
ADJECTIVAL = frozenset({"adj", "ppas", "pact"})

MORFEUSZ_VERSION = "morfeusz2-1.99.15"


@dataclass(frozen=True, slots=True)
class Reading:
    """One Morfeusz interpretation of a word form."""

    orth: str
    lemma: str  # full lemma, with the homonym suffix ("Polak:Sm1~cy"), usable by generate
    base: str  # lemma without the suffix ("Polak")
    pos: str
    numbers: frozenset[str]
    cases: frozenset[str]
    genders: frozenset[str]
    quals: frozenset[str]
    rest: tuple[str, ...] = ()  # trailing tag fields: degree (pos/com/sup), aff/neg, aspect

    @property
    def proper(self) -> bool:
        return bool(self.quals & PROPER_QUALS) or (self.base[:1].isupper() and self.pos in NOMINAL)


# Tag fields, qualifier sets and trailing fields repeat across readings: one shared
# object each (interned below) keeps the per-form cache small. A reading took
# ~1.3 KB with its own frozensets; a worker that fills the 400,000-form cache
# would otherwise hold about a gigabyte of copies of the same few hundred sets.
_split = lru_cache(maxsize=4096)(lambda field: frozenset(field.split(".")))
_quals = lru_cache(maxsize=4096)(lambda quals: frozenset(quals))
_rest = lru_cache(maxsize=4096)(lambda fields: fields)


def make_reading(orth: str, lemma: str, tag: str, quals: list[str]) -> Reading:
    """Parse a positional tag like ``subst:sg:gen.acc:m1`` into sets."""
    parts = tag.split(":")
    pos = sys.intern(parts[0])
    numbers = cases = genders = frozenset()
    rest: tuple[str, ...] = ()
    if pos in NOMINAL or pos in ADJECTIVAL:
        if len(parts) >= 4:
            numbers, cases, genders = _split(parts[1]), _split(parts[2]), _split(parts[3])
            rest = _rest(tuple(parts[4:]))
    base = lemma.split(":", 1)[0] if ":" in lemma[1:] else lemma
    return Reading(orth, lemma, base, pos, numbers, cases, genders, _quals(tuple(quals)), rest)


class Morph:
    """Morfeusz analyser/generator with per-form caches (one per process)."""

    def __init__(self) -> None:
        import morfeusz2  # imported here so the rest of kronika works without it

        self._m = morfeusz2.Morfeusz(expand_tags=False)
        self._cache: dict[str, tuple[Reading, ...]] = {}
        self.generate = lru_cache(maxsize=65536)(self._generate)

    def analyse(self, word: str) -> tuple[Reading, ...]:
        """Readings of one word form (empty tuple for unknown words)."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        out: list[Reading] = []
        if word.isalpha() or "-" not in word:
            for _s, _e, (orth, lemma, tag, quals, _labels) in self._m.analyse(word):
                if tag == "ign" or _s != 0 or _e != 1:
                    continue
                out.append(make_reading(orth, lemma, tag, list(quals)))
        result = tuple(out)
        if len(self._cache) < 400_000:
            self._cache[word] = result
        return result

    def _generate(self, lemma: str) -> tuple[Reading, ...]:
        try:
            forms = self._m.generate(lemma)
        except Exception:  # Morfeusz raises on lemmas it cannot generate
            return ()
        return tuple(make_reading(o, lem, tag, list(q)) for o, lem, tag, q, _l in forms)

    def inflect(self, reading: Reading, case: str, number: str, gender: str | None = None) -> str | None:
        """The form of ``reading``'s lemma in ``case``/``number`` (and gender for adjectives)."""
        for form in self.generate(reading.lemma):
            if form.pos != reading.pos or case not in form.cases or number not in form.numbers:
                continue
            if reading.pos in NOMINAL and form.genders != reading.genders:
                continue
            if gender is not None and gender not in form.genders:
                continue
            if reading.pos in ADJECTIVAL and (form.lemma != reading.lemma or form.rest != reading.rest):
                continue
            return form.orth
        return None


