"""Blocks: split a text at blank lines and give each block a kind.

A block is a maximal run of non-blank lines, trimmed of surrounding white space,
so ``text[start:end]`` is exactly its content and only white space lies between
blocks. Kinds, decided in this order (simple on purpose; measured later):

* ``boilerplate``: at most 400 characters and starts with a site-furniture
  phrase ("Zobacz wideo", "Czytaj także", "Read more", "Читайте также", ...): the
  phrases of every language pack (``lang/<code>/boilerplate.txt``), whatever the
  document's language.
* ``heading``: a single line of at most 200 characters and 25 words that does
  not end in sentence punctuation (. ! ? … : ; ,), closing quotes ignored.
* ``paragraph``: everything else.
"""

from __future__ import annotations

import re

from kronika import lang
from kronika.record import Block

# Every language pack's phrases (``lang/<code>/boilerplate.txt``), lowercase.
BOILERPLATE_PREFIXES = tuple(p.lower() for p in lang.every_line("boilerplate.txt"))
MAX_BOILERPLATE_CHARS = 400
MAX_HEADING_CHARS = 200
MAX_HEADING_WORDS = 25
# Consecutive lines that each hold something other than white space. A block
# starts at a line start (the lookbehind): the matches are the same without it,
# since a block always starts at a line start, but without it a line of
# white space only was rescanned from each of its characters (quadratic: a
# 40,000-space line took 13 s).
BLOCK_RE = re.compile(r"(?<![^\n])[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*")
CLOSERS = "\"'”’»«)]"
SENTENCE_END = ".!?…:;,"


def split_blocks(text: str) -> list[Block]:
    """Blocks of ``text`` in order, each with its kind."""
    blocks = []
    for match in BLOCK_RE.finditer(text):
        raw = match[0]
        start = match.start() + len(raw) - len(raw.lstrip())
        end = match.start() + len(raw.rstrip())
        blocks.append(Block(start, end, block_kind(text[start:end])))
    return blocks


def block_kind(content: str) -> str:
    lowered = content.lower()
    if len(content) <= MAX_BOILERPLATE_CHARS and lowered.startswith(BOILERPLATE_PREFIXES):
        return "boilerplate"
    if _looks_like_heading(content):
        return "heading"
    return "paragraph"


def _looks_like_heading(content: str) -> bool:
    if "\n" in content or len(content) > MAX_HEADING_CHARS:
        return False
    if len(content.split()) > MAX_HEADING_WORDS:
        return False
    return not content.rstrip(CLOSERS).endswith(tuple(SENTENCE_END))
