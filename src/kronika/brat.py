"""brat standoff: ``<doc_id>.txt`` + ``<doc_id>.ann`` per document, both directions.

``.txt`` is the document text byte for byte (UTF-8, line ends as they are), so
brat's offsets -- code points of the ``.txt`` -- are Kronika's offsets. The
export folder also gets an ``annotation.conf`` declaring the five labels and
the ``Layer`` attribute with the layers exported.

``.ann`` lines per mention (tab-separated as brat writes them)::

    T1<TAB>PER 168 184<TAB>Władimira Putina
    #1<TAB>AnnotatorNotes T1<TAB>Władimir Putin
    N1<TAB>Reference T1 Kronika:PER-Vladimir-Putin<TAB>PER-Vladimir-Putin
    A1<TAB>Layer T1 gold_v1

* the **lemma** is the mention's annotator note (the "Notes" field of brat's
  annotation dialog, editable there);
* the **entity id** is a normalization to the reference database ``Kronika``
  (brat's mechanism for entity linking); the text after the last tab is for
  display and ignored on import;
* the **layer** the mention is published from (its ``source``) is the
  multi-valued attribute ``Layer``; import reads it into ``exported_layers``
  (information only: imported mentions are gold) and a mention without it is
  fine. brat attributes are a closed list of values, so the score is not
  carried.

A mention that spans a line break is written as brat fragments
(``T1<TAB>ORG 10 15;16 22<TAB>first second``) since brat spans cannot cross
lines; on import, fragments separated only by whitespace join into one mention.
Relations, events, other attributes and other annotation types are rejected
on import: the gold layer has no place for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from kronika.exchange import (
    AnnotatedText,
    ExchangeError,
    TextOf,
    by_offsets,
    check_no_overlap,
    check_text,
    decode_utf8,
    make_mention,
    read_input,
    unique_ids,
)
from kronika.record import LABELS, LINE_BREAKS, Mention

NORM_DB = "Kronika"
_T = re.compile(r"^(T\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")
_NOTE = re.compile(r"^#\d+\tAnnotatorNotes (T\d+)\t(.*)$")
_NORM = re.compile(r"^N\d+\tReference (T\d+) ([^:\s]+):(\S+)(?:\t.*)?$")
LAYER_ATTRIBUTE = "Layer"
_LAYER = re.compile(rf"^A\d+\t{LAYER_ATTRIBUTE} (T\d+) (\S+)$")


def annotation_conf(layers: Iterable[str] = ()) -> str:
    """brat's configuration: the labels, and the ``Layer`` attribute with the values ``layers``."""
    entities = "\n".join(LABELS)
    values = "|".join(sorted(set(layers)))
    attributes = f"{LAYER_ATTRIBUTE}\tArg:<ENTITY>, Value:{values}\n" if values else ""
    return f"[entities]\n{entities}\n\n[relations]\n\n[events]\n\n[attributes]\n{attributes}"


