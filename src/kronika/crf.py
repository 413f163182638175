"""A sequence labeller trained from gold layers: features, training, loading, prediction.

Why a CRF: no neural NER model installs offline here (notes, "NER models"), and
python-crfsuite with plain features measured 0.70-0.89 exact F1 on held-out
BSNLP articles, trains in minutes on two cores and gives byte-identical models
when retrained on the same data, which the corpus's reproducibility needs.

Pipeline of ``EntityModel.annotate``:

1. sentences (``kronika.sentences``) and tokens (``kronika.tokens``): the CRF
   labels the project's own tokens with IOB2 tags, so its spans always fall on
   the boundaries the exchange formats use;
2. the **training-gold gazetteer** first: longest match of every surface form
   seen as a gold mention in training, kept only if it was a mention in at
   least ``GAZETTEER_MIN_PRECISION`` of its occurrences in the training text
   (so "Unia" seen once as a name but often as a word is not matched);
3. the CRF's mentions that do not overlap a gazetteer match;
4. base forms: the exact surface form seen in training takes its gold lemma
   and id; otherwise ``kronika.lemmas.base_form`` and the id of that lemma in
   the training gold, else ``<LABEL>-<transliterated words>``.

A model folder holds ``model.crfsuite`` (crfsuite's own format), ``card.json``
(what it was trained on and how well it did on documents it never saw) and
``gazetteer.json`` (the surface forms of the training gold with lemma, id and
counts). Everything is written with sorted keys and no time stamps, so that
the same gold gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kronika.atomic import write_bytes
from kronika.record import ENTITY_ID_PATTERN, LABELS, MAX_MENTION_CHARS, Mention
from kronika.sentences import split_sentences
from kronika.tokens import bio_to_spans, spans_to_bio, tokenize_spans

SOURCE = "crf_v1"
FEATURE_SET = "crf_features_v1"
MODEL_FILE = "model.crfsuite"
CARD_FILE = "card.json"
GAZETTEER_FILE = "gazetteer.json"
CARD_FORMAT = "kronika-entity-model/1"
GAZETTEER_MIN_PRECISION = 0.5
MAX_GAZETTEER_TOKENS = 12
DEFAULT_PARAMS: dict[str, Any] = {
    "c1": 0.05,
    "c2": 0.01,
    "max_iterations": 150,
    "feature.possible_transitions": True,
    "feature.minfreq": 1,
}


class ModelError(ValueError):
    """A model folder that cannot be used; the message names the file."""


@dataclass(frozen=True)
class GoldDoc:
    """One training or evaluation document: text, language and gold mentions (dicts)."""

    id: str
    text: str
    language: str
    mentions: tuple[dict[str, Any], ...]
    topic: str | None = None
    where: str = ""  # file (and line) it came from, for messages


# ------------------------------------------------------------------ features
Token = tuple[int, int]


def sentence_tokens(text: str, language: str) -> list[list[Token]]:
    """Token spans per sentence (sentences never cross a newline)."""
    sentences = split_sentences(text, lang=language)
    return [toks for toks in tokenize_spans(text, sentences) if toks]


@lru_cache(maxsize=500_000)
def _lemma(word: str, language: str) -> str:
    import simplemma

    try:
        return simplemma.lemmatize(word, lang=language).lower()
    except (ValueError, KeyError):  # a language simplemma does not know
        return word


@lru_cache(maxsize=500_000)
def shape(word: str) -> str:
    """Character classes with runs collapsed: ``Putin`` -> ``Xx``, ``F-16`` -> ``X-d``."""
    out = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)[:8]


@lru_cache(maxsize=500_000)
def _word_features(word: str, language: str) -> tuple[str, ...]:
    """Features of a word on its own (cached: most words repeat)."""
    low = word.lower()
    feats = [
        f"w={low}", f"sh={shape(word)}", f"l={_lemma(low, language)}",
        f"p2={low[:2]}", f"p3={low[:3]}", f"s1={low[-1:]}", f"s2={low[-2:]}", f"s3={low[-3:]}", f"s4={low[-4:]}",
    ]
    if word[:1].isupper():
        feats.append("cap")
    if word.isupper() and len(word) > 1:
        feats.append("upper")
    if any(c.isdigit() for c in word):
        feats.append("digit")
    if not word[:1].isalnum():
        feats.append("punct")
    return tuple(feats)


def _context(words: Sequence[str], i: int, language: str) -> list[str]:
    feats: list[str] = []
    for off in (-2, -1, 1, 2):
        j = i + off
        if 0 <= j < len(words):
            w = words[j]
            feats.append(f"{off}w={w.lower()}")
            if abs(off) == 1:
                feats.append(f"{off}sh={shape(w)}")
                feats.append(f"{off}l={_lemma(w.lower(), language)}")
                feats.append(f"{off}s3={w.lower()[-3:]}")
        else:
            feats.append(f"{off}w=<edge>")
    return feats


def sentence_features(words: Sequence[str], language: str, capitalised_inside: frozenset[str] = frozenset()) -> list[list[str]]:
    """CRF items for one sentence.

    ``capitalised_inside`` are the words of the document written capitalised
    somewhere other than at a sentence start: the feature tells a name at the
    start of a sentence from an ordinary capitalised first word.
    """
    items = []
    for i, word in enumerate(words):
        feats = ["bias", *_word_features(word, language), *_context(words, i, language)]
        if i == 0:
            feats.append("first")
        if word[:1].isupper() and word in capitalised_inside:
            feats.append("cap_elsewhere")
        if i:
            feats.append(f"bi={words[i - 1].lower()}|{word.lower()}")
        items.append(feats)
    return items


def capitalised_inside(sentences: Iterable[Sequence[str]]) -> frozenset[str]:
    return frozenset(w for words in sentences for w in words[1:] if w[:1].isupper())


@dataclass
class Encoded:
    """A document as CRF sequences: per sentence, token spans, words and items."""

    tokens: list[list[Token]]
    words: list[list[str]]
    items: list[list[list[str]]]


def encode(text: str, language: str) -> Encoded:
    tokens = sentence_tokens(text, language)
    words = [[text[s:e] for s, e in toks] for toks in tokens]
    caps = capitalised_inside(words)
    return Encoded(tokens, words, [sentence_features(w, language, caps) for w in words])


def gold_tags(enc: Encoded, mentions: Sequence[dict[str, Any]]) -> tuple[list[list[str]], int]:
    """IOB2 tags per sentence, and how many gold mentions could not be encoded
    (cutting a token, or crossing a sentence boundary)."""
    tags_all, placed = [], 0
    for toks in enc.tokens:
        lo, hi = toks[0][0], toks[-1][1]
        inside = [m for m in mentions if lo <= m["start"] and m["end"] <= hi]
        tags, missed = spans_to_bio(toks, inside)
        placed += len(inside) - len(missed)
        tags_all.append(tags)
    return tags_all, len(mentions) - placed


# ------------------------------------------------------------------ gazetteer
@dataclass
class Gazetteer:
    """Surface forms of the training gold, as token tuples, with what they stand for.

    ``entries[form] = (label, lemma, eid, seen, as_mention)``: ``seen`` counts the
    form's occurrences in the training text on token boundaries, ``as_mention``
    those that were gold mentions.
    """

    entries: dict[tuple[str, ...], tuple[str, str, str, int, int]] = field(default_factory=dict)
    by_lemma: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.match: dict[tuple[str, ...], tuple[str, str, str, float]] = {}
        for form, (label, lemma, eid, seen, hit) in self.entries.items():
            precision = hit / seen if seen else 1.0
            if precision >= GAZETTEER_MIN_PRECISION:
                self.match[form] = (label, lemma, eid, precision)
        self.longest = max((len(f) for f in self.match), default=0)

    def lookup(self, form: tuple[str, ...]) -> tuple[str, str, str] | None:
        """(label, lemma, eid) of an exact surface form seen in training (matched or not)."""
        entry = self.entries.get(form)
        return entry[:3] if entry else None

    def find(self, words: Sequence[str]) -> list[tuple[int, int, str, str, str, float]]:
        """Longest matches ``(i, j, label, lemma, eid, precision)``, left to right, token indices."""
        out, i = [], 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                hit = self.match.get(tuple(words[i : i + n]))
                if hit:
                    out.append((i, i + n, *hit))
                    i += n
                    break
            else:
                i += 1
        return out

    def to_json(self) -> dict[str, Any]:
        rows = [
            {"form": list(form), "label": lab, "lemma": lem, "eid": eid, "seen": seen, "as_mention": hit}
            for form, (lab, lem, eid, seen, hit) in sorted(self.entries.items())
        ]
        lemmas = [{"lemma": lem, "label": lab, "eid": eid} for (lem, lab), eid in sorted(self.by_lemma.items())]
        return {"min_precision": GAZETTEER_MIN_PRECISION, "forms": rows, "lemmas": lemmas}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Gazetteer:
        entries = {tuple(r["form"]): (r["label"], r["lemma"], r["eid"], r["seen"], r["as_mention"]) for r in data["forms"]}
        return cls(entries, {(r["lemma"], r["label"]): r["eid"] for r in data["lemmas"]})


def _most_common(counter: Counter[Any]) -> Any:
    """The most frequent key, ties broken by the key itself (deterministic)."""
    return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def build_gazetteer(docs: Sequence[GoldDoc], encoded: Sequence[Encoded]) -> Gazetteer:
    """Every gold surface form (as tokens) with its most frequent label, lemma and id,
    counted against its occurrences in the same training text."""
    meanings: dict[tuple[str, ...], Counter[tuple[str, str, str]]] = defaultdict(Counter)
    lemma_ids: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    mention_spans: list[set[tuple[int, int]]] = []
    for doc, enc in zip(docs, encoded):
        starts = {s: (si, ti) for si, toks in enumerate(enc.tokens) for ti, (s, _e) in enumerate(toks)}
        ends = {e: (si, ti) for si, toks in enumerate(enc.tokens) for ti, (_s, e) in enumerate(toks)}
        spans = set()
        for m in doc.mentions:
            a, b = starts.get(m["start"]), ends.get(m["end"])
            if a is None or b is None or a[0] != b[0] or b[1] - a[1] >= MAX_GAZETTEER_TOKENS:
                continue
            form = tuple(enc.words[a[0]][a[1] : b[1] + 1])
            eid = normalise_id(str(m.get("eid") or m.get("entity_id") or ""))
            meanings[form][(m["label"], m["lemma"], eid)] += 1
            lemma_ids[(m["lemma"], m["label"])][eid] += 1
            spans.add((m["start"], m["end"]))
        mention_spans.append(spans)
    seen, hits = _count_occurrences(set(meanings), encoded, mention_spans)
    entries = {form: (*_most_common(c), seen[form], hits[form]) for form, c in meanings.items()}
    by_lemma = {key: _most_common(c) for key, c in lemma_ids.items() if _most_common(c)}
    return Gazetteer(entries, by_lemma)


def _count_occurrences(
    forms: set[tuple[str, ...]], encoded: Sequence[Encoded], mention_spans: Sequence[set[tuple[int, int]]]
) -> tuple[Counter[tuple[str, ...]], Counter[tuple[str, ...]]]:
    """How often each form occurs (any token position) and how often as a gold mention."""
    longest = max((len(f) for f in forms), default=0)
    firsts = {f[0] for f in forms}
    seen: Counter[tuple[str, ...]] = Counter()
    hits: Counter[tuple[str, ...]] = Counter()
    for enc, spans in zip(encoded, mention_spans):
        for toks, words in zip(enc.tokens, enc.words):
            for i, w in enumerate(words):
                if w not in firsts:
                    continue
                for n in range(1, min(longest, len(words) - i) + 1):
                    form = tuple(words[i : i + n])
                    if form in forms:
                        seen[form] += 1
                        hits[form] += (toks[i][0], toks[i + n - 1][1]) in spans
    return seen, hits


# ------------------------------------------------------------------ training
def doc_key(doc: GoldDoc) -> str:
    """Order and split key: the text's hash, so identical texts fall on the same side."""
    return hashlib.sha256(doc.text.encode("utf-8")).hexdigest()


