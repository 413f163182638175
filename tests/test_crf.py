"""The trained entity model (``crf_v1``): training, the model folder, prediction, base forms.

Everything here trains on a tiny synthetic gold set written by the test itself
(no /work/shared data), with few iterations so that the file runs in seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("pycrfsuite")

from kronika import cli, eval_entities  # noqa: E402
from kronika.crf import CARD_FILE, GAZETTEER_FILE, MODEL_FILE, SOURCE, EntityModel, normalise_id, transliterated_id  # noqa: E402
from kronika.lemmas import base_form  # noqa: E402
from kronika.record import ENTITY_ID_PATTERN, LABELS  # noqa: E402

PEOPLE = {
    "pl": [("Jan Kowalski", "Jan Kowalski"), ("Anna Nowak", "Anna Nowak"), ("Piotr Wiśniewski", "Piotr Wiśniewski")],
    "en": [("John Smith", "John Smith"), ("Mary Brown", "Mary Brown"), ("Peter Green", "Peter Green")],
    "ru": [("Иван Петров", "Иван Петров"), ("Анна Иванова", "Анна Иванова"), ("Пётр Сидоров", "Пётр Сидоров")],
}
PLACES = {
    "pl": ["Warszawie", "Krakowie", "Gdańsku"],
    "en": ["London", "Paris", "Berlin"],
    "ru": ["Москве", "Казани", "Самаре"],
}
TEMPLATES = {
    "pl": ["Wczoraj {p} spotkał się z dziennikarzami w {l}.", "W {l} przemawiał {p}, a potem wrócił do domu."],
    "en": ["Yesterday {p} met reporters in {l}.", "In {l} the speaker was {p}, who then went home."],
    "ru": ["Вчера {p} встретился с журналистами в {l}.", "В {l} выступил {p}, а потом уехал домой."],
}
PLACE_LEMMA = {"Warszawie": "Warszawa", "Krakowie": "Kraków", "Gdańsku": "Gdańsk", "Москве": "Москва", "Казани": "Казань", "Самаре": "Самара"}


def _mention(text: str, surface: str, label: str, lemma: str, eid: str) -> dict:
    start = text.index(surface)
    return {"start": start, "end": start + len(surface), "text": surface, "label": label, "lemma": lemma, "eid": eid}


def synthetic_docs() -> list[dict]:
    """A few dozen short documents: every person in every place, in three languages."""
    docs = []
    for lang, people in PEOPLE.items():
        for i, (person, lemma) in enumerate(people):
            for j, place in enumerate(PLACES[lang]):
                template = TEMPLATES[lang][(i + j) % 2]
                text = template.format(p=person, l=place)
                ents = sorted(
                    [
                        _mention(text, person, "PER", lemma, transliterated_id("PER", lemma)),
                        _mention(text, place, "LOC", PLACE_LEMMA.get(place, place), transliterated_id("LOC", PLACE_LEMMA.get(place, place))),
                    ],
                    key=lambda e: e["start"],
                )
                docs.append({"id": f"{lang}-{i}-{j}", "topic": f"t{j}", "language": lang, "text": text, "entities": ents})
    return docs


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gold") / "synthetic.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in synthetic_docs()), encoding="utf-8")
    return path


def _train(gold: Path, out: Path, *extra: str) -> int:
    return cli.main(["train", "--gold", str(gold), "--out", str(out), "--max-iterations", "30", "--quiet", *extra])


@pytest.fixture(scope="module")
def model_dir(gold: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m"
    assert _train(gold, out) == 0
    return out


def test_model_folder_and_card(model_dir: Path) -> None:
    for name in (MODEL_FILE, CARD_FILE, GAZETTEER_FILE):
        assert (model_dir / name).stat().st_size > 0
    card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
    assert card["languages"] == ["en", "pl", "ru"]
    assert card["source"] == SOURCE and card["feature_set"]
    assert card["training"]["documents"] + card["heldout"]["documents"] == 27
    assert card["training"]["mentions"] == 2 * card["training"]["documents"]
    assert re.fullmatch(r"[0-9a-f]{64}", card["training"]["sha256"])
    assert card["trainer"]["max_iterations"] == 30 and "c1" in card["trainer"] and "c2" in card["trainer"]
    assert 0.0 <= card["heldout"]["f1"] <= 1.0 and card["heldout"]["measured_before_retraining_on_all"] is False
    gaz = json.loads((model_dir / GAZETTEER_FILE).read_text(encoding="utf-8"))
    forms = {" ".join(r["form"]): r for r in gaz["forms"]}
    assert forms["Москве"]["lemma"] == "Москва" and forms["Москве"]["eid"] == "LOC-Moskva"


def test_retraining_is_byte_identical(gold: Path, model_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert _train(gold, again) == 0
    for name in (MODEL_FILE, CARD_FILE, GAZETTEER_FILE):
        assert (again / name).read_bytes() == (model_dir / name).read_bytes(), name
    assert EntityModel.load(again).fingerprint == EntityModel.load(model_dir).fingerprint


def test_annotate_gives_valid_mentions(model_dir: Path) -> None:
    model = EntityModel.load(model_dir)
    assert model.languages == ("en", "pl", "ru") and re.fullmatch(r"[0-9a-f]{64}", model.fingerprint)
    for text, lang in [
        ("Wczoraj Anna Nowak spotkała się z Janem w Krakowie.", "pl"),
        ("Yesterday Mary Brown met reporters in Rome.", "en"),
        ("Вчера Анна Иванова встретилась с журналистами в Москве.", "ru"),
    ]:
        mentions = model.annotate(text, lang)
        assert mentions, text
        for m in mentions:
            assert text[m.start : m.end] == m.text
            assert m.label in LABELS and m.source == SOURCE and m.lemma
            assert re.match(ENTITY_ID_PATTERN, m.entity_id), m
            assert m.score is None or 0.0 <= m.score <= 1.0
        assert sorted(mentions) == mentions
        assert all(a.end <= b.start for a, b in zip(mentions, mentions[1:]))
    seen = {m.text: m for m in model.annotate("Вчера Анна Иванова встретилась с журналистами в Москве.", "ru")}
    assert seen["Москве"].lemma == "Москва" and seen["Москве"].entity_id == "LOC-Moskva"
    with pytest.raises(ValueError, match="trained for"):
        model.annotate("Dobrý den, Praha.", "cs")


@pytest.mark.parametrize(
    "surface, label, language, expected",
    [
        ("Владимира Путина", "PER", "ru", "Владимир Путин"),
        ("Германии", "LOC", "ru", "Германия"),
        ("Министерства иностранных дел", "ORG", "ru", "Министерство иностранных дел"),
        ("НАТО", "ORG", "ru", "НАТО"),
        ("Путіна", "PER", "uk", "Путін"),
        ("Великобританії", "LOC", "uk", "Великобританія"),
        ("Prahy", "LOC", "cs", "Praha"),
        ("Evropské unie", "ORG", "cs", "Evropská unie"),
        ("Европейския съюз", "ORG", "bg", "Европейския съюз"),
    ],
)
def test_base_form(surface: str, label: str, language: str, expected: str) -> None:
    assert base_form(surface, label, language) == expected


def test_transliterated_ids() -> None:
    assert transliterated_id("PER", "Владимир Путин") == "PER-Vladimir-Putin"
    assert transliterated_id("LOC", "Київ") == "LOC-Kiiv"  # anyascii is language-agnostic: и and ї are both i
    assert transliterated_id("LOC", "Łódź") == "LOC-Lodz"
    assert normalise_id("PER-Michał-Dworczyk") == "PER-Michal-Dworczyk"
    assert normalise_id("ORG-House-of-Representatives(USA)") == "ORG-House-of-Representatives-USA"
    assert normalise_id("GPE-Russia") == "GPE-Russia"


def test_eval_entities_with_model(gold: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_entities.main(["--gold", str(gold), "--model", str(model_dir), "--topics", "t0,t1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    last = json.loads(out[-1])
    assert last["documents"] == 18
    for key in ("precision", "recall", "f1", "per_label", "lemma_accuracy", "entity_id_accuracy", "docs_per_second"):
        assert key in last
    assert last["f1"] > 0.5
    assert eval_entities.main(["--gold", str(gold), "--model", str(model_dir), "--exclude-topics", "t0,t1,t2"]) == 2
    assert "no document left" in capsys.readouterr().err


def test_score_documents_takes_any_annotator() -> None:
    docs = synthetic_docs()[:3]
    res = eval_entities.score_documents(docs, lambda doc: [])
    assert res["recall"] == 0.0 and res["documents"] == 3


def test_holdout_topic(gold: Path, tmp_path: Path) -> None:
    assert _train(gold, tmp_path / "m", "--holdout-topic", "t2", "--languages", "pl,ru") == 0
    card = json.loads((tmp_path / "m" / CARD_FILE).read_text(encoding="utf-8"))
    assert card["heldout"]["split"] == "topic:t2" and card["heldout"]["documents"] == 6
    assert card["languages"] == ["pl", "ru"] and card["training"]["documents"] == 12


def test_train_from_a_gold_layer(tmp_path: Path) -> None:
    from kronika.ingest import read_seed

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    text = "Wczoraj Jan Kowalski był w Krakowie.\n\nPotem Anna Nowak pojechała do Gdańska.\n"
    (seeds / "a.txt").write_text(text, encoding="utf-8")
    doc = read_seed(seeds / "a.txt", seeds)
    mentions = [
        {**_mention(doc.text, s, lab, lem, transliterated_id(lab, lem))}
        for s, lab, lem in [("Jan Kowalski", "PER", "Jan Kowalski"), ("Krakowie", "LOC", "Kraków"), ("Anna Nowak", "PER", "Anna Nowak"), ("Gdańska", "LOC", "Gdańsk")]
    ]
    for m in mentions:
        m["entity_id"] = m.pop("eid")
    gold = {"doc_id": "a", "sha256": doc.sha256, "layer": "gold_v1", "annotator": "test", "mentions": mentions}
    (seeds / "a.gold.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "m"
    assert cli.main(["train", "--gold", f"pl={seeds}", "--out", str(out), "--holdout-fraction", "0", "--max-iterations", "10", "--quiet"]) == 0
    card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    assert card["training"]["documents"] == 1 and card["training"]["mentions"] == 4 and card["heldout"]["documents"] == 0
    assert cli.main(["train", "--gold", str(seeds / "a.gold.json"), "--out", str(out), "--languages", "pl", "--holdout-fraction", "0", "--quiet"]) == 0


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_cli_missing_gold_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope_pl.jsonl"
    assert _train(missing, tmp_path / "m") != 0
    assert str(missing) in _one_error_line(capsys)
    gold_layer = tmp_path / "x.gold.json"
    assert _train(gold_layer, tmp_path / "m") != 0
    assert str(gold_layer) in _one_error_line(capsys)


def test_cli_bad_jsonl_line(gold: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(gold.read_text(encoding="utf-8").splitlines()[0] + "\n{not json\n", encoding="utf-8")
    assert _train(bad, tmp_path / "m") != 0
    line = _one_error_line(capsys)
    assert f"{bad}:2:" in line and "invalid JSON" in line
    unnamed = tmp_path / "gold.jsonl"
    unnamed.write_text(json.dumps({"id": "x", "text": "Jan", "entities": []}) + "\n", encoding="utf-8")
    assert _train(unnamed, tmp_path / "m") != 0
    line = _one_error_line(capsys)
    assert f"{unnamed}:1" in line and "no language" in line


def test_build_with_entity_model_adds_its_layer(model_dir: Path, tmp_path: Path) -> None:
    """``kronika build --entity-model``: the model is a registered layer, in the manifest and the cache key."""
    from kronika.build import build

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Yesterday Peter Green met reporters in Paris.\n", encoding="utf-8")
    build(seeds, tmp_path / "plain" / "corpus", jobs=1, progress=False, cache_dir=tmp_path / "cache")
    build(seeds, tmp_path / "model" / "corpus", jobs=1, progress=False, cache_dir=tmp_path / "cache", entity_models=(model_dir,))
    manifest = json.loads((tmp_path / "model" / "corpus" / "manifest.json").read_text())
    assert SOURCE in manifest["annotators"]["entities"]["layers"]
    import pyarrow.parquet as pq

    row = pq.read_table(tmp_path / "model" / "corpus" / "documents").to_pylist()[0]
    assert any(m["source"] == SOURCE for m in row["entities"]), row["entities"]
    assert all(row["text"][m["start"] : m["end"]] == m["text"] for m in row["entities"])


def test_build_with_a_folder_that_is_no_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Tekst.\n", encoding="utf-8")
    argv = ["build", "--seeds", str(seeds), "--out", str(tmp_path / "corpus"), "--quiet", "--entity-model", str(tmp_path)]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "card.json" in err and len(err.strip().splitlines()) == 1
