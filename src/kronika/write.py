"""Write: Parquet shards with fixed settings, the manifest and the card.

Everything written here is deterministic (no timestamps, fixed writer options,
rows in the order given) and atomic (temporary name, then ``os.replace``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import yaml

from kronika.atomic import write_text
from kronika.record import CONFIGS, arrow_schema, card_features, class_names, hf_features, multilinguality, present_languages, size_category

# Fixed writer settings: changing any of them changes the bytes of every shard.
PARQUET_OPTIONS: dict[str, Any] = {
    # zstd 3 without dictionary pages: on the news corpus 25.1 MB written in 0.98 s,
    # against 26.0 MB in 1.44 s for zstd 6 with dictionaries (which zstd already
    # finds in repeated strings), and the pages read faster
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": False,
    "write_statistics": True,
    "version": "2.6",
    "data_page_size": 1 << 20,
    "write_page_checksum": True,  # CRC32 per page: `validate` catches a flipped byte
    "write_page_index": True,  # the Hub's optimised Parquet: readers skip pages
    "use_content_defined_chunking": True,  # page cuts follow content: a new version shares pages (deterministic)
}
ROW_GROUP_SIZE = 1000


def writer_fingerprint() -> str:
    """Everything besides the rows that decides a shard's bytes: writer settings and schemas.

    Part of the shard cache key, so a cached shard written otherwise is never reused.
    """
    schemas = {config: str(config_schema(config, "")) for config in CONFIGS}
    return json.dumps([PARQUET_OPTIONS, ROW_GROUP_SIZE, schemas], sort_keys=True)


@lru_cache(maxsize=16)
def config_schema(config: str, version: str) -> pa.Schema:
    """The Arrow schema of one config, with the HF features and Kronika version attached."""
    schema = arrow_schema(CONFIGS[config]())
    metadata = {
        "huggingface": json.dumps({"info": {"features": hf_features(schema)}}),
        "kronika_version": version,
    }
    for field in schema:  # label names of ClassLabel columns, readable by any Parquet reader (DuckDB: parquet_kv_metadata)
        names = class_names(field)
        if names:
            metadata[f"{field.name}.names"] = json.dumps(names)
    return schema.with_metadata(metadata)


def config_table(rows: list[dict[str, Any]], config: str, version: str) -> pa.Table:
    """Rows of one config as an Arrow table of ``config_schema``."""
    return pa.Table.from_pylist(rows, schema=config_schema(config, version))


def document_table(rows: list[dict[str, Any]], version: str) -> pa.Table:
    return config_table(rows, "documents", version)


def write_parquet(table: pa.Table, path: Path | str) -> int:
    """Write one shard atomically, through ``pyarrow.fs``; return its ``num_bytes``.

    ``path`` is a local path or a URI (``file:///shared/...``, ``s3://...``), so a
    worker on another machine can write to a shared filesystem or object store.
    ``num_bytes`` (the card's) is the file's uncompressed data size from its own
    metadata: a function of the bytes written, so a shard patched from its last
    build states the same size as one built afresh (an Arrow table's ``nbytes``
    depends on how its buffers came to be).
    """
    fs, where = pafs.FileSystem.from_uri(str(path)) if "://" in str(path) else (pafs.LocalFileSystem(), str(path))
    parent, name = where.rsplit("/", 1)
    fs.create_dir(parent, recursive=True)
    tmp = f"{parent}/.{name}.tmp"
    writer = pq.ParquetWriter(tmp, table.schema, filesystem=fs, **PARQUET_OPTIONS)  # what write_table does
    try:
        writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        writer.close()
    except BaseException:
        # a full disk fails the close: the OSError says so, and the writer, still marked
        # open, would try again when collected and print a traceback
        writer.is_open = False
        _remove(fs, tmp)
        raise
    meta = pq.read_metadata(tmp, filesystem=fs)  # the footer just written
    fs.move(tmp, where)
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


def _remove(fs: pafs.FileSystem, path: str) -> None:
    try:
        fs.delete_file(path)
    except OSError:  # never created, or the file system is gone: the stage is removed anyway
        pass


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


# ---------------------------------------------------------------------- card
def card_yaml(*, version: str, splits: dict[str, dict[str, dict[str, Any]]], languages: list[str]) -> dict[str, Any]:
    """The YAML front matter of the dataset card.

    ``splits`` maps each config with rows to its splits with rows, each
    ``{"paths", "num_examples", "num_bytes"}``; an empty split or config is left
    out (an empty split breaks loading).
    """
    configs, infos = [], []
    for name, parts in splits.items():
        files = [{"split": split, "path": part["paths"]} for split, part in parts.items()]
        config = {"config_name": name, "version": version, "data_files": files}
        if name == "documents":
            config = {"config_name": name, "default": True, **{k: v for k, v in config.items() if k != "config_name"}}
        configs.append(config)
        infos.append({
            "config_name": name,
            "features": card_features(arrow_schema(CONFIGS[name]())),
            "splits": [
                {"name": split, "num_bytes": part["num_bytes"], "num_examples": part["num_examples"]} for split, part in parts.items()
            ],
        })
    documents = sum(part["num_examples"] for part in splits.get("documents", {}).values())
    return {
        "pretty_name": "Kronika",
        "license": "other",
        "license_name": "kronika-mixed",
        "license_link": "LICENSE",
        "annotations_creators": ANNOTATIONS_CREATORS,
        "language_creators": ["found"],
        "source_datasets": ["original"],
        "language": present_languages(languages),
        "multilinguality": multilinguality(present_languages(languages)),
        "task_categories": ["token-classification", "text-classification"],
        "task_ids": ["named-entity-recognition", "language-identification"],
        "size_categories": [size_category(documents)],
        "tags": ["news", "named-entities", "language-identification"],
        "configs": configs,
        "dataset_info": infos,
    }


# Gold layers are written by hand (expert-generated); the other documents get automatic layers.
ANNOTATIONS_CREATORS = ["expert-generated", "machine-generated"]


def replace_stats_section(body: str, section: str) -> str:
    """The card body with its generated statistics section replaced by ``section``.

    The section is what lies between the markers ``<!-- kronika:stats:start -->``
    and ``<!-- kronika:stats:end -->`` (both included; ``section`` carries its
    own markers). Without markers it is appended, so the hand-written
    documentation around it is never touched.
    """
    start, end = "<!-- kronika:stats:start -->\n", "<!-- kronika:stats:end -->\n"
    section = section if section.endswith("\n") else section + "\n"
    lines = body.splitlines(keepends=True)
    if start in lines and end in lines[lines.index(start) :]:  # markers on lines of their own, not quoted in prose
        i = lines.index(start)
        j = lines.index(end, i)
        return "".join(lines[:i]) + section + "".join(lines[j + 1 :])
    return body + ("" if body.endswith("\n\n") or not body else "\n" if body.endswith("\n") else "\n\n") + section


class CardError(ValueError):
    """The existing card cannot be updated; one line naming the file."""


CARD_TEMPLATE = "card.md"  # the card's body: the project documentation (README.md is built from it)


def card_body() -> str:
    """The card's body as shipped in the package (``kronika/card.md``).

    The repository's README.md is the card of its corpus, so the documentation
    lives once, here, and every card (any ``--out``) gets all of it.
    """
    return resources.files("kronika").joinpath(CARD_TEMPLATE).read_text(encoding="utf-8")


def card_text(card: Path, front_matter: dict[str, Any], stats_section: str | None = None) -> str:
    """The whole card: YAML front matter, then the shipped body with its statistics section.

    The card on disk is replaced, never read: edit ``src/kronika/card.md``, not
    README.md. Raises ``CardError`` when ``card`` cannot be replaced by a file.
    """
    if card.exists() and not card.is_file():
        raise CardError(f"{card}: is not a file; the card cannot be written there")
    body = card_body()
    if stats_section is not None:
        body = replace_stats_section(body, stats_section)
    dumped = yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{dumped}---\n{body}"


def write_card(card: Path, front_matter: dict[str, Any]) -> None:
    """Write ``card``: the front matter and the shipped body."""
    write_text(card, card_text(card, front_matter))
