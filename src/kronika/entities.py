"""Offline Polish named-entity annotator (PER, ORG, LOC, EVT, PRO) with base forms and ids.

Two automatic layers, each a versioned annotator registered in ``kronika.registry``
(its output kept apart from the document):

* ``gazetteer_v1`` -- longest match of the lexicon (``lang/pl/lexicon.tsv`` plus
  the corpus's gold entities passed as ``extra``), every entry expanded to all
  its inflected forms by Morfeusz. Other languages have their own annotators
  (``kronika.names``).
* ``rules_v1`` -- capitalised runs read with Morfeusz, in three passes:

  1. **candidates** (``Candidates``): capitalised runs on one line; organisation /
     event / place heads ("Rada", "Forum", "Morze") that absorb their agreeing
     adjectives and genitive complements; multiword foreign names. A run longer
     than ``record.MAX_MENTION_CHARS`` (300) characters is no name: it is cut,
     between words, into pieces of at most that length (``_pieces``), so no
     mention is longer than that and the rules stay linear in the article.
  2. **classification** (``Classifier``): proper-name qualifiers (imię,
     nazwisko, nazwa_geograficzna, ...), titles before names ("rzecznik",
     "premier"), demonyms (BSNLP tags "Polacy" as PER), then document-level
     consistency (a surname seen in a full name is PER everywhere in the article;
     an unknown capitalised word is decided from the whole article).
  3. **base forms** (``BaseForms``): see below.

  Each pass hands the next typed ``Candidate`` records.

The word lists the rules consult (titles, heads, connectors, not-names, ...) are
the Polish pack's ``lang/pl/words.txt``; the Morfeusz glue is ``lang/pl/morph.py``.

``merge_layers`` resolves overlaps between layers: longer span first, then the
layers' registry ranks (gazetteer before rules), then position; a mention
overlapping or crossing an already accepted one is dropped.

Base forms: the head noun goes to the nominative of its number, agreeing
adjectives follow it, genitive complements stay ("Rady Bezpieczeństwa
Narodowego" -> "Rada Bezpieczeństwa Narodowego"); every part of a person name
inflects ("Władimira Putina" -> "Władimir Putin"); demonyms keep their number
("Polaków" -> "Polacy"). Foreign words Morfeusz does not know lose a Polish
case ending when the bare form occurs in the same article ("Watsona" ->
"Watson"). Ids come from the lexicon, else ``<LABEL>-<ASCII words of lemma>``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kronika import lang, registry
from kronika.lang.pl.inflect import PolishForms, lexicon_text
from kronika.lang.pl.morph import (
    ADJECTIVAL,
    CASES,
    LOC_QUALS,
    NOMINAL,
    ORG_QUALS,
    PER_QUALS,
    PRO_QUALS,
    Morph,
    Reading,
    match_case,
)
from kronika.lexicon import (
    Hit,
    Lexicon,
    LexiconEntry,
    entries_digest,
    make_entity_id,
    read_rows,
    sorted_entries,
    surface_key,
    tokens_of,
)
from kronika.record import LINE_BREAK_CHARS, MAX_MENTION_CHARS, Mention

__all__ = [
    "Candidate",
    "EntityAnnotator",
    "LexiconEntry",
    "entity_status",
    "get_annotator",
    "make_entity_id",
    "merge_layers",
]

GAZETTEER = "gazetteer_v1"
RULES = "rules_v1"
LAYERS = (GAZETTEER, RULES)

SENTENCE_END = frozenset(".!?…")
OPENERS = frozenset("\"„“”«»‘’'()–—-*•")

_WORDS = lang.sections("pl", "words.txt")
# Abbreviations whose full stop does not end a sentence ("ws. Brexitu").
ABBREVIATIONS = _WORDS["abbreviations"]
# All-caps tokens that are not names (currencies, units, common acronyms).
NOT_NAMES = _WORDS["not_names"]
NOT_NAME_WORDS = _WORDS["not_name_words"]
CONNECTORS = _WORDS["connectors"]
PREPOSITIONS_LOC = _WORDS["loc_prepositions"]
# Foreign words that make an unknown capitalised run an organisation name.
ORG_WORDS = _WORDS["org_words"]
# Common nouns whose forms double as foreign first names ("Tony").
FIRST_NAME_HOMOGRAPHS = _WORDS["first_name_homographs"]
# Heads that make a capitalised run an organisation / event / place name. Lemmas (lowercase).
ORG_HEADS = _WORDS["org_heads"]
EVT_HEADS = _WORDS["evt_heads"]
LOC_HEADS = _WORDS["loc_heads"]
TITLES = _WORDS["titles"]

# ------------------------------------------------------------------ features
@dataclass(frozen=True, slots=True)
class Word:
    """What Morfeusz says about one capitalised word form (cached per form)."""

    text: str
    readings: tuple[Reading, ...]
    classes: frozenset[str]  # labels suggested by proper-name qualifiers
    common: bool  # has a lowercase (common-word) reading
    demonym: bool  # "Polak", "Brytyjczycy": BSNLP labels these PER
    adjective: bool  # has an adjectival reading (agreeing modifier, "Północnej")
    unknown: bool  # Morfeusz does not know it (foreign names)
    allcaps: bool


def _classes(r: Reading) -> set[str]:
    out = set()
    if r.quals & PER_QUALS:
        out.add("PER")
    if r.quals & LOC_QUALS:
        out.add("LOC")
    if r.quals & ORG_QUALS:
        out.add("ORG")
    if r.quals & PRO_QUALS:
        out.add("PRO")
    return out


def _is_demonym(r: Reading) -> bool:
    return (
        r.pos == "subst"
        and r.base[:1].isupper()
        and r.quals == frozenset({"nazwa_pospolita"})
        and bool(r.genders & {"m1", "f"})
    )


def analyse_word(morph: Morph, text: str) -> Word:
    """Summarise the readings of a word (hyphenated words: their last part decides)."""
    parts = [p for p in re.split(r"[-‐]", text) if p]
    readings = morph.analyse(text) if len(parts) <= 1 else morph.analyse(parts[-1])
    classes: set[str] = set()
    common = demonym = False
    for r in readings:
        classes |= _classes(r)
        demonym |= _is_demonym(r)
        if r.base[:1].islower() and not (r.quals - {"nazwa_pospolita"}):
            common = True
    adjective = any(r.pos in ADJECTIVAL and r.base[:1].islower() and "neg" not in r.rest for r in readings)
    allcaps = len(text) > 1 and text.isupper()
    if len(parts) > 1 and not readings and all(morph.analyse(p) for p in parts):
        classes = {c for p in parts for r in morph.analyse(p) for c in _classes(r)}
    return Word(text, readings, frozenset(classes), common, demonym, adjective, not readings, allcaps)



@dataclass(frozen=True, slots=True)
class Candidate:
    """A span of tokens that the rules take for a name, handed from pass to pass.

    ``first``/``end``: token indices, ``[first, end)``. ``label``: None until it is
    known -- the candidate pass labels only what its structure decides (a head, a
    foreign organisation); the classifier labels the rest from the words, and an
    unknown capitalised word that the words do not decide stays None until the
    whole article has been read (``Classifier._resolve_unknown``).
    """

    first: int
    end: int
    label: str | None
    score: float = 0.0

    @property
    def tokens(self) -> list[int]:
        return list(range(self.first, self.end))


# ------------------------------------------------------------------- merging
def merge_layers(layers: dict[str, list[Mention]], ranks: Mapping[str, int] | None = None) -> list[Mention]:
    """Resolve overlaps between automatic layers.

    Rule: candidates are taken longest span first; equal lengths go to the
    layer of the lower rank (``ranks``, default the registry's: gazetteer_v1,
    then rules_v1, then any layer the registry does not know, by name), then the
    earlier start. A candidate that overlaps or crosses an accepted mention is
    dropped. Result sorted by (start, end).
    """
    rank = registry.ranks() if ranks is None else ranks
    cands = [
        (-(m.end - m.start), rank.get(name, registry.UNLISTED_RANK), name, m.start, m)
        for name, ms in layers.items()
        for m in ms
    ]
    cands.sort(key=lambda c: c[:4])
    taken: list[Mention] = []
    # one byte per character of the text: memory linear in the text, each check
    # and update linear in the mention
    occupied = bytearray(max((c[-1].end for c in cands), default=0))
    for *_k, m in cands:
        if m.end > m.start and occupied.find(1, m.start, m.end) >= 0:
            continue
        occupied[m.start : m.end] = b"\x01" * (m.end - m.start)
        taken.append(m)
    return sorted(taken, key=lambda m: (m.start, m.end))


def entity_status(language: str) -> str:
    """What kind of entity annotation a document in ``language`` gets, as the
    registry says ("automatic" where an annotator serves it, "none" where nothing is registered)."""
    return registry.entity_status(language)

# ------------------------------------------------------------------ shared
class _Doc:
    """Tokens of one text plus the per-article facts the rules consult."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokens_of(text)
        self.words = [t for _s, _e, t in self.tokens]
        self.vocab = frozenset(self.words)
        self.cap = [w[:1].isupper() and w[:1].isalpha() for w in self.words]  # starts with a capital letter
        self.initial = self._initial_flags()
        self.per_starts: set[int] = set()  # starts of lexicon person mentions (set by the rules)

    def covered_starts(self, mentions: Iterable[Mention]) -> set[int]:
        """Starts of the tokens that begin inside one of ``mentions`` (token-aligned
        spans): what the rules ask of the gazetteer's matches, without a set of
        every covered character."""
        starts = [s for s, _e, _t in self.tokens]
        out: set[int] = set()
        for m in mentions:
            k = bisect_left(starts, m.start)
            while k < len(starts) and starts[k] < m.end:
                out.add(starts[k])
                k += 1
        return out

    def gap(self, i: int) -> str:
        """Whitespace between token i-1 and token i."""
        return self.text[self.tokens[i - 1][1] : self.tokens[i][0]] if i else ""

    def _initial_flags(self) -> list[bool]:
        """Whether each token starts a line or a sentence (after quotes and dashes);
        ``gap`` inlined, as this visits every token of the article."""
        words, tokens, find = self.words, self.tokens, self.text.find
        flags = [True] if words else []
        for i in range(1, len(words)):
            end, start = tokens[i - 1][1], tokens[i][0]
            if start > end and find("\n", end, start) >= 0:
                flags.append(True)
                continue
            prev = words[i - 1]
            if prev == "." and i > 1 and tokens[i - 2][1] == tokens[i - 1][0] and words[i - 2].lower() in ABBREVIATIONS:
                flags.append(False)
                continue
            flags.append(prev in SENTENCE_END or (prev in OPENERS and flags[i - 1]) or prev == ":")
        return flags


