"""spaCy ``DocBin`` files (``.spacy``), as ``spacy train`` and ``spacy.tokens.DocBin`` read them.

spaCy is an optional extra (``pip install kronika[spacy]``); the module imports
without it and says so when a DocBin is written or read. No pipeline is loaded:
each ``Doc`` is built on the vocab of ``spacy.blank(language)`` (``"xx"`` when
spaCy has no such language or it needs a package that is not installed) with
Kronika's own tokens.

**Extensions.** Importing this module registers the span extensions ``lemma``,
``layer`` and ``score`` (stored values, default ``None``) and ``entity_id`` (a
getter returning ``kb_id_``), unless something registered them already; so
``ent._.lemma`` works right after ``from kronika.spacy_docbin import read``, or
``import kronika.spacy_docbin`` before ``DocBin().from_disk(...)``.
``register_extensions()`` does the same explicitly.

What each ``Doc`` carries:

* ``doc.text`` is the document text exactly: tokens are ``kronika.tokens``
  tokens (split further at mention boundaries, so every mention is a span), and
  whitespace other than a single space after a token becomes a whitespace token,
  as spaCy's own tokenizer does.
* ``doc.ents``: one span per mention, ``label_`` the label and ``kb_id_`` the
  entity id; ``ent._.lemma`` the lemma, ``ent._.layer`` the annotation layer
  it was published from (the mention's ``source``, e.g. ``gazetteer_v1``) and
  ``ent._.score`` its score (``None`` when the layer has none). The extension
  values are user data (key ``("._.", name, start_char, end_char)``), saved
  with ``store_user_data``.
* Sentences: ``token.is_sent_start`` on every token (so ``doc.sents`` works),
  from the corpus's ``sentences`` config when exporting from a corpus, else
  the same splitter. Saved by the DocBin's ``SENT_START`` attribute.
* ``doc.user_data["doc_id"]`` the document id and ``doc.user_data["language"]``
  its language (``doc.lang_`` is the vocab's, so it cannot hold a per-document
  language in a mixed file).

Offsets are ``start_char``/``end_char``: code points, like Kronika's. Import
reads label, offsets, ``kb_id_`` and the ``lemma`` extension; the mentions
become gold (``gold_v1``), the ``layer`` read back is informational.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kronika.exchange import (
    AnnotatedText,
    ExchangeError,
    TextOf,
    check_no_overlap,
    check_text,
    make_mention,
    one_line,
    read_input,
    sentence_spans,
    unique_ids,
)
from kronika.tokens import split_at, tokenize

DOC_ID_KEY = "doc_id"
USES_SENTENCES = True  # export reads the corpus's sentences config for this format
LANGUAGE_KEY = "language"
LEMMA_EXTENSION = "lemma"
LAYER_EXTENSION = "layer"
SCORE_EXTENSION = "score"
ENTITY_ID_EXTENSION = "entity_id"
FALLBACK_LANGUAGE = "xx"
# DocBin attributes written: spaCy's defaults name them all; SENT_START carries the sentences.
ATTRS = ("ORTH", "NORM", "TAG", "HEAD", "DEP", "ENT_IOB", "ENT_TYPE", "ENT_KB_ID", "ENT_ID", "LEMMA", "MORPH", "POS", "SENT_START")


def _spacy() -> Any:
    try:
        import spacy
    except ImportError:
        raise ExchangeError("format spacy: spaCy is not installed; pip install 'kronika[spacy]' (or spacy)") from None
    return spacy


def _entity_id(span: Any) -> str | None:
    return span.kb_id_ or None


def register_extensions() -> bool:
    """Register the span extensions this format uses (those not registered yet); False without spaCy."""
    try:
        from spacy.tokens import Span
    except ImportError:
        return False
    for name in (LEMMA_EXTENSION, LAYER_EXTENSION, SCORE_EXTENSION):
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    if not Span.has_extension(ENTITY_ID_EXTENSION):
        Span.set_extension(ENTITY_ID_EXTENSION, getter=_entity_id)
    return True


register_extensions()


def _key(name: str, start: int, end: int) -> tuple[str, str, int, int]:
    """The user-data key of a span extension value, as spaCy stores it."""
    return ("._.", name, start, end)


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


class Vocabs:
    """``spacy.blank(language).vocab`` per language, made once; ``xx`` when there is none."""

    def __init__(self) -> None:
        self.spacy = _spacy()
        self.cache: dict[str, Any] = {}

    def __call__(self, language: str) -> Any:
        if language not in self.cache:
            try:
                self.cache[language] = self.spacy.blank(language).vocab
            except Exception:  # unknown code, "und", or a tokenizer package missing (ja, zh, ...)
                self.cache[language] = self(FALLBACK_LANGUAGE) if language != FALLBACK_LANGUAGE else None
            if self.cache[language] is None:
                raise ExchangeError(f"format spacy: spacy.blank({FALLBACK_LANGUAGE!r}) failed")
        return self.cache[language]


def to_doc(doc: AnnotatedText, vocab: Any) -> Any:
    """One spaCy ``Doc`` for ``doc``."""
    from spacy.tokens import Doc

    register_extensions()
    mentions = check_no_overlap(doc.mentions, doc.doc_id)
    tokens = split_at(tokenize(doc.text), [o for m in mentions for o in (m.start, m.end)])
    words, spaces = _words(doc.text, tokens)
    sdoc = Doc(vocab, words=words, spaces=spaces)
    if sdoc.text != doc.text:  # cannot happen; never write a lossy file
        raise ExchangeError(f"{doc.doc_id}: text: the spaCy Doc does not rebuild the text")
    starts = {start for start, _ in sentence_spans(doc)}
    for token in sdoc:
        token.is_sent_start = token.i == 0 or token.idx in starts
    spans = []
    for m in mentions:
        span = sdoc.char_span(m.start, m.end, label=m.label, kb_id=m.entity_id, alignment_mode="strict")
        if span is None:
            raise ExchangeError(f"{doc.doc_id}: mentions: [{m.start}, {m.end}) {m.text!r} is not on token boundaries")
        spans.append(span)
        span._.set(LEMMA_EXTENSION, m.lemma)
        span._.set(LAYER_EXTENSION, m.source)
        if m.score is not None:
            span._.set(SCORE_EXTENSION, m.score)
    sdoc.ents = spans
    sdoc.user_data[DOC_ID_KEY] = doc.doc_id
    sdoc.user_data[LANGUAGE_KEY] = doc.language
    return sdoc


def to_bytes(docs: Iterable[AnnotatedText]) -> bytes:
    _spacy()
    from spacy.tokens import DocBin

    vocabs = Vocabs()
    docbin = DocBin(attrs=list(ATTRS), store_user_data=True)
    for doc in docs:
        docbin.add(to_doc(doc, vocabs(doc.language)))
    return docbin.to_bytes()


def write(docs: Iterable[AnnotatedText], path: Path) -> None:
    from kronika.atomic import write_bytes

    write_bytes(path, to_bytes(docs))


def read(path: Path, text_of: TextOf) -> list[AnnotatedText]:
    return from_bytes(read_input(path, "DocBin file"), text_of, str(path))


def from_bytes(data: bytes, text_of: TextOf, where: str = "<docbin>") -> list[AnnotatedText]:
    """Documents of a ``DocBin`` written by ``to_bytes`` (or edited in spaCy)."""
    spacy = _spacy()
    from spacy.tokens import DocBin

    register_extensions()
    try:
        sdocs = list(DocBin().from_bytes(data).get_docs(spacy.blank(FALLBACK_LANGUAGE).vocab))
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
        mentions, layers = [], {}
        for number, ent in enumerate(sdoc.ents):
            lemma = sdoc.user_data.get(_key(LEMMA_EXTENSION, ent.start_char, ent.end_char))
            where_ent = f"{at} entity {number}"
            mentions.append(make_mention(text, ent.start_char, ent.end_char, ent.label_, lemma, ent.kb_id_, where_ent))
            layer = sdoc.user_data.get(_key(LAYER_EXTENSION, ent.start_char, ent.end_char))
            if isinstance(layer, str) and layer:
                layers[(ent.start_char, ent.end_char)] = layer
        language = sdoc.user_data.get(LANGUAGE_KEY)
        docs.append(AnnotatedText(doc_id, text, check_no_overlap(mentions, at), language if isinstance(language, str) else "und",
                                  exported_layers=layers))
    return unique_ids(docs, where)
