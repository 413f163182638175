"""Label Studio: NER tasks out (with predictions), exported annotations back in.

**Offsets.** Label Studio counts ``start``/``end`` in UTF-16 code units, as
JavaScript strings do: an emoji or any other character outside the Basic
Multilingual Plane counts 2. Kronika counts code points. ``utf16_offsets``
converts out, and import converts back, rejecting an offset that falls inside
a surrogate pair.

**Export** (``to_tasks``): one task per document, with exactly one
prediction, the mentions the dataset publishes for it (the document's merged
``entities``, whatever layers they come from)::

    {"data": {"text": "...", "doc_id": "...", "language": "pl"},
     "predictions": [{"model_version": "published",
                      "score": <mean mention score, when some have one>,
                      "result": [<regions>]}]}

Regions are in a stable order, by start then end, and numbered in that order
(``m0``, ``m1``, ...). Each mention is one region, written as three results
sharing the region ``id``: the ``labels`` result (``value: {start, end, text,
labels: [label]}``, plus ``score`` when it has one, and ``meta: {"layer":
<the mention's source, e.g. gazetteer_v1>, "score": <score>}``) and two
per-region ``textarea`` results, ``from_name`` ``lemma`` and ``entity_id``
(``value: {start, end, text: [value]}``). That is how Label Studio itself
stores per-region text areas, so annotators see and correct lemma and id in
the region panel (``labeling_config()``). Scores are rounded to
``SCORE_DIGITS`` decimals (``0.9``, not ``0.9000000000000001``).

**Import** (``from_export``): Label Studio's JSON export (a list of tasks with
``annotations[].result[]``). Only what a person submitted counts: the
``annotations`` of a task, never its ``predictions``. Cancelled annotations
(``was_cancelled: true``) are ignored; of the others, the one updated last
wins (``chosen_annotation``). A task with no such annotation (predictions
only, or all cancelled) is skipped: ``kronika import`` writes nothing for it
and reports it. Results are grouped by region ``id``; each ``labels`` region
needs its ``lemma`` and ``entity_id`` text areas. A region's ``meta.layer``,
when present, is read into ``exported_layers`` (information only: imported
mentions are gold).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kronika.exchange import (
    AnnotatedText,
    ExchangeError,
    TextOf,
    atomic_text,
    by_offsets,
    check_no_overlap,
    check_text,
    load_json,
    make_mention,
    unique_ids,
)
from kronika.record import LABELS

LABEL_FIELD = "label"
TEXT_FIELD = "text"
LEMMA_FIELD = "lemma"
ENTITY_ID_FIELD = "entity_id"
MODEL_VERSION = "published"  # the one prediction: what the dataset publishes
SCORE_DIGITS = 4


def rounded(score: float) -> float:
    return round(float(score), SCORE_DIGITS)


def labeling_config() -> str:
    """The labeling config (Settings > Labeling Interface > Code) for these tasks."""
    labels = "\n".join(f'    <Label value="{label}"/>' for label in LABELS)
    return f"""<View>
  <Labels name="{LABEL_FIELD}" toName="{TEXT_FIELD}">
{labels}
  </Labels>
  <Text name="{TEXT_FIELD}" value="$text"/>
  <View visibleWhen="region-selected">
    <Header value="Lemma (base form)"/>
    <TextArea name="{LEMMA_FIELD}" toName="{TEXT_FIELD}" perRegion="true" editable="true" maxSubmissions="1" rows="1"/>
    <Header value="Entity id (e.g. PER-Vladimir-Putin)"/>
    <TextArea name="{ENTITY_ID_FIELD}" toName="{TEXT_FIELD}" perRegion="true" editable="true" maxSubmissions="1" rows="1"/>
  </View>
