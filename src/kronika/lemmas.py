"""Base forms of entity mentions in languages other than Polish-with-Morfeusz.

``base_form(surface, label, language)`` is the fallback of the trained entity
model (``kronika.crf``): a surface form seen in the training gold takes the
gold's lemma first, and only unseen forms come here. Per language (figures in
/work/shared/notes/nlp-components.md and the issue 11 report):

* **ru, uk**: pymorphy3 with its OpenCorpora / VESUM dictionaries. Each word of
  a person name goes to the nominative on its own (apposition: "Терези Мей" ->
  "Тереза Мей"); in other names the words up to the first noun (the head, with
  the adjectives before it) go to the nominative in the head's gender and
  number, and the words after the head stay as they are (genitive complements:
  "Министерства иностранных дел" -> "Министерство иностранных дел"). A word
  that already has a nominative or indeclinable reading stays as written, since
  for names a wrong inflection is worse than none.
* **cs, sl, pl**: simplemma per word, with the capitals of the surface form put
  back (simplemma lowercases names); the same head rule, with "looks like an
  adjective" read from the lemma's ending, as simplemma gives no part of speech.
* **bg** and anything else: the surface form (Bulgarian nouns barely inflect
  for case, and simplemma's lemmas measured worse than the surface form).

Case is restored word by word: an all-capital word stays all capital ("НАТО"),
a capitalised word stays capitalised. Latin-script words inside Cyrillic text
("Brexit") are left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

PYMORPHY_LANGS = frozenset({"ru", "uk"})
SIMPLEMMA_LANGS = frozenset({"cs", "sl", "pl"})
_WORD = re.compile(r"[^\W\d_]+(?:[-‐'’][^\W\d_]+)*")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_NAME_TAGS = frozenset({"Name", "Surn", "Patr"})
# Endings of adjectival lemmas (simplemma gives no part of speech): Polish
# -y/-i/-ski, Czech -ý/-í, Slovene -ski/-ni/-en.
_ADJ_END = {
    "pl": ("y", "i"),
    "cs": ("ý", "í"),
    "sl": ("ski", "ški", "ni", "ji", "en", "ov", "ev"),
}


def base_form(surface: str, label: str, language: str) -> str:
    """The base form (nominative) of a mention, as well as the language allows.

    Never empty: when nothing better is known, the surface form itself.
    """
    if language in PYMORPHY_LANGS:
        out = _pymorphy_base(surface, label, language)
    elif language in SIMPLEMMA_LANGS:
        out = _simplemma_base(surface, label, language)
    else:
        out = surface
    return out if out.strip() else surface


def match_case(word: str, model: str) -> str:
    """``word`` written with the capitalisation of ``model`` (all caps, title, or as is)."""
    if len(model) > 1 and model.isupper():
        return word.upper()
    if model[:1].isupper():
        return "-".join(p[:1].upper() + p[1:] if q[:1].isupper() else p for p, q in _pair_parts(word, model))
    return word


def _pair_parts(word: str, model: str) -> list[tuple[str, str]]:
    """Hyphenated parts of ``word`` with those of ``model`` ("Бельско-Бяла")."""
    parts, models = word.split("-"), model.split("-")
    if len(parts) != len(models):
        return [(word, model)]
    return list(zip(parts, models))


def _replace_words(surface: str, new_words: list[str]) -> str:
    """``surface`` with its words replaced in order, spaces and punctuation kept."""
    pieces, pos = [], 0
    for match, new in zip(_WORD.finditer(surface), new_words):
        pieces.append(surface[pos : match.start()])
        pieces.append(new)
        pos = match.end()
    pieces.append(surface[pos:])
    return "".join(pieces)


# ------------------------------------------------------------------ pymorphy3
@lru_cache(maxsize=2)
def _analyzer(language: str) -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=language)


@lru_cache(maxsize=200_000)
def _parses(word: str, language: str) -> tuple[Any, ...]:
    return tuple(_analyzer(language).parse(word))


def _is_noun(parse: Any) -> bool:
    return parse.tag.POS == "NOUN"


def _keeps_form(parses: tuple[Any, ...]) -> bool:
    """A reading of the word is already nominative singular (or plural-only) or
    indeclinable: keep it. A plural nominative alone does not count: "Германии"
    is far more often the genitive of "Германия" than a plural."""
    return any(
        "Fixd" in p.tag or ("nomn" in p.tag and ("plur" not in p.tag or "Pltm" in p.tag))
        for p in parses
    )


def _nominative(parse: Any, word: str, grammemes: set[str]) -> str:
    inflected = parse.inflect({"nomn", *grammemes}) or parse.inflect({"nomn"})
    return match_case(inflected.word, word) if inflected else word


def _pymorphy_base(surface: str, label: str, language: str) -> str:
    words = [m.group() for m in _WORD.finditer(surface)]
    if not words:
        return surface
    if label == "PER":
        return _replace_words(surface, _person_words(words, language))
    head = _head_index(words, language)
    if head is None:
        return surface
    head_word = words[head]
    head_parses = _parses(head_word, language)
    noun = next((p for p in head_parses if _is_noun(p)), head_parses[0])
    if _keeps_form(head_parses):
        return surface  # the head is nominative already, so are its adjectives
    agree = {g for g in (noun.tag.gender, noun.tag.number) if g}
    out = list(words)
    out[head] = _nominative(noun, head_word, {noun.tag.number} if noun.tag.number else set())
    for i in range(head):
        out[i] = _adjective_word(words[i], language, agree)
    return _replace_words(surface, out)


def _person_words(words: list[str], language: str) -> list[str]:
    """Every part of a person name to the nominative singular, in the case and gender
    the parts share ("Владимира Путина": masculine genitive, so "Путина" is not
    read as the feminine surname it also is)."""
    readings = [_person_readings(w, language) for w in words]
    votes: Counter[tuple[str, str | None]] = Counter()  # type: ignore[assignment]
    for rs in readings:  # indeclinable parts fit every case and say nothing
        best: dict[tuple[str, str | None], float] = {}
        for p in rs:
            if "Fixd" not in p.tag:
                best[_case_gender(p)] = max(best.get(_case_gender(p), 0.0), p.score)
        votes.update(best)
    if not votes:
        return list(words)
    case, gender = max(votes, key=lambda k: (votes[k], k[0] == "nomn", k[1] or "", k[0] or ""))
    out = []
    for word, rs in zip(words, readings):
        fit = [p for p in rs if _case_gender(p) == (case, gender)]
        if not fit or case == "nomn" or "Fixd" in fit[0].tag:
            out.append(_lower_adjective(word, language))
        else:
            out.append(_nominative(fit[0], word, {"sing"}))
    return out


def _case_gender(parse: Any) -> tuple[str, str | None]:
    tag = parse.tag
    return str(tag.case or ""), (str(tag.gender) if tag.gender else None)


def _person_readings(word: str, language: str) -> list[Any]:
    """Singular noun readings of a name part, the name readings (Name/Surn/Patr) if any."""
    if not _CYRILLIC.search(word) or not word[:1].isupper():
        return []
    nouns = [p for p in _parses(word, language) if _is_noun(p) and "plur" not in p.tag]
    return [p for p in nouns if p.tag.grammemes & _NAME_TAGS] or nouns


def _lower_adjective(word: str, language: str) -> str:
    """A lower-case adjective tagged as a person ("немецких" for Germans) takes its
    dictionary form; anything else stays as written."""
    if word[:1].isupper() or not _CYRILLIC.search(word):
        return word
    adj = [p for p in _parses(word, language) if p.tag.POS == "ADJF"]
    return adj[0].normal_form if adj else word


def _head_index(words: list[str], language: str) -> int | None:
    """The first word read as a noun (its best reading), skipping Latin-script words."""
    for i, word in enumerate(words):
        if not _CYRILLIC.search(word):
            return None  # "Brexit", "Nord Stream 2": leave the name alone
        parses = _parses(word, language)
        if parses and _is_noun(parses[0]):
            return i
    return None


def _adjective_word(word: str, language: str, agree: set[str]) -> str:
    parses = [p for p in _parses(word, language) if p.tag.POS in ("ADJF", "PRTF")]
    if not parses:
        return word
    if _keeps_form(tuple(parses)):
        return word
    return _nominative(parses[0], word, agree)


# ------------------------------------------------------------------ simplemma
@lru_cache(maxsize=200_000)
def _simple_lemma(word: str, language: str) -> str:
    import simplemma

    return simplemma.lemmatize(word, lang=language)


def _simplemma_base(surface: str, label: str, language: str) -> str:
    words = [m.group() for m in _WORD.finditer(surface)]
    if not words:
        return surface
    lemmas = [match_case(_simple_lemma(w, language), w) for w in words]
    if label == "PER" or len(words) == 1:
        return _replace_words(surface, lemmas)
    head = next((i for i, lem in enumerate(lemmas) if not _looks_adjectival(lem, language)), None)
    if head is None:
        return surface
    gender = _gender(lemmas[head], language)
    out = list(words)
    out[head] = lemmas[head]
    for i in range(head):  # adjectives before the head agree with it
        out[i] = _agree(lemmas[i], gender, language)
    if head + 1 < len(words) and _looks_adjectival(lemmas[head + 1], language) and words[head + 1][:1].isupper():
        out[head + 1] = _agree(lemmas[head + 1], gender, language)  # "Unii Europejskiej" -> "Unia Europejska"
    return _replace_words(surface, out)


def _looks_adjectival(lemma: str, language: str) -> bool:
    return lemma.lower().endswith(_ADJ_END.get(language, ())) and len(lemma) > 3


def _gender(noun: str, language: str) -> str:
    """Grammatical gender guessed from a noun's lemma ending (no part of speech here)."""
    low = noun.lower()
    if low.endswith("a") or (language == "cs" and low.endswith(("e", "ě"))):
        return "f"
    if low.endswith(("o", "um")) or (language != "cs" and low.endswith("e")) or (language == "cs" and low.endswith("í")):
        return "n"
    return "m"


def _agree(adjective: str, gender: str, language: str) -> str:
    """The masculine dictionary form of an adjective in the head's gender."""
    if gender == "m":
        return adjective
    low = adjective.lower()
    if language == "cs" and low.endswith("ý"):
        return adjective[:-1] + ("á" if gender == "f" else "é")
    if language == "pl" and low.endswith("y"):
        return adjective[:-1] + ("a" if gender == "f" else "e")
    if language == "pl" and low.endswith("i"):
        soft = "" if low[-2:-1] in ("k", "g") else "i"
        return adjective[:-1] + (soft + "a" if gender == "f" else "ie")
    if language == "sl" and low.endswith("i"):
        return adjective[:-1] + ("a" if gender == "f" else "o")
    return adjective
