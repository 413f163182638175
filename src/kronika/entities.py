"""Offline Polish named-entity annotator (PER, ORG, LOC, EVT, PRO) with base forms and ids.

Two automatic layers, each a versioned annotator whose output is kept apart
from the document:

* ``gazetteer_v1`` -- longest match of the lexicon (``data/lexicon.tsv`` plus
  the corpus's gold entities passed as ``extra``), every entry expanded to all
  its inflected forms by Morfeusz. Non-Polish text: exact listed surfaces only.
* ``rules_v1`` -- capitalised runs read with Morfeusz: proper-name qualifiers
  (imię, nazwisko, nazwa_geograficzna, nazwa_organizacji, ...), organisation /
  event / place heads ("Rada", "Forum", "Morze") that absorb their agreeing
  adjectives and genitive complements, titles before names ("rzecznik",
  "premier"), demonyms (BSNLP tags "Polacy" as PER), and document-level
  consistency (a surname seen in a full name is PER everywhere in the article).
  A capitalised run longer than ``record.MAX_MENTION_CHARS`` (300) characters is
  no name: it is cut, between words, into pieces of at most that length, each
  read as a run of its own (``_pieces``), so no mention is longer than that and
  the rules stay linear in the article (a word that long is in no run at all).

``merge_layers`` resolves overlaps: longer span first, then layer priority
(gazetteer before rules), then position; a mention overlapping or crossing an
already accepted one is dropped.

Base forms: the head noun goes to the nominative of its number, agreeing
adjectives follow it, genitive complements stay ("Rady Bezpieczeństwa
Narodowego" -> "Rada Bezpieczeństwa Narodowego"); every part of a person name
inflects ("Władimira Putina" -> "Władimir Putin"); demonyms keep their number
("Polaków" -> "Polacy"). Foreign words Morfeusz does not know lose a Polish
case ending when the bare form occurs in the same article ("Watsona" ->
"Watson"). Ids come from the lexicon, else ``<LABEL>-<ASCII words of lemma>``.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from kronika.lexicon import Hit, Lexicon, LexiconEntry, data_text, lexicon_digest, make_entity_id, surface_key, tokens_of
from kronika.morph import (
    ADJECTIVAL,
    LOC_QUALS,
    MORFEUSZ_VERSION,
    NOMINAL,
    ORG_QUALS,
    PER_QUALS,
    PRO_QUALS,
    Morph,
    Reading,
    match_case,
)
from kronika.record import MAX_MENTION_CHARS, Mention

__all__ = [
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
LAYER_PRIORITY = {GAZETTEER: 0, RULES: 1}
# rules-2024.2: capitalised runs over MAX_MENTION_CHARS are cut into pieces (``_pieces``);
# the same mentions as 2024.1 wherever no run is that long, but a cached layer of an
# article with such a run would carry an over-long mention, so cached layers are redone.
RULES_VERSION = "rules-2024.2"

SENTENCE_END = frozenset(".!?…")
OPENERS = frozenset("\"„“”«»‘’'()–—-*•")
CONNECTORS = frozenset({"of", "for", "de", "del", "la", "le", "von", "van", "der", "den", "du", "da", "di", "al", "bin", "ibn", "el", "the", "and", "&"})
PREPOSITIONS_LOC = frozenset({"w", "we", "do", "z", "ze", "na", "pod", "koło", "przez", "od"})
# Abbreviations whose full stop does not end a sentence ("ws. Brexitu").
ABBREVIATIONS = frozenset("""
ws ds np tzw ok godz tys mln mld r ul al prof dr gen płk św im tj itd itp wg nt ang ros niem
fr red art ust pkt nr tel zob por jw br ub tzn min mies sen pos hab inż mgr ks bp abp kard
wyd ang łac gr lit st pn płn pd płd wsch zach woj pow gm m in tzn ur zm
""".split())
# All-caps tokens that are not names (currencies, units, common acronyms).
NOT_NAMES = frozenset("""
USD EUR GBP JPY CHF PLN RUB UAH CNY LNG CNG CEO CFO CTO CPI PKB GDP VAT CIT PIT CO2 MŚP QE IT AI
PR SMS PDF GMT CET UTC TV HIV DNA ID OK PS WIDEO VIDEO FOTO ZDJĘCIA AKTUALIZACJA ONLINE RELACJA
""".split())
NOT_NAME_WORDS = frozenset({"Fot", "Foto", "Źródło", "Zdj", "Zobacz", "Czytaj", "Więcej", "Wideo", "Video"})
# Foreign words that make an unknown capitalised run an organisation name.
ORG_WORDS = frozenset("""
AG SA GmbH Ltd Inc plc PLC Corp Corporation Company Co Group Holding Holdings Bank Fund Trust
Foundation Institute University College School Council Committee Party Union Association
Agency Service Services Office Centre Center Partners Capital Energy Airlines Airways Air
Motors Systems Media Network Industries International Foods Pharma Vote Leave Club Society
""".split())
# Common nouns whose forms double as foreign first names ("Tony").
FIRST_NAME_HOMOGRAPHS = frozenset({"ton", "tona"})
CASE_ORDER = ("nom", "gen", "acc", "dat", "inst", "loc", "voc")

# Heads that make a capitalised run an organisation / event / place name. Lemmas (lowercase).
ORG_HEADS = frozenset("""
rada grupa uniwersytet ministerstwo partia bank komisja parlament sąd trybunał izba agencja
instytut fundacja związek urząd kancelaria senat policja straż armia siła departament biuro
organizacja stowarzyszenie towarzystwo akademia szkoła komitet rząd gabinet prokuratura służba
liga klub szpital muzeum teatr koalicja ruch front sojusz kościół politechnika fundusz
zgromadzenie kongres centrum inspektorat zarząd spółka korporacja koncern konsorcjum linia
narodowy wspólnota unia federacja konfederacja stronnictwo platforma porozumienie zrzeszenie
instytucja redakcja telewizja radio wydawnictwo gazeta dowództwo sztab wojsko marynarka flota
brygada batalion pułk dywizja obrona kolegium konferencja episkopat synod zakon
""".split())
EVT_HEADS = frozenset("""
forum szczyt festiwal olimpiada igrzyska mistrzostwa turniej puchar wybory wojna powstanie
rewolucja zjazd targi mundial gala konkurs maraton rajd kryzys katastrofa zamach bitwa
operacja dzień tydzień rok święto jarmark wystawa biennale
""".split())
LOC_HEADS = frozenset("""
morze ocean góra rzeka zatoka półwysep wyspa jezioro kanał cieśnina plac ulica aleja region
obwód województwo republika królestwo księstwo prowincja okręg dolina pustynia park lotnisko
port dworzec most wybrzeże nizina wyżyna puszcza las stan gmina powiat dzielnica osiedle
""".split())
TITLES = frozenset("""
prezydent premier minister rzecznik rzeczniczka szef szefowa pan pani senator poseł posłanka
kanclerz sędzia papież król królowa książę księżna generał dziennikarz dziennikarka ambasador
prezes prezeska dyrektor dyrektorka lider liderka przewodniczący przewodnicząca sekretarz
wicepremier wiceminister marszałek burmistrz prezydentka doradca doradczyni analityk ekspert
ekspertka profesor prof dr doktor ks ksiądz biskup arcybiskup kardynał imam gubernator
komisarz komisarka negocjator negocjatorka przywódca przywódczyni założyciel założycielka
mer wojewoda starosta wójt aktor aktorka piosenkarz piosenkarka pisarz pisarka trener
zawodnik piłkarz polityk działacz działaczka adwokat prokurator mąż żona syn córka brat siostra
ojciec matka kolega koleżanka rywal następca następczyni poprzednik autor autorka reżyser
""".split())


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


# ------------------------------------------------------------------- merging
def merge_layers(layers: dict[str, list[Mention]]) -> list[Mention]:
    """Resolve overlaps between automatic layers.

    Rule: candidates are taken longest span first; equal lengths go to the
    layer with the higher priority (gazetteer_v1, then rules_v1, then any other
    layer by name), then the earlier start. A candidate that overlaps or
    crosses an accepted mention is dropped. Result sorted by (start, end).
    """
    cands = [
        (-(m.end - m.start), LAYER_PRIORITY.get(name, 99), name, m.start, m)
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
    """What kind of entity annotation a document in ``language`` gets.

    "automatic" for Polish (both layers); "lexicon" for languages that have
    exact surface forms listed in ``data/lexicon_other.tsv`` (only those are
    matched, nothing is guessed); "none" otherwise.
    """
    if language == "pl":
        return "automatic"
    return "lexicon" if language in _other_languages() else "none"


@functools.lru_cache(maxsize=1)
def _other_languages() -> frozenset[str]:
    """Languages with exact surface forms in lexicon_other.tsv (read without loading Morfeusz)."""
    lines = data_text("lexicon_other.tsv").splitlines()
    return frozenset(line.split("\t", 1)[0] for line in lines if line.strip() and not line.startswith("#"))


# ------------------------------------------------------------------ annotator
class _Doc:
    """Tokens of one text plus the per-article facts the rules consult."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokens_of(text)
        self.words = [t for _s, _e, t in self.tokens]
        self.vocab = frozenset(self.words)
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
        flags: list[bool] = []
        for i, w in enumerate(self.words):
            if i == 0 or "\n" in self.gap(i):
                flags.append(True)
                continue
            prev = self.words[i - 1]
            if prev == "." and i > 1 and self.words[i - 2].lower() in ABBREVIATIONS and self.gap(i - 1) == "":
                flags.append(False)
                continue
            flags.append(prev in SENTENCE_END or (prev in OPENERS and flags[i - 1]) or prev == ":")
        return flags