</View>
"""


def utf16_offsets(text: str) -> list[int]:
    """``out[i]`` = UTF-16 offset of code point ``i``; ``out[len(text)]`` = UTF-16 length."""
    out = [0] * (len(text) + 1)
    for i, char in enumerate(text):
        out[i + 1] = out[i] + (2 if ord(char) > 0xFFFF else 1)
    return out


# ------------------------------------------------------------------ export
def to_task(doc: AnnotatedText) -> dict[str, Any]:
    """The task of ``doc``: its text and one prediction holding all its mentions."""
    u16 = utf16_offsets(doc.text)
    result: list[dict[str, Any]] = []
    scores: list[float] = []
    for number, m in enumerate(by_offsets(doc.mentions)):
        region = f"m{number}"
        span = {"start": u16[m.start], "end": u16[m.end]}
        labels: dict[str, Any] = {"id": region, "from_name": LABEL_FIELD, "to_name": TEXT_FIELD, "type": "labels",
                                  "value": {**span, "text": m.text, "labels": [m.label]}}
        meta: dict[str, Any] = {"layer": m.source}
        if m.score is not None:
            labels["score"] = meta["score"] = rounded(m.score)
            scores.append(m.score)
        labels["meta"] = meta
        result.append(labels)
        for name, value in ((LEMMA_FIELD, m.lemma), (ENTITY_ID_FIELD, m.entity_id)):
            result.append({"id": region, "from_name": name, "to_name": TEXT_FIELD, "type": "textarea",
                           "value": {**span, "text": [value]}})
    prediction: dict[str, Any] = {"model_version": MODEL_VERSION}
    if scores:
        prediction["score"] = rounded(sum(scores) / len(scores))
    prediction["result"] = result
    return {"data": {"text": doc.text, "doc_id": doc.doc_id, "language": doc.language}, "predictions": [prediction]}


def to_tasks(docs: Iterable[AnnotatedText]) -> list[dict[str, Any]]:
    return [to_task(doc) for doc in docs]


def write(docs: Iterable[AnnotatedText], path: Path) -> None:
    """The tasks as one JSON list (what Label Studio imports), written a task at a time."""
    with atomic_text(path) as out:
        separator = "["
        for doc in docs:  # the bytes of json.dumps(tasks, indent=2), without holding every task
            task = json.dumps(to_task(doc), indent=2, ensure_ascii=False)
            out.write(separator + "\n" + "\n".join("  " + line for line in task.split("\n")))
            separator = ","
        out.write("[]\n" if separator == "[" else "\n]\n")


# ------------------------------------------------------------------ import
NO_ANNOTATION = "no submitted annotation"


def read(path: Path, text_of: TextOf) -> list[AnnotatedText]:
    return from_export(load_json(path), text_of, str(path))


def chosen_annotation(task: dict[str, Any], at: str = "") -> dict[str, Any] | None:
    """The annotation that counts for ``task``, or None if nobody submitted one.

    Only ``annotations`` count (what a person submitted), never ``predictions``.
    Cancelled (skipped) annotations, ``was_cancelled: true``, are ignored. Of the
    rest, the one updated last wins (``updated_at``, else ``created_at``; ISO
    8601 times, compared as times: Label Studio leaves out a zero fraction, so
    ``...:00Z`` is earlier than ``...:00.5Z`` though it sorts after it as text); on a
    tie, the later one in the list. A time that is missing or unreadable counts as
    the earliest.
    """
    annotations = task.get("annotations")
    if annotations is None:
        annotations = []
    if not isinstance(annotations, list):
        raise ExchangeError(f"{at}: annotations: expected a list, got {type(annotations).__name__}")
    live = [a for a in annotations if isinstance(a, dict) and a.get("was_cancelled") is not True]
    if not live:
        return None
    # max() keeps the first of equals, so reverse: the later one in the list wins a tie.
    return max(reversed(live), key=lambda a: _when(a.get("updated_at") or a.get("created_at")))


EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def _when(value: Any) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return EARLIEST
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _task_doc(task: Any, index: int, text_of: TextOf, where: str) -> AnnotatedText:
    at = f"{where}: task {index}"
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise ExchangeError(f"{at}: data: missing; expected Label Studio's JSON export (a list of tasks)")
    doc_id = task["data"].get("doc_id")
    if not isinstance(doc_id, str) or not doc_id:
        raise ExchangeError(f"{at}: data.doc_id: missing; the task must come from `kronika export --format labelstudio`")
    at = f"{where}: task {index} ({doc_id})"
    annotation = chosen_annotation(task, at)
    if annotation is None:  # predictions only, or every annotation cancelled: nothing a person submitted
        return AnnotatedText(doc_id, "", skipped=NO_ANNOTATION)
    text = text_of(doc_id, at)
    check_text(doc_id, str(task["data"].get("text", "")), text, f"{at}: data")
    results = annotation.get("result")
    if results is None:
        results = []
    if not isinstance(results, list):
        raise ExchangeError(f"{at}: result: expected a list of results, got {type(results).__name__}")
    regions: dict[str, dict[str, Any]] = defaultdict(dict)
    for number, result in enumerate(results):
        if not isinstance(result, dict) or "id" not in result or not isinstance(result.get("value"), dict):
            raise ExchangeError(f"{at}: result {number}: not a region result with an id and a value")
        kind = "labels" if result.get("type") == "labels" else str(result.get("from_name"))
        if kind in regions[str(result["id"])]:  # two regions given one id: one would be lost
            raise ExchangeError(f"{at}: result {number}: region {result['id']!r} has a second {kind!r} result")
        regions[str(result["id"])][kind] = result
    back = {u: i for i, u in enumerate(utf16_offsets(text))}
    mentions = [_mention(text, back, parts, f"{at} region {rid}") for rid, parts in regions.items()]
    layers = {}
    for mention, parts in zip(mentions, regions.values()):
        meta = parts["labels"].get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("layer"), str) and meta["layer"]:
            layers[(mention.start, mention.end)] = meta["layer"]
    return AnnotatedText(doc_id, text, check_no_overlap(mentions, at), exported_layers=layers)


def _mention(text: str, back: dict[int, int], parts: dict[str, Any], at: str) -> Any:
    labels = parts.get("labels")
    if labels is None:
        raise ExchangeError(f"{at}: labels: the region has no label result (only {', '.join(map(str, parts))})")
    value = labels["value"]
    names = value.get("labels") or []
    if not isinstance(names, list) or len(names) != 1:
        raise ExchangeError(f"{at}: labels: {names!r}, expected exactly one label")
    offsets = []
    for name in ("start", "end"):
        u16 = value.get(name)
        if not isinstance(u16, int) or isinstance(u16, bool) or u16 not in back:
            raise ExchangeError(f"{at}: {name}: {u16!r} is not a UTF-16 offset between characters of the text")
        offsets.append(back[u16])
    extra = {}
    for name in (LEMMA_FIELD, ENTITY_ID_FIELD):
        texts = (parts.get(name) or {"value": {}})["value"].get("text")
        if not isinstance(texts, list) or len(texts) != 1:
            raise ExchangeError(f"{at}: {name}: {texts!r}, expected one value in the region's '{name}' text area")
        extra[name] = texts[0].strip() if isinstance(texts[0], str) else texts[0]
    return make_mention(text, offsets[0], offsets[1], names[0], extra[LEMMA_FIELD], extra[ENTITY_ID_FIELD], at, value.get("text"))


def from_export(tasks: Any, text_of: TextOf, where: str = "<labelstudio>") -> list[AnnotatedText]:
    """Documents of Label Studio's JSON export of tasks.

    A task with no submitted annotation comes back with ``skipped`` set and no
    mentions; it must not be written.
    """
    if not isinstance(tasks, list):
        raise ExchangeError(f"{where}: (top level): expected a list of tasks (Label Studio 'JSON' export)")
    return unique_ids([_task_doc(task, i, text_of, where) for i, task in enumerate(tasks)], where)
