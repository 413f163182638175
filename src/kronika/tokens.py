"""Tokens for Polish news text, as half-open code-point spans into the text.

Rules, tried in this order at each non-space position (whitespace is never part
of a token):

1. **Abbreviations** from the small lists of the language packs
   (``lang/<code>/abbreviations.txt``, all of them for every text) keep their dots:
   ``m.in.``, ``np.``, ``tzw.``, ``prof.``, ``ul.`` ... (case-insensitive, and only
   at the start of a word). Forms that end sentences as often as not (``r.``,
   ``itd.``, ``itp.``, ``tys.``) and ``pl.`` (``Onet.pl``) are left out: their
   dot is a token of its own.
2. **Numbers** with inner ``.`` ``,`` ``:`` ``/`` ``-`` or ``–`` between digits
   are one token: ``10-13``, ``1,5``, ``12:30``, ``2023-09-13``; a hyphenated
   suffix stays on (``10-latek``).
3. **Words**: letters, digits and combining marks, joined by inner hyphens and
   apostrophes: ``Okła-Drewnowicz``, ``Bielsko-Biała``, ``F-16``, ``Kirby'ego``,
   ``м'ясо``; but the English possessive ``'s`` is a token of its own
   (``Britain`` ``'s``), so a name before it is on token boundaries.
   A dash with spaces around it, or an en dash between words, is punctuation.
4. **Anything else** is a token of one character -- quotes (``"`` ``„`` ``”``),
   brackets, dots, commas, dashes -- except that ``...`` is one token and an
   emoji keeps its modifiers (skin tones, variation selectors, ZWJ sequences;
   a flag's two regional indicators are one token).

Consequence for BIO: a mention must start and end on token boundaries to be
encoded. Quotation marks outside a name (ANNOTATION.md §4) and the dot after a
name are separate tokens, so gold mentions align; a name glued into a hyphenated
compound (``USA-Rosja`` with two mentions) does not, and ``spans_to_bio`` hands
such mentions back instead of dropping them.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

from kronika import lang
from kronika.record import BIO_TAGS, COMBINING_MARKS

# Every language pack's list (``lang/<code>/abbreviations.txt``).
ABBREVIATIONS = lang.every_word("abbreviations.txt")

_MARKS = COMBINING_MARKS
_WORD = rf"[\w{_MARKS}]+"
_EMOJI_TAIL = r"(?:\u200d\S|[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f])*"


def longest_first(words: Iterable[str]) -> str:
    """A regex matching the longest of ``words`` (lowercase; used under ``(?i)``) at a position.

    Written as a trie (``d(?:oc\\.|r\\.)``) rather than a flat alternation: ``re``
    tries a flat one branch by branch at every word start. Each node tries its
    longer continuations before it may stop, so the match is the longest word,
    as with the alternation sorted by length.
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else f"(?:{'|'.join(branches)})"
        return f"{body}?" if "" in node else body

    return pattern(trie)


