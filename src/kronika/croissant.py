"""Croissant 1.1 metadata (``croissant.json``) for a built corpus.

The Hub writes Croissant only for a published repository and ignores one that is
uploaded, so the build writes its own, in the shape the Hub emits for Parquet
datasets (the dataset viewer's ``croissant-crumbs``): a record set per config
with one field per column, structs as ``subField`` and lists as ``isArray``,
a ``split`` field read from the file path and a ``<config>_splits`` record set.
Unlike the Hub's, every shard is a ``FileObject`` with its sha256 (from the
manifest), so ``mlcroissant`` checks the bytes it reads, and paths are relative
to the dataset root, so the file works on a download as well as on the Hub.

Everything comes from the corpus folder (manifest, shard names, the HF features
stored in each Parquet file) and from fixed text: the same corpus gives the same
bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from kronika.corpus_files import manifest, shards
from kronika.record import LABELS, hf_features
from kronika.stats import citation_bibtex

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
DESCRIPTION = (
    "Kronika is an annotated news corpus: raw news articles with per-article metadata, "
    "entity spans (character offsets, BSNLP label, base form, entity id, provenance) and "
    "language tags at document and span level. Configs: documents (one row per article), "
    "mentions (one row per entity mention) and sentences (tokens with BIO tags)."
)
VALUE_TYPES = {  # HF dtype -> Croissant dataType, as the Hub maps them
    "bool": "sc:Boolean", "string": "sc:Text", "large_string": "sc:Text",
    "int8": "cr:Int8", "int16": "cr:Int16", "int32": "cr:Int32", "int64": "cr:Int64",
    "float16": "cr:Float16", "float32": "cr:Float32", "float64": "cr:Float64",
}
NAME_RE = re.compile(r"[^a-zA-Z0-9\-_.]")

# Responsible-AI fields: how the data was made and under which terms (ANNOTATION.md, README "Licenses").
RAI: dict[str, Any] = {
    "rai:dataCollection": (
        "News articles supplied as plain-text seed files (seeds/<id>.txt), one article per file, "
        "kept byte for byte: header, BOM and line ends are recorded so the seed's bytes can be rebuilt "
        "from each record and checked against its sha256."
    ),
    "rai:dataCollectionType": ["Manual Human Curation", "Others"],
    "rai:dataAnnotationProtocol": (
        "Gold layer gold_v1 (seeds/<id>.gold.json) follows ANNOTATION.md, which follows the BSNLP "
        "shared tasks: labels PER, ORG, LOC, EVT, PRO; every mention of a named, uniquely identifiable "
        "entity, outermost names only, no overlapping spans, quotation marks outside the span; "
        "metonymic place names keep the place label; lemma is the nominative base form and entity_id "
        "links mentions across documents. A gold layer is pinned to one version of its seed by sha256. "
        "Documents without gold get automatic layers (gazetteer_v1, rules_v1) merged by a fixed rule; "
        "entity_status says which a document got (gold, automatic, lexicon, none)."
    ),
    "rai:dataAnnotationPlatform": [
        "Hand annotation in CoNLL, spaCy, Label Studio or brat, imported with kronika import "
        "(unreviewed predictions are refused as gold)."
    ],
    "rai:annotationsPerItem": "One gold annotation layer per document at most; automatic layers otherwise.",
    "rai:machineAnnotationTools": [
        "gazetteer_v1 (lexicon inflected with Morfeusz 2)", "rules_v1 (Morfeusz 2 based rules)",
        "langid_v6 (fastText lid.176, CLD2, lingua; calibrated scores)",
    ],
    "rai:dataUseCases": [
        "Named-entity recognition and linking in news text (mainly Polish).",
        "Language identification at document and span level.",
    ],
    "rai:dataLimitations": [
        "Automatic mentions are not hand-checked; use entity_status to select gold documents.",
        "Article texts remain under their publishers' copyright and are included for research on news language only.",
    ],
    "rai:dataBiases": ["News from a small number of outlets and periods; entity and label frequencies follow their coverage."],
    "rai:personalSensitiveInformation": [
        "Names of public figures and other persons mentioned in published news articles."
    ],
    "rai:dataReleaseMaintenancePlan": (
        "Versions follow pyproject.toml; each release is a git tag with a CHANGELOG entry listing the "
        "documents and mentions added, removed and changed (kronika diff)."
    ),
}
LICENSES = [
    "https://creativecommons.org/licenses/by/4.0/",  # the annotations
    "https://www.apache.org/licenses/LICENSE-2.0",  # the code
]
LICENSE_NOTE = (
    "Mixed (card license: other, kronika-mixed). Article texts: publisher copyright, included for research on news "
    "language (metadata.license = publisher-copyright). Annotations (gold layers, entity and language layers, "
    "metadata written by Kronika): CC BY 4.0. Code: Apache-2.0."
)


def document(corpus: Path, *, version: str, prefix: str = "corpus", languages: list[str] | None = None,
             url: str | None = None) -> str:
    """The text of ``croissant.json`` for the corpus folder ``corpus``.

    ``prefix`` is the corpus folder's name as seen from the dataset root (where
    ``croissant.json`` sits); it is passed rather than read from ``corpus`` so
    that a staged folder (``.corpus.new-*``) describes the corpus it becomes.
    """
    return json.dumps(metadata(corpus, version=version, prefix=prefix, languages=languages, url=url),
                      indent=2, ensure_ascii=False) + "\n"


def metadata(corpus: Path, *, version: str, prefix: str = "corpus", languages: list[str] | None = None,
             url: str | None = None) -> dict[str, Any]:
    """The Croissant JSON-LD as a dict (see ``document``)."""
    checksums = {f["path"]: f["sha256"] for f in manifest(corpus).get("files", [])}
    ids: set[str] = set()
    distribution: list[dict[str, Any]] = []
    record_sets: list[dict[str, Any]] = []
    for config, splits in shards(corpus).items():
        files = [p for paths in splits.values() for p in paths]
        objects = [_file_object(p, corpus, prefix, checksums, ids) for p in files]
        distribution.extend(objects)
        file_set = _escape(f"parquet-files-for-config-{config}", ids)
        distribution.append({
            "@type": "cr:FileSet", "@id": file_set, "name": file_set,
            "description": f"The Parquet shards of config {config}.",
            "encodingFormat": "application/x-parquet",
            "includes": f"{prefix}/{config}/*.parquet",
        })
        record_sets.extend(_record_sets(config, list(splits), file_set, _features(files[0]), ids))
    return {
        "@context": context(),
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": "Kronika",
        "description": DESCRIPTION,
        "version": version,
        "url": url or "https://huggingface.co/datasets/kronika/kronika",
        "license": LICENSES,
        "creditText": LICENSE_NOTE,
        "citeAs": citation_bibtex(version),
        "keywords": ["news", "named-entities", "language-identification", *LABELS],
        "inLanguage": languages or [],
        "creator": {"@type": "sc:Organization", "name": "Kronika contributors"},
        "isLiveDataset": False,
        **RAI,
        "distribution": distribution,
        "recordSet": record_sets,
    }


def context() -> dict[str, Any]:
    """The JSON-LD context the Hub uses, plus ``rai`` and ``containedIn``."""
    terms = ["arrayShape", "column", "extract", "field", "fileProperty", "fileObject", "fileSet", "format",
             "includes", "isArray", "isLiveDataset", "jsonPath", "key", "md5", "parentField", "path",
             "recordSet", "references", "regex", "repeated", "replace", "separator", "source", "subField",
             "transform", "containedIn", "citeAs", "samplingRate", "equivalentProperty", "dataBiases", "dataCollection", "personalSensitiveInformation"]
    out: dict[str, Any] = {"@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
                           "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
                           "dct": "http://purl.org/dc/terms/", "conformsTo": "dct:conformsTo",
                           "data": {"@id": "cr:data", "@type": "@json"},
                           "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "examples": {"@id": "cr:examples", "@type": "@json"}}
    out.update({term: f"cr:{term}" for term in terms})
    return dict(sorted(out.items()))


def _file_object(path: Path, corpus: Path, prefix: str, checksums: dict[str, str], ids: set[str]) -> dict[str, Any]:
    relative = path.relative_to(corpus).as_posix()
    sha256 = checksums.get(relative)
    if sha256 is None:
        raise ValueError(f"{relative}: not in {corpus / 'manifest.json'}; rebuild the corpus")
    name = _escape(f"{prefix}/{relative}", ids)
    return {"@type": "cr:FileObject", "@id": name, "name": name, "contentUrl": f"{prefix}/{relative}",
            "encodingFormat": "application/x-parquet", "sha256": sha256}


def _features(shard: Path) -> dict[str, Any]:
    """The HF features the shard was written with (its ``huggingface`` metadata), else derived from its schema."""
    schema = pq.read_schema(shard)
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw:
        return json.loads(raw)["info"]["features"]
    return hf_features(schema)


def _record_sets(config: str, splits: list[str], file_set: str, features: dict[str, Any], ids: set[str]) -> list[dict[str, Any]]:
    """The ``<config>_splits`` record set and the config's own, as the Hub emits them."""
    name = _escape(config, ids)
    split_set = f"{name}_splits"
    split_key = f"{split_set}/split_name"
    fields: list[dict[str, Any]] = [{
        "@type": "cr:Field", "@id": f"{name}/split", "dataType": "sc:Text",
        "source": {"fileSet": {"@id": file_set}, "extract": {"fileProperty": "fullpath"},
                   "transform": {"regex": f"^(?:.*/)?({'|'.join(map(re.escape, splits))})-\\d{{5}}-of-\\d{{5}}\\.parquet$"}},
        "references": {"field": {"@id": split_key}},
    }]
    names: set[str] = set()
    for column, feature in features.items():
        field = _field(file_set, f"{name}/{_escape(column, names)}", column, feature, [], ids)
        if field is not None:
            fields.append(field)
    return [
        {"@type": "cr:RecordSet", "dataType": "cr:Split", "key": {"@id": split_key}, "@id": split_set, "name": split_set,
         "description": f"Splits for the {name} config.", "field": [{"@type": "cr:Field", "@id": split_key, "dataType": "sc:Text"}],
         "data": [{split_key: split} for split in splits]},
        {"@type": "cr:RecordSet", "@id": name, "name": name, "description": f"Kronika - '{config}' subset"
         + (f"\n\nAdditional information:\n- {len(splits)} splits: {', '.join(splits)}" if len(splits) > 1 else ""),
         "field": fields},
    ]


