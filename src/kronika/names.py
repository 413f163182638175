"""Out-of-the-box name annotator for bg, cs, ru, sl, uk and en (issue 11, part 2).

Two automatic layers, versioned apart from the Polish ``gazetteer_v1``/``rules_v1``:

* ``names_lexicon_v1`` -- longest match of a hand-written lexicon of general knowledge
  (``lang/<code>/lexicon.tsv``: countries, capitals, cities, regions, organisations,
  parties, companies, media, leaders, events) plus demonyms (``demonyms.tsv``) and the
  corpus's gold entities passed to the constructor. How a base form meets its inflected
  forms depends on what morphology ships offline for the language:

  - ru, uk: pymorphy3 with its dictionaries *generates* every case form of each entry
    (the head noun and the adjectives agreeing with it inflect; a genitive complement
    stays), so matching is an exact dictionary lookup of token tuples;
  - cs, sl: simplemma can only lemmatise, so entries and text are both reduced to
    per-word lemma keys ("Evropské unie" and "Evropská unie" both give
    ``evropský unie``) and matched on those keys;
  - bg: nouns barely inflect; the definite article is added by hand rules;
  - en: exact forms (a possessive ``'s`` is split off first).

* ``names_rules_v1`` -- capitalised runs that the lexicon did not cover, classified by
  context: titles before a name (``president``, ``premiér``), head words inside the run
  (``Ministerstvo``, ``Партия``), morphology tags (pymorphy3 Name/Surn/Geox/Orgn),
  given-name lists, female surname suffixes, a preposition of place before the run, and
  document-level consistency (a surname seen in a full name is a person elsewhere too).
  Sentence-initial common words, all-caps headlines and over-long runs are not names.

Both layers may overlap; ``kronika.entities.merge_layers`` resolves that (longer span
first, then layer rank, then position). ``LEXICON_LAYER`` sorts before ``CAPS_LAYER``
by name, so it wins ties even without an explicit rank.

Base forms: lexicon hits carry the lexicon's lemma (for demonyms, the nominative of the
mention's own number). Other mentions: ru/uk inflect each word to the nominative with
pymorphy3 keeping number and capitalisation (persons: every word; otherwise the words
up to the head noun); cs/sl take simplemma's lemma with capitals restored; bg keeps the
surface form, which measured better than any lemmatiser available offline.

Ids: the lexicon's BSNLP-style cross-lingual id (``PER-Vladimir-Putin`` in every
language, ``GPE-<English name>`` for countries), else ``<LABEL>-<ASCII words of the
lemma>`` with Cyrillic transliterated by anyascii.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from kronika.lexicon import LexiconEntry, match_case
from kronika.record import COMBINING_MARKS, MAX_MENTION_CHARS, Mention

__all__ = [
    "CAPS_LAYER",
    "LANGUAGES",
    "LAYERS",
    "LEXICON_LAYER",
    "NameAnnotator",
    "annotate_layers",
    "derived_id",
    "fingerprint",
    "get_annotator",
]

LEXICON_LAYER = "names_lexicon_v1"
CAPS_LAYER = "names_rules_v1"
LAYERS = (LEXICON_LAYER, CAPS_LAYER)
LANGUAGES = ("bg", "cs", "en", "ru", "sl", "uk")
NAMES_VERSION = "names-2026.3"  # .3: a word keeps its combining marks (decomposed text); .2: the lexicon pass no longer depends on what a worker keyed before
RESOURCE_FILES = ("lexicon.tsv", "demonyms.tsv", "titles.txt", "heads.tsv", "firstnames.txt", "stopwords.txt")
LABELS = frozenset({"PER", "ORG", "LOC", "EVT", "PRO"})
# Packages each language needs at run time (besides anyascii for every language).
PACKAGES: dict[str, tuple[str, ...]] = {
    "ru": ("pymorphy3", "pymorphy3-dicts-ru"),
    "uk": ("pymorphy3", "pymorphy3-dicts-uk"),
    "cs": ("simplemma",),
    "sl": ("simplemma",),
    "bg": ("simplemma",),
    "en": ("simplemma",),
}
REQUIREMENTS = ("anyascii", "pymorphy3", "pymorphy3-dicts-ru", "pymorphy3-dicts-uk", "simplemma")

MAX_RUN_WORDS = 6  # a longer run of capitalised words is a headline or a list, not a name
# A word keeps the combining marks written after its letters (decomposed text: "ѝ" as
# "и" + U+0300, "Plzeň" as "n" + U+030C); else a name would end before its last accent.
_WORD = rf"\w[\w{COMBINING_MARKS}]*"
TOKEN_RE = re.compile(rf"{_WORD}(?:[-‐‑'’]{_WORD})*|\S", re.UNICODE)
SENTENCE_END = frozenset(".!?…:;")
OPENERS = frozenset("\"„“”«»‘’'(–—-*•[")
QUOTE_CHARS = "\"„“”«»‘’'"
QUOTES = frozenset(QUOTE_CHARS)
CONNECTORS = frozenset(
    "von van der den de del della di da du la le al el bin ibn und and of фон ван дер де ди да дю ла ле ал ель аль бен бин ибн".split()
)
LOC_PREPOSITIONS = {
    "ru": frozenset("в во из на под над около возле".split()),
    "uk": frozenset("в у до з із зі на біля".split()),
    "bg": frozenset("в във от до на край".split()),
    "cs": frozenset("v ve do z ze na u".split()),
    "sl": frozenset("v na iz pri do".split()),
    "en": frozenset("in at from to near".split()),
}
# Case endings of foreign names, tried only when the bare form occurs in the same document.
SUFFIX_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "ru": (("ии", "ия"), ("ию", "ия"), ("ией", "ия"), ("ы", "а"), ("е", "а"), ("у", "а"), ("ой", "а"), ("и", "а"),
           ("и", "я"), ("ю", "я"), ("ом", ""), ("ем", ""), ("а", ""), ("у", ""), ("е", ""), ("я", "ь"), ("ю", "ь")),
    "uk": (("ії", "ія"), ("ію", "ія"), ("ією", "ія"), ("и", "а"), ("і", "а"), ("у", "а"), ("ою", "а"), ("ом", ""),
           ("ові", ""), ("а", ""), ("у", ""), ("і", ""), ("ем", ""), ("я", "ь"), ("ю", "ь")),
    "cs": (("ího", "í"), ("ímu", "í"), ("ím", "í"), ("ovi", ""), ("em", ""), ("a", ""), ("u", ""), ("e", ""),
           ("ě", ""), ("y", "a"), ("u", "a"), ("ou", "a"), ("e", "a"), ("i", "a"), ("ii", "ia"), ("ie", "ia")),
    "sl": (("jem", ""), ("ja", ""), ("ju", ""), ("om", ""), ("em", ""), ("a", ""), ("u", ""), ("e", ""), ("i", ""),
           ("o", "a"), ("i", "a"), ("e", "a")),
    "bg": (),
    "en": (),
}
BG_ADJECTIVE = re.compile(r"(?:ски|ска|ско|ските|ската|ското|ския|ският|цки|цка|цко|цките|цката|цкия|цкият|ния|ният|ната|ното|ните)$")
ADJECTIVE_ENDINGS = {
    "cs": tuple("ý á é í ého ému ém ým ou ých ými".split()),
    "sl": tuple("ski ska sko ske skega skemu skem skim ni na no ne nega nemu nem nim ega emu".split()),
}
STEM_ENDINGS = {
    "cs": tuple(sorted("ovou ové ová ovi ému ého ých ými ím ou em ům ami ách ech a e ě i í o u y ů á é ý".split(), key=len, reverse=True)),
    "sl": tuple(sorted("ovega ovem evega ega emu ih im om em ja ju jo je ji a e i o u".split(), key=len, reverse=True)),
}


def _stem(word: str, language: str) -> str:
    """``word`` without its case ending, keeping at least three letters."""
    for ending in STEM_ENDINGS.get(language, ()):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


FUNCTION_POS = frozenset({"CONJ", "PREP", "PRCL", "NPRO", "INTJ", "ADVB", "PRED", "VERB", "INFN", "GRND", "NUMR"})
CASE_ALIASES = {"gen2": "gent", "loc2": "loct", "acc2": "accs", "gen1": "gent", "loc1": "loct"}
PERSON_TAGS = frozenset({"Name", "Surn", "Patr"})
NAME_CLASSES = PERSON_TAGS | {"Geox", "Orgn"}
# Words that join a head to its complement name ("Върховният съд на Пакистан").
OF_WORDS = {"bg": frozenset({"на"}), "en": frozenset({"of"})}
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


# ------------------------------------------------------------------ resources
def lang_dir(language: str):  # -> importlib.resources Traversable
    """``kronika/lang/<code>/``: works without ``lang/__init__.py`` (plain package data)."""
    return resources.files("kronika").joinpath("lang", language)


def read_resource(language: str, name: str) -> str:
    try:
        return lang_dir(language).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.rstrip("\n")


def word_list(text: str) -> frozenset[str]:
    """Whitespace-separated words of a ``.txt`` resource (comments skipped)."""
    return frozenset(w for line in _lines(text) for w in line.split())


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon form: what its mentions are labelled, lemmatised and linked as."""

    form: str
    label: str
    lemma: str
    entity_id: str
    demonym: bool = False