# Lowercase, so that a node's branches start with different letters (true under (?i) for
# every letter of today's lists; tests/test_views.py compares the trie with the alternation).
_ABBREV = longest_first({a.lower() for a in ABBREVIATIONS})
# The abbreviations' first letters, checked first: most positions fail there cheaply.
_ABBREV_FIRST = "".join(sorted({a[0].lower() for a in ABBREVIATIONS}))
TOKEN_RE = re.compile(
    rf"""
    (?=(?i:[{_ABBREV_FIRST}]))(?<![\w{_MARKS}])(?i:{_ABBREV})  # m.in., np., prof.
    | \d+(?:[.,:/\-–]\d+)*(?:[-‐]{_WORD})*               # 10-13, 1,5, 10-latek
    | {_WORD}(?:(?:[-‐‑]|['’](?![sS](?![\w{_MARKS}]))){_WORD})*  # Okła-Drewnowicz, Kirby'ego (not Britain's)
    | ['’][sS](?![\w{_MARKS}])                           # the English possessive: Britain | 's
    | \.{{2,}}                                            # an ellipsis written as dots
    | [\U0001f1e6-\U0001f1ff]{{2}}                        # a flag: two regional indicators
    | \S{_EMOJI_TAIL}                                     # punctuation, symbols, emoji
    """,
    re.VERBOSE,
)


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Token spans ``[s, e)`` of ``text[start:end]``, in order."""
    stop = len(text) if end is None else min(end, len(text))
    return [m.span() for m in TOKEN_RE.finditer(text, max(start, 0), stop)]


def tokenize_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """``tokenize(text, s, e)`` for each span, running the pattern over the text once.

    A span takes the whole-text tokens inside it; only a span whose edge cuts a
    whole-text token is tokenized on its own, so the result is always the same.
    """
    whole = tokenize(text)
    starts = [s for s, _ in whole]
    out = []
    for start, end in spans:
        first, stop = bisect_left(starts, start), bisect_left(starts, end)
        if (first and whole[first - 1][1] > start) or (stop and whole[stop - 1][1] > end):
            out.append(tokenize(text, start, end))
        else:
            out.append(whole[first:stop])
    return out


def _span_of(mention: Any) -> tuple[int, int, str]:
    """(start, end, label) of a ``Mention`` or a mention dict."""
    if isinstance(mention, dict):
        return mention["start"], mention["end"], mention["label"]
    return mention.start, mention.end, mention.label


def spans_to_bio(tokens: Sequence[tuple[int, int]], mentions: Iterable[Any]) -> tuple[list[str], list[Any]]:
    """IOB2 tag names for ``tokens``, and the mentions that could not be encoded.

    A mention is encoded when it starts at a token start, ends at a token end
    and shares no token with an earlier mention; any other mention (one cutting
    a token, one outside these tokens, an overlapping one) is returned, never
    silently dropped, so that the caller can count and report it.
    """
    index_of_start = {s: i for i, (s, _) in enumerate(tokens)}
    index_of_end = {e: i for i, (_, e) in enumerate(tokens)}
    tags = ["O"] * len(tokens)
    misaligned: list[Any] = []
    for mention in mentions:
        start, end, label = _span_of(mention)
        first, last = index_of_start.get(start), index_of_end.get(end)
        if first is None or last is None or last < first or any(t != "O" for t in tags[first : last + 1]):
            misaligned.append(mention)
            continue
        tags[first] = f"B-{label}"
        tags[first + 1 : last + 1] = [f"I-{label}"] * (last - first)
    return tags, misaligned


def bio_to_spans(tokens: Sequence[tuple[int, int]], tags: Sequence[str | int]) -> list[tuple[int, int, str]]:
    """Mentions ``(start, end, label)`` encoded by IOB2 ``tags`` (names or ids into ``BIO_TAGS``).

    Lenient like conlleval: an ``I-X`` that does not continue an ``X`` starts a
    new mention (``validate`` reports such sequences as ill-formed).
    """
    spans: list[tuple[int, int, str]] = []
    current: tuple[int, int, str] | None = None
    for (start, end), tag in zip(tokens, tags, strict=True):
        name = BIO_TAGS[tag] if isinstance(tag, int) else tag
        if name.startswith("I-") and current and current[2] == name[2:]:
            current = (current[0], end, current[2])
            continue
        if current:
            spans.append(current)
        current = None if name == "O" else (start, end, name[2:])
    if current:
        spans.append(current)
    return spans


def split_at(tokens: Iterable[tuple[int, int]], cuts: Iterable[int]) -> list[tuple[int, int]]:
    """``tokens`` with every token that straddles a cut offset split there.

    The exchange formats use this so that every mention is on token boundaries
    (their token offsets make the split visible), which makes them lossless.
    """
    points = sorted(set(cuts))
    out: list[tuple[int, int]] = []
    for start, end in tokens:
        inner = points[bisect_right(points, start) : bisect_left(points, end)]
        edges = [start, *inner, end]
        out.extend(zip(edges, edges[1:]))
    return out