def _field(file_set: str, field_id: str, column: str, feature: Any, json_path: list[str], ids: set[str]) -> dict[str, Any] | None:
    """One HF feature as a Croissant field: the Hub's ``feature_to_croissant_field`` for the types Kronika uses."""
    kind = feature.get("_type") if isinstance(feature, dict) else None
    if kind == "Value" and feature["dtype"] in VALUE_TYPES:
        return {"@type": "cr:Field", "@id": field_id, "dataType": VALUE_TYPES[feature["dtype"]],
                "source": _source(file_set, column, json_path)}
    if kind == "ClassLabel":
        return {"@type": "cr:Field", "@id": field_id, "dataType": "sc:Integer", "source": _source(file_set, column, json_path)}
    if kind in ("List", "LargeList", "Sequence"):
        shape = [feature.get("length", -1) if kind != "LargeList" else -1]
        inner = feature["feature"]
        while isinstance(inner, dict) and inner.get("_type") == "List":
            shape.append(inner.get("length", -1))
            inner = inner["feature"]
        field = _field(file_set, field_id, column, inner, json_path, ids)
        if field is not None:
            field["isArray"] = True
            field["arrayShape"] = ",".join(str(s) if s else "-1" for s in shape)
        return field
    if kind is None and isinstance(feature, dict):  # a struct
        names: set[str] = set()
        sub = [_field(file_set, f"{field_id}/{_escape(key, names)}", column, value, [*json_path, _json_key(key)], ids)
               for key, value in feature.items()]
        return {"@type": "cr:Field", "@id": field_id, "subField": [s for s in sub if s is not None]}
    return None


def _source(file_set: str, column: str, json_path: list[str]) -> dict[str, Any]:
    source: dict[str, Any] = {"fileSet": {"@id": file_set}, "extract": {"column": column}}
    if json_path:
        source["transform"] = {"jsonPath": json_path[0]} if len(json_path) == 1 else [{"jsonPath": p} for p in json_path]
    return source


def _json_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_]+", key) else "['" + key.replace("'", "\\'") + "']"


def _escape(name: str, ids: set[str]) -> str:
    """Ids are unique and free of ``/`` within a name, as the Hub escapes them."""
    escaped = NAME_RE.sub("_", name)
    while escaped in ids:
        escaped = f"{escaped}_0"
    ids.add(escaped)
    return escaped