def _capped(mentions: list[Mention]) -> list[Mention]:
    """``mentions`` without any longer than ``MAX_MENTION_CHARS``. The rules cannot
    make one (``_pieces``); a lexicon form that long is the only way, so this is a
    backstop for the record's invariant, not a rule."""
    return [m for m in mentions if m.end - m.start <= MAX_MENTION_CHARS]



class Words:
    """What Morfeusz says about each word form, cached per form: news text repeats
    its vocabulary, so after a few hundred articles almost every look-up is a hit."""

    def __init__(self, morph: Morph) -> None:
        self.morph = morph
        self._cache: dict[str, Word] = {}

    def __call__(self, text: str) -> Word:
        w = self._cache.get(text)
        if w is None:
            w = analyse_word(self.morph, text)
            if len(self._cache) < 400_000:
                self._cache[text] = w
        return w


def strip_foreign(doc: _Doc, text: str) -> str:
    """Drop a Polish case ending from an unknown word if the bare form is in the article."""
    for cut, add in (("'a", ""), ("’a", ""), ("'owi", ""), ("'em", ""), ("owi", ""), ("em", ""), ("ie", ""), ("a", ""), ("u", ""), ("y", "a"), ("ę", "a"), ("ą", "a"), ("i", "a"), ("ze", "")):
        if text.endswith(cut) and len(text) - len(cut) >= 2:
            cand = text[: -len(cut)] + add
            if cand in doc.vocab:
                return cand
    return text