def _capped(mentions: list[Mention]) -> list[Mention]:
    """``mentions`` without any longer than ``MAX_MENTION_CHARS``. The rules cannot
    make one (``_pieces``); a lexicon form that long is the only way, so this is a
    backstop for the record's invariant, not a rule."""
    return [m for m in mentions if m.end - m.start <= MAX_MENTION_CHARS]


class _RunFacts:
    """What the rules ask about the rest of one run (``run[k:]``), for every k at once.

    Suffix tables built in one backward pass, so that asking at each position of
    the run is O(1) (asking by slicing ``run[k:]`` made a run of n words cost
    O(n^2)). ``foreign_from[k]`` is the first index >= k whose word is not an
    unknown, not-all-capitals word (len(run) if none), ``next_non_adjective[k]``
    the first index >= k that is not an adjective. ``head_span`` memoises
    ``EntityAnnotator._head_span`` per k.
    """

    def __init__(self, ann: EntityAnnotator, doc: _Doc, run: list[int], covered: set[int]) -> None:
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


class EntityAnnotator:
    """Gazetteer + rule annotator; load once per process (see ``get_annotator``)."""

    layers: tuple[str, ...] = LAYERS

    def __init__(self, extra: Iterable[LexiconEntry] = ()) -> None:
        self.morph = Morph()
        self.lexicon = Lexicon(self.morph, extra)
        self._words: dict[str, Word] = {}

    # -------------------------------------------------------------- public API
    def fingerprint(self) -> str:
        """sha256 over annotator versions and lexicon contents (a cache key)."""
        return fingerprint(self.lexicon.digest)

    def annotate_layers(self, text: str, language: str) -> dict[str, list[Mention]]:
        """Each automatic layer separately; ``source`` of every mention is its layer name."""
        if language != "pl":
            table = self.lexicon.other.get(language)
            return {GAZETTEER: _capped(self._match_exact(text, table)) if table else [], RULES: []}
        doc = _Doc(text)
        gaz = _capped(self._gazetteer(doc))
        return {GAZETTEER: gaz, RULES: _capped(self._rules(doc, gaz))}

    def annotate(self, text: str, language: str) -> list[Mention]:
        return merge_layers(self.annotate_layers(text, language))

    # -------------------------------------------------------------- gazetteer
    def word(self, text: str) -> Word:
        w = self._words.get(text)
        if w is None:
            w = analyse_word(self.morph, text)
            if len(self._words) < 400_000:
                self._words[text] = w
        return w

    def _match_at(self, doc: _Doc, i: int, table: dict[str, Hit], maxlen: int) -> tuple[int, Hit] | None:
        """Longest lexicon form starting at token i (tokens on one line)."""
        parts = [doc.words[i]]
        best: tuple[int, Hit] | None = None
        if parts[0] in table:
            best = (1, table[parts[0]])
        for j in range(i + 1, min(len(doc.words), i + maxlen)):
            gap = doc.gap(j)
            if "\n" in gap or len(gap) > 1:
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
            found = self._match_at(doc, i, self.lexicon.polish, maxlen) if maxlen else None
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
        return self._modifies([self.word(doc.words[i]), self.word(nxt)], 0)

    def _match_exact(self, text: str, table: dict[str, Hit]) -> list[Mention]:
        doc = _Doc(text)
        maxlen = max(len(tokens_of(k)) for k in table)
        out: list[Mention] = []
        i = 0
        while i < len(doc.words):
            found = self._match_at(doc, i, table, maxlen)
            if found:
                n, hit = found
                out.append(self._mention(doc, i, i + n, hit.label, hit.lemma, GAZETTEER, 0.8, hit.entity_id))
                i += n
            else:
                i += 1
        return out

    def _mention(self, doc: _Doc, i: int, j: int, label: str, lemma: str, source: str, score: float, eid: str | None = None) -> Mention:
        start, end = doc.tokens[i][0], doc.tokens[j - 1][1]
        lemma = lemma.strip() or doc.text[start:end]
        return Mention(start, end, doc.text[start:end], label, lemma, eid or self.lexicon.entity_id(lemma, label), source, score)

    # ------------------------------------------------------------------ rules
    def _rules(self, doc: _Doc, gaz: list[Mention]) -> list[Mention]:
        covered = doc.covered_starts(gaz)
        doc.per_starts = {m.start for m in gaz if m.label == "PER"}
        found: list[tuple[int, int, str, float]] = []
        for run in self._runs(doc):
            for piece in self._pieces(doc, run):
                found.extend(self._segment(doc, piece, covered))
        per_parts = self._person_parts(doc, found, gaz)
        found.extend(self._repeated_names(doc, found, gaz, covered))
        out: list[Mention] = []
        for i, j, label, score in sorted(found):
            if label == "?":
                label = self._resolve_unknown(doc, i, per_parts)
                if label is None:
                    continue
            lemma = self.lemmatise(doc, i, j, label)
            out.append(self._mention(doc, i, j, label, lemma, RULES, score))
        return out

    def _is_cap(self, doc: _Doc, i: int) -> bool:
        t = doc.words[i]
        return t[:1].isupper() and t[:1].isalpha()

    def _runs(self, doc: _Doc) -> list[list[int]]:
        """Maximal runs of capitalised words on one line, with name connectors inside.

        A word longer than ``MAX_MENTION_CHARS`` is never part of a run (it could
        only make a mention longer than a mention may be)."""
        runs: list[list[int]] = []
        cur: list[int] = []
        n = len(doc.words)
        for i in range(n):
            joinable = bool(cur) and doc.gap(i) in (" ", "\u00a0")
            if self._is_cap(doc, i) and len(doc.words[i]) <= MAX_MENTION_CHARS:
                if cur and not joinable:
                    runs.append(cur)
                    cur = []
                cur.append(i)
            elif (
                cur
                and joinable
                and doc.words[i].isdigit()
                and i + 1 < n
                and self._is_cap(doc, i + 1)
                and doc.gap(i + 1) == " "
                and len(doc.words[i]) <= MAX_MENTION_CHARS
            ):
                cur.append(i)  # "Nord Stream 2 AG"
            elif (
                cur
                and joinable
                and doc.words[i] in CONNECTORS
                and i + 1 < n
                and self._is_cap(doc, i + 1)
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

    def _segment(self, doc: _Doc, run: list[int], covered: set[int]) -> list[tuple[int, int, str, float]]:
        """Cut a run into mentions: heads absorb complements; lexicon matches split the rest.

        Linear in the run: what the rules ask about "the rest of the run" is
        precomputed once (``_RunFacts``), and each head span is read once.
        """
        run = self._drop_initial(doc, run)
        out: list[tuple[int, int, str, float]] = []
        if not run:
            return out
        facts = _RunFacts(self, doc, run, covered)
        k = 0
        while k < len(run):
            i = run[k]
            head = facts.head_span(k)
            if head is not None:
                end_k, label = head
                out.append((i, run[end_k - 1] + 1, label, 0.7))
                k = end_k
                continue
            foreign = self._foreign_name(doc, run, k, covered, facts)
            if foreign is not None:
                end_k, label = foreign
                out.append((i, run[end_k - 1] + 1, label, 0.5))
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
            seg = run[k:end_k]
            label = self._classify(doc, seg)
            if label is not None:
                out.append((seg[0], seg[-1] + 1, label[0], label[1]))
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
            hit = self.lexicon.polish.get(word)
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

    def _classify(self, doc: _Doc, seg: list[int]) -> tuple[str, float] | None:
        """Label of a run segment without a head word ("?" = decide with article context)."""
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

    def _classify_one(self, doc: _Doc, i: int, w: Word, title: bool) -> tuple[str, float] | None:
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
            return ("?", 0.4)
        return None

    @staticmethod
    def _pick_class(classes: frozenset[str]) -> str:
        for label in ("LOC", "ORG", "PRO", "PER"):
            if label in classes:
                return label
        return "ORG"

    def _resolve_unknown(self, doc: _Doc, i: int, per_parts: set[str]) -> str | None:
        """An unknown capitalised word: PER if it is part of a person named in the article."""
        t = doc.words[i]
        if t in per_parts or self._strip_foreign(doc, t) in per_parts:
            return "PER"
        if doc.initial[i]:
            return None
        prev = doc.words[i - 1].lower() if i else ""
        if prev in PREPOSITIONS_LOC:
            return "LOC"
        return "ORG"

    def _person_parts(self, doc: _Doc, found: list[tuple[int, int, str, float]], gaz: list[Mention]) -> set[str]:
        parts: set[str] = set()
        for i, j, label, _s in found:
            if label == "PER" and j - i > 1:
                parts.update(doc.words[i:j])
        for m in gaz:
            if m.label == "PER":
                parts.update(m.lemma.split())
                parts.update(m.text.split())
        return parts

    def _repeated_names(self, doc: _Doc, found: list[tuple[int, int, str, float]], gaz: list[Mention], covered: set[int]) -> list[tuple[int, int, str, float]]:
        """A capitalised word that begins a multiword person name elsewhere in the article is
        that person even where Morfeusz reads it otherwise ("Kim" after "Kim Dzong Un")."""
        firsts = {m.text.split()[0] for m in gaz if m.label == "PER" and " " in m.text}
        firsts |= {doc.words[i] for i, j, label, _s in found if label == "PER" and j - i > 1}
        firsts = {f for f in firsts if len(f) >= 3}
        if not firsts:
            return []
        taken = {k for i, j, _l, _s in found for k in range(i, j)}
        out = []
        for i, t in enumerate(doc.words):
            if t in firsts and i not in taken and doc.tokens[i][0] not in covered:
                nxt = doc.words[i + 1] if i + 1 < len(doc.words) else ""
                if not (nxt[:1].isupper() and doc.gap(i + 1) == " "):
                    out.append((i, i + 1, "PER", 0.4))
        return out

    # ------------------------------------------------------------ base forms
    def lemmatise(self, doc: _Doc, i: int, j: int, label: str) -> str:
        """Base form of tokens [i, j) under ``label`` (see module docstring)."""
        span = doc.text[doc.tokens[i][0] : doc.tokens[j - 1][1]]
        hit = self.lexicon.polish.get(surface_key(span))
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
        for c in CASE_ORDER:
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
        stripped = self._strip_foreign(doc, t)
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
        stripped = self._strip_foreign(doc, t)
        if stripped != t or t.isupper() or len(t) < 6:
            return stripped
        for end in ("owi", "u", "ie", "em"):
            stem = t[: -len(end)]
            if t.endswith(end) and stem[-1:].lower() not in "aeiouyąęóhj" and not stem.endswith(("dz", "rz", "sz", "cz")):
                return stem
        return t

    def _strip_foreign(self, doc: _Doc, text: str) -> str:
        """Drop a Polish case ending from an unknown word if the bare form is in the article."""
        for cut, add in (("'a", ""), ("’a", ""), ("'owi", ""), ("'em", ""), ("owi", ""), ("em", ""), ("ie", ""), ("a", ""), ("u", ""), ("y", "a"), ("ę", "a"), ("ą", "a"), ("i", "a"), ("ze", "")):
            if text.endswith(cut) and len(text) - len(cut) >= 2:
                cand = text[: -len(cut)] + add
                if cand in doc.vocab:
                    return cand
        return text

    def _lemma_phrase(self, doc: _Doc, idx: list[int]) -> str:
        """Head to nominative, agreeing adjectives follow, complements stay."""
        words = [self.word(doc.words[k]) for k in idx]
        head = next((n for n, w in enumerate(words) if any(r.pos in NOMINAL for r in w.readings) and not self._modifies(words, n)), None)
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

    def _modifies(self, words: list[Word], n: int) -> bool:
        """Word n is an adjective agreeing with the noun after it ("Boże Narodzenie")."""
        if n + 1 >= len(words) or not words[n].adjective:
            return False
        nxt = words[n + 1]
        return any(
            a.pos in ADJECTIVAL and h.pos in NOMINAL and a.cases & h.cases and a.numbers & h.numbers and a.genders & h.genders
            for a in words[n].readings
            for h in nxt.readings
        )

    def _agreement(self, words: list[Word], head: int, agreeing: list[int]) -> tuple[Reading, str, str, dict[int, Reading]] | None:
        """The head reading, case and number on which the agreeing adjectives agree."""
        for hr in self._head_readings(words[head]):
            for case in CASE_ORDER:
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


_CACHE: dict[tuple[LexiconEntry, ...], EntityAnnotator] = {}
_CACHE_LOCK = threading.Lock()


def fingerprint(lexicon: str | Iterable[LexiconEntry] = ()) -> str:
    """The annotators' cache key, from a lexicon digest or the extra entries; loads nothing."""
    digest = lexicon if isinstance(lexicon, str) else lexicon_digest(lexicon)
    blob = "\n".join([*LAYERS, RULES_VERSION, MORFEUSZ_VERSION, digest])
    return hashlib.sha256(blob.encode()).hexdigest()


def get_annotator(extra: tuple[LexiconEntry, ...] = ()) -> EntityAnnotator:
    """Process-wide cache: Morfeusz and the expanded lexicon are loaded once per ``extra``."""
    key = tuple(sorted(set(extra), key=lambda e: (e.lemma, e.label, e.entity_id)))
    with _CACHE_LOCK:
        ann = _CACHE.get(key)
        if ann is None:
            ann = _CACHE[key] = EntityAnnotator(key)
        return ann

