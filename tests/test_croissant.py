"""croissant.json: valid Croissant 1.1 (mlcroissant validate), and every record set loads with the Parquet's row counts.

Validation never opens the data, so the test also reads each record set with
mlcroissant, offline, from the local files.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_helpers import build_corpus, write_seeds
from kronika.corpus_files import shards
from kronika.croissant import CONFORMS_TO, document

mlc = pytest.importorskip("mlcroissant")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small built corpus with its croissant.json beside the card."""
    root = tmp_path_factory.mktemp("croissant")
    corpus = build_corpus(root, write_seeds(root / "seeds"))
    (root / "croissant.json").write_text(document(corpus, version="0.1.0", languages=["pl"]), encoding="utf-8")
    return root


def _offline_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "NO_PROXY": "*", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def test_mlcroissant_validate_passes(dataset: Path) -> None:
    cli = Path(sys.executable).with_name("mlcroissant")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "mlcroissant"]
    done = subprocess.run([*command, "validate", "--jsonld", str(dataset / "croissant.json")],
                          capture_output=True, text=True, env=_offline_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "error" not in done.stderr.lower().replace("0 error", ""), done.stderr[-2000:]


def test_every_record_set_loads_with_the_parquet_row_counts(dataset: Path) -> None:
    ds = mlc.Dataset(jsonld=str(dataset / "croissant.json"))
    files = shards(dataset / "corpus")
    record_sets = {rs.uuid for rs in ds.metadata.record_sets}
    assert record_sets == {name for config in files for name in (config, f"{config}_splits")}
    for config, splits in files.items():
        records = list(ds.records(config))
        expected = {split: sum(pq.ParquetFile(p).metadata.num_rows for p in paths) for split, paths in splits.items()}
        got: dict[str, int] = {}
        for record in records:
            split = record[f"{config}/split"]
            split = split.decode() if isinstance(split, bytes) else split
            got[split] = got.get(split, 0) + 1
        assert got == expected, config
        assert [r[f"{config}_splits/split_name"] for r in ds.records(f"{config}_splits")] == list(splits)


def test_nested_fields_read_back_as_in_parquet(dataset: Path) -> None:
    ds = mlc.Dataset(jsonld=str(dataset / "croissant.json"))
    table = pq.read_table(dataset / "corpus" / "documents").to_pylist()
    first = min(table, key=lambda row: row["id"])
    record = next(r for r in ds.records("documents") if r["documents/id"] == first["id"].encode())
    entities = [{k.rsplit("/", 1)[1]: (v.decode() if isinstance(v, bytes) else v) for k, v in e.items()} for e in record["documents/entities"]]
    assert [(e["start"], e["end"], e["label"], e["entity_id"]) for e in entities] == [
        (e["start"], e["end"], e["label"], e["entity_id"]) for e in first["entities"]]


def test_shape_checksums_and_rai(dataset: Path) -> None:
    meta = json.loads((dataset / "croissant.json").read_text(encoding="utf-8"))
    assert meta["conformsTo"] == CONFORMS_TO
    objects = [d for d in meta["distribution"] if d["@type"] == "cr:FileObject"]
    manifest = json.loads((dataset / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    assert len(objects) == len(manifest["files"])
    for obj in objects:
        assert obj["sha256"] == hashlib.sha256((dataset / obj["contentUrl"]).read_bytes()).hexdigest()
    fields = {f["@id"]: f for rs in meta["recordSet"] for f in rs["field"]}
    entities = fields["documents/entities"]
    assert entities["isArray"] is True and entities["arrayShape"] == "-1"
    assert {s["@id"] for s in entities["subField"]} >= {"documents/entities/label", "documents/entities/entity_id"}
    assert fields["sentences/ner_tags"]["dataType"] == "sc:Integer"
    for key in ("rai:dataAnnotationProtocol", "rai:dataCollection", "rai:dataLimitations"):
        assert meta[key]
    assert "CC BY 4.0" in meta["creditText"] and "publisher" in meta["creditText"]


def test_same_corpus_same_bytes(dataset: Path) -> None:
    assert document(dataset / "corpus", version="0.1.0", languages=["pl"]) == (dataset / "croissant.json").read_text(encoding="utf-8")