def modifies(words: list[Word], n: int) -> bool:
    """Word n is an adjective agreeing with the noun after it ("Boże Narodzenie")."""
    if n + 1 >= len(words) or not words[n].adjective:
        return False
    nxt = words[n + 1]
    return any(
        a.pos in ADJECTIVAL and h.pos in NOMINAL and a.cases & h.cases and a.numbers & h.numbers and a.genders & h.genders
        for a in words[n].readings
        for h in nxt.readings
    )

class _RunFacts:
    """What the rules ask about the rest of one run (``run[k:]``), for every k at once.

    Suffix tables built in one backward pass, so that asking at each position of
    the run is O(1) (asking by slicing ``run[k:]`` made a run of n words cost
    O(n^2)). ``foreign_from[k]`` is the first index >= k whose word is not an
    unknown, not-all-capitals word (len(run) if none), ``next_non_adjective[k]``
    the first index >= k that is not an adjective. ``head_span`` memoises
    ``Candidates._head_span`` per k.
    """

    def __init__(self, ann: Candidates, doc: _Doc, run: list[int], covered: set[int]) -> None:
        self._ann, self._doc, self._run = ann, doc, run
        n = len(run)
        texts = [doc.words[i] for i in run]
        self.words = [ann.word(t) for t in texts]
        self.covered = [doc.tokens[i][0] in covered for i in run]
        self.any_covered = [False] * (n + 1)
        self.any_org = [False] * (n + 1)
        self.any_unknown_not_org = [False] * (n + 1)
        self.any_org_or_connector = [False] * (n + 1)
        self.any_first_name = [False] * (n + 1)
        self.first_name = [False] * n
        self.foreign_from = [n] * (n + 1)
        self.next_non_adjective = [n] * (n + 1)
        for k in range(n - 1, -1, -1):
            t, w = texts[k], self.words[k]
            org = t in ORG_WORDS
            foreign = w.unknown and not w.allcaps
            first = any("imię" in r.quals for r in w.readings)
            self.first_name[k] = first
            self.any_covered[k] = self.covered[k] or self.any_covered[k + 1]
            self.any_org[k] = org or self.any_org[k + 1]
            self.any_unknown_not_org[k] = (foreign and not org) or self.any_unknown_not_org[k + 1]
            self.any_org_or_connector[k] = org or t in CONNECTORS or self.any_org_or_connector[k + 1]
            self.any_first_name[k] = first or self.any_first_name[k + 1]
            self.foreign_from[k] = self.foreign_from[k + 1] if foreign else k
            self.next_non_adjective[k] = self.next_non_adjective[k + 1] if w.adjective else k
        self._heads: dict[int, tuple[int, str] | None] = {}

    def head_span(self, k: int) -> tuple[int, str] | None:
        if k not in self._heads:
            self._heads[k] = self._ann._head_span(self._doc, self._run, k, self.next_non_adjective[k])
        return self._heads[k]