def read_lexicon(text: str) -> list[Entry]:
    out = []
    for line in _lines(text):
        cols = (line.split("\t") + ["", "", ""])[:4]
        form, label, lemma, eid = (c.strip() for c in cols)
        # quotation marks stay outside the span (ANNOTATION.md section 4)
        form, lemma = form.strip(QUOTE_CHARS), lemma.strip(QUOTE_CHARS)
        if label not in LABELS:
            raise ValueError(f"names lexicon: bad label {label!r} in {line!r}")
        lemma = lemma or form
        out.append(Entry(form, label, lemma, eid or derived_id(label, lemma)))
    return out


def read_demonyms(text: str) -> list[Entry]:
    out = []
    for line in _lines(text):
        form, _tab, eid = line.partition("\t")
        out.append(Entry(form.strip(), "PER", form.strip(), eid.strip() or derived_id("PER", form.strip()), True))
    return out


def read_heads(text: str) -> dict[str, str]:
    heads: dict[str, str] = {}
    for line in _lines(text):
        word, _tab, label = line.partition("\t")
        if label.strip() in LABELS:
            heads.setdefault(word.strip().lower(), label.strip())
    return heads


@lru_cache(maxsize=1 << 16)  # news repeats its names: anyascii was a tenth of this layer
def derived_id(label: str, lemma: str) -> str:
    """``<LABEL>-<ASCII words of the lemma>``; Cyrillic (any script) through anyascii."""
    from anyascii import anyascii

    words = re.findall(r"[A-Za-z0-9]+", anyascii(lemma))
    return f"{label}-{'-'.join(words) if words else 'X'}"


# ------------------------------------------------------------------ tokens
def tokenize(text: str, language: str) -> list[tuple[int, int, str]]:
    """Words (joined by inner hyphens/apostrophes) and single punctuation marks.

    English possessives are split (``Britain's`` -> ``Britain`` + ``'s``) so the name
    ends where it should.
    """
    toks = [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(text)]
    if language != "en":
        return toks
    out = []
    for s, e, t in toks:
        if len(t) > 2 and t[-2] in "'’" and t[-1] in "sS":
            out.append((s, e - 2, t[:-2]))
            out.append((e - 2, e, t[-2:]))
        else:
            out.append((s, e, t))
    return out




