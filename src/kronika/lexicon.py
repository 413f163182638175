"""The entity lexicon: hand-written base forms expanded to every inflected form.

``data/lexicon.tsv`` is written from general knowledge (countries, capitals,
institutions, parties, media, brands, events); nothing in it comes from an
evaluation set. Its format is documented in the file header. Each base form
(and each alias) is inflected with Morfeusz: the head noun takes every case,
adjectives agreeing with it follow, genitive complements stay as they are
("Rada Bezpieczeństwa Narodowego" -> "Rady Bezpieczeństwa Narodowego"). Person
names inflect every part (apposition). Words Morfeusz does not know get a
guessed masculine declension on the last word ("Ryanair" -> "Ryanaira").

``data/lexicon_other.tsv`` lists exact surface forms for other languages; those
are never inflected (we have no morphology for them).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

from kronika.morph import ADJECTIVAL, MORFEUSZ_VERSION, NOMINAL, Morph, Reading, match_case

LABELS = ("PER", "ORG", "LOC", "EVT", "PRO")
CASES = ("nom", "gen", "dat", "acc", "inst", "loc", "voc")
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


# ------------------------------------------------------------------ inflection
LABEL_QUALS = {
    "PER": frozenset({"imię", "nazwisko"}),
    "LOC": frozenset({"nazwa_geograficzna"}),
    "ORG": frozenset({"nazwa_organizacji", "nazwa_instytucji", "nazwa_firmy"}),
    "PRO": frozenset({"marka", "nazwa_firmy"}),
    "EVT": frozenset(),
}
# Guessed case endings of foreign words (the bare form is kept in every case too).
FOREIGN_FEM = {"nom": ("a",), "gen": ("y", "i"), "dat": ("ie", "i"), "acc": ("ę",), "inst": ("ą",), "loc": ("ie", "i"), "voc": ("o",)}
FOREIGN_MASC = {"nom": ("",), "gen": ("a", "u"), "dat": ("owi", "u"), "acc": ("a", ""), "inst": ("em",), "loc": ("ie", "ze", "u"), "voc": ("ie", "u")}
FOREIGN_VOWEL = {"nom": ("",), "gen": ("'a", "’a", "'ego"), "dat": ("'owi", "'emu"), "acc": ("'a", "’a", "'ego"), "inst": ("'em", "’em", "'m"), "loc": ("'u", "'m"), "voc": ("",)}


def _nominals(morph: Morph, word: str, label: str) -> list[Reading]:
    """Nominative noun readings of ``word``, the label's proper-name class first."""
    rs = [r for r in morph.analyse(word) if r.pos in NOMINAL and "nom" in r.cases]
    quals = LABEL_QUALS.get(label, frozenset())
    if label == "PER":
        rs = [r for r in rs if r.quals & quals]
    return sorted(rs, key=lambda r: (not (r.quals & quals), r.base.lower() != word.lower(), not r.proper, "pt" in r.rest))


def _adjectival(morph: Morph, word: str) -> list[Reading]:
    return [r for r in morph.analyse(word) if r.pos in ADJECTIVAL and "nom" in r.cases and "neg" not in r.rest]


def _last_part(word: str) -> tuple[str, str]:
    """("Środkowo-", "Wschodnia"): hyphenated words inflect their last part only."""
    if "-" in word[1:]:
        head, _sep, tail = word.rpartition("-")
        return head + "-", tail
    return "", word


def _find_head(morph: Morph, words: list[str], label: str) -> int | None:
    """First noun that is not also an adjective agreeing forward ("Boże Narodzenie")."""
    cands = [i for i, w in enumerate(words) if w[:1].isalpha() and _nominals(morph, _last_part(w)[1], label)]
    for i in cands:
        nxt = words[i + 1] if i + 1 < len(words) else ""
        nxt_noun = _nominals(morph, nxt, label) if nxt[:1].isalpha() else []
        if not nxt_noun or _agreeing(morph, words[i], nxt_noun[0]) is None:
            return i
    if cands:
        return cands[0]
    last = len(words) - 1
    if words and words[last][:1].isupper() and words[last].isalpha() and not morph.analyse(words[last]):
        return last  # a foreign head ("Nowy Jork")
    return None


