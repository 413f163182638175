"""Export -> import round trips through CoNLL, spaCy DocBin, Label Studio and brat.

The documents are written here: Polish diacritics, an emoji right before an
entity and a non-BMP letter as an entity (UTF-16 vs code points), lemmas that
differ from the text, a mention inside a hyphenated token, and one across a
line break. Nothing here needs /work/shared or the network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kronika import brat, conll, labelstudio
from kronika.assemble import assemble
from kronika.exchange import AnnotatedText, ExchangeError, export_main, import_main
from kronika.gold import read_gold
from kronika.ingest import read_seed
from kronika.record import Mention
from kronika.write import document_table, write_json, write_parquet

DOC_A = (
    "Spotkanie w Świętokrzyskiem\n"
    "\n"
    "Marzeną Okłą-Drewnowicz 😀Władimira Putina powitano w dniach 10-13 września, m.in. w „Gazecie Wyborczej”. "
    "Serwis 𝕏 pisał o relacjach USA-Rosja.\n"
)
# (surface, label, lemma, entity_id, occurrence)
MENTIONS_A = [
    ("Świętokrzyskiem", "LOC", "Świętokrzyskie", "GPE-Poland-Swietokrzyskie-Voivodeship"),
    ("Marzeną Okłą-Drewnowicz", "PER", "Marzena Okła-Drewnowicz", "PER-Marzena-Okla-Drewnowicz"),
    ("Władimira Putina", "PER", "Władimir Putin", "PER-Vladimir-Putin"),
    ("Gazecie Wyborczej", "PRO", "Gazeta Wyborcza", "PRO-Gazeta-Wyborcza"),
    ("𝕏", "PRO", "X", "PRO-X"),
    ("USA", "LOC", "USA", "GPE-USA"),
    ("Rosja", "LOC", "Rosja", "GPE-Russia"),
]
DOC_B = "Zobacz też: 🎉 Święto w Łodzi\n\nPrezydent Łodzi Hanna Zdanowska otworzyła w Kronice\nWydarzeń wystawę o Łodzi.\n"
MENTIONS_B = [
    ("Łodzi", "LOC", "Łódź", "GPE-Lodz"),
    ("Łodzi", "LOC", "Łódź", "GPE-Lodz"),
    ("Hanna Zdanowska", "PER", "Hanna Zdanowska", "PER-Hanna-Zdanowska"),
    ("Kronice\nWydarzeń", "PRO", "Kronika Wydarzeń", "PRO-Kronika-Wydarzen"),
    ("Łodzi", "LOC", "Łódź", "GPE-Lodz"),
]
DOC_C = "Premier Donald Tusk był w Gdańsku.\n"  # no gold: automatic layer only
FORMATS = ["conll", "spacy", "labelstudio", "brat"]


def _mentions(text: str, table: list[tuple[str, str, str, str]], source: str = "gold_v1", score: float | None = None) -> list[Mention]:
    out, position = [], 0
    for surface, label, lemma, entity_id in table:
        start = text.index(surface, position)
        position = start + len(surface)
        out.append(Mention(start, position, surface, label, lemma, entity_id, source, score))
    return out


def _docs() -> list[AnnotatedText]:
    return [AnnotatedText("doc_a", DOC_A, _mentions(DOC_A, MENTIONS_A), "pl"), AnnotatedText("doc_b", DOC_B, _mentions(DOC_B, MENTIONS_B), "pl")]


def _text_of(docs: list[AnnotatedText]):
    texts = {d.doc_id: d.text for d in docs}

    def text_of(doc_id: str, where: str) -> str:
        if doc_id not in texts:
            raise ExchangeError(f"{where}: doc_id: {doc_id!r} unknown")
        return texts[doc_id]

    return text_of


def _gold(docs: list[AnnotatedText]) -> list[tuple[str, list[dict]]]:
    """What the gold layer keeps: no source or score."""
    keep = ("start", "end", "text", "label", "lemma", "entity_id")
    return [(d.doc_id, [{k: m.to_dict()[k] for k in keep} for m in sorted(d.mentions)]) for d in docs]


def _annotated(tasks: list[dict]) -> list[dict]:
    """What Label Studio exports after an annotator accepts the predictions."""
    return [
        {"id": i + 1, "data": t["data"], "annotations": [{"id": 1, "was_cancelled": False, "updated_at": "2024-05-01T10:00:00Z", "result": r}]}
        for i, t in enumerate(tasks)
        for r in [[x for p in t["predictions"] for x in p["result"]]]
    ]


def _round_trip(fmt: str, docs: list[AnnotatedText], tmp_path: Path) -> list[AnnotatedText]:
    text_of = _text_of(docs)
    if fmt == "conll":
        return conll.loads(conll.dumps(docs), text_of)
    if fmt == "spacy":
        spacy_docbin = pytest.importorskip("kronika.spacy_docbin")
        pytest.importorskip("spacy")
        return spacy_docbin.from_bytes(spacy_docbin.to_bytes(docs), text_of)
    if fmt == "labelstudio":
        return labelstudio.from_export(_annotated(labelstudio.to_tasks(docs)), text_of)
    brat.write(docs, tmp_path / "brat")
    return brat.read(tmp_path / "brat", text_of)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_in_memory(fmt: str, tmp_path: Path) -> None:
    docs = _docs()
    assert _gold(_round_trip(fmt, docs, tmp_path)) == _gold(docs)


def test_labelstudio_counts_utf16() -> None:
    doc = _docs()[0]
    task = labelstudio.to_task(doc)
    regions = {r["value"]["text"]: r for r in task["predictions"][0]["result"] if r["type"] == "labels"}
    assert regions["Marzeną Okłą-Drewnowicz"]["value"]["start"] == DOC_A.index("Marzeną")  # before the emoji
    putin = DOC_A.index("Władimira")
    assert regions["Władimira Putina"]["value"]["start"] == putin + 1  # the emoji is 2 UTF-16 units
    x = regions["𝕏"]["value"]
    assert x["end"] - x["start"] == 2
    js = DOC_A.encode("utf-16-le")
    assert js[2 * x["start"] : 2 * x["end"]].decode("utf-16-le") == "𝕏"
    assert task["predictions"][0]["model_version"] == "gold_v1"
    lemmas = [r["value"]["text"] for r in task["predictions"][0]["result"] if r["from_name"] == "lemma"]
    assert "Władimir Putin" in [t[0] for t in lemmas]
    assert '<TextArea name="lemma"' in labelstudio.labeling_config()


def test_labelstudio_rejects_offset_inside_surrogate_pair() -> None:
    docs = _docs()
    tasks = _annotated(labelstudio.to_tasks(docs))
    region = next(r for r in tasks[0]["annotations"][0]["result"] if r["type"] == "labels" and r["value"]["text"] == "𝕏")
    region["value"]["end"] -= 1
    with pytest.raises(ExchangeError, match=r"task 0 \(doc_a\) region m4: end: .* UTF-16"):
        labelstudio.from_export(tasks, _text_of(docs))


def test_labelstudio_uses_latest_annotation_and_checks_text() -> None:
    docs = _docs()
    tasks = _annotated(labelstudio.to_tasks(docs))
    old = {"id": 0, "was_cancelled": False, "updated_at": "2024-01-01T00:00:00Z", "result": []}
    cancelled = {"id": 2, "was_cancelled": True, "updated_at": "2025-01-01T00:00:00Z", "result": []}
    tasks[0]["annotations"] = [old, *tasks[0]["annotations"], cancelled]
    assert _gold(labelstudio.from_export(tasks, _text_of(docs))) == _gold(docs)
    region = next(r for r in tasks[1]["annotations"][0]["result"] if r["type"] == "labels")
    region["value"]["text"] = "Lodzi"
    with pytest.raises(ExchangeError, match=r"task 1 \(doc_b\) region m0: text: 'Lodzi' is not the document text"):
        labelstudio.from_export(tasks, _text_of(docs))


def test_labelstudio_automatic_layer_as_predictions() -> None:
    doc = AnnotatedText("doc_c", DOC_C, _mentions(DOC_C, [("Donald Tusk", "PER", "Donald Tusk", "PER-Donald-Tusk")], "rules_v1", 0.75))
    prediction = labelstudio.to_task(doc)["predictions"][0]
    assert prediction["model_version"] == "rules_v1" and prediction["score"] == 0.75
    assert prediction["result"][0]["score"] == 0.75


def test_conll_layout() -> None:
    lines = conll.dumps(_docs()).split("\n")
    assert lines[0] == "-DOCSTART-\tdoc_a"
    putin = next(line for line in lines if line.startswith("Władimira\t"))
    start = DOC_A.index("Władimira")
    assert putin.split("\t") == ["Władimira", "B-PER", str(start), str(start + 9), "PER-Vladimir-Putin", "Władimir Putin"]
    assert "Putina\tI-PER\t" in "\n".join(lines)
    assert "😀\tO\t" in "\n".join(lines)
    # the hyphenated token is split at the mention boundaries, so nothing is lost
    assert [line.split("\t")[:2] for line in lines if line.split("\t")[0] in ("USA", "-", "Rosja")][:3] == [["USA", "B-LOC"], ["-", "O"], ["Rosja", "B-LOC"]]


def test_conll_errors_name_line_and_field() -> None:
    docs = _docs()
    text = conll.dumps(docs)
    bad = text.replace("Władimira\tB-PER\t", "Wladimira\tB-PER\t")
    line = bad.split("\n").index(next(x for x in bad.split("\n") if x.startswith("Wladimira"))) + 1
    with pytest.raises(ExchangeError, match=rf"^in.conll:{line}: token: 'Wladimira' is not the text"):
        conll.loads(bad, _text_of(docs), "in.conll")
    with pytest.raises(ExchangeError, match=r"^in.conll:3: tag: I-PER does not continue"):
        conll.loads("-DOCSTART-\tdoc_b\n\nZobacz\tI-PER\t0\t6\t_\t_\n", _text_of(docs), "in.conll")
    with pytest.raises(ExchangeError, match=r"^in.conll:1: doc_id: 'nope' unknown"):
        conll.loads("-DOCSTART-\tnope\n", _text_of(docs), "in.conll")
    with pytest.raises(ExchangeError, match=r"entity_id: 'Łódź' does not match"):
        conll.loads(text.replace("\tGPE-Lodz\t", "\tŁódź\t", 1), _text_of(docs), "in.conll")


def test_brat_layout_and_errors(tmp_path: Path) -> None:
    docs = _docs()
    brat.write(docs, tmp_path)
    assert (tmp_path / "doc_a.txt").read_bytes() == DOC_A.encode("utf-8")
    ann = (tmp_path / "doc_b.ann").read_text(encoding="utf-8")
    start = DOC_B.index("Kronice")
    assert f"PRO {start} {start + 7};{start + 8} {start + 16}\tKronice Wydarzeń\n" in ann
    assert "AnnotatorNotes T4\tKronika Wydarzeń\n" in ann
    assert "Reference T4 Kronika:PRO-Kronika-Wydarzen\t" in ann
    (tmp_path / "doc_b.ann").write_text(ann.replace("#3\tAnnotatorNotes T3\tHanna Zdanowska\n", ""), encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"doc_b.ann:7 \(T3\): lemma: missing"):
        brat.read(tmp_path, _text_of(docs))
    (tmp_path / "doc_b.txt").write_text(DOC_B.replace("Łodzi", "Lodzi"), encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"doc_b.txt: text: differs from the seed text of 'doc_b' at character"):
        brat.read(tmp_path, _text_of(docs))


def test_spacy_docbin_layout() -> None:
    spacy_docbin = pytest.importorskip("kronika.spacy_docbin")
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin, Span

    docs = _docs()
    sdocs = list(DocBin().from_bytes(spacy_docbin.to_bytes(docs)).get_docs(spacy.blank("pl").vocab))
    assert [d.text for d in sdocs] == [DOC_A, DOC_B]
    assert sdocs[0].user_data["doc_id"] == "doc_a"
    if not Span.has_extension("lemma"):
        Span.set_extension("lemma", default=None)
    ents = [(e.text, e.label_, e.kb_id_, e._.lemma) for e in sdocs[0].ents]
    assert ("Władimira Putina", "PER", "PER-Vladimir-Putin", "Władimir Putin") in ents
    assert len(ents) == len(MENTIONS_A)


def test_spacy_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from kronika import spacy_docbin

    monkeypatch.setitem(sys.modules, "spacy", None)
    with pytest.raises(ExchangeError, match="spaCy is not installed"):
        spacy_docbin.to_bytes(_docs())


# ----------------------------------------------------------- the commands
@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """Seeds (two with gold, one without) and a corpus built from them."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    gold = {"doc_a": (DOC_A, MENTIONS_A), "doc_b": (DOC_B, MENTIONS_B)}
    rows = []
    for doc_id, text in (("doc_a", DOC_A), ("doc_b", DOC_B), ("doc_c", DOC_C)):
        seed = seeds / f"{doc_id}.txt"
        seed.write_bytes(text.encode("utf-8"))
        if doc_id in gold:
            mentions = [{k: v for k, v in m.to_dict().items() if k not in ("source", "score")} for m in _mentions(*gold[doc_id])]
            record = {"doc_id": doc_id, "sha256": hashlib.sha256(seed.read_bytes()).hexdigest(), "layer": "gold_v1",
                      "annotator": "test team", "mentions": mentions}
            write_json(seeds / f"{doc_id}.gold.json", record)
        document = read_seed(seed, seeds)
        if doc_id in gold:
            entities, status = read_gold(seeds / f"{doc_id}.gold.json", document), "gold"
        else:
            entities, status = _mentions(DOC_C, [("Donald Tusk", "PER", "Donald Tusk", "PER-Donald-Tusk")], "rules_v1", 0.75), "automatic"
        rows.append(assemble(document, language="pl", language_script="pol_Latn", language_score=1.0, languages=[],
                             entities=entities, entity_status=status))
    write_parquet(document_table(rows, "0.0.0"), tmp_path / "corpus" / "documents" / "train-00000-of-00001.parquet")
    return tmp_path


