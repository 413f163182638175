"""Derived configs from one ``documents`` row: ``mentions`` and ``sentences``.

Both are pure functions of the row, so they can never disagree with it:

* Sentences come from ``kronika.sentences.split_sentences`` run over each block
  with the document's language (newlines are hard boundaries there), as the
  language layer splits them, so the second split is a lookup. A sentence
  boundary must never cut a mention, so the sentences a mention crosses are
  merged into one.
* Tokens come from ``kronika.tokens.tokenize`` and tags from ``spans_to_bio``;
  mentions that do not start and end on token boundaries get no tags and are
  counted (``sentence_rows`` returns the count) so the build can report them.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, chain, islice
from typing import Any

import pyarrow as pa

from kronika.record import BIO_TAGS, CONTEXT_CHARS, arrow_schema, mention_schema, sentence_schema
from kronika.sentences import split_sentences
from kronika.tokens import spans_to_bio, tokenize_spans

_MENTION_FIELDS = list(mention_schema()["properties"])
_SENTENCE_FIELDS = list(sentence_schema()["properties"])
_TAG_ID = {name: i for i, name in enumerate(BIO_TAGS)}
_OUTSIDE = _TAG_ID["O"]
_TOKEN_FIELDS = ("tokens", "token_offsets", "ner_tags")


def sentence_spans(row: dict[str, Any]) -> list[tuple[int, int]]:
    """Sentence spans of the document, in order, none cutting a mention.

    A mention that lies outside every sentence (which the splitter should never
    produce) becomes a sentence of its own, so every mention has a sentence.
    """
    text, lang = row["text"], row.get("language")
    intervals = [span for block in row["blocks"] for span in split_sentences(text, block["start"], block["end"], lang=lang)]
    intervals += [(m["start"], m["end"]) for m in row["entities"]]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _sentence_of(starts: list[int], start: int) -> int:
    return bisect_right(starts, start) - 1


def mention_rows(row: dict[str, Any], sentences: list[tuple[int, int]] | None = None) -> list[dict[str, Any]]:
    """One ``mentions`` row per entity, fields in ``mention_schema()`` order (``MentionTable``'s rows)."""
    table = MentionTable()
    table.add(row, sentences)
    return table.rows()


class MentionTable:
    """The ``mentions`` config of many documents, built column by column.

    Each row carries a window of its sentence (``CONTEXT_CHARS`` either side),
    not the sentence: a one-line article of a megabyte with thousands of
    names would otherwise copy the megabyte into every row. Columns, not one
    dict per row, as in ``SentenceTable``: a shard has tens of thousands of
    mentions, and Arrow converts flat lists several times faster.
    """

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in _MENTION_FIELDS}

    def add(self, row: dict[str, Any], sentences: list[tuple[int, int]] | None = None) -> None:
        """Append one row per entity of the document ``row``."""
        entities = row["entities"]
        if not entities:
            return
        sentences = sentence_spans(row) if sentences is None else sentences
        starts = [s for s, _ in sentences]
        index = [_sentence_of(starts, m["start"]) for m in entities]
        around = [sentences[i] for i in index]
        context_start = [max(s, m["start"] - CONTEXT_CHARS) for (s, _), m in zip(around, entities)]
        context_end = [min(e, m["end"] + CONTEXT_CHARS) for (_, e), m in zip(around, entities)]
        text, n = row["text"], len(entities)
        derived = {
            "doc_id": [row["id"]] * n,
            "language": [row["language"]] * n,
            "entity_status": [row["entity_status"]] * n,
            "sentence_index": index,
            "sentence_start": [s for s, _ in around],
            "sentence_end": [e for _, e in around],
            "context_start": context_start,
            "context_end": context_end,
            "context": [text[a:b] for a, b in zip(context_start, context_end)],
        }
        for name, column in self.columns.items():
            column += derived[name] if name in derived else [m[name] for m in entities]

    def to_arrow(self, schema: pa.Schema) -> pa.Table:
        """The rows as a table of ``schema`` (``mention_schema`` as Arrow, any metadata)."""
        return pa.Table.from_arrays([pa.array(self.columns[f.name], f.type) for f in schema], schema=schema)

    def rows(self) -> list[dict[str, Any]]:
        names = list(self.columns)
        return [dict(zip(names, values)) for values in zip(*self.columns.values())]