# ------------------------------------------------------------------ morphology glue
class Morphology:
    """What the annotator needs from a language's morphology.

    ``key`` maps a token to the string lexicon matching compares; ``forms`` expands a
    lexicon form to the surface forms to index; ``lemma`` gives a mention's base form;
    ``common`` tells whether a sentence-initial capitalised word is just a common word;
    ``tags`` gives name classes known to the dictionary (Name, Surn, Geox, Orgn, ...).
    The default: exact forms, surface lemmas, no tags.
    """

    keyed = False  # True: match on lemma keys instead of generated forms

    def __init__(self, language: str) -> None:
        self.language = language
        self._key: dict[str, str] = {}

    def key(self, word: str) -> str:
        return word

    def forms(self, form: str, label: str) -> set[str]:
        return {form}

    def lemma(self, words: list[str], label: str, doc: frozenset[str] = frozenset()) -> str:
        return " ".join(words)

    def common(self, word: str) -> bool:
        return False

    def function_word(self, word: str) -> bool:
        """A capitalised pronoun, conjunction, preposition... never starts a name."""
        return False

    def adjective(self, word: str) -> bool:
        """A lone capitalised adjective ("Пакистанските") is no name."""
        return False

    def confirmed(self, word: str, doc: frozenset[str]) -> str | None:
        """A base form of an unknown word that the same document also uses ("Watsona" ->
        "Watson" when "Watson" occurs): case endings stripped by ``SUFFIX_RULES``."""
        for suffix, repl in SUFFIX_RULES.get(self.language, ()):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                base = word[: len(word) - len(suffix)] + repl
                if base in doc:
                    return base
        return None

    def tags(self, word: str) -> frozenset[str]:
        return frozenset()


class SimplemmaMorphology(Morphology):
    """cs, sl: simplemma lemmas with capitals restored, used as matching keys."""

    keyed = True

    def __init__(self, language: str) -> None:
        super().__init__(language)
        import simplemma

        self._sm = simplemma
        self._lemma: dict[str, str] = {}

    def word_lemma(self, word: str) -> str:
        """simplemma on the word as written, else on its lowercase form, case restored."""
        got = self._lemma.get(word)
        if got is None:
            got = self._sm.lemmatize(word, self.language)
            if got == word and word[:1].isupper():
                low = self._sm.lemmatize(word.lower(), self.language)
                got = match_case(low, word) if low != word.lower() else word
            if word.isupper() and len(word) > 1:
                got = word  # acronyms keep their form (EU, ČTK)
            self._lemma[word] = got
        return got

    def key(self, word: str) -> str:
        """``U``/``l`` (capitalised or not) + the lemma; for a capitalised word the lemma
        also loses a case ending (``STEM_ENDINGS``), so "Angelou" meets "Angela" and
        "Merkelovou" meets "Merkelová" even where simplemma does not know the name."""
        got = self._key.get(word)
        if got is None:
            lemma = self.word_lemma(word).lower()
            if word[:1].isupper() and not word.isupper():
                got = "U" + _stem(lemma, self.language)
            else:
                got = ("U" if word[:1].isupper() else "l") + lemma
            self._key[word] = got
        return got

    def lemma(self, words: list[str], label: str, doc: frozenset[str] = frozenset()) -> str:
        if label == "PER" or len(words) == 1:
            return " ".join(self.name_lemma(w, doc) if w[:1].isalpha() else w for w in words)
        # multiword organisations etc.: simplemma lemmatises adjectives to the masculine,
        # which breaks agreement ("Evropská komise" -> "evropský komise"), so the surface
        # form stays (lexicon lemmas cover the frequent ones)
        return " ".join(words)

    def name_lemma(self, word: str, doc: frozenset[str]) -> str:
        if self.language == "cs" and word.endswith(("ové", "ovou")) and len(word) > 5:
            return word[: -3 if word.endswith("ové") else -4] + "ová"  # Merkelové -> Merkelová
        got = self.word_lemma(word)
        if got == word:
            got = self.confirmed(word, doc) or word
        return got

    def common(self, word: str) -> bool:
        return self._sm.is_known(word.lower(), self.language)


class BulgarianMorphology(Morphology):
    """bg: definite-article forms generated by hand rules; surface lemmas."""

    def __init__(self, language: str) -> None:
        super().__init__(language)
        import simplemma

        self._sm = simplemma

    def forms(self, form: str, label: str) -> set[str]:
        """The entry and, for a multiword name, its first word with the definite article
        ("Европейски съюз" -> "Европейският съюз"); one-word names take no article."""
        words = form.split(" ")
        out = {form}
        first = words[0]
        if not first[:1].isalpha() or first.isupper() or (len(words) < 2 and not first[:1].islower()):
            return out  # a one-word name takes no article; a common noun (демонym, брексит) does
        for variant in _bg_articles(first):
            out.add(" ".join([variant, *words[1:]]))
        return out

    def common(self, word: str) -> bool:
        low = word.lower()
        if self._sm.is_known(low, "bg") or BG_ADJECTIVE.search(low):
            return True
        for suffix in ("ът", "ят", "та", "то", "те", "а", "я"):
            if low.endswith(suffix) and len(low) > len(suffix) + 2 and self._sm.is_known(low[: -len(suffix)], "bg"):
                return True
        return False

    def adjective(self, word: str) -> bool:
        return bool(BG_ADJECTIVE.search(word.lower()))

    def lemma(self, words: list[str], label: str, doc: frozenset[str] = frozenset()) -> str:
        """The surface form (measured best for bg names), except that the first word of a
        non-person name loses its definite article ("Върховният съд" -> "Върховен съд" is
        beyond rules, but "Европейската комисия" -> "Европейска комисия" is not)."""
        if label == "PER" or not words or not words[0][:1].isalpha() or words[0].isupper():
            return " ".join(words)
        return " ".join([self._strip_article(words[0]), *words[1:]])

    def _strip_article(self, word: str) -> str:
        for suffix, repl in (("ският", "ски"), ("ския", "ски"), ("ската", "ска"), ("ското", "ско"), ("ските", "ски"),
                             ("цкият", "цки"), ("цкия", "цки"), ("цката", "цка"), ("цкото", "цко"),
                             ("ният", "ен"), ("ния", "ен"), ("ната", "на"), ("ното", "но"), ("ните", "ни")):
            if word.endswith(suffix):
                return word[: -len(suffix)] + repl
        if word.endswith(("ът", "ят")) and len(word) > 4:
            return word[:-2]
        for suffix in ("та", "то", "те"):
            if word.endswith(suffix) and len(word) > 5 and self._sm.is_known(word[:-2].lower(), "bg"):
                return word[:-2]
        return word