def _foreign_paradigm(word: str) -> dict[str, tuple[str, ...]]:
    low = word[-1:].lower()
    if low == "a" and len(word) > 2:
        return {c: tuple(word[:-1] + e for e in ends) + (word,) for c, ends in FOREIGN_FEM.items()}
    if low in "eiyo":
        return {c: tuple(word + e for e in ends) + (word,) for c, ends in FOREIGN_VOWEL.items()}
    if low.isalpha():
        soft = ("iem", "iego") if low in "kg" else ()
        return {c: tuple(word + e for e in ends + (soft if c == "inst" else ())) + (word,) for c, ends in FOREIGN_MASC.items()}
    return {c: (word,) for c in CASES}


def _head_paradigm(morph: Morph, word: str, label: str) -> tuple[Reading | None, dict[tuple[str, str], tuple[str, ...]]]:
    prefix, part = _last_part(word)
    rs = _nominals(morph, part, label)
    if not rs:
        par = _foreign_paradigm(word)
        return None, {(c, "sg"): forms for c, forms in par.items()}
    r = rs[0]
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for number in r.numbers:
        for case in CASES:
            form = morph.inflect(r, case, number)
            if form:
                out[(case, number)] = (prefix + match_case(form, part),)
    return r, out


def _agreeing(morph: Morph, word: str, head: Reading | None) -> dict[tuple[str, str], tuple[str, ...]] | None:
    """Forms of an adjective agreeing with ``head`` (None: the word does not agree)."""
    prefix, part = _last_part(word)
    numbers = head.numbers if head else frozenset({"sg"})
    genders = head.genders if head else frozenset({"m3"})
    for r in _adjectival(morph, part):
        if not (r.numbers & numbers and r.genders & genders):
            continue
        out: dict[tuple[str, str], tuple[str, ...]] = {}
        gender = sorted(r.genders & genders)[0]
        for number in r.numbers & numbers:
            for case in CASES:
                form = morph.inflect(r, case, number, gender)
                if form:
                    out[(case, number)] = (prefix + match_case(form, part),)
        return out
    return None


def inflection_plan(morph: Morph, words: list[str], label: str) -> list[dict[tuple[str, str], tuple[str, ...]] | None]:
    """Per word: its forms by (case, number), or None when the word stays as it is.

    The head noun inflects; adjectives next to it that agree follow it; the
    first word that does not agree starts a fixed complement. Every part of a
    person name inflects on its own (apposition).
    """
    plan: list[dict[tuple[str, str], tuple[str, ...]] | None] = [None] * len(words)
    if label == "PER":
        for i, w in enumerate(words):
            if w[:1].isalpha() and w[:1].isupper():
                _r, par = _head_paradigm(morph, w, label)
                plan[i] = {k: v for k, v in par.items()} if par else None
        return plan
    head = _find_head(morph, words, label)
    if head is None:
        return plan
    head_reading, plan[head] = _head_paradigm(morph, words[head], label)
    for i in range(head - 1, -1, -1):
        forms = _agreeing(morph, words[i], head_reading) if words[i][:1].isalpha() else None
        if forms is None:
            break
        plan[i] = forms
    for i in range(head + 1, len(words)):
        forms = _agreeing(morph, words[i], head_reading) if words[i][:1].isalpha() else None
        if forms is None:
            break
        plan[i] = forms
    return plan


def inflected_forms(morph: Morph, base: str, label: str) -> set[str]:
    """All surface forms of ``base`` (itself included), whitespace-normalised."""
    toks = tokens_of(base)
    words = [t for _s, _e, t in toks]
    gaps = [""] + [" " if toks[i][0] > toks[i - 1][1] else "" for i in range(1, len(toks))]
    plan = inflection_plan(morph, words, label)
    forms = {surface_key(base)}
    keys = {k for p in plan if p for k in p}
    for key in sorted(keys):
        options = [p.get(key, p.get((key[0], "sg"), ())) if p else (w,) for w, p in zip(words, plan)]
        if not all(options):
            continue
        combos = [""]
        for gap, opts in zip(gaps, options):
            combos = [c + gap + o for c in combos for o in opts][:256]
        forms.update(combos)
    return forms


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


def data_text(name: str) -> str:
    return resources.files("kronika").joinpath("data", name).read_text(encoding="utf-8")