# --------------------------------------------------------- pass 1: candidates
class Candidates:
    """Where the names are: capitalised runs cut into candidate spans (``find``)."""

    def __init__(self, words: Words, lexicon: Lexicon) -> None:
        self.word = words
        self.lexicon = lexicon

    def find(self, doc: _Doc, covered: set[int]) -> list[Candidate]:
        """Candidates of the whole text; ``covered``: token starts inside gazetteer matches."""
        out: list[Candidate] = []
        for run in self._runs(doc):
            for piece in self._pieces(doc, run):
                out.extend(self._segment(doc, piece, covered))
        return out

    def _is_cap(self, doc: _Doc, i: int) -> bool:
        return doc.cap[i]

    def _runs(self, doc: _Doc) -> list[list[int]]:
        """Maximal runs of capitalised words on one line, with name connectors inside.

        A word longer than ``MAX_MENTION_CHARS`` is never part of a run (it could
        only make a mention longer than a mention may be)."""
        runs: list[list[int]] = []
        cur: list[int] = []
        n, cap = len(doc.words), doc.cap
        for i in range(n):
            if not cur and not cap[i]:
                continue  # no run open and none starts here: nothing below would happen
            joinable = bool(cur) and doc.gap(i) in (" ", "\u00a0")
            if cap[i] and len(doc.words[i]) <= MAX_MENTION_CHARS:
                if cur and not joinable:
                    runs.append(cur)
                    cur = []
                cur.append(i)
            elif (
                cur
                and joinable
                and doc.words[i].isdigit()
                and i + 1 < n
                and cap[i + 1]
                and doc.gap(i + 1) == " "
                and len(doc.words[i]) <= MAX_MENTION_CHARS
            ):
                cur.append(i)  # "Nord Stream 2 AG"
            elif (
                cur
                and joinable
                and doc.words[i] in CONNECTORS
                and i + 1 < n
                and cap[i + 1]
                and doc.gap(i + 1) == " "
            ):
                cur.append(i)
            elif cur:
                runs.append(cur)
                cur = []
        if cur:
            runs.append(cur)
        return runs

    def _pieces(self, doc: _Doc, run: list[int]) -> list[list[int]]:
        """``run`` cut into pieces of at most ``MAX_MENTION_CHARS`` characters.

        A run that long is no name (a heading in title case, a list without
        punctuation, garbage), and a mention may not be longer than that; each
        piece is read as a run of its own, so no mention crosses a cut and the
        work per word stays bounded. A cut falls between words, before the first
        word that would make the piece too long; a digit or connector left at
        either end of a piece is dropped (inside a run they only join names).
        Runs of real text are far shorter, so they are one piece, unchanged.
        """
        tokens = doc.tokens
        if tokens[run[-1]][1] - tokens[run[0]][0] <= MAX_MENTION_CHARS:
            return [run]
        pieces: list[list[int]] = []
        first = 0
        for k in range(1, len(run) + 1):
            if k < len(run) and tokens[run[k]][1] - tokens[run[first]][0] <= MAX_MENTION_CHARS:
                continue
            lo, hi = first, k
            while lo < hi and not self._is_cap(doc, run[lo]):
                lo += 1
            while hi > lo and not self._is_cap(doc, run[hi - 1]):
                hi -= 1
            if lo < hi:
                pieces.append(run[lo:hi])
            first = k
        return pieces

    def _not_name(self, doc: _Doc, i: int) -> bool:
        """Capitalised but not a name: headings in capitals, titles, photo credits, acronyms like GBP."""
        t = doc.words[i]
        w = self.word(t)
        if t in NOT_NAMES or t in NOT_NAME_WORDS or t.lower() in TITLES:
            return True
        if w.allcaps and w.common and len(t) > 3:
            return True
        if doc.initial[i] and w.common and not w.demonym and not self._head_kind(w):
            nxt = i + 1 < len(doc.words) and self._is_cap(doc, i + 1) and doc.gap(i + 1) == " "
            first_name = any("imię" in r.quals for r in w.readings)
            return not (first_name and nxt)
        return False

    def _drop_initial(self, doc: _Doc, run: list[int]) -> list[int]:
        """Strip leading sentence-initial common words, heading words and titles."""
        lo, hi = 0, len(run)
        while lo < hi and (self._not_name(doc, run[lo]) or doc.words[run[lo]] in CONNECTORS):
            lo += 1
        while hi > lo and doc.words[run[hi - 1]] in CONNECTORS:
            hi -= 1
        return run[lo:hi]

    def _segment(self, doc: _Doc, run: list[int], covered: set[int]) -> list[Candidate]:
        """Cut a run into candidates: heads absorb complements; lexicon matches split the rest.

        Linear in the run: what the rules ask about "the rest of the run" is
        precomputed once (``_RunFacts``), and each head span is read once. A span
        without a head or a foreign name gets no label here (``Classifier``).
        """
        run = self._drop_initial(doc, run)
        out: list[Candidate] = []
        if not run:
            return out
        facts = _RunFacts(self, doc, run, covered)
        k = 0
        while k < len(run):
            i = run[k]
            head = facts.head_span(k)
            if head is not None:
                end_k, label = head
                out.append(Candidate(i, run[end_k - 1] + 1, label, 0.7))
                k = end_k
                continue
            foreign = self._foreign_name(doc, run, k, covered, facts)
            if foreign is not None:
                end_k, label = foreign
                out.append(Candidate(i, run[end_k - 1] + 1, label, 0.5))
                k = end_k
                continue
            if doc.tokens[i][0] in covered:
                k += 1
                continue
            end_k = k + 1
            while end_k < len(run) and (not facts.covered[end_k] or self._joins_person(doc, run, k, end_k)) and not self._splits(doc, run, end_k):
                if facts.head_span(end_k) is not None:
                    break
                end_k += 1
            out.append(Candidate(i, run[end_k - 1] + 1, None))  # the classifier labels it
            k = end_k
        return out

    def _foreign_name(
        self, doc: _Doc, run: list[int], k: int, covered: set[int], facts: _RunFacts | None = None
    ) -> tuple[int, str] | None:
        """A multiword name with words Morfeusz does not know ("Cambridge Analytica",
        "Royal Dutch Shell"): one mention even across lexicon words inside it.

        Everything it asks about ``run[k:]`` ("any word of the rest is ...", "all
        words of the rest are ...") is read off suffix tables built once per run
        (``_RunFacts``), so asking at every k costs O(1), not O(len(run)).
        """
        f = facts if facts is not None else _RunFacts(self, doc, run, covered)
        n = len(run)
        if n - k < 2:
            return None
        if not f.any_covered[k] and not f.any_org[k]:
            return None
        if not f.any_unknown_not_org[k] and not f.any_org[k + 1]:
            return None
        if f.first_name[k] and not f.any_org[k]:
            return None
        if f.any_org_or_connector[k]:
            return n, "ORG"
        if f.covered[k]:
            # "Cambridge Analytica": an uninflected lexicon word followed only by unknown words
            word = doc.words[run[k]]
            hit = self.lexicon.inflected.get(word)
            if hit and hit.lemma == word and not f.words[k].allcaps and f.foreign_from[k + 1] >= n:
                if not f.any_first_name[k + 1]:
                    return n, "ORG"
            return None
        if f.covered[n - 1] and f.foreign_from[k] >= n - 1:
            return n, "ORG"  # "Royal Dutch Shell"
        return None

    def _joins_person(self, doc: _Doc, run: list[int], k: int, n: int) -> bool:
        """A first name right before a lexicon person ("Władimir Putina", misspelt) is one name."""
        return (
            n == k + 1
            and doc.tokens[run[n]][0] in doc.per_starts
            and any("imię" in r.quals for r in self.word(doc.words[run[k]]).readings)
        )

    def _head_kind(self, w: Word) -> str | None:
        for r in w.readings:
            if r.pos in NOMINAL and r.base[:1].islower():
                b = r.base
                if b in ORG_HEADS:
                    return "ORG"
                if b in EVT_HEADS:
                    return "EVT"
                if b in LOC_HEADS:
                    return "LOC"
        return None

    def _head_span(self, doc: _Doc, run: list[int], k: int, after_adjectives: int | None = None) -> tuple[int, str] | None:
        """If run[k:] starts with [adjectives] HEAD, return (end index in run, label).

        The head absorbs agreeing adjectives, then genitive complements; a word
        Morfeusz does not know, or one not in the genitive, ends the name. A bare
        head with nothing attached is not a name. ``after_adjectives``: the first
        index >= k that is not an adjective, if known (``_RunFacts``); the scan
        after the head is as long as the span it returns.
        """
        j = k if after_adjectives is None else after_adjectives
        while j < len(run) and self.word(doc.words[run[j]]).adjective:
            j += 1
        if j >= len(run):
            return None
        head_word = self.word(doc.words[run[j]])
        kind = self._head_kind(head_word)
        if kind is None:
            return None
        head_cases = {c for r in head_word.readings if r.pos in NOMINAL and r.base[:1].islower() for c in r.cases}
        end = j + 1
        while end < len(run) and self.word(doc.words[run[end]]).adjective and self._shares_case(doc.words[run[end]], head_cases):
            end += 1
        while end < len(run):
            w = self.word(doc.words[run[end]])
            if w.unknown and not w.allcaps:
                break
            if not w.unknown and not self._shares_case(w.text, {"gen"}):
                break
            if "imię" in {q for r in w.readings for q in r.quals} and end > j + 1:
                break
            end += 1
        if end < len(run) and end - 1 > j and self._person_like(doc, run[end]):
            last = self.word(doc.words[run[end - 1]])
            if "PER" in last.classes or any(r.base in FIRST_NAME_HOMOGRAPHS for r in last.readings):
                end -= 1  # "Partii Pracy Tony Blair": the name starts before the surname
        if end - k < 2:
            return None
        return end, kind

    def _person_like(self, doc: _Doc, i: int) -> bool:
        w = self.word(doc.words[i])
        return w.unknown or "PER" in w.classes

    def _shares_case(self, text: str, cases: set[str]) -> bool:
        return any(r.cases & cases for r in self.word(text).readings)

    def _splits(self, doc: _Doc, run: list[int], k: int) -> bool:
        """Start a new mention at run[k]: a first name right after a place name."""
        w = self.word(doc.words[run[k]])
        prev = self.word(doc.words[run[k - 1]])
        has_first = any("imię" in r.quals for r in w.readings)
        return has_first and "LOC" in prev.classes and "PER" not in prev.classes


