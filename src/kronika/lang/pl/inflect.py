"""Every inflected form of a Polish base form, by Morfeusz (the gazetteer's lexicon).

Each base form (and each alias) of ``lexicon.tsv`` is inflected: the head noun
takes every case, adjectives agreeing with it follow, genitive complements stay
as they are ("Rada Bezpieczeństwa Narodowego" -> "Rady Bezpieczeństwa
Narodowego"). Person names inflect every part (apposition). Words Morfeusz does
not know get a guessed masculine declension on the last word ("Ryanair" ->
"Ryanaira").

Inflecting the ~1,000 base forms took 0.6 s in every process, so their forms ship
in ``lexicon_forms.tsv`` (``scripts/make_lexicon_forms.py`` writes it, a test
checks it is current); its key line pins the lexicon and Morfeusz it was made
from, and a stale file is never used. ``PolishForms`` hands the lexicon the
shipped forms and inflects only what they lack (the gold entities).
"""

from __future__ import annotations

import hashlib

from kronika import lang
from kronika.lang.pl.morph import ADJECTIVAL, CASES, LABEL_QUALS, MORFEUSZ_VERSION, NOMINAL, Morph, Reading, match_case
from kronika.lexicon import surface_key, tokens_of

LEXICON_FILE = "lexicon.tsv"
FORMS_FILE = "lexicon_forms.tsv"

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


# -------------------------------------------------------------- shipped forms
def lexicon_text() -> str:
    """``lang/pl/lexicon.tsv``."""
    return lang.read_text("pl", LEXICON_FILE) or ""


def forms_key() -> str:
    """What the shipped forms are valid for: this ``lexicon.tsv`` and this Morfeusz."""
    return hashlib.sha256(f"{lexicon_text()}\0{MORFEUSZ_VERSION}".encode()).hexdigest()


def shipped_forms() -> dict[tuple[str, str], tuple[str, ...]]:
    """``(base, label) -> forms`` from ``FORMS_FILE``; empty if it is missing or stale."""
    text = lang.read_text("pl", FORMS_FILE)
    lines = text.splitlines() if text else []
    if not lines or lines[0] != f"# key {forms_key()}":
        return {}
    out = {}
    for line in lines[1:]:
        label, base, forms = line.split("\t")
        out[base, label] = tuple(forms.split("|"))
    return out


def forms_text(computed: dict[tuple[str, str], tuple[str, ...]]) -> str:
    """``FORMS_FILE`` for the forms a lexicon computed (``PolishForms.computed``)."""
    rows = [f"{label}\t{base}\t{'|'.join(forms)}" for (base, label), forms in sorted(computed.items())]
    return "\n".join([f"# key {forms_key()}", *rows]) + "\n"


class PolishForms:
    """``forms(base, label)``: the ``known`` forms (default: the shipped ones), else
    inflected now; every form set inflected here is kept in ``computed``."""

    def __init__(self, morph: Morph, known: dict[tuple[str, str], tuple[str, ...]] | None = None) -> None:
        self._morph = morph
        self._known = shipped_forms() if known is None else known
        self.computed: dict[tuple[str, str], tuple[str, ...]] = {}

    def __call__(self, base: str, label: str) -> tuple[str, ...]:
        forms = self._known.get((base, label)) or self.computed.get((base, label))
        if forms is None:
            forms = self.computed[base, label] = tuple(sorted(inflected_forms(self._morph, base, label)))
        return forms
