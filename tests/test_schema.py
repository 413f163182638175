"""One source of truth: JSON Schema, Arrow schema and HF Features agree."""

from __future__ import annotations

import pyarrow.parquet as pq
from jsonschema import Draft202012Validator

from conftest import ROOT
import pytest

datasets = pytest.importorskip("datasets")

from kronika.record import CONFIGS, SCHEMAS, arrow_schema, card_features, document_schema, hf_features, schema_text
from kronika.validate import read_card


def test_schema_files_are_up_to_date() -> None:
    for name in SCHEMAS:
        assert (ROOT / "schema" / name).read_text(encoding="utf-8") == schema_text(name), f"run `kronika schema` ({name})"


def test_json_schemas_are_valid_2020_12() -> None:
    for make in SCHEMAS.values():
        schema = make()
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(".schema.json")


def test_arrow_columns_are_the_json_schema_properties() -> None:
    assert arrow_schema().names == list(document_schema()["properties"])


@pytest.mark.parametrize("config", list(CONFIGS))
def test_hf_features_agree_with_datasets(config: str) -> None:
    schema = arrow_schema(CONFIGS[config]())
    features = datasets.Features.from_dict(hf_features(schema))
    assert features.to_dict() == hf_features(schema)
    assert features._to_yaml_list() == card_features(schema)
    assert features.arrow_schema == schema.remove_metadata().with_metadata(features.arrow_schema.metadata)
    for field in schema:
        assert features.arrow_schema.field(field.name).type == field.type


def test_card_and_committed_parquet_agree() -> None:
    card = read_card(ROOT / "README.md")
    infos = {i["config_name"]: i for i in card["dataset_info"]}
    assert set(infos) == set(CONFIGS)
    for config, make in CONFIGS.items():
        expected = arrow_schema(make())
        assert infos[config]["features"] == card_features(expected)
        for path in sorted((ROOT / "corpus" / config).glob("*.parquet")):
            file_schema = pq.read_schema(path)
            assert file_schema.remove_metadata() == expected.remove_metadata(), path
            assert datasets.Features.from_arrow_schema(file_schema).to_dict() == hf_features(expected)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_committed_row_validates_against_the_schema_file(config: str) -> None:
    """Plain pyarrow rows vs the JSON Schema file on disk (Draft 2020-12, format checker)."""
    import json

    from jsonschema import FormatChecker

    name = {"documents": "document", "mentions": "mention", "sentences": "sentence"}[config]
    schema = json.loads((ROOT / "schema" / f"{name}.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    rows = [r for p in sorted((ROOT / "corpus" / config).glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert rows
    for row in rows:
        assert list(validator.iter_errors(row)) == []