def _bg_articles(word: str) -> list[str]:
    """Definite forms of a Bulgarian noun or adjective (the article goes on the first word)."""
    low = word[-1:]
    if word.endswith("ски") or word.endswith("ки") or word.endswith("ни") or word.endswith("ли"):
        return [word + "ят", word + "я", word + "те"]
    if low in "ая":
        return [word + "та"]
    if low in "оеиу":
        return [word + "то", word + "те"]
    if low == "ъ":
        return []
    if low.isalpha():
        return [word + "ът", word + "а", word + "ят", word + "я"]
    return []


class PymorphyMorphology(Morphology):
    """ru, uk: pymorphy3 generates every case form and lemmatises mentions."""

    CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")

    def __init__(self, language: str) -> None:
        super().__init__(language)
        import pymorphy3

        self._m = pymorphy3.MorphAnalyzer(lang=language)
        self._parse: dict[str, list] = {}
        self._cands: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {}

    def parses(self, word: str) -> list:
        """pymorphy3's readings; it lowercases the word itself, so one cache entry serves
        "Путин" and "путин"."""
        low = word.lower()
        got = self._parse.get(low)
        if got is None:
            got = self._parse[low] = self._m.parse(low)
        return got

    def tags(self, word: str) -> frozenset[str]:
        ps = self.parses(word)
        if not ps:
            return frozenset()
        top = ps[0].score
        out: set[str] = set()
        for p in ps:
            if p.score >= top * 0.5 or p.score == 0:
                out |= {g for g in ("Name", "Surn", "Patr", "Geox", "Orgn", "Abbr") if g in p.tag.grammemes}
        return frozenset(out)

    def common(self, word: str) -> bool:
        """A known dictionary word whose best reading is no name ("Однако", "Глава")."""
        ps = self.parses(word.lower())
        if not ps:
            return False
        p = ps[0]
        known = getattr(p, "is_known", True)
        return bool(known) and not p.tag.grammemes & NAME_CLASSES

    def _choose(self, word: str, label: str, nominative_only: bool = False):
        ps = self.parses(word)
        if nominative_only:
            ps = [p for p in ps if p.tag.case == "nomn"]
        if not ps:
            return None
        if label == "PER":
            pref = [p for p in ps if p.tag.grammemes & PERSON_TAGS]
        elif label == "LOC":
            pref = [p for p in ps if "Geox" in p.tag.grammemes]
        else:
            pref = [p for p in ps if not p.tag.grammemes & PERSON_TAGS]
        return (pref or ps)[0]

    def _paradigm(self, parse, gender: str | None = None) -> dict[str, list[str]]:
        """Case -> forms of ``parse``'s lexeme in its number (adjectives: in ``gender``)."""
        number = parse.tag.number  # None in the uk dictionary's singular tags
        adjective = parse.tag.POS in ("ADJF", "PRTF")
        out: dict[str, list[str]] = {}
        for f in parse.lexeme:
            tag = f.tag
            case = CASE_ALIASES.get(tag.case, tag.case)
            if case not in self.CASES or tag.number != number:
                continue
            if adjective and number != "plur" and gender and tag.gender != gender:
                continue
            forms = out.setdefault(case, [])
            if f.word not in forms:
                forms.append(f.word)
        return out

    def forms(self, form: str, label: str) -> set[str]:
        """Every case form: persons inflect every word; otherwise the nominative words up
        to and including the head noun inflect (adjectives agree), the rest stays."""
        words = form.split(" ")
        chosen = []
        inflecting = True
        for w in words:
            p = None
            if inflecting and w[:1].isalpha() and not (w.isupper() and len(w) > 1) and "-" not in w:
                p = self._choose(w, label, nominative_only=True)
            chosen.append(p)
            if label != "PER" and (p is None or p.tag.POS == "NOUN"):
                inflecting = False
        nouns = [p for p in chosen if p is not None and p.tag.POS == "NOUN"]
        head_gender = nouns[0].tag.gender if nouns else None
        plans = [
            {c: [match_case(f, w) for f in fs] for c, fs in self._paradigm(p, head_gender).items()} if p is not None else None
            for w, p in zip(words, chosen)
        ]
        out = {form}
        for case in self.CASES:
            combos = [""]
            for w, plan in zip(words, plans):
                options = plan.get(case, [w]) if plan else [w]
                combos = [f"{c} {o}" if c else o for c in combos for o in options][:32]
            out.update(combos)
        return out

    def function_word(self, word: str) -> bool:
        ps = self.parses(word.lower())
        return bool(ps) and ps[0].tag.POS in FUNCTION_POS and not ps[0].tag.grammemes & NAME_CLASSES

    def adjective(self, word: str) -> bool:
        ps = self.parses(word)
        return bool(ps) and ps[0].tag.POS in ("ADJF", "PRTF") and not ps[0].tag.grammemes & NAME_CLASSES

    def lemma(self, words: list[str], label: str, doc: frozenset[str] = frozenset()) -> str:
        """Nominative of every word (persons) or of the words up to the head noun."""
        out: list[str] = []
        inflecting = True
        for w in words:
            if not inflecting or not w[:1].isalpha() or (w.isupper() and len(w) > 1):
                out.append(w)
                continue
            out.append(self._word_nominative(w, label, doc))
            if label != "PER":
                p = self._choose(w, label)
                if p is not None and p.tag.POS == "NOUN":
                    inflecting = False
        return " ".join(out)

    def _word_nominative(self, word: str, label: str, doc: frozenset[str]) -> str:
        """The document's own nominative if it has one, else the dictionary's; an
        unknown word (only guessed by pymorphy3) keeps its form."""
        if "-" in word:
            return "-".join(self._word_nominative(part, label, doc) if part[:1].isalpha() else part for part in word.split("-"))
        cands, known = self._candidates(word, label)
        for c in cands:
            if c != word and c in doc:  # the word itself is always in its document
                return c
        guess = self.confirmed(word, doc)
        if guess:
            return guess
        if not known:
            return word
        return cands[0] if cands else word

    def _candidates(self, word: str, label: str) -> tuple[tuple[str, ...], bool]:
        """Nominatives of the word's readings, best first, and whether the dictionary
        knows the word (memoised: inflecting is the costly part)."""
        got = self._cands.get((word, label))
        if got is None:
            p = self._choose(word, label)
            cands: list[str] = []
            # the chosen reading and at most two others with another base form: inflecting
            # is pymorphy3's costly step, and later readings are rarely the right ones
            readings = [p] if p is not None else []
            for q in self.parses(word):
                if len(readings) >= 3:
                    break
                if all(q.normal_form != r.normal_form or q.tag.number != r.tag.number for r in readings):
                    readings.append(q)
            for q in readings:
                if q.tag.case == "nomn":
                    cands.append(word)
                    continue
                nom = q.inflect({"nomn", q.tag.number} if q.tag.number else {"nomn"})
                if nom is not None:
                    cands.append(match_case(nom.word, word))
            got = self._cands[(word, label)] = (tuple(dict.fromkeys(cands)), self._m.word_is_known(word.lower()))
        return got