def lexicon_digest(extra: Iterable[LexiconEntry] = ()) -> str:
    """sha256 of the lexicon files plus the extra entries, without loading Morfeusz."""
    base = hashlib.sha256((data_text("lexicon.tsv") + "\0" + data_text("lexicon_other.tsv")).encode()).hexdigest()
    extra_list = sorted(set(extra), key=lambda e: (e.lemma, e.label, e.entity_id))
    blob = base + "".join(f"\n{e.lemma}\t{e.label}\t{e.entity_id}" for e in extra_list)
    return hashlib.sha256(blob.encode()).hexdigest()


# The inflected forms of ``lexicon.tsv``, computed once and shipped: inflecting
# ~1,000 base forms with Morfeusz took 0.6 s in every process that loads the
# lexicon. ``scripts/make_lexicon_forms.py`` writes it; a test checks it is current.
FORMS_FILE = "lexicon_forms.tsv"


def forms_key() -> str:
    """What the shipped forms are valid for: this ``lexicon.tsv`` and this Morfeusz."""
    return hashlib.sha256(f"{data_text('lexicon.tsv')}\0{MORFEUSZ_VERSION}".encode()).hexdigest()


def shipped_forms() -> dict[tuple[str, str], tuple[str, ...]]:
    """``(base, label) -> forms`` from ``FORMS_FILE``; empty if it is missing or stale."""
    try:
        lines = data_text(FORMS_FILE).splitlines()
    except FileNotFoundError:
        return {}
    if not lines or lines[0] != f"# key {forms_key()}":
        return {}
    out = {}
    for line in lines[1:]:
        label, base, forms = line.split("\t")
        out[base, label] = tuple(forms.split("|"))
    return out


def forms_text(computed: dict[tuple[str, str], tuple[str, ...]]) -> str:
    """``FORMS_FILE`` for the forms a lexicon computed (``Lexicon.computed``)."""
    rows = [f"{label}\t{base}\t{'|'.join(forms)}" for (base, label), forms in sorted(computed.items())]
    return "\n".join([f"# key {forms_key()}", *rows]) + "\n"


class Lexicon:
    """Surface form -> Hit, for Polish (inflected) and other languages (exact).

    ``known`` forms (default: the shipped ones) are used instead of inflecting
    again; every form set inflected here is kept in ``computed``.
    """

    def __init__(
        self, morph: Morph, extra: Iterable[LexiconEntry] = (),
        known: dict[tuple[str, str], tuple[str, ...]] | None = None,
    ) -> None:
        self.polish: dict[str, Hit] = {}
        self.other: dict[str, dict[str, Hit]] = {}
        self.by_lemma: dict[tuple[str, str], str] = {}
        self._morph = morph
        self._known = shipped_forms() if known is None else known
        self.computed: dict[tuple[str, str], tuple[str, ...]] = {}
        raw = data_text("lexicon.tsv")
        other = data_text("lexicon_other.tsv")
        self.digest = lexicon_digest(extra)
        for row in read_rows(raw):
            self._add_row(row)
        extra_list = sorted(set(extra), key=lambda e: (e.lemma, e.label, e.entity_id))
        for entry in extra_list:
            self._add_row(Row(entry, (), (), ()))
        self._load_other(other)
        self.first: dict[str, int] = {}
        for key in self.polish:
            first = tokens_of(key)
            n = len(first)
            self.first[first[0][2]] = max(self.first.get(first[0][2], 0), n)

    def _forms(self, base: str, label: str) -> tuple[str, ...]:
        forms = self._known.get((base, label))
        if forms is None:
            forms = self.computed[base, label] = tuple(sorted(inflected_forms(self._morph, base, label)))
        return forms

    def _put(self, form: str, hit: Hit) -> None:
        self.polish.setdefault(form, hit)

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

    def _load_other(self, text: str) -> None:
        """``lexicon_other.tsv``: language, surface, label, lemma, entity_id (exact forms)."""
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            lang, surface, label, lemma, eid = (line.split("\t") + [""] * 5)[:5]
            if label not in LABELS:
                raise ValueError(f"lexicon_other: bad label {label!r} in line {line!r}")
            eid = eid.strip() or self.by_lemma.get((lemma, label)) or make_entity_id(label, lemma)
            self.other.setdefault(lang.strip(), {})[surface_key(surface)] = Hit(lemma.strip(), label, eid)

    def entity_id(self, lemma: str, label: str) -> str:
        """Lexicon id of a base form, else the stable derived id."""
        return self.by_lemma.get((lemma, label)) or make_entity_id(label, lemma)