# ------------------------------------------------------ pass 2: classification
class Classifier:
    """What the candidates are: a label from their words, then from the article."""

    def __init__(self, words: Words) -> None:
        self.word = words

    def classify(self, doc: _Doc, found: list[Candidate], gaz: list[Mention], covered: set[int]) -> list[Candidate]:
        """``found`` labelled (those that are no name dropped), plus the repeated
        first names of the article, sorted by position."""
        labelled = [c for c in (self._label(doc, c) for c in found) if c is not None]
        per_parts = self._person_parts(doc, labelled, gaz)
        labelled.extend(self._repeated_names(doc, labelled, gaz, covered))
        out: list[Candidate] = []
        for c in sorted(labelled, key=lambda c: (c.first, c.end)):
            if c.label is None:
                label = self._resolve_unknown(doc, c.first, per_parts)
                if label is None:
                    continue
                c = replace(c, label=label)
            out.append(c)
        return out

    def _label(self, doc: _Doc, c: Candidate) -> Candidate | None:
        """``c`` with the label its words give (None: no name); a label the structure
        gave stays. An unknown word's label stays None for the article to decide."""
        if c.label is not None:
            return c
        found = self._classify(doc, c.tokens)
        if found is None:
            return None
        return replace(c, label=found[0], score=found[1])

    def _classify(self, doc: _Doc, seg: list[int]) -> tuple[str | None, float] | None:
        """Label and score of a run segment without a head word (label None: the article decides)."""
        words = [self.word(doc.words[i]) for i in seg]
        title = self._title_before(doc, seg[0])
        if len(seg) == 1:
            return self._classify_one(doc, seg[0], words[0], title)
        first = words[0]
        if any(doc.words[i] in CONNECTORS for i in seg):
            return ("ORG", 0.4)
        if title or any("imię" in r.quals for r in first.readings):
            return ("PER", 0.7)
        classes = set().union(*(w.classes for w in words))
        if all(("PER" in w.classes or w.unknown) and not w.allcaps for w in words):
            if "LOC" in classes and not any(w.unknown for w in words) and "PER" not in words[0].classes:
                return ("LOC", 0.5)
            return ("PER", 0.6)
        if "LOC" in classes and all("LOC" in w.classes or w.adjective for w in words):
            return ("LOC", 0.6)
        unknown = sum(w.unknown and not w.allcaps for w in words)
        if unknown * 2 >= len(words) and not any(w.allcaps for w in words) and not (classes - {"PER"}):
            return ("PER", 0.4) if len(seg) <= 3 else ("ORG", 0.3)
        if "ORG" in classes:
            return ("ORG", 0.5)
        if "LOC" in classes:
            return ("LOC", 0.4)
        return ("ORG", 0.3)

    def _classify_one(self, doc: _Doc, i: int, w: Word, title: bool) -> tuple[str | None, float] | None:
        if w.demonym and not (doc.initial[i] and w.common):
            return ("PER", 0.7)
        if title and (w.unknown or "PER" in w.classes):
            return ("PER", 0.7)
        if w.allcaps:
            if w.classes:
                return (self._pick_class(w.classes), 0.6)
            return ("ORG", 0.5) if w.unknown and len(w.text) <= 6 else None
        if w.classes:
            if w.common and doc.initial[i]:
                return None
            return (self._pick_class(w.classes), 0.6)
        if w.unknown:
            return (None, 0.4)
        return None

    @staticmethod
    def _pick_class(classes: frozenset[str]) -> str:
        for label in ("LOC", "ORG", "PRO", "PER"):
            if label in classes:
                return label
        return "ORG"

    def _title_before(self, doc: _Doc, i: int) -> bool:
        if i == 0 or "\n" in doc.gap(i):
            return False
        prev = doc.words[i - 1]
        if prev == "." and i > 1:
            prev = doc.words[i - 2]
        if not prev[:1].isalpha():
            return False
        low = prev.lower()
        if low in TITLES:
            return True
        return any(r.base in TITLES for r in self.word(low).readings) if prev[:1].islower() else False

    def _resolve_unknown(self, doc: _Doc, i: int, per_parts: set[str]) -> str | None:
        """An unknown capitalised word: PER if it is part of a person named in the article."""
        t = doc.words[i]
        if t in per_parts or strip_foreign(doc, t) in per_parts:
            return "PER"
        if doc.initial[i]:
            return None
        prev = doc.words[i - 1].lower() if i else ""
        if prev in PREPOSITIONS_LOC:
            return "LOC"
        return "ORG"

    def _person_parts(self, doc: _Doc, found: list[Candidate], gaz: list[Mention]) -> set[str]:
        parts: set[str] = set()
        for c in found:
            if c.label == "PER" and c.end - c.first > 1:
                parts.update(doc.words[c.first : c.end])
        for m in gaz:
            if m.label == "PER":
                parts.update(m.lemma.split())
                parts.update(m.text.split())
        return parts

    def _repeated_names(self, doc: _Doc, found: list[Candidate], gaz: list[Mention], covered: set[int]) -> list[Candidate]:
        """A capitalised word that begins a multiword person name elsewhere in the article is
        that person even where Morfeusz reads it otherwise ("Kim" after "Kim Dzong Un")."""
        firsts = {m.text.split()[0] for m in gaz if m.label == "PER" and " " in m.text}
        firsts |= {doc.words[c.first] for c in found if c.label == "PER" and c.end - c.first > 1}
        firsts = {f for f in firsts if len(f) >= 3}
        if not firsts:
            return []
        taken = {k for c in found for k in range(c.first, c.end)}
        out: list[Candidate] = []
        for i, t in enumerate(doc.words):
            if t in firsts and i not in taken and doc.tokens[i][0] not in covered:
                nxt = doc.words[i + 1] if i + 1 < len(doc.words) else ""
                if not (nxt[:1].isupper() and doc.gap(i + 1) == " "):
                    out.append(Candidate(i, i + 1, "PER", 0.4))
        return out