def data_digest(docs: Sequence[GoldDoc]) -> str:
    """sha256 of the documents as trained on (order-independent)."""
    h = hashlib.sha256()
    for doc in sorted(docs, key=lambda d: (doc_key(d), d.id)):
        row = {"id": doc.id, "language": doc.language, "text": doc.text, "mentions": list(doc.mentions)}
        h.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return h.hexdigest()


def _crfsuite_version() -> str:
    from importlib.metadata import version

    return version("python-crfsuite")


@dataclass
class TrainResult:
    model_bytes: bytes
    gazetteer: Gazetteer
    documents: int
    mentions: int
    unencodable: int
    digest: str
    params: dict[str, Any]


def train(docs: Sequence[GoldDoc], params: dict[str, Any] | None = None) -> TrainResult:
    """Train a CRF on ``docs`` (in hash order, so the input order does not matter)."""
    import pycrfsuite

    params = {**DEFAULT_PARAMS, **(params or {})}
    ordered = sorted(docs, key=lambda d: (doc_key(d), d.id))
    encoded = [encode(d.text, d.language) for d in ordered]
    trainer = pycrfsuite.Trainer(verbose=False)
    trainer.select("lbfgs", "crf1d")
    trainer.set_params(params)
    unencodable = 0
    for doc, enc in zip(ordered, encoded):
        tags, missed = gold_tags(enc, doc.mentions)
        unencodable += missed
        for items, ys in zip(enc.items, tags):
            trainer.append(pycrfsuite.ItemSequence(items), ys)
    with tempfile.TemporaryDirectory(prefix="kronika-crf-") as tmp:
        path = os.path.join(tmp, MODEL_FILE)
        trainer.train(path)
        model_bytes = Path(path).read_bytes()
    return TrainResult(
        model_bytes, build_gazetteer(ordered, encoded), len(ordered),
        sum(len(d.mentions) for d in ordered), unencodable, data_digest(ordered), params,
    )


