"""Derived configs from one ``documents`` row: ``mentions`` and ``sentences``.

Both are pure functions of the row, so they can never disagree with it:

* Sentences come from ``kronika.sentences.split_sentences`` run over each block
  (newlines are hard boundaries there). A sentence boundary must never cut a
  mention, so the sentences a mention crosses are merged into one.
* Tokens come from ``kronika.tokens.tokenize`` and tags from ``spans_to_bio``;
  mentions that do not start and end on token boundaries get no tags and are
  counted (``sentence_rows`` returns the count) so the build can report them.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from kronika.record import BIO_TAGS, mention_schema, sentence_schema
from kronika.sentences import split_sentences
from kronika.tokens import spans_to_bio, tokenize

_MENTION_FIELDS = list(mention_schema()["properties"])
_SENTENCE_FIELDS = list(sentence_schema()["properties"])
_TAG_ID = {name: i for i, name in enumerate(BIO_TAGS)}


def sentence_spans(row: dict[str, Any]) -> list[tuple[int, int]]:
    """Sentence spans of the document, in order, none cutting a mention.

    A mention that lies outside every sentence (which the splitter should never
    produce) becomes a sentence of its own, so every mention has a sentence.
    """
    text = row["text"]
    intervals = [span for block in row["blocks"] for span in split_sentences(text, block["start"], block["end"])]
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
    """One ``mentions`` row per entity, fields in ``mention_schema()`` order."""
    sentences = sentence_spans(row) if sentences is None else sentences
    starts = [s for s, _ in sentences]
    rows = []
    for mention in row["entities"]:
        index = _sentence_of(starts, mention["start"])
        s_start, s_end = sentences[index]
        values = {
            "doc_id": row["id"],
            **mention,
            "language": row["language"],
            "sentence_index": index,
            "sentence_start": s_start,
            "sentence_end": s_end,
            "sentence": row["text"][s_start:s_end],
        }
        rows.append({field: values[field] for field in _MENTION_FIELDS})
    return rows


def sentence_rows_with_misaligned(
    row: dict[str, Any], sentences: list[tuple[int, int]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``sentences`` rows and the entity dicts that are not on token boundaries."""
    text = row["text"]
    sentences = sentence_spans(row) if sentences is None else sentences
    starts = [s for s, _ in sentences]
    by_sentence: list[list[dict[str, Any]]] = [[] for _ in sentences]
    for mention in row["entities"]:
        by_sentence[_sentence_of(starts, mention["start"])].append(mention)
    rows, misaligned = [], []
    for index, (start, end) in enumerate(sentences):
        tokens = tokenize(text, start, end)
        tags, missed = spans_to_bio(tokens, by_sentence[index])
        misaligned.extend(missed)
        values = {
            "doc_id": row["id"],
            "sentence_index": index,
            "start": start,
            "end": end,
            "language": row["language"],
            "tokens": [text[s:e] for s, e in tokens],
            "token_offsets": [{"start": s, "end": e} for s, e in tokens],
            "ner_tags": [_TAG_ID[tag] for tag in tags],
        }
        rows.append({field: values[field] for field in _SENTENCE_FIELDS})
    return rows, misaligned


def sentence_rows(row: dict[str, Any], sentences: list[tuple[int, int]] | None = None) -> tuple[list[dict[str, Any]], int]:
    """``sentences`` rows (``ner_tags`` as ids into ``BIO_TAGS``) and how many
    mentions are not on token boundaries (they have no tags; report them)."""
    rows, misaligned = sentence_rows_with_misaligned(row, sentences)
    return rows, len(misaligned)