# ---------------------------------------------------------- pass 3: base forms
class BaseForms:
    """The base form of a labelled span (see the module docstring)."""

    def __init__(self, words: Words, lexicon: Lexicon) -> None:
        self.word = words
        self.morph = words.morph
        self.lexicon = lexicon

    def lemmatise(self, doc: _Doc, i: int, j: int, label: str) -> str:
        """Base form of tokens [i, j) under ``label`` (see module docstring)."""
        span = doc.text[doc.tokens[i][0] : doc.tokens[j - 1][1]]
        hit = self.lexicon.inflected.get(surface_key(span))
        if hit is not None and hit.label == label:
            return hit.lemma
        idx = [k for k in range(i, j)]
        if label == "PER":
            return self._lemma_person(doc, idx)
        return self._lemma_phrase(doc, idx)

    def _join(self, doc: _Doc, idx: list[int], words: list[str]) -> str:
        out = []
        for n, (k, w) in enumerate(zip(idx, words)):
            out.append((" " if n and doc.gap(k) else "") + w)
        return "".join(out)

    def _lemma_person(self, doc: _Doc, idx: list[int]) -> str:
        words = [self.word(doc.words[k]) for k in idx]
        if len(idx) == 1 and words[0].demonym:
            return self._demonym_lemma(words[0])
        foreign = [w for w in words if w.unknown]
        case = self._common_case([self._person_cases(w) for w in words])
        if foreign and not any(self._oblique(w.text) for w in foreign) and case != "nom":
            # "George Hodan": foreign parts show no case ending, and the known part reads as
            # an oblique case only in the plural (a misreading): keep the words as written.
            if all(
                r.numbers == {"pl"}
                for w in words
                if not w.unknown
                for r in w.readings
                if r.quals & PER_QUALS and case in r.cases
            ):
                case = "nom"
        male = any("m1" in r.genders for w in words for r in w.readings if r.quals & PER_QUALS and (case is None or case in r.cases))
        out = [self._person_part(doc, w, case, male) for w in words]
        return self._join(doc, idx, out)

    @staticmethod
    def _oblique(text: str) -> bool:
        return text.endswith(("a", "y", "ę", "ą", "owi", "em", "ie", "u", "ego", "emu", "im"))

    def _person_cases(self, w: Word) -> set[str]:
        rs = [r for r in w.readings if r.quals & PER_QUALS] or [r for r in w.readings if r.pos in NOMINAL and r.base[:1].isupper()]
        return {c for r in rs for c in r.cases}

    @staticmethod
    def _common_case(case_sets: list[set[str]]) -> str | None:
        known = [s for s in case_sets if s]
        if not known:
            return None
        inter = set.intersection(*known)
        for c in CASES:
            if c in inter:
                return c
        return None

    def _person_part(self, doc: _Doc, w: Word, case: str | None, male: bool = False) -> str:
        t = w.text
        if re.search(r"[-‐]", t[1:]):
            parts = re.split(r"([-‐])", t)
            return "".join(p if p in "-‐" or not p else self._person_part(doc, self.word(p), case, male) for p in parts)
        rs = [r for r in w.readings if r.quals & PER_QUALS and (case is None or case in r.cases)]
        if not rs:
            rs = [r for r in w.readings if r.pos in NOMINAL and r.base[:1].isupper() and (case is None or case in r.cases)]
        if rs:
            if any(r.base == t for r in rs) and case in (None, "nom"):
                return t
            if case == "nom" and w.unknown is False and any(r.base == t for r in w.readings):
                return t
            return match_case(rs[0].base, t)
        if w.unknown:
            return self._foreign_base(doc, t, case, male)
        return t

    def _foreign_base(self, doc: _Doc, t: str, case: str | None, male: bool) -> str:
        """Base form of a foreign name part: article evidence first, then safe ending rules."""
        stripped = strip_foreign(doc, t)
        if stripped != t:
            return stripped
        for end, base in (("'ego", ""), ("’ego", ""), ("'a", ""), ("’a", ""), ("'owi", ""), ("’owi", ""), ("'em", ""), ("’em", ""),
                          ("skiego", "ski"), ("ckiego", "cki"), ("skiemu", "ski"), ("skim", "ski"), ("ckim", "cki"), ("ską", "ska"), ("skiej", "ska")):
            if t.endswith(end):
                return t[: -len(end)] + base
        consonant = len(t) > 3 and t[-2:-1].lower() not in "aeiouyąęó"
        if male and consonant and case in ("gen", "acc") and t.endswith("a"):
            return t[:-1]
        if male and consonant and case == "dat" and t.endswith("owi"):
            return t[:-3]
        if male and case == "inst" and t.endswith("em") and len(t) > 4:
            return t[:-2]
        return t

    def _demonym_lemma(self, w: Word) -> str:
        r = sorted((r for r in w.readings if _is_demonym(r)), key=lambda r: "nom" not in r.cases)[0]
        number = "pl" if r.numbers == {"pl"} else "sg"
        return match_case(self.morph.inflect(r, "nom", number) or r.base, w.text)

    def _foreign_noun_base(self, doc: _Doc, t: str) -> str:
        """Unknown place/company name: drop a clear masculine case ending ("Greifswaldu")."""
        stripped = strip_foreign(doc, t)
        if stripped != t or t.isupper() or len(t) < 6:
            return stripped
        for end in ("owi", "u", "ie", "em"):
            stem = t[: -len(end)]
            if t.endswith(end) and stem[-1:].lower() not in "aeiouyąęóhj" and not stem.endswith(("dz", "rz", "sz", "cz")):
                return stem
        return t

    def _lemma_phrase(self, doc: _Doc, idx: list[int]) -> str:
        """Head to nominative, agreeing adjectives follow, complements stay."""
        words = [self.word(doc.words[k]) for k in idx]
        head = next((n for n, w in enumerate(words) if any(r.pos in NOMINAL for r in w.readings) and not modifies(words, n)), None)
        if head is None:
            if len(words) == 1 and words[0].unknown:
                return self._foreign_noun_base(doc, words[0].text)
            return self._join(doc, idx, [w.text for w in words])
        agreeing = [n for n in range(head) if words[n].adjective]
        n = head + 1
        while n < len(words) and words[n].adjective:
            agreeing.append(n)
            n += 1
        best = self._agreement(words, head, agreeing)
        out = [w.text for w in words]
        if best is None:
            return self._join(doc, idx, out)
        hr, case, number, adjs = best
        if (case != "nom" or hr.base != words[head].text) and "-" not in words[head].text:
            form = self.morph.inflect(hr, "nom", number)
            out[head] = match_case(form or hr.base, words[head].text)
        if case != "nom":
            for a, ar in adjs.items():
                gender = sorted(ar.genders & hr.genders)[0] if ar.genders & hr.genders else None
                form = self.morph.inflect(ar, "nom", number, gender)
                if form:
                    prefix = words[a].text.rpartition("-")[0]
                    out[a] = (prefix + "-" if prefix else "") + match_case(form, words[a].text.rpartition("-")[2])
        return self._join(doc, idx, out)

    def _agreement(self, words: list[Word], head: int, agreeing: list[int]) -> tuple[Reading, str, str, dict[int, Reading]] | None:
        """The head reading, case and number on which the agreeing adjectives agree."""
        for hr in self._head_readings(words[head]):
            for case in CASES:
                if case not in hr.cases:
                    continue
                for number in sorted(hr.numbers):
                    adjs: dict[int, Reading] = {}
                    for a in agreeing:
                        ar = next(
                            (r for r in words[a].readings if r.pos in ADJECTIVAL and case in r.cases and number in r.numbers and r.genders & hr.genders and "neg" not in r.rest),
                            None,
                        )
                        if ar is None:
                            break
                        adjs[a] = ar
                    else:
                        return hr, case, number, adjs
        rs = self._head_readings(words[head])
        return (rs[0], sorted(rs[0].cases)[0], sorted(rs[0].numbers)[0], {}) if rs and rs[0].numbers else None

    @staticmethod
    def _head_readings(w: Word) -> list[Reading]:
        """Noun readings of a head, best first: name heads ("rada"), places/orgs, capitalised, rest."""
        nominal = [r for r in w.readings if r.pos in NOMINAL]
        heads = ORG_HEADS | EVT_HEADS | LOC_HEADS

        def rank(r: Reading) -> tuple[bool, bool, bool, bool]:
            return (
                r.base not in heads,
                not (r.quals & (LOC_QUALS | ORG_QUALS | PRO_QUALS)),
                not r.base[:1].isupper(),
                "pt" in r.rest,
            )

        return sorted(nominal, key=rank)