def card_params(params: dict[str, Any]) -> dict[str, Any]:
    return {"algorithm": "lbfgs", "graphical_model": "crf1d", **params, "python_crfsuite": _crfsuite_version()}


def write_model(folder: Path, result: TrainResult, card: dict[str, Any]) -> None:
    """Write the three files of a model folder (each through a temporary file)."""
    write_bytes(folder / MODEL_FILE, result.model_bytes)
    write_bytes(folder / GAZETTEER_FILE, _json_bytes(result.gazetteer.to_json()))
    write_bytes(folder / CARD_FILE, _json_bytes(card))


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


# ------------------------------------------------------------------ prediction
_ID_RE = re.compile(ENTITY_ID_PATTERN)


def normalise_id(eid: str) -> str:
    """An id in the schema's ASCII form: gold ids such as ``PER-Michał-Dworczyk`` or
    ``ORG-House-of-Representatives(USA)`` are transliterated and their other
    characters become ``-``, so that every published id matches the schema."""
    if _ID_RE.match(eid):
        return eid
    from anyascii import anyascii

    label, _sep, rest = eid.partition("-")
    body = "-".join(re.findall(r"[A-Za-z0-9_.]+", anyascii(rest))).lstrip("._-")
    if label not in (*LABELS, "GPE") or not body:
        return ""
    return f"{label}-{body}"