def _simulate_labelstudio(path: Path) -> None:
    path.write_text(json.dumps(_annotated(json.loads(path.read_text(encoding="utf-8"))), ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_commands_give_the_same_gold_files(fmt: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if fmt == "spacy":
        pytest.importorskip("spacy")
    seeds = project / "seeds"
    originals = {p.name: p.read_bytes() for p in seeds.glob("*.gold.json")}
    out = project / f"export.{fmt}"
    assert export_main(["--format", fmt, "--corpus", str(project / "corpus"), "--out", str(out), "--layer", "gold"]) == 0
    assert "2 document(s), 12 mention(s); 1 document(s) without gold skipped" in capsys.readouterr().out
    if fmt == "labelstudio":
        _simulate_labelstudio(out)
    for path in seeds.glob("*.gold.json"):  # damage the gold layers; import must restore them
        record = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(record | {"mentions": record["mentions"][:1]}), encoding="utf-8")
    assert import_main(["--format", fmt, "--in", str(out), "--seeds", str(seeds)]) == 0
    assert {p.name: p.read_bytes() for p in seeds.glob("*.gold.json")} == originals
    for path in seeds.glob("*.gold.json"):
        read_gold(path, read_seed(seeds / path.name.replace(".gold.json", ".txt"), seeds))


def test_import_without_existing_gold_and_annotator_option(project: Path) -> None:
    seeds = project / "seeds"
    out = project / "export.conll"
    assert export_main(["--format", "conll", "--corpus", str(project / "corpus"), "--out", str(out)]) == 0
    assert "-DOCSTART-\tdoc_c" in out.read_text(encoding="utf-8")  # published layer: all documents
    assert import_main(["--format", "conll", "--in", str(out), "--seeds", str(seeds), "--annotator", "Ala"]) == 0
    record = json.loads((seeds / "doc_c.gold.json").read_text(encoding="utf-8"))
    assert record["annotator"] == "Ala" and record["layer"] == "gold_v1"
    assert record["mentions"] == [{"start": 8, "end": 19, "text": "Donald Tusk", "label": "PER", "lemma": "Donald Tusk", "entity_id": "PER-Donald-Tusk"}]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_import_errors_are_one_line_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    before = {p.name: p.read_bytes() for p in seeds.glob("*.gold.json")}
    bad = project / "bad.conll"
    bad.write_text(conll.dumps(_docs()) + "-DOCSTART-\tghost\n", encoding="utf-8")
    assert import_main(["--format", "conll", "--in", str(bad), "--seeds", str(seeds)]) == 2
    assert "doc_id: 'ghost' has no seed file" in _one_line_error(capsys)
    assert {p.name: p.read_bytes() for p in seeds.glob("*.gold.json")} == before  # all or nothing

    assert import_main(["--format", "labelstudio", "--in", str(project / "missing.json"), "--seeds", str(seeds)]) == 2
    assert "missing.json" in _one_line_error(capsys)
    bad.write_text("[{", encoding="utf-8")
    assert import_main(["--format", "labelstudio", "--in", str(bad), "--seeds", str(seeds)]) == 2
    assert "invalid JSON at line 1" in _one_line_error(capsys)
    assert export_main(["--format", "brat", "--corpus", str(project / "nowhere"), "--out", str(project / "b")]) == 2
    assert "no documents/*.parquet" in _one_line_error(capsys)
    assert import_main(["--format", "nope", "--in", "x"]) == 2