class EnglishMorphology(Morphology):
    def __init__(self, language: str) -> None:
        super().__init__(language)
        import simplemma

        self._sm = simplemma

    def common(self, word: str) -> bool:
        return self._sm.is_known(word.lower(), "en")


MORPHOLOGY: dict[str, Callable[[str], Morphology]] = {
    "ru": PymorphyMorphology,
    "uk": PymorphyMorphology,
    "cs": SimplemmaMorphology,
    "sl": SimplemmaMorphology,
    "bg": BulgarianMorphology,
    "en": EnglishMorphology,
}


# ------------------------------------------------------------------ one language
@dataclass(frozen=True, slots=True)
class Hit:
    label: str
    lemma: str
    entity_id: str
    demonym: bool


def script_fits(text: str, language: str) -> bool:
    """Gold entries of another script are matched exactly only (no morphology)."""
    cyr = bool(CYRILLIC.search(text))
    return cyr == (language in ("bg", "ru", "uk"))


class LanguagePack:
    """Everything the annotator knows about one language, loaded once."""

    def __init__(self, language: str, extra: Iterable[LexiconEntry] = ()) -> None:
        self.language = language
        self.morph = MORPHOLOGY[language](language)
        self.titles = frozenset(w.lower() for w in word_list(read_resource(language, "titles.txt")))
        self.heads = read_heads(read_resource(language, "heads.tsv"))
        self.firstnames = word_list(read_resource(language, "firstnames.txt"))
        self.stopwords = word_list(read_resource(language, "stopwords.txt"))
        self.loc_preps = LOC_PREPOSITIONS.get(language, frozenset())
        self.index: dict[tuple[str, ...], Hit] = {}
        self.first_len: dict[str, int] = {}
        self._name_like: dict[str, bool] = {}
        self._common: dict[str, bool] = {}
        self._head: dict[str, str | None] = {}
        self._tags: dict[str, frozenset[str]] = {}
        self._genitive: dict[str, bool] = {}
        self._adjective: dict[str, bool] = {}
        entries = read_lexicon(read_resource(language, "lexicon.tsv"))
        entries += read_demonyms(read_resource(language, "demonyms.tsv"))
        for e in entries:
            self._add(e, inflect=True)
        for g in sorted(set(extra), key=lambda g: (g.lemma, g.label, g.entity_id)):
            if g.label in LABELS and g.lemma.strip():
                self._add(Entry(g.lemma.strip(), g.label, g.lemma.strip(), g.entity_id), inflect=script_fits(g.lemma, language))
        self.prefixes = frozenset(p for key in self.index for w in key for p in (w[:3].lower(), w[1:4].lower()))

    # Per-word facts, memoised: news repeats its capitalised words, so each is looked up
    # in the morphology once per process, whatever the number of documents.
    def name_like(self, word: str) -> bool:
        got = self._name_like.get(word)
        if got is None:
            got = self._name_like[word] = (
                len(word) > 1 and word[:1].isupper() and word[:1].isalpha()
                and word not in self.stopwords and not self.morph.function_word(word)
            )
        return got

    def common(self, word: str) -> bool:
        got = self._common.get(word)
        if got is None:
            got = self._common[word] = self.morph.common(word)
        return got

    def head_of(self, word: str) -> str | None:
        got = self._head.get(word, "?")
        if got == "?":
            got = self._head[word] = self._find_head(word)
        return got

    def _find_head(self, word: str) -> str | None:
        morph = self.morph
        got = self.heads.get(word.lower())
        if got is None and morph.keyed:
            got = self.heads.get(morph.key(word)[1:])
        if got is None and isinstance(morph, PymorphyMorphology):
            ps = morph.parses(word.lower())
            if ps:
                got = self.heads.get(ps[0].normal_form)
        return got

    def tags(self, word: str) -> frozenset[str]:
        got = self._tags.get(word)
        if got is None:
            got = self._tags[word] = self.morph.tags(word)
        return got

    def genitive(self, word: str) -> bool:
        """A lowercase word that can be a genitive complement ("иностранных дел")."""
        got = self._genitive.get(word)
        if got is None:
            morph = self.morph
            got = isinstance(morph, PymorphyMorphology) and any(
                p.tag.case == "gent" and p.tag.POS in ("NOUN", "ADJF", "PRTF") for p in morph.parses(word)
            )
            self._genitive[word] = got
        return got

    def phrase_adjective(self, word: str) -> bool:
        """May start a head phrase: an adjective ("Верховный суд"), or in English any
        capitalised word that is not a stopword ("Supreme Court")."""
        if self.language == "en":
            return word not in self.stopwords and not self.common(word)
        if self.language in ADJECTIVE_ENDINGS:
            return word.lower().endswith(ADJECTIVE_ENDINGS[self.language])
        return self.adjective(word)

    def adjective(self, word: str) -> bool:
        got = self._adjective.get(word)
        if got is None:
            got = self._adjective[word] = self.morph.adjective(word)
        return got

    def _add(self, e: Entry, inflect: bool) -> None:
        forms = self.morph.forms(e.form, e.label) if inflect else {e.form}
        if e.demonym and e.form[:1].islower():
            forms |= {f[:1].upper() + f[1:] for f in forms}  # "Британците гласуваха"
        hit = Hit(e.label, e.lemma, e.entity_id, e.demonym)
        for form in sorted(forms):
            toks = tuple(t for _s, _e, t in tokenize(form, self.language))
            if not toks:
                continue
            key = tuple(self.morph.key(t) for t in toks) if self.morph.keyed and inflect else toks
            if key not in self.index or form == e.form:
                self.index.setdefault(key, hit)
            self.first_len[key[0]] = max(self.first_len.get(key[0], 0), len(key))
            if self.morph.keyed:
                # exact forms always match too (gold of another script, acronyms)
                self.index.setdefault(toks, hit)
                self.first_len[toks[0]] = max(self.first_len.get(toks[0], 0), len(toks))


