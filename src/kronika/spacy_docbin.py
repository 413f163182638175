"""spaCy ``DocBin`` files (``.spacy``), as ``spacy train`` and ``spacy.tokens.DocBin`` read them.

spaCy is an optional extra (``pip install kronika[spacy]``); it is imported
inside the functions. No pipeline is loaded: the docs are built on the vocab
of ``spacy.blank("xx")`` with Kronika's own tokens.

What each ``Doc`` carries:

* ``doc.text`` is the document text exactly: tokens are ``kronika.tokens``
  tokens (split further at mention boundaries, so every mention is a span), and
  whitespace other than a single space after a token becomes a whitespace token,
  as spaCy's own tokenizer does.
* ``doc.ents``: one span per mention, ``label_`` the label and ``kb_id_`` the
  entity id.
* ``doc.user_data["doc_id"]``: the document id.
* The lemma is stored as the span extension ``lemma`` (user-data key
  ``("._.", "lemma", start_char, end_char)``, saved with ``store_user_data``);
  after ``Span.set_extension("lemma", default=None)`` it reads as ``ent._.lemma``.

Offsets are ``start_char``/``end_char``: code points, like Kronika's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kronika.exchange import AnnotatedText, ExchangeError, TextOf, check_no_overlap, check_text, make_mention, one_line, read_input, unique_ids
from kronika.tokens import split_at, tokenize

DOC_ID_KEY = "doc_id"
LEMMA_EXTENSION = "lemma"


def _spacy() -> Any:
    try:
        import spacy
    except ImportError:
        raise ExchangeError("format spacy: spaCy is not installed; pip install 'kronika[spacy]' (or spacy)") from None
    return spacy


def _lemma_key(start: int, end: int) -> tuple[str, str, int, int]:
    return ("._.", LEMMA_EXTENSION, start, end)


def _words(text: str, tokens: list[tuple[int, int]]) -> tuple[list[str], list[bool]]:
    """spaCy ``words``/``spaces`` that rebuild ``text`` exactly."""
    words: list[str] = []
    spaces: list[bool] = []
    position = 0
    for start, end in [*tokens, (len(text), len(text))]:
        gap = text[position:start]
        if gap.startswith(" ") and words:
            spaces[-1] = True
            gap = gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)
        if end > start:
            words.append(text[start:end])
            spaces.append(False)
        position = end
    return words, spaces


def to_doc(doc: AnnotatedText, vocab: Any) -> Any:
    """One spaCy ``Doc`` for ``doc``."""
    from spacy.tokens import Doc

    mentions = check_no_overlap(doc.mentions, doc.doc_id)
    tokens = split_at(tokenize(doc.text), [o for m in mentions for o in (m.start, m.end)])
    words, spaces = _words(doc.text, tokens)
    sdoc = Doc(vocab, words=words, spaces=spaces)
    if sdoc.text != doc.text:  # cannot happen; never write a lossy file
        raise ExchangeError(f"{doc.doc_id}: text: the spaCy Doc does not rebuild the text")
    spans = []
    for m in mentions:
        span = sdoc.char_span(m.start, m.end, label=m.label, kb_id=m.entity_id, alignment_mode="strict")
        if span is None:
            raise ExchangeError(f"{doc.doc_id}: mentions: [{m.start}, {m.end}) {m.text!r} is not on token boundaries")
        spans.append(span)
        sdoc.user_data[_lemma_key(m.start, m.end)] = m.lemma
    sdoc.ents = spans
    sdoc.user_data[DOC_ID_KEY] = doc.doc_id
    return sdoc


def to_bytes(docs: list[AnnotatedText]) -> bytes:
    spacy = _spacy()
    from spacy.tokens import DocBin

    vocab = spacy.blank("xx").vocab
    docbin = DocBin(store_user_data=True)
    for doc in docs:
        docbin.add(to_doc(doc, vocab))
    return docbin.to_bytes()


def write(docs: list[AnnotatedText], path: Path) -> None:
    import os

    data = to_bytes(docs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read(path: Path, text_of: TextOf) -> list[AnnotatedText]:
    return from_bytes(read_input(path, "DocBin file"), text_of, str(path))


def from_bytes(data: bytes, text_of: TextOf, where: str = "<docbin>") -> list[AnnotatedText]:
    """Documents of a ``DocBin`` written by ``to_bytes`` (or edited in spaCy)."""
    spacy = _spacy()
    from spacy.tokens import DocBin

    try:
        sdocs = list(DocBin().from_bytes(data).get_docs(spacy.blank("xx").vocab))
    except Exception as err:  # msgpack/zlib/spaCy errors all mean "not a DocBin"
        raise ExchangeError(f"{where}: not a spaCy DocBin file ({type(err).__name__}: {one_line(err)})") from None
    docs = []
    for index, sdoc in enumerate(sdocs):
        at = f"{where}: doc {index}"
        doc_id = sdoc.user_data.get(DOC_ID_KEY)
        if not isinstance(doc_id, str) or not doc_id:
            raise ExchangeError(f"{at}: user_data['{DOC_ID_KEY}']: missing; export with kronika or set it per Doc")
        at = f"{at} ({doc_id})"
        text = text_of(doc_id, at)
        check_text(doc_id, sdoc.text, text, at)
        mentions = []
        for number, ent in enumerate(sdoc.ents):
            lemma = sdoc.user_data.get(_lemma_key(ent.start_char, ent.end_char))
            where_ent = f"{at} entity {number}"
            mentions.append(make_mention(text, ent.start_char, ent.end_char, ent.label_, lemma, ent.kb_id_, where_ent))
        docs.append(AnnotatedText(doc_id, text, check_no_overlap(mentions, at)))
    return unique_ids(docs, where)