def _fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The line pieces of ``[start, end)`` that hold more than whitespace: any line
    break, not only "\\n", since brat and editors read ``.ann`` lines with universal
    newlines (a CR or U+2028 in a T line's text would end the line there)."""
    pieces, position = [], start
    for match in LINE_BREAKS.finditer(text[start:end]):
        pieces.append((position, start + match.start()))
        position = start + match.end()
    pieces.append((position, end))
    return [(s, e) for s, e in pieces if text[s:e].strip()]


def to_ann(doc: AnnotatedText) -> str:
    lines = []
    for number, m in enumerate(by_offsets(doc.mentions), start=1):
        if any(c in m.lemma for c in "\t\n\r"):
            raise ExchangeError(f"{doc.doc_id}: lemma: {m.lemma!r} holds a tab or line break")
        if m.source and not re.fullmatch(r"\S+", m.source):
            raise ExchangeError(f"{doc.doc_id}: source: {m.source!r} holds white space; brat cannot carry it")
        pieces = _fragments(doc.text, m.start, m.end)
        where = ";".join(f"{s} {e}" for s, e in pieces)
        lines.append(f"T{number}\t{m.label} {where}\t{' '.join(doc.text[s:e] for s, e in pieces)}")
        lines.append(f"#{number}\tAnnotatorNotes T{number}\t{m.lemma}")
        lines.append(f"N{number}\tReference T{number} {NORM_DB}:{m.entity_id}\t{m.entity_id}")
        if m.source:
            lines.append(f"A{number}\t{LAYER_ATTRIBUTE} T{number} {m.source}")
    return "".join(line + "\n" for line in lines)


def write(docs: Iterable[AnnotatedText], folder: Path) -> None:
    """``<id>.txt`` and ``<id>.ann`` per document (each written atomically), and ``annotation.conf``."""
    from kronika.atomic import write_text

    if folder.exists() and not folder.is_dir():
        raise ExchangeError(f"{folder}: --out must be a folder for brat")
    layers: set[str] = set()
    for doc in docs:
        write_text(folder / f"{doc.doc_id}.txt", doc.text)  # bytes as they are: no newline translation
        write_text(folder / f"{doc.doc_id}.ann", to_ann(doc))
        layers.update(m.source for m in doc.mentions if m.source)
    write_text(folder / "annotation.conf", annotation_conf(layers))


def read(folder: Path, text_of: TextOf) -> list[AnnotatedText]:
    """Every ``*.ann`` of ``folder`` with its ``.txt``; the file stem is the doc id."""
    if not folder.is_dir():
        raise ExchangeError(f"{folder}: --in must be a folder of brat .txt and .ann files")
    anns = sorted(folder.glob("*.ann"))
    if not anns:
        raise ExchangeError(f"{folder}: no .ann files here")
    docs = []
    for ann in anns:
        txt = ann.with_suffix(".txt")
        if not txt.exists():
            raise ExchangeError(f"{txt}: missing; brat needs the .txt beside each .ann")
        copy = decode_utf8(read_input(txt, "file (brat's .txt)"), txt)
        data = decode_utf8(read_input(ann, "file (brat's .ann)"), ann)
        docs.append(from_standoff(ann.stem, copy, data, text_of, str(ann)))
    return unique_ids(docs, str(folder))


def from_standoff(doc_id: str, txt: str, ann: str, text_of: TextOf, where: str = "<ann>") -> AnnotatedText:
    """One document from its ``.txt`` content and ``.ann`` content."""
    text = text_of(doc_id, where)
    check_text(doc_id, txt, text, where.removesuffix(".ann") + ".txt")
    spans: dict[str, tuple[str, str, list[tuple[int, int]], str]] = {}
    lemmas: dict[str, str] = {}
    ids: dict[str, str] = {}
    layers: dict[str, str] = {}
    for number, line in enumerate(ann.split("\n"), start=1):
        line = line.rstrip("\r")
        at = f"{where}:{number}"
        if not line.strip():
            continue
        if m := _T.match(line):
            try:
                fragments = [tuple(map(int, f.split())) for f in m[3].split(";")]
            except ValueError:  # digits beyond Python's int conversion limit
                raise ExchangeError(f"{at}: offsets: {m[3][:20]!r}... has numbers too long to be offsets") from None
            if m[1] in spans:
                raise ExchangeError(f"{at}: {m[1]}: a second T line with this id")
            spans[m[1]] = (at, m[2], fragments, m[4])  # type: ignore[assignment]
        elif m := _NOTE.match(line):
            _once(lemmas, m[1], m[2].strip(), at, "lemma (AnnotatorNotes)")
        elif m := _NORM.match(line):
            if m[2] != NORM_DB:
                raise ExchangeError(f"{at}: entity_id: normalization to {m[2]!r}, expected {NORM_DB}:<entity id>")
            _once(ids, m[1], m[3], at, "entity_id (normalization)")
        elif m := _LAYER.match(line):
            _once(layers, m[1], m[2], at, f"layer ({LAYER_ATTRIBUTE} attribute)")
        else:
            raise ExchangeError(
                f"{at}: line: {line[:40]!r} is not a T, AnnotatorNotes, {NORM_DB} normalization or {LAYER_ATTRIBUTE} line"
            )
    for key in (*lemmas, *ids, *layers):
        if key not in spans:
            raise ExchangeError(f"{where}: {key}: has a note, normalization or layer but no T line")
    mentions = [_mention(text, key, spans[key], lemmas.get(key), ids.get(key)) for key in spans]
    exported = {(m.start, m.end): layers[key] for key, m in zip(spans, mentions) if key in layers}
    return AnnotatedText(doc_id, text, check_no_overlap(mentions, where), exported_layers=exported)


def _once(table: dict[str, str], key: str, value: str, at: str, what: str) -> None:
    if key in table:
        raise ExchangeError(f"{at}: {what}: {key} has a second one")
    table[key] = value


def _mention(text: str, key: str, span: tuple[str, str, list[tuple[int, int]], str], lemma: str | None, entity_id: str | None) -> Mention:
    at, label, fragments, surface = span
    at = f"{at} ({key})"
    start, end = fragments[0][0], fragments[-1][1]
    for (_, e), (s, _) in zip(fragments, fragments[1:]):
        if e > s or text[e:s].strip():
            raise ExchangeError(f"{at}: fragments: [{e}, {s}) between fragments is not whitespace; a mention must be contiguous")
    if any(s >= e or e > len(text) for s, e in fragments):
        raise ExchangeError(f"{at}: offsets: {fragments} do not fit a text of {len(text)} characters")
    expected = " ".join(text[s:e] for s, e in fragments)
    if surface != expected:
        raise ExchangeError(f"{at}: text: {surface!r} is not the .txt at its offsets, {expected!r}")
    if lemma is None:
        raise ExchangeError(f"{at}: lemma: missing; add the lemma as the annotation's note (AnnotatorNotes {key})")
    if entity_id is None:
        raise ExchangeError(f"{at}: entity_id: missing; add a normalization {NORM_DB}:<entity id> to {key}")
    return make_mention(text, start, end, label, lemma, entity_id, at)
