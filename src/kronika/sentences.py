"""Sentence spans for Polish and other languages.

The splitting itself is simplemma's rule-based ``split_sentences`` (MIT, already an
``annotate`` dependency): it knows terminators per script (``…``, ``।``, ``؟``, Greek
``;``), closing quotes after a terminator, initials, ordinals, lower-case
continuations and a per-language abbreviation list (Polish: ``m.in.``, ``np.``,
``prof.``, ``ul.``, ...). It returns stripped *strings*; this module turns them
back into exact code-point offsets and adds two things simplemma does not do:

* **Newlines are hard boundaries.** simplemma only breaks at blank lines; a
  heading line followed by a paragraph line must never form one sentence.
* **Titles and short forms before a name** (``dr.``, ``gen.``, ``Mr.``, ...) that
  simplemma's lists lack are re-joined with the next sentence (``_JOIN_AFTER``,
  read from every language pack's ``sentence_joins.txt``).
  The list is deliberately small: words like ``r.`` or ``itd.`` end sentences as
  often as not, so they are left to simplemma.

* **Dialogue tags**: ``– Może jutro? – zapytała.`` is one sentence (a dash and a
  lower-case word after ``?``/``!``/``…``). ``powiedział. – Nie wiem.`` splits
  anyway, as the dash is not a lower-case continuation; ``10-13`` carries no
  terminator.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from kronika import lang

# simplemma languages that have their own abbreviation/starter profile; any other
# code falls back to Polish, whose abbreviations (m.in., np.) rarely hurt elsewhere.
_PROFILED = frozenset({"cs", "de", "en", "fr", "nl", "pl", "pt", "el"})
DEFAULT_LANG = "pl"

# Forms that precede a name or number and are almost never sentence-final.
# Every language pack's list (``lang/<code>/sentence_joins.txt``).
_JOIN_AFTER = frozenset(lang.every_word("sentence_joins.txt"))
_LAST_WORD = re.compile(r"(\S+)\.$")
# "Może jutro? – zapytała." : a dash and a lower-case word after ?/!/… is the
# narrator's tag of the same dialogue sentence.
_DIALOGUE_TAG = re.compile(r"[–—-]\s+[^\W\d_]")
_LINE = re.compile(r"[^\n\r]+")


@cache
def _simplemma() -> Any:
    """simplemma, imported on the first split (35 ms that a cached build never needs)."""
    import simplemma

    return simplemma


def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Spans of the non-empty lines of ``text[start:end]``."""
    for match in _LINE.finditer(text, start, end):
        if not match.group().isspace():
            yield match.span()


def _locate(text: str, start: int, end: int, pieces: list[str]) -> list[tuple[int, int]]:
    """Offsets of simplemma's stripped, in-order slices of ``text[start:end]``."""
    spans = []
    pos = start
    for piece in pieces:
        found = text.find(piece, pos, end)
        if found < 0:  # cannot happen for slices of the input; stay safe anyway
            continue
        spans.append((found, found + len(piece)))
        pos = found + len(piece)
    return spans


def _needs_join(sentence: str) -> bool:
    if not sentence.endswith("."):  # cheap test first: this runs on every sentence
        if not sentence.endswith(".\n"):  # where ``$`` also matches (not from _lines)
            return False
        match = _LAST_WORD.search(sentence)
        return bool(match) and match.group(1).lower().lstrip("([\"'„«»") in _JOIN_AFTER
    # ``(\S+)\.$`` found by search: the last whitespace-free run, less its dot
    parts = sentence.rsplit(None, 1)
    last = parts[-1][:-1] if parts else ""
    return bool(last) and last.lower().lstrip("([\"'„«»") in _JOIN_AFTER


_WINDOW = 64  # longer than any ``_JOIN_AFTER`` form with its leading brackets and quotes


def _needs_join_at(text: str, start: int, end: int) -> bool:
    """``_needs_join(text[start:end])`` without copying the sentence: it reads only
    the last whitespace-free run. (A sentence re-joined many times grows, and
    copying it for every check made a line of "ukr. ukr. ..." quadratic.)"""
    if text[end - 1 : end] != ".":
        if text[max(start, end - 2) : end] != ".\n":
            return False
        return _needs_join(text[start:end])  # not from _lines (no newline inside a line)
    low = max(start, end - _WINDOW)
    window = text[low:end]
    parts = window.rsplit(None, 1)
    if low == start or len(parts) == 2 or window[:1].isspace():
        last = parts[-1][:-1] if parts else ""
    else:  # the last run is longer than the window: find where it starts
        first = low
        while first > start and not text[first - 1].isspace():
            first -= 1
        last = text[first : end - 1]
    return bool(last) and last.lower().lstrip("([\"'„«»") in _JOIN_AFTER


def _is_dialogue_tag(text: str, prev_end: int, start: int) -> bool:
    match = _DIALOGUE_TAG.match(text, start)
    return bool(match) and text[match.end() - 1].islower() and text[prev_end - 1] in "?!…"


def _join_short_forms(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Re-join a sentence that ends in a title such as ``dr.`` with the next one,
    and a dialogue question with its narrator's tag."""
    out: list[tuple[int, int]] = []
    for span in spans:
        if out and (_needs_join_at(text, *out[-1]) or _is_dialogue_tag(text, out[-1][1], span[0])):
            out[-1] = (out[-1][0], span[1])
        else:
            out.append(span)
    return out


def split_sentences(
    text: str, start: int = 0, end: int | None = None, *, lang: str | None = None
) -> list[tuple[int, int]]:
    """Sentence spans ``[s, e)`` of ``text[start:end]``: ordered, non-overlapping,
    stripped of surrounding whitespace, never crossing a newline.

    ``lang`` picks simplemma's abbreviation profile (default Polish).
    """
    stop = len(text) if end is None else min(end, len(text))
    code = lang if lang in _PROFILED else DEFAULT_LANG
    memo = _memo_for(text)
    key = (max(start, 0), stop, code)
    spans = memo.get(key)
    if spans is None:
        spans = memo[key] = _split(text, key[0], stop, code)
    return list(spans)


def _split(text: str, start: int, stop: int, code: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for line_start, line_end in _lines(text, start, stop):
        pieces = _simplemma().split_sentences(text[line_start:line_end], code)
        spans.extend(_join_short_forms(text, _locate(text, line_start, line_end, pieces)))
    return tuple(spans)


_last = threading.local()


def _memo_for(text: str) -> dict[tuple[int, int, str], tuple[tuple[int, int], ...]]:
    """The splits already made of ``text``: inside ``remembering()`` those of every
    text split there, else those of the text this thread split last.

    The language layer and the ``sentences`` config split the same blocks of a
    document; when one follows the other, the second split is a lookup. A build
    tags a whole shard before it makes any ``sentences`` row, so it splits inside
    ``remembering()``. Texts are kept by identity: outside the block, memory stays
    one document per thread; inside, it holds the texts the block holds anyway.
    """
    scope = getattr(_last, "scope", None)
    if scope is not None:
        entry = scope.get(id(text))
        if entry is None:  # the text is held, so its id cannot be reused while the scope lasts
            entry = scope[id(text)] = (text, {})
        return entry[1]
    if getattr(_last, "text", None) is not text:
        _last.text, _last.memo = text, {}
    return _last.memo


@contextmanager
def remembering() -> Iterator[None]:
    """Within the block, the splits of every text are kept until it ends (nested
    blocks share the outer one's)."""
    outer = getattr(_last, "scope", None)
    if outer is None:
        _last.scope = {}
    try:
        yield
    finally:
        if outer is None:
            _last.scope = None