# ------------------------------------------------------------------ the annotator
class NameAnnotator:
    """Lexicon and capitalised-run layers for bg, cs, ru, sl, uk and en.

    ``extra``: gold lexicon entries (``LexiconEntry(lemma, label, entity_id)``) learned
    from the corpus's gold files; they are matched in every language (exact forms
    everywhere, inflected where the language's morphology can, same-script only).
    Language packs load lazily, on the first document of each language.
    """

    def __init__(self, extra: Iterable[LexiconEntry] = ()) -> None:
        self.extra = tuple(sorted(set(extra), key=lambda g: (g.lemma, g.label, g.entity_id)))
        self._packs: dict[str, LanguagePack] = {}
        self._lock = threading.Lock()

    def pack(self, language: str) -> LanguagePack:
        got = self._packs.get(language)
        if got is None:
            with self._lock:
                got = self._packs.get(language)
                if got is None:
                    got = self._packs[language] = LanguagePack(language, self.extra)
        return got

    def annotate_layers(self, text: str, language: str) -> dict[str, list[Mention]]:
        """``{LEXICON_LAYER: [...], CAPS_LAYER: [...]}``; empty for other languages."""
        if language not in LANGUAGES:
            return {LEXICON_LAYER: [], CAPS_LAYER: []}
        pack = self.pack(language)
        toks = tokenize(text, language)
        words = [t for _s, _e, t in toks]
        # the only tokens the capitalised-run passes visit, found in one pass over the words
        cands = [i for i, w in enumerate(words) if w[:1].isupper() or w in CONNECTORS]
        lex, covered = _lexicon_pass(pack, text, toks, words)
        caps = _caps_pass(pack, text, toks, covered, lex, cands)
        return {LEXICON_LAYER: lex, CAPS_LAYER: caps}


def _lexicon_pass(
    pack: LanguagePack, text: str, toks: list[tuple[int, int, str]], words: list[str]
) -> tuple[list[Mention], bytearray]:
    """Longest lexicon match at each token, left to right; ``covered`` marks used tokens.

    Only tokens that start some entry are visited (found by one comprehension), so the
    Python loop runs over candidates, not over every word of the article.
    """
    morph, index, first_len = pack.morph, pack.index, pack.first_len
    seqs: tuple[list[str], ...] = (words,)
    if morph.keyed:
        # lemmatise only words that begin like some entry word (lemmas keep the start),
        # which spares simplemma most of the article. The rule alone decides, never
        # whether the word was keyed before (``key`` memoises): a word keyed by another
        # pass or document would otherwise match here and not in a fresh process, so
        # a document's mentions would depend on the documents its worker saw first.
        key, prefixes = morph.key, pack.prefixes
        seqs = ([key(w) if w[:3].lower() in prefixes else w for w in words], words)
    starts = sorted({i for seq in seqs for i, w in enumerate(seq) if w in first_len})
    n = len(toks)
    covered = bytearray(n)
    out: list[Mention] = []
    done = 0  # first token not yet inside a match
    for i in starts:
        if i < done:
            continue
        best, hit = 0, None
        for seq in seqs:
            for length in range(min(first_len.get(seq[i], 0), n - i), best, -1):
                got = index.get(tuple(seq[i : i + length]))
                if got is not None and _adjacent(toks, i, length, text):
                    best, hit = length, got
                    break
        if hit is None:
            continue
        start, end = toks[i][0], toks[i + best - 1][1]
        if end - start <= MAX_MENTION_CHARS:
            lemma = _demonym_lemma(morph, words[i : i + best], hit) if hit.demonym else hit.lemma
            out.append(Mention(start, end, text[start:end], hit.label, lemma, hit.entity_id, LEXICON_LAYER))
            covered[i : i + best] = b"\x01" * best
        done = i + best
    return out, covered


