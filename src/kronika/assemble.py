"""Assemble: a Document plus its annotation layers -> one ``documents`` row.

Pure and small on purpose: the layers are computed elsewhere (and may come
from a cache); this module only decides what is published.

Merge rule for entities: a document with a gold layer publishes the gold
mentions only (``entity_status = "gold"``), since the gold layer is complete
for that document. Otherwise it publishes the merged automatic layers with the
status the registered annotators give its language ("automatic", "lexicon" or
"none", ``kronika.registry.entity_status``).
"""

from __future__ import annotations

from typing import Any

from kronika.ingest import Document
from kronika.record import LanguageSpan, Mention, count_words

TEXT_LICENSE = "publisher-copyright"


def choose_entities(
    gold: list[Mention] | None, automatic: list[Mention], automatic_status: str
) -> tuple[list[Mention], str]:
    """Gold wins where a document has it."""
    if gold is not None:
        return sorted(gold), "gold"
    return sorted(automatic), automatic_status


def assemble(
    doc: Document,
    *,
    language: str,
    language_script: str,
    language_score: float,
    languages: list[LanguageSpan],
    entities: list[Mention],
    entity_status: str,
) -> dict[str, Any]:
    """The published row; field order follows ``record.document_schema``."""
    return {
        "id": doc.id,
        "text": doc.text,
        "metadata": {
            "source_file": doc.source_file,
            "sha256": doc.sha256,
            "header": doc.header,
            "bom": doc.bom,
            "newline": doc.newline,
            "date": doc.date,
            "date_precision": doc.date_precision,
            "title": doc.title,
            "char_count": len(doc.text),
            "word_count": count_words(doc.text),
            "license": TEXT_LICENSE,
        },
        "blocks": [{"start": b.start, "end": b.end, "kind": b.kind} for b in doc.blocks],
        "language": language,
        "language_script": language_script,
        "language_score": language_score,
        "languages": [s.to_dict() for s in languages],
        "entities": [m.to_dict() for m in entities],
        "entity_status": entity_status,
    }
