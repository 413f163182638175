"""CoNLL-2003 style IOB2 text, with the columns a lossless round trip needs.

Layout (UTF-8, ``\\n`` line ends)::

    -DOCSTART-<TAB>000_fe6e73957cf0fa67
    <blank line>
    Biały<TAB>B-LOC<TAB>87<TAB>92<TAB>LOC-White-House<TAB>gold_v1<TAB>Biały Dom
    Dom<TAB>I-LOC<TAB>93<TAB>96<TAB>_<TAB>_<TAB>_
    potwierdził<TAB>O<TAB>97<TAB>108<TAB>_<TAB>_<TAB>_
    ...
    <blank line between sentences>

Columns, tab-separated: 1 token, 2 IOB2 tag, 3-4 the token's ``[start, end)`` in
code points of the document text, then on ``B-`` tokens (``_`` elsewhere) 5
the entity id, 6 the layer the mention is published from (its ``source``,
e.g. ``gazetteer_v1``) and 7 the lemma. The token and the tag come first, so
readers that take "token, tag" keep working; the lemma is last because it may
contain spaces. The document id rides on the ``-DOCSTART-`` line, which CoNLL
readers skip. Lines starting with ``#`` and holding no tab are comments.
Import also reads the six-column files of earlier versions (no layer column).

Tokens are ``kronika.tokens.tokenize`` tokens, split further where a mention
starts or ends inside one (the offsets show it), so every mention is encoded.
Sentences are the corpus's ``sentences`` config when exporting from a corpus
(``exchange.sentence_spans``). The score is not carried, and the layer read
back is information only (``exported_layers``): import makes gold mentions.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kronika.exchange import (
    AnnotatedText,
    ExchangeError,
    TextOf,
    atomic_text,
    check_no_overlap,
    decode_utf8,
    make_mention,
    read_input,
    sentence_spans,
    unique_ids,
)
from kronika.tokens import spans_to_bio, split_at, tokenize

DOCSTART = "-DOCSTART-"
EMPTY = "_"
USES_SENTENCES = True  # export reads the corpus's sentences config for this format
COLUMNS = ("token", "tag", "start", "end", "entity_id", "layer", "lemma")


def _doc_lines(doc: AnnotatedText) -> list[str]:
    check_no_overlap(doc.mentions, f"{doc.doc_id}")
    cuts = [offset for m in doc.mentions for offset in (m.start, m.end)]
    first = {m.start: m for m in doc.mentions}
    lines = [f"{DOCSTART}\t{doc.doc_id}", ""]
    for start, end in sentence_spans(doc):
        tokens = split_at(tokenize(doc.text, start, end), cuts)
        inside = [m for m in doc.mentions if start <= m.start < end]
        tags, missed = spans_to_bio(tokens, inside)
        if missed:  # cannot happen after split_at; never write a lossy file
            raise ExchangeError(f"{doc.doc_id}: mentions: {missed[0]} cannot be encoded in BIO")
        for (s, e), tag in zip(tokens, tags):
            mention = first.get(s) if tag.startswith("B-") else None
            if mention and any(c in value for value in (mention.lemma, mention.source) for c in "\t\n\r"):
                raise ExchangeError(f"{doc.doc_id}: lemma: {mention.lemma!r} or layer {mention.source!r} holds a tab or line break")
            extra = (mention.entity_id, mention.source or EMPTY, mention.lemma) if mention else (EMPTY, EMPTY, EMPTY)
            lines.append("\t".join((doc.text[s:e], tag, str(s), str(e), *extra)))
        lines.append("")
    return lines


def dumps(docs: Iterable[AnnotatedText]) -> str:
    return "\n".join(line for doc in docs for line in _doc_lines(doc)) + "\n"


def write(docs: Iterable[AnnotatedText], path: Path) -> None:
    """The same bytes as ``dumps``, written a document at a time."""
    with atomic_text(path) as out:
        first = True
        for doc in docs:
            out.write(("" if first else "\n") + "\n".join(_doc_lines(doc)))
            first = False
        out.write("\n")


def read(path: Path, text_of: TextOf) -> list[AnnotatedText]:
    return loads(decode_utf8(read_input(path), path), text_of, str(path))


def loads(data: str, text_of: TextOf, where: str = "<conll>") -> list[AnnotatedText]:
    """Documents of a CoNLL file written by ``dumps`` (or edited by hand)."""
    docs: list[AnnotatedText] = []
    open_: dict | None = None  # the mention being read: start, end, label, lemma, entity_id, line
    for number, line in enumerate(data.split("\n"), start=1):
        line = line.rstrip("\r")
        at = f"{where}:{number}"
        if line.startswith(DOCSTART):
            _close(docs, open_)
            open_ = None
            doc_id = line[len(DOCSTART) :].strip()
            if not doc_id:
                raise ExchangeError(f"{at}: doc_id: missing after {DOCSTART} (expected '{DOCSTART}<TAB><doc id>')")
            docs.append(AnnotatedText(doc_id, text_of(doc_id, at)))
            continue
        if not line.strip() or (line.startswith("#") and "\t" not in line):
            _close(docs, open_)
            open_ = None
            continue
        if not docs:
            raise ExchangeError(f"{at}: doc_id: token line before the first {DOCSTART} line")
        open_ = _token(docs[-1], line, at, open_, docs)
    _close(docs, open_)
    return unique_ids([_checked(doc, where) for doc in docs], where)


def _token(doc: AnnotatedText, line: str, at: str, open_: dict | None, docs: list[AnnotatedText]) -> dict | None:
    """Read one token line; return the mention still open after it."""
    fields = line.split("\t")
    if len(fields) == 6:  # written before the layer column
        fields.insert(5, EMPTY)
    if len(fields) != 7:
        raise ExchangeError(f"{at}: columns: {len(fields)} tab-separated columns, expected 7 ({', '.join(COLUMNS)})")
    token, tag, start_s, end_s, entity_id, layer, lemma = fields
    try:
        start, end = int(start_s), int(end_s)
    except ValueError:
        raise ExchangeError(f"{at}: start/end: {start_s[:20]!r}, {end_s[:20]!r} are not offsets") from None
    if not 0 <= start < end <= len(doc.text) or doc.text[start:end] != token:
        raise ExchangeError(f"{at}: token: {token!r} is not the text of {doc.doc_id!r} at [{start}, {end})")
    if tag == "O":
        _close(docs, open_)
        return None
    prefix, _, label = tag.partition("-")
    if prefix == "I":
        if open_ is None or open_["label"] != label:
            raise ExchangeError(f"{at}: tag: {tag} does not continue a {label} mention (expected B-{label} first)")
        open_["end"] = end
        return open_
    if prefix != "B" or not label:
        raise ExchangeError(f"{at}: tag: {tag!r} is not O, B-<label> or I-<label>")
    _close(docs, open_)
    return {"start": start, "end": end, "label": label, "lemma": lemma, "entity_id": entity_id, "at": at, "layer": layer}


def _close(docs: list[AnnotatedText], open_: dict | None) -> None:
    if open_ is not None:
        doc = docs[-1]
        at, layer = open_.pop("at"), open_.pop("layer")
        mention = make_mention(doc.text, where=at, **open_)
        doc.mentions.append(mention)
        if layer and layer != EMPTY:
            doc.exported_layers[(mention.start, mention.end)] = layer


def _checked(doc: AnnotatedText, where: str) -> AnnotatedText:
    doc.mentions = check_no_overlap(doc.mentions, f"{where}: {doc.doc_id}")
    return doc
