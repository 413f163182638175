"""The gold lexicon pass (``gold_lexicon_v1``): the corpus's gold entities, found in every document.

Once an entity is annotated by hand anywhere, its forms are matched in all other
documents, with its lemma and id. The pass runs after the automatic layers and
apart from them: the automatic layers never see the gold lexicon, so their cache
stays valid when a gold file is added or edited, and a build re-runs only this
cheap pass over the other documents. Its matches join the merge with the lowest
rank (they win equal spans; the longer span still wins).

Forms: Polish entries are inflected with Morfeusz (every case form, as the
gazetteer does); other languages match the base form as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kronika.lexicon import Hit, Lexicon, LexiconEntry, sorted_entries, surface_key, tokens_of
from kronika.record import LINE_BREAKS, MAX_MENTION_CHARS, Mention

GOLD_PASS = "gold_lexicon_v1"
GOLD_PASS_RANK = 0
SCORE = 0.95
# A lexicon token starts with a run of letters and digits that is a whole run in
# the text (``lexicon.TOKEN_RE``), so a form can only match a text holding its first run.
_RUN = re.compile(r"[^\W_]+")


AnchorIndex = tuple[tuple[int, ...], dict[str, list[int]]]  # see ``GoldPass.anchor_index``


class GoldPass:
    """Longest match of the gold entries' forms, on one line, in any language."""

    def __init__(self, entries: Iterable[LexiconEntry]) -> None:
        self.entries = tuple(sorted_entries(entries))
        self._lexicons: dict[bool, Lexicon] = {}
        self._form_functions: dict[bool, object] = {}
        self._index: AnchorIndex | None = None

    @property
    def indexed(self) -> bool:
        return self._index is not None

    def use_index(self, index: AnchorIndex) -> None:
        """``anchor_index()`` of these entries as an earlier process computed it: the build
        keeps it in its cache, since computing it loads Morfeusz (about 0.3 s), which a
        build whose every shard comes from the cache needs for nothing else."""
        self._index = index

    def annotate(self, text: str, language: str) -> list[Mention]:
        if not self.entries:
            return []
        lexicon = self._lexicon(language == "pl")
        tokens = tokens_of(text)
        out: list[Mention] = []
        i = 0
        while i < len(tokens):
            found = _longest(text, tokens, i, lexicon)
            if found is None:
                i += 1
                continue
            n, hit = found
            start, end = tokens[i][0], tokens[i + n - 1][1]
            if end - start <= MAX_MENTION_CHARS:
                out.append(Mention(start, end, text[start:end], hit.label, hit.lemma, hit.entity_id, GOLD_PASS, SCORE))
            i += n
        return out

    def relevant(self, vocabulary: set[str]) -> tuple[LexiconEntry, ...]:
        """The entries that could match some text whose letter-and-digit runs are all in
        ``vocabulary`` (``vocabulary_of``): the pass gives the same mentions there with
        only these entries, so a shard's cache key needs no other (issue 15: a new gold
        file re-assembles only the shards that hold one of its names)."""
        if not self.entries:
            return ()
        always, by_anchor = self.anchor_index()
        found = set(always)
        for word in by_anchor.keys() & vocabulary:
            found.update(by_anchor[word])
        return tuple(self.entries[i] for i in sorted(found))

    def anchor_index(self) -> AnchorIndex:
        """Entries (by position) whose forms start with no run (any text might match
        them), and first run -> entries with a form starting with it; every form the
        entry gives in Polish and as written counts."""
        if self._index is None:
            always: list[int] = []
            by_anchor: dict[str, list[int]] = {}
            for i, entry in enumerate(self.entries):
                keys = {key for polish in (False, True) for key in Lexicon(self._forms(polish), (), (entry,)).inflected}
                anchors = {_first_run(key) for key in keys}
                if None in anchors:
                    always.append(i)
                for anchor in anchors - {None}:
                    by_anchor.setdefault(anchor, []).append(i)
            self._index = (tuple(always), by_anchor)
        return self._index

    def _forms(self, polish: bool):
        if polish not in self._form_functions:
            self._form_functions[polish] = _polish_forms() if polish else _as_written
        return self._form_functions[polish]

    def _lexicon(self, polish: bool) -> Lexicon:
        if polish not in self._lexicons:
            self._lexicons[polish] = Lexicon(self._forms(polish), (), self.entries)
        return self._lexicons[polish]


def vocabulary_of(texts: Iterable[str]) -> set[str]:
    """Every run of letters and digits in ``texts`` (what ``GoldPass.relevant`` reads)."""
    words: set[str] = set()
    for text in texts:
        words.update(_RUN.findall(text))
    return words


def _first_run(key: str) -> str | None:
    match = _RUN.match(key)
    return match.group() if match else None


def _longest(text: str, tokens: list[tuple[int, int, str]], i: int, lexicon: Lexicon) -> tuple[int, Hit] | None:
    """The longest form starting at token ``i`` whose tokens lie on one line."""
    most = lexicon.first.get(tokens[i][2], 0)
    for n in range(min(most, len(tokens) - i), 0, -1):
        start, end = tokens[i][0], tokens[i + n - 1][1]
        surface = text[start:end]
        if not surface.isprintable() and LINE_BREAKS.search(surface):  # a lone CR or U+2028 ends a line too
            continue
        hit = lexicon.inflected.get(surface_key(surface))
        if hit is not None:
            return n, hit
    return None


def _as_written(base: str, label: str) -> tuple[str, ...]:
    return (surface_key(base),)


def _polish_forms():  # -> kronika.lang.pl.inflect.PolishForms, imported only for Polish text
    from kronika.lang.pl.inflect import PolishForms
    from kronika.lang.pl.morph import Morph

    return PolishForms(Morph())