class SentenceTable:
    """The ``sentences`` config of many documents, built column by column.

    A shard has hundreds of thousands of tokens; one Python dict per token
    offset cost as much as annotating the shard, so tokens, offsets and tags
    go into flat lists and become Arrow list arrays in one step.
    """

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in _SENTENCE_FIELDS if name not in _TOKEN_FIELDS}
        self.token_text: list[str] = []
        self.token_start: list[int] = []
        self.token_end: list[int] = []
        self.tags: list[int] = []
        self.offsets: list[int] = [0]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def add(self, row: dict[str, Any], sentences: list[tuple[int, int]] | None = None) -> list[dict[str, Any]]:
        """Append the sentences of one document; return its entities not on token boundaries.

        The document's tokens go in as one run (sentences are ordered and disjoint):
        column by column for the whole document, not list by list per sentence.
        """
        text = row["text"]
        sentences = sentence_spans(row) if sentences is None else sentences
        starts = [s for s, _ in sentences]
        by_sentence: dict[int, list[dict[str, Any]]] = {}
        outside: list[dict[str, Any]] = []  # before every sentence given: no tokens to tag
        for mention in row["entities"]:
            index = _sentence_of(starts, mention["start"])
            (by_sentence.setdefault(index, []) if index >= 0 else outside).append(mention)
        misaligned: list[dict[str, Any]] = []
        per_sentence = tokenize_spans(text, sentences)
        tags = self.tags
        for index, tokens in enumerate(per_sentence):
            mentions = by_sentence.get(index)
            if mentions:
                names, missed = spans_to_bio(tokens, mentions)
                misaligned.extend(missed)
                tags.extend([_TAG_ID[tag] for tag in names])
            else:  # most sentences: no mention, all "O"
                tags.extend([_OUTSIDE] * len(tokens))
        misaligned.extend(outside)
        tokens = list(chain.from_iterable(per_sentence))
        n = len(sentences)
        columns = self.columns
        columns["doc_id"].extend([row["id"]] * n)
        columns["sentence_index"].extend(range(n))
        columns["start"].extend(starts)
        columns["end"].extend([e for _, e in sentences])
        columns["language"].extend([row["language"]] * n)
        columns["entity_status"].extend([row["entity_status"]] * n)
        self.token_text.extend([text[s:e] for s, e in tokens])
        self.token_start.extend([s for s, _ in tokens])
        self.token_end.extend([e for _, e in tokens])
        self.offsets.extend(islice(accumulate(map(len, per_sentence), initial=self.offsets[-1]), 1, None))
        return misaligned

    def to_arrow(self, schema: pa.Schema) -> pa.Table:
        """The rows as a table of ``schema`` (``sentence_schema`` as Arrow, any metadata)."""
        offsets = pa.array(self.offsets, pa.int32())
        starts, ends = pa.array(self.token_start, pa.int64()), pa.array(self.token_end, pa.int64())
        lists = {
            "tokens": pa.array(self.token_text, pa.string()),
            "token_offsets": pa.StructArray.from_arrays([starts, ends], names=["start", "end"]),
            "ner_tags": pa.array(self.tags, pa.int64()),
        }
        arrays = [
            pa.ListArray.from_arrays(offsets, lists[f.name]).cast(f.type) if f.name in lists
            else pa.array(self.columns[f.name], f.type)
            for f in schema
        ]
        return pa.Table.from_arrays(arrays, schema=schema)


def sentence_rows_with_misaligned(
    row: dict[str, Any], sentences: list[tuple[int, int]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``sentences`` rows of one document and the entity dicts that are not on token boundaries."""
    table = SentenceTable()
    misaligned = table.add(row, sentences)
    return table.to_arrow(arrow_schema(sentence_schema())).to_pylist(), misaligned


def sentence_rows(row: dict[str, Any], sentences: list[tuple[int, int]] | None = None) -> tuple[list[dict[str, Any]], int]:
    """``sentences`` rows (``ner_tags`` as ids into ``BIO_TAGS``) and how many
    mentions are not on token boundaries (they have no tags; report them)."""
    rows, misaligned = sentence_rows_with_misaligned(row, sentences)
    return rows, len(misaligned)