def transliterated_id(label: str, lemma: str) -> str:
    """``<LABEL>-<ASCII words>``; Cyrillic and other scripts through anyascii first."""
    from anyascii import anyascii

    from kronika.lexicon import make_entity_id

    return make_entity_id(label, anyascii(lemma))


class EntityModel:
    """A trained model folder, ready to annotate (``EntityModel.load(folder)``)."""

    def __init__(self, folder: Path, tagger: Any, card: dict[str, Any], gazetteer: Gazetteer, fingerprint: str) -> None:
        self.folder = folder
        self.card = card
        self.gazetteer = gazetteer
        self.fingerprint = fingerprint
        self.languages: tuple[str, ...] = tuple(card["languages"])
        self._tagger = tagger

    @classmethod
    def load(cls, folder: Path | str) -> EntityModel:
        import pycrfsuite

        folder = Path(folder)
        raw = {}
        for name in (MODEL_FILE, CARD_FILE, GAZETTEER_FILE):
            try:
                raw[name] = (folder / name).read_bytes()
            except OSError as exc:
                raise ModelError(f"{folder / name}: cannot read the entity model ({exc.strerror or exc})") from None
        card = _json_file(folder / CARD_FILE, raw[CARD_FILE])
        if card.get("format") != CARD_FORMAT or card.get("feature_set") != FEATURE_SET:
            raise ModelError(
                f"{folder / CARD_FILE}: format {card.get('format')!r} / features {card.get('feature_set')!r}; "
                f"this kronika reads {CARD_FORMAT!r} / {FEATURE_SET!r} (retrain with `kronika train`)"
            )
        gazetteer = Gazetteer.from_json(_json_file(folder / GAZETTEER_FILE, raw[GAZETTEER_FILE]))
        tagger = pycrfsuite.Tagger()
        try:
            tagger.open(str(folder / MODEL_FILE))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{folder / MODEL_FILE}: not a crfsuite model ({exc})") from None
        digest = hashlib.sha256()
        for name in (MODEL_FILE, CARD_FILE, GAZETTEER_FILE):
            digest.update(hashlib.sha256(raw[name]).digest())
        return cls(folder, tagger, card, gazetteer, digest.hexdigest())

    def annotate(self, text: str, language: str) -> list[Mention]:
        """Mentions of ``text`` (source ``crf_v1``), sorted, never overlapping."""
        if language not in self.languages:
            raise ValueError(f"entity model {self.folder} was trained for {', '.join(self.languages)}, not {language!r}")
        enc = encode(text, language)
        out: list[Mention] = []
        for toks, words, items in zip(enc.tokens, enc.words, enc.items):
            out.extend(self._sentence(text, toks, words, items, language))
        return out

    def _sentence(self, text: str, toks: list[Token], words: list[str], items: list[list[str]], language: str) -> list[Mention]:
        found: list[tuple[int, int, str, float, tuple[str, str] | None]] = []
        taken = [False] * len(toks)
        for i, j, label, lemma, eid, precision in self.gazetteer.find(words):
            found.append((i, j, label, precision, (lemma, eid)))
            taken[i:j] = [True] * (j - i)
        tags = self._tagger.tag(items)
        index = {s: k for k, (s, _e) in enumerate(toks)}
        for start, end, label in bio_to_spans(toks, tags):
            i = index[start]
            j = next(k for k in range(i, len(toks)) if toks[k][1] == end) + 1
            if any(taken[i:j]):
                continue
            score = min(self._tagger.marginal(tags[k], k) for k in range(i, j))
            found.append((i, j, label, score, None))
        return [self._mention(text, toks, words, f, language) for f in sorted(found)]

    def _mention(self, text: str, toks: list[Token], words: list[str], found: tuple, language: str) -> Mention:
        i, j, label, score, known = found
        start, end = toks[i][0], toks[j - 1][1]
        surface = text[start:end][:MAX_MENTION_CHARS]
        end = start + len(surface)
        lemma, eid = known or self.base_form(tuple(words[i:j]), surface, label, language)
        return Mention(start, end, surface, label, lemma, eid, SOURCE, round(float(score), 4))

    def base_form(self, form: tuple[str, ...], surface: str, label: str, language: str) -> tuple[str, str]:
        """(lemma, id): the training gold's for a surface form seen there, else the lemmatiser's."""
        seen = self.gazetteer.lookup(form)
        if seen and seen[0] == label:
            return seen[1], seen[2] or self._id(label, seen[1])
        from kronika.lemmas import base_form

        lemma = base_form(surface, label, language)
        return lemma, self._id(label, lemma)

    def _id(self, label: str, lemma: str) -> str:
        return self.gazetteer.by_lemma.get((lemma, label)) or transliterated_id(label, lemma)


def _json_file(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


Annotate = Callable[[str, str], list[Mention]]