def _demonym_lemma(morph: Morphology, words: list[str], hit: Hit) -> str:
    """Demonyms keep their number ("пакистанцев" -> "пакистанцы", BSNLP-style): pymorphy3
    inflects to the nominative; cs/sl keep the written form (mostly nominative plural);
    bg takes the entry's base form (its forms are only article variants)."""
    if isinstance(morph, PymorphyMorphology):
        if len(words) == 1 and any(p.tag.case == "nomn" for p in morph.parses(words[0])):
            return words[0]  # already nominative ("Українці", "россияне")
        return morph.lemma(words, "DEM")
    if morph.keyed:
        return " ".join(words)
    return hit.lemma


def _adjacent(toks: list[tuple[int, int, str]], i: int, length: int, text: str) -> bool:
    """The tokens are separated by at most one space (no newline), as a name's words are."""
    for k in range(i + 1, i + length):
        gap = toks[k][0] - toks[k - 1][1]
        if gap > 1 or (gap == 1 and text[toks[k - 1][1]] != " "):
            return False
    return True


def _sentence_initial(toks: list[tuple[int, int, str]], i: int, text: str) -> bool:
    """First word of a line or sentence (skipping opening quotes and dashes)."""
    k = i - 1
    while k >= 0 and toks[k][2] in OPENERS:
        k -= 1
    if k < 0:
        return True
    if "\n" in text[toks[k][1] : toks[k + 1][0]]:
        return True
    return toks[k][2] in SENTENCE_END


def _runs(
    pack: LanguagePack, text: str, toks: list[tuple[int, int, str]], covered: bytearray, cands: list[int]
) -> list[list[int]]:
    """Maximal runs of capitalised, uncovered, adjacent tokens (inner connectors allowed).

    Only ``cands``, the capitalised tokens and connectors, are visited.
    """
    n = len(toks)
    runs: list[list[int]] = []
    cur: list[int] = []
    for i in cands:
        word = toks[i][2]
        ok = not covered[i] and pack.name_like(word)
        joinable = bool(cur) and cur[-1] == i - 1 and toks[i][0] - toks[i - 1][1] == 1 and text[toks[i - 1][1]] == " "
        if ok and (joinable or not cur):
            cur.append(i)
            continue
        if (
            cur and not covered[i] and word in CONNECTORS and joinable and i + 1 < n
            and not covered[i + 1] and pack.name_like(toks[i + 1][2])
        ):
            cur.append(i)
            continue
        if cur:
            runs.append(cur)
        cur = [i] if ok else []
    if cur:
        runs.append(cur)
    return runs


def _trim(pack: LanguagePack, text: str, toks: list[tuple[int, int, str]], run: list[int]) -> list[int]:
    """Drop a sentence-initial common word and leading/trailing connectors."""
    morph = pack.morph
    while run:
        i = run[0]
        word = toks[i][2]
        if word in CONNECTORS or word.lower() in pack.titles:
            run = run[1:]
            continue
        if _sentence_initial(toks, i, text) and word not in pack.firstnames and pack.common(word):
            run = run[1:]
            continue
        break
    while run and toks[run[-1]][2] in CONNECTORS:
        run = run[:-1]
    # a title inside the run ("Trade and Industry Secretary Patricia Hewitt"): the name follows it
    for k in range(len(run) - 2, -1, -1):
        if toks[run[k]][2].lower() in pack.titles:
            return run[k + 1 :]
    return run


def _caps_pass(
    pack: LanguagePack, text: str, toks: list[tuple[int, int, str]], covered: bytearray, lex: list[Mention],
    cands: list[int],
) -> list[Mention]:
    """Unknown capitalised runs and head phrases, labelled by context, with base forms;
    ``cands``: the indices of the capitalised tokens and connectors."""
    capitalised = [i for i in cands if toks[i][2][:1].isupper()]
    doc = frozenset(toks[i][2] for i in capitalised)
    runs = []
    for run in _runs(pack, text, toks, covered, cands):
        words = [toks[i][2] for i in run]
        if len(run) > MAX_RUN_WORDS or (len(run) >= 3 and all(w.isupper() for w in words)):
            continue
        run = _trim(pack, text, toks, run)
        if len(run) == 1 and pack.adjective(toks[run[0]][2]):
            continue
        if run and toks[run[-1]][1] - toks[run[0]][0] <= MAX_MENTION_CHARS:
            runs.append(run)
    # document-level consistency: words of multiword person names and lexicon persons
    person_words: set[str] = {w for m in lex if m.label == "PER" for w in m.text.split()}
    labels = [_classify(pack, text, toks, run) for run in runs]
    for run, label in zip(runs, labels):
        if label == "PER" and len(run) > 1:
            person_words.update(toks[i][2] for i in run)
    out: list[Mention] = []
    for run, label in zip(runs, labels):
        words = [toks[i][2] for i in run]
        if label is None:
            label = _default_label(pack, toks, run, person_words)
        start, end = toks[run[0]][0], toks[run[-1]][1]
        lemma = pack.morph.lemma(words, label, doc)
        out.append(Mention(start, end, text[start:end], label, lemma, derived_id(label, lemma), CAPS_LAYER))
    out.extend(_head_phrases(pack, text, toks, covered, lex, doc, capitalised))
    return out