# ------------------------------------------------------------------ annotator
class EntityAnnotator:
    """The Polish gazetteer and rules, one instance per process and gold lexicon
    (``get_annotator``): Morfeusz and the expanded lexicon are loaded once."""

    layers: tuple[str, ...] = LAYERS

    def __init__(self, extra: Iterable[LexiconEntry] = ()) -> None:
        self.morph = Morph()
        self.extra = tuple(sorted_entries(extra))
        self.lexicon = Lexicon(PolishForms(self.morph), read_rows(lexicon_text()), self.extra)
        self.word = Words(self.morph)
        self.candidates = Candidates(self.word, self.lexicon)
        self.classifier = Classifier(self.word)
        self.base_forms = BaseForms(self.word, self.lexicon)

    # -------------------------------------------------------------- public API
    def fingerprint(self) -> str:
        """sha256 over the layers' registry entries and the gold lexicon (a cache key)."""
        return fingerprint(self.extra)

    def annotate_layers(self, text: str, language: str) -> dict[str, list[Mention]]:
        """Each automatic layer separately; ``source`` of every mention is its layer name."""
        if language != "pl":
            return {GAZETTEER: [], RULES: []}
        doc = _Doc(text)
        gaz = _capped(self._gazetteer(doc))
        return {GAZETTEER: gaz, RULES: _capped(self._rules(doc, gaz))}

    def annotate(self, text: str, language: str) -> list[Mention]:
        return merge_layers(self.annotate_layers(text, language))

    # -------------------------------------------------------------- gazetteer
    def _match_at(self, doc: _Doc, i: int, table: dict[str, Hit], maxlen: int) -> tuple[int, Hit] | None:
        """Longest lexicon form starting at token i (tokens on one line)."""
        parts = [doc.words[i]]
        best: tuple[int, Hit] | None = None
        if parts[0] in table:
            best = (1, table[parts[0]])
        for j in range(i + 1, min(len(doc.words), i + maxlen)):
            gap = doc.gap(j)
            if len(gap) > 1 or gap in LINE_BREAK_CHARS:  # one line: a lone CR or U+2028 ends it too
                break
            parts.append((" " if gap else "") + doc.words[j])
            hit = table.get("".join(parts))
            if hit is not None:
                best = (j - i + 1, hit)
        return best

    def _gazetteer(self, doc: _Doc) -> list[Mention]:
        out: list[Mention] = []
        first = self.lexicon.first
        i = 0
        while i < len(doc.words):
            maxlen = first.get(doc.words[i])
            found = self._match_at(doc, i, self.lexicon.inflected, maxlen) if maxlen else None
            if found and not self._initial_common(doc, i, found[0]):
                n, hit = found
                out.append(self._mention(doc, i, i + n, hit.label, hit.lemma, GAZETTEER, 0.9, hit.entity_id))
                i += n
                continue
            i += 1
        return out

    def _initial_common(self, doc: _Doc, i: int, n: int) -> bool:
        """A one-word match at a sentence start that is really an adjective ("Polski rząd")."""
        if n != 1 or not doc.initial[i] or i + 1 >= len(doc.words):
            return False
        nxt = doc.words[i + 1]
        if not (nxt[:1].islower() and nxt.isalpha()):
            return False
        return modifies([self.word(doc.words[i]), self.word(nxt)], 0)

    def _mention(self, doc: _Doc, i: int, j: int, label: str, lemma: str, source: str, score: float, eid: str | None = None) -> Mention:
        start, end = doc.tokens[i][0], doc.tokens[j - 1][1]
        lemma = lemma.strip() or doc.text[start:end]
        return Mention(start, end, doc.text[start:end], label, lemma, eid or self.lexicon.entity_id(lemma, label), source, score)

    # ------------------------------------------------------------------ rules
    def _rules(self, doc: _Doc, gaz: list[Mention]) -> list[Mention]:
        """The three passes: candidates, their labels, their base forms."""
        covered = doc.covered_starts(gaz)
        doc.per_starts = {m.start for m in gaz if m.label == "PER"}
        found = self.candidates.find(doc, covered)
        out: list[Mention] = []
        for c in self.classifier.classify(doc, found, gaz, covered):
            label = c.label or ""
            lemma = self.base_forms.lemmatise(doc, c.first, c.end, label)
            out.append(self._mention(doc, c.first, c.end, label, lemma, RULES, c.score))
        return out


_CACHE: dict[tuple[LexiconEntry, ...], EntityAnnotator] = {}
_CACHE_LOCK = threading.Lock()


def fingerprint(extra: Iterable[LexiconEntry] = ()) -> str:
    """The Polish layers' cache key: their registry entries (names, versions, packages,
    data files) and the extra entries; loads nothing."""
    entries = [registry.get(name) for name in LAYERS]
    blob = f"{registry.fingerprint(entries)}\n{entries_digest(extra)}"
    return hashlib.sha256(blob.encode()).hexdigest()


def get_annotator(extra: tuple[LexiconEntry, ...] = ()) -> EntityAnnotator:
    """Process-wide cache: Morfeusz and the expanded lexicon are loaded once per ``extra``."""
    key = tuple(sorted_entries(extra))
    with _CACHE_LOCK:
        ann = _CACHE.get(key)
        if ann is None:
            ann = _CACHE[key] = EntityAnnotator(key)
        return ann


def from_context(context: Any) -> EntityAnnotator:
    """Factory of the ``gazetteer_v1`` and ``rules_v1`` entries (``kronika.registry``):
    both are layers of one annotator, made once per gold lexicon."""
    return get_annotator(tuple(context.gold))