def _head_phrases(
    pack: LanguagePack, text: str, toks: list[tuple[int, int, str]], covered: bytearray,
    lex: list[Mention], doc: frozenset[str], capitalised: list[int],
) -> list[Mention]:
    """Organisation/place/event phrases built on a head word: "Верховный суд Пакистана",
    "Министерство иностранных дел", "Evropská komise": a capitalised word, at most two
    more words up to a head of ``heads.tsv``, then (ru/uk) genitive complements and one
    capitalised name after them. Longer than the plain runs, so the merge prefers them."""
    lex_at = {m.start: m for m in lex}
    out: list[Mention] = []
    n = len(toks)
    for i in [i for i in capitalised if not covered[i]]:
        first = toks[i][2]
        if not first[:1].isalpha() or first.isupper():
            continue
        if pack.head_of(first) is None and not pack.phrase_adjective(first):
            continue
        head, label = None, None
        for j in range(i, min(i + 3, n)):
            if j > i and (covered[j] or not _adjacent(toks, j - 1, 2, text) or not toks[j][2][:1].isalpha()):
                break
            label = pack.head_of(toks[j][2])
            if label:
                head = j
                break
        if head is None:
            continue
        end = head
        k = head + 1
        while k < n and k - head <= 4 and _adjacent(toks, k - 1, 2, text):
            word = toks[k][2]
            if k == head + 1 and word in OF_WORDS.get(pack.language, ()) and k + 1 < n and toks[k + 1][0] in lex_at:
                k += 1
                continue
            if word[:1].islower() and pack.genitive(word):
                k += 1
                continue
            if word[:1].isupper() and word[:1].isalpha():
                m = lex_at.get(toks[k][0])
                if m is not None and m.label in ("LOC", "ORG"):
                    while k < n and toks[k][1] <= m.end:
                        k += 1
                    end = k - 1
                elif not covered[k] and pack.name_like(word):
                    end = k
            break
        if end == head and k > head + 1 and isinstance(pack.morph, PymorphyMorphology):
            end = k - 1  # "Министерство иностранных дел": the genitive complement belongs to it
        if end == i:
            continue  # a lone capitalised head is a plain run, labelled there
        start, stop = toks[i][0], toks[end][1]
        if stop - start > MAX_MENTION_CHARS:
            continue
        words = [t for _s, _e, t in toks[i : end + 1]]
        lemma = pack.morph.lemma(words, label, doc)
        out.append(Mention(start, stop, text[start:stop], label, lemma, derived_id(label, lemma), CAPS_LAYER))
    return out


def _classify(pack: LanguagePack, text: str, toks: list[tuple[int, int, str]], run: list[int]) -> str | None:
    """Label from context and the run's own words; None: decide after the document pass."""
    words = [toks[i][2] for i in run]
    morph = pack.morph
    for w in words:
        head = pack.head_of(w)
        if head:
            return head
    prev = run[0] - 1
    if prev >= 0 and toks[prev][2].lower() in pack.titles:
        return "PER"
    tags: set[str] = set()
    for w in words:
        tags |= pack.tags(w)
    if tags & {"Name", "Surn", "Patr"}:
        return "PER"
    if "Geox" in tags:
        return "LOC"
    if "Orgn" in tags:
        return "ORG"
    if words[0] in pack.firstnames and len(words) > 1:
        return "PER"
    if pack.language in ("cs", "sl") and _female_surname(words[-1]):
        return "PER"
    if len(words) == 1 and words[0].isupper() and len(words[0]) > 1:
        return "ORG"
    return None


def _female_surname(word: str) -> bool:
    return word.endswith(("ová", "ové", "ovou", "ovej"))


def _default_label(pack: LanguagePack, toks: list[tuple[int, int, str]], run: list[int], person_words: set[str]) -> str:
    """An unknown run nothing else classified. A surname seen in a full name, or (Slavic
    languages) any multiword run, is a person; a lone word after a preposition of place
    is a place. Otherwise Slavic news mostly means a person, while English Title Case
    (companies, clubs, products) is more often an organisation unless it starts with a
    given name."""
    words = [toks[i][2] for i in run]
    if words[-1] in person_words:
        return "PER"
    prev = run[0] - 1
    if len(run) == 1 and prev >= 0 and toks[prev][2].lower() in pack.loc_preps:
        return "LOC"
    if pack.language == "en":
        return "PER" if words[0] in pack.firstnames and len(run) > 1 else "ORG"
    return "PER"


# ------------------------------------------------------------------ module interface
_ANNOTATORS: dict[tuple[LexiconEntry, ...], NameAnnotator] = {}
_ANNOTATORS_LOCK = threading.Lock()


def get_annotator(extra: Iterable[LexiconEntry] = ()) -> NameAnnotator:
    """One shared annotator per set of gold entries (its language packs load lazily)."""
    key = tuple(sorted(set(extra), key=lambda g: (g.lemma, g.label, g.entity_id)))
    with _ANNOTATORS_LOCK:
        got = _ANNOTATORS.get(key)
        if got is None:
            got = _ANNOTATORS[key] = NameAnnotator(key)
    return got


def from_context(context: Any) -> NameAnnotator:
    """Factory of the ``names_lexicon_v1`` and ``names_rules_v1`` entries (``kronika.registry``):
    both are layers of one annotator, made once per gold lexicon."""
    return get_annotator(tuple(context.gold))


def annotate_layers(text: str, language: str, extra: Iterable[LexiconEntry] = ()) -> dict[str, list[Mention]]:
    """Both layers for ``text`` in ``language`` (a code of ``LANGUAGES``)."""
    return get_annotator(extra).annotate_layers(text, language)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def fingerprint(extra: Iterable[LexiconEntry] = ()) -> str:
    """sha256 over the resource files, this code's version, the morphology packages'
    versions and the gold entries: what a cached layer of this annotator depends on."""
    h = hashlib.sha256(NAMES_VERSION.encode())
    for pkg in REQUIREMENTS:
        h.update(f"\0{pkg}={_package_version(pkg)}".encode())
    for language in LANGUAGES:
        for name in RESOURCE_FILES:
            h.update(f"\0{language}/{name}\0".encode())
            h.update(read_resource(language, name).encode())
    for g in sorted(set(extra), key=lambda g: (g.lemma, g.label, g.entity_id)):
        h.update(f"\0{g.lemma}\t{g.label}\t{g.entity_id}".encode())
    return h.hexdigest()
