"""Export -> import round trips through CoNLL, spaCy DocBin, Label Studio and brat.

The documents are written here: Polish diacritics, an emoji right before an
entity and a non-BMP letter as an entity (UTF-16 vs code points), lemmas that
differ from the text, a mention inside a hyphenated token, and one across a
line break. Nothing here needs /work/shared or the network.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from kronika import brat, conll, labelstudio
from kronika.assemble import assemble
from kronika.cli import main as cli_main
from kronika.exchange import AnnotatedText, ExchangeError, import_main, make_mention
from kronika.gold import load_gold_file, read_gold
from kronika.ingest import SeedError, read_seed
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
    assert len(task["predictions"]) == 1 and task["predictions"][0]["model_version"] == "published"
    assert {r["meta"]["layer"] for r in regions.values()} == {"gold_v1"}
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


@pytest.mark.parametrize("fmt", ["conll", "labelstudio"])
def test_an_import_file_with_a_byte_order_mark_reads_as_without(fmt: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _export(fmt, project, "--layer", "gold")
    if fmt == "labelstudio":
        _simulate_labelstudio(out)
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes())  # as Notepad saves it
    capsys.readouterr()
    assert _run(fmt, out, project) == 0
    assert "doc_a.gold.json: unchanged" in capsys.readouterr().out


def test_labelstudio_compares_times_as_times() -> None:
    """Label Studio leaves out a zero fraction: ``...:00Z`` is earlier than ``...:00.5Z``."""
    first = {"id": 1, "updated_at": "2024-05-01T10:00:00Z"}
    later = {"id": 2, "updated_at": "2024-05-01T10:00:00.500000Z"}
    offset = {"id": 3, "updated_at": "2024-05-01T12:00:01+02:00"}  # 10:00:01 UTC
    unreadable = {"id": 4, "updated_at": 5}
    assert labelstudio.chosen_annotation({"annotations": [later, first]})["id"] == 2
    assert labelstudio.chosen_annotation({"annotations": [first, offset, later, unreadable]})["id"] == 3


LAYERS = [("gazetteer_v1", 0.9), ("rules_v1", 0.7000000000000001), ("gold_v1", None), ("names_rules_v1", 0.1 + 0.2)]


def _mixed_docs() -> list[AnnotatedText]:
    """The documents with their mentions spread over several layers, scores with float noise, shuffled."""
    docs = _docs()
    for doc in docs:
        mixed = [Mention(m.start, m.end, m.text, m.label, m.lemma, m.entity_id, *LAYERS[i % len(LAYERS)])
                 for i, m in enumerate(doc.mentions)]
        doc.mentions = mixed[1::2] + mixed[::2]  # not in offset order: the export must sort
    return docs


def test_labelstudio_one_prediction_from_the_published_layer() -> None:
    docs = _mixed_docs()
    for doc, task in zip(docs, labelstudio.to_tasks(docs)):
        assert len(task["predictions"]) == 1
        prediction = task["predictions"][0]
        assert prediction["model_version"] == "published"
        regions = [r for r in prediction["result"] if r["type"] == "labels"]
        ordered = sorted(doc.mentions, key=lambda m: (m.start, m.end))
        assert [r["id"] for r in regions] == [f"m{i}" for i in range(len(ordered))]  # numbered in offset order
        assert [r["value"]["text"] for r in regions] == [m.text for m in ordered]
        for region, m in zip(regions, ordered):
            expected = {"layer": m.source} | ({"score": round(m.score, 4)} if m.score is not None else {})
            assert region["meta"] == expected
            assert region.get("score") == expected.get("score")
        scores = [m.score for m in doc.mentions if m.score is not None]
        assert prediction["score"] == round(sum(scores) / len(scores), 4)
        text = json.dumps(task)
        assert "0000000" not in text and "9999999" not in text  # 0.3, not 0.30000000000000004
    assert labelstudio.to_task(docs[0]) == labelstudio.to_task(AnnotatedText("doc_a", DOC_A, docs[0].mentions[::-1], "pl"))
    empty = labelstudio.to_task(AnnotatedText("doc_d", "Nic.\n"))
    assert empty["predictions"] == [{"model_version": "published", "result": []}]


def test_labelstudio_write_streams_the_same_json(tmp_path: Path) -> None:
    docs = _mixed_docs()
    labelstudio.write(iter(docs), tmp_path / "tasks.json")
    assert (tmp_path / "tasks.json").read_text(encoding="utf-8") == json.dumps(labelstudio.to_tasks(docs), indent=2, ensure_ascii=False) + "\n"
    labelstudio.write(iter([]), tmp_path / "none.json")
    assert json.loads((tmp_path / "none.json").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_lemma_id_and_layer(fmt: str, tmp_path: Path) -> None:
    """Every format carries the layer each mention is published from; import reads it back, the mentions become gold."""
    docs = _mixed_docs()
    back = _round_trip(fmt, docs, tmp_path)
    assert _gold(back) == _gold(docs)
    for doc, read in zip(docs, back):
        assert read.exported_layers == {(m.start, m.end): m.source for m in doc.mentions}
        assert {m.source for m in read.mentions} == {"gold_v1"}


def test_conll_layout() -> None:
    lines = conll.dumps(_docs()).split("\n")
    assert lines[0] == "-DOCSTART-\tdoc_a"
    putin = next(line for line in lines if line.startswith("Władimira\t"))
    start = DOC_A.index("Władimira")
    assert putin.split("\t") == ["Władimira", "B-PER", str(start), str(start + 9), "PER-Vladimir-Putin", "gold_v1", "Władimir Putin"]
    assert f"Putina\tI-PER\t{start + 10}\t{start + 16}\t_\t_\t_" in "\n".join(lines)
    assert "😀\tO\t" in "\n".join(lines)
    # the hyphenated token is split at the mention boundaries, so nothing is lost
    assert [line.split("\t")[:2] for line in lines if line.split("\t")[0] in ("USA", "-", "Rosja")][:3] == [["USA", "B-LOC"], ["-", "O"], ["Rosja", "B-LOC"]]


def test_conll_reads_six_column_files() -> None:
    """Files written before the layer column still import."""
    docs = _docs()
    old = "\n".join("\t".join(f[:5] + f[6:]) if len(f := line.split("\t")) == 7 else line for line in conll.dumps(docs).split("\n"))
    assert "\tgold_v1\t" not in old
    back = conll.loads(old, _text_of(docs))
    assert _gold(back) == _gold(docs) and all(not d.exported_layers for d in back)


def test_conll_write_streams_the_same_text(tmp_path: Path) -> None:
    docs = _mixed_docs()
    conll.write(iter(docs), tmp_path / "out.conll")
    assert (tmp_path / "out.conll").read_text(encoding="utf-8") == conll.dumps(docs)


def test_conll_errors_name_line_and_field() -> None:
    docs = _docs()
    text = conll.dumps(docs)
    bad = text.replace("Władimira\tB-PER\t", "Wladimira\tB-PER\t")
    line = bad.split("\n").index(next(x for x in bad.split("\n") if x.startswith("Wladimira"))) + 1
    with pytest.raises(ExchangeError, match=rf"^in.conll:{line}: token: 'Wladimira' is not the text"):
        conll.loads(bad, _text_of(docs), "in.conll")
    with pytest.raises(ExchangeError, match=r"^in.conll:3: tag: I-PER does not continue"):
        conll.loads("-DOCSTART-\tdoc_b\n\nZobacz\tI-PER\t0\t6\t_\t_\n", _text_of(docs), "in.conll")
    with pytest.raises(ExchangeError, match=r"^in.conll:3: columns: 5 tab-separated columns, expected 7 \(token, tag, start, end, entity_id, layer, lemma\)"):
        conll.loads("-DOCSTART-\tdoc_b\n\nZobacz\tO\t0\t6\t_\n", _text_of(docs), "in.conll")
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
    assert "A4\tLayer T4 gold_v1\n" in ann
    assert "[attributes]\nLayer\tArg:<ENTITY>, Value:gold_v1\n" in (tmp_path / "annotation.conf").read_text(encoding="utf-8")
    (tmp_path / "doc_b.ann").write_text(ann.replace("#3\tAnnotatorNotes T3\tHanna Zdanowska\n", ""), encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"doc_b.ann:9 \(T3\): lemma: missing"):
        brat.read(tmp_path, _text_of(docs))
    (tmp_path / "doc_b.txt").write_text(DOC_B.replace("Łodzi", "Lodzi"), encoding="utf-8")
    with pytest.raises(ExchangeError, match=r"doc_b.txt: text: differs from the seed text of 'doc_b' at character"):
        brat.read(tmp_path, _text_of(docs))


def test_brat_lines_break_nowhere_inside_a_mention(tmp_path: Path) -> None:
    """A CR or U+2028 inside a mention ends a line for brat and editors (universal newlines)."""
    text = "Spotkanie w Nowym\rJorku i w Nowym\u2028Sączu.\n"
    mentions = [Mention(12, 23, text[12:23], "LOC", "Nowy Jork", "LOC-New-York", "gold_v1", None),
                Mention(28, 40, text[28:40], "LOC", "Nowy Sącz", "LOC-Nowy-Sacz", "gold_v1", None)]
    docs = [AnnotatedText("doc_x", text, mentions, "pl")]
    brat.write(docs, tmp_path / "brat")
    ann = (tmp_path / "brat" / "doc_x.ann").read_text(encoding="utf-8")
    assert len(ann.splitlines()) == ann.count("\n") and "T1\tLOC 12 17;18 23\tNowym Jorku\n" in ann
    assert _gold(brat.read(tmp_path / "brat", _text_of(docs))) == _gold(docs)


def test_spacy_docbin_layout() -> None:
    spacy_docbin = pytest.importorskip("kronika.spacy_docbin")
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    from kronika.exchange import sentence_spans

    docs = _mixed_docs()
    docs[1].language = "und"  # no spaCy language: the xx vocab, the language still recorded
    sdocs = list(DocBin().from_bytes(spacy_docbin.to_bytes(docs)).get_docs(spacy.blank("pl").vocab))
    assert [d.text for d in sdocs] == [DOC_A, DOC_B]
    assert [(d.user_data["doc_id"], d.user_data["language"]) for d in sdocs] == [("doc_a", "pl"), ("doc_b", "und")]
    ents = [(e.text, e.label_, e.kb_id_, e._.entity_id, e._.lemma, e._.layer, e._.score) for e in sdocs[0].ents]
    assert ("Władimira Putina", "PER", "PER-Vladimir-Putin", "PER-Vladimir-Putin", "Władimir Putin", "gold_v1", None) in ents
    assert ("Świętokrzyskiem", "LOC", "GPE-Poland-Swietokrzyskie-Voivodeship", "GPE-Poland-Swietokrzyskie-Voivodeship",
            "Świętokrzyskie", "gazetteer_v1", 0.9) in ents
    assert len(ents) == len(MENTIONS_A)
    for doc, sdoc in zip(docs, sdocs):  # sentence starts survive the DocBin
        assert sdoc.has_annotation("SENT_START")
        assert [s.start_char for s in sdoc.sents] == [start for start, _ in sentence_spans(doc)]
    assert len(list(sdocs[1].sents)) > 1


def test_spacy_vocab_per_language() -> None:
    spacy_docbin = pytest.importorskip("kronika.spacy_docbin")
    pytest.importorskip("spacy")
    vocabs = spacy_docbin.Vocabs()
    assert vocabs("pl").lang == "pl" and vocabs("und").lang == "xx" and vocabs("qq").lang == "xx"
    doc = spacy_docbin.to_doc(AnnotatedText("doc_c", DOC_C, _mentions(DOC_C, TUSK), "pl", sentences=[(0, len(DOC_C) - 1)]), vocabs("pl"))
    assert doc.lang_ == "pl" and [t.is_sent_start for t in doc] == [True] + [False] * (len(doc) - 1)


def test_spacy_extensions_are_registered_on_import(tmp_path: Path) -> None:
    """A fresh interpreter: importing the reader is enough for ``ent._.lemma`` (no E046)."""
    spacy_docbin = pytest.importorskip("kronika.spacy_docbin")
    pytest.importorskip("spacy")
    import subprocess
    import sys

    path = tmp_path / "docs.spacy"
    spacy_docbin.write(_mixed_docs(), path)
    script = (
        "import sys\n"
        "from kronika.spacy_docbin import read\n"
        "import spacy\n"
        "from spacy.tokens import DocBin\n"
        "docs = list(DocBin().from_disk(sys.argv[1]).get_docs(spacy.blank('xx').vocab))\n"
        "e = next(e for e in docs[0].ents if e.text == 'Władimira Putina')\n"
        "print(e._.lemma, e._.entity_id, e._.layer, e._.score, docs[0].user_data['language'], sep='|')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Władimir Putin|PER-Vladimir-Putin|gold_v1|None|pl"


def test_spacy_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from kronika import spacy_docbin

    monkeypatch.setitem(sys.modules, "spacy", None)
    with pytest.raises(ExchangeError, match="spaCy is not installed"):
        spacy_docbin.to_bytes(_docs())


# ----------------------------------------------------------- the commands
DOC_D = "Nic tu nie ma.\n"  # no mention at all
TUSK = [("Donald Tusk", "PER", "Donald Tusk", "PER-Donald-Tusk")]


def _gold_file(seeds: Path, doc_id: str, table: list[tuple[str, str, str, str]]) -> None:
    seed = seeds / f"{doc_id}.txt"
    text = seed.read_text(encoding="utf-8")
    mentions = [{k: v for k, v in m.to_dict().items() if k not in ("source", "score")} for m in _mentions(text, table)]
    record = {"doc_id": doc_id, "sha256": hashlib.sha256(seed.read_bytes()).hexdigest(), "layer": "gold_v1",
              "annotator": "test team", "mentions": mentions}
    write_json(seeds / f"{doc_id}.gold.json", record)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """Seeds (two with gold, two without) and a corpus built from them.

    The shard has no standard name: nothing may depend on shard names.
    """
    return _project(tmp_path)


def _project(tmp_path: Path, doc_c_source: str = "rules_v1") -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    gold = {"doc_a": MENTIONS_A, "doc_b": MENTIONS_B}
    rows = []
    for doc_id, text in (("doc_a", DOC_A), ("doc_b", DOC_B), ("doc_c", DOC_C), ("doc_d", DOC_D)):
        seed = seeds / f"{doc_id}.txt"
        seed.write_bytes(text.encode("utf-8"))
        if doc_id in gold:
            _gold_file(seeds, doc_id, gold[doc_id])
        document = read_seed(seed, seeds)
        if doc_id in gold:
            entities, status = read_gold(seeds / f"{doc_id}.gold.json", document), "gold"
        elif doc_id == "doc_c":
            entities, status = _mentions(DOC_C, TUSK, doc_c_source, 0.75), "automatic"
        else:
            entities, status = [], "none"
        rows.append(assemble(document, language="pl", language_script="pol_Latn", language_score=1.0, languages=[],
                             entities=entities, entity_status=status))
    write_parquet(document_table(rows, "0.0.0"), tmp_path / "corpus" / "documents" / "some-shard.parquet")
    return tmp_path


def _simulate_labelstudio(path: Path) -> None:
    path.write_text(json.dumps(_annotated(json.loads(path.read_text(encoding="utf-8"))), ensure_ascii=False), encoding="utf-8")


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the seed folder (hidden ones too), by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _run(fmt: str, source: Path, project: Path, *extra: str) -> int:
    """``kronika import`` through the CLI entry point, against the project's corpus."""
    return cli_main(["import", "--format", fmt, "--in", str(source), "--seeds", str(project / "seeds"),
                     "--corpus", str(project / "corpus"), *extra])


def _export(fmt: str, project: Path, *extra: str) -> Path:
    out = project / f"export.{fmt}"
    assert cli_main(["export", "--format", fmt, "--corpus", str(project / "corpus"), "--out", str(out), *extra]) == 0
    return out


def _without_origin(data: bytes) -> dict:
    record = json.loads(data)
    record.pop("origin", None)
    return record


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_commands_give_the_same_gold_files(fmt: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if fmt == "spacy":
        pytest.importorskip("spacy")
    seeds = project / "seeds"
    originals = {p.name: p.read_bytes() for p in seeds.glob("*.gold.json")}
    out = _export(fmt, project, "--layer", "gold")
    assert "2 document(s), 12 mention(s); 2 document(s) without gold skipped" in capsys.readouterr().out
    if fmt == "labelstudio":
        _simulate_labelstudio(out)

    # unchanged gold: a no-op that says so, and rewrites nothing
    assert _run(fmt, out, project) == 0
    assert "doc_a.gold.json: unchanged, 7 mention(s)" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in seeds.glob("*.gold.json")} == originals

    for path in seeds.glob("*.gold.json"):  # damage the gold layers; import must restore them, with --force
        record = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(record | {"mentions": record["mentions"][:1]}), encoding="utf-8")
    damaged = _snapshot(seeds)
    assert _run(fmt, out, project) == 1
    err = capsys.readouterr().err
    assert "2 document(s) already have a gold layer with other mentions (doc_a, doc_b): not written; pass --force" in err
    assert _snapshot(seeds) == damaged

    assert _run(fmt, out, project, "--force") == 0
    assert "doc_a.gold.json: replace, 1 -> 7 mention(s)" in capsys.readouterr().out
    assert {p.name: _without_origin(p.read_bytes()) for p in seeds.glob("*.gold.json")} == {
        name: json.loads(data) for name, data in originals.items()
    }
    assert sorted(p.name for p in seeds.iterdir()) == sorted(damaged)  # no temporary file left, nothing else written
    for path in seeds.glob("*.gold.json"):
        record = load_gold_file(path)
        assert record["origin"]["tool"] == fmt and record["origin"]["file"] == out.name
        assert list(record) == ["doc_id", "sha256", "layer", "annotator", "origin", "mentions"]
        read_gold(path, read_seed(seeds / path.name.replace(".gold.json", ".txt"), seeds))


@pytest.mark.parametrize("fmt", ["conll", "spacy", "brat"])
def test_export_then_import_without_review_writes_no_gold(fmt: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if fmt == "spacy":
        pytest.importorskip("spacy")
    seeds = project / "seeds"
    before = _snapshot(seeds)
    out = _export(fmt, project)  # published layer: every document, automatic ones included
    capsys.readouterr()
    assert _run(fmt, out, project) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "kronika import: 1 document(s) with no mention (doc_d): not written; review them, or pass --accept-unreviewed",
        f"kronika import: 1 document(s) identical to the automatic layers of {project / 'corpus'} (doc_c): "
        "not written; review them, or pass --accept-unreviewed",
    ]
    assert "Traceback" not in captured.err
    assert "doc_a.gold.json: unchanged" in captured.out and "0 gold file(s) written" in captured.out
    assert _snapshot(seeds) == before
    assert not (seeds / "doc_c.gold.json").exists() and not (seeds / "doc_d.gold.json").exists()


@pytest.mark.parametrize("fmt", ["conll", "brat"])
def test_the_gold_lexicon_pass_is_automatic_too(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``gold_lexicon_v1`` finds the gold layers' names in other documents: an automatic
    layer, though its name starts with ``gold_``; unchanged, its mentions stay unreviewed."""
    project = _project(tmp_path, doc_c_source="gold_lexicon_v1")
    before = _snapshot(project / "seeds")
    out = _export(fmt, project)
    capsys.readouterr()
    assert _run(fmt, out, project) == 1
    assert "identical to the automatic layers" in capsys.readouterr().err
    assert _snapshot(project / "seeds") == before


def test_export_never_writes_in_the_seeds_or_the_corpus(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    before = _snapshot(seeds)
    other = project / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("mine", encoding="utf-8")
    refused = [
        ("brat", seeds, "is in a seeds folder"),  # its <id>.txt would replace the seeds
        ("conll", seeds / "export.conll", "is in a seeds folder"),
        ("brat", project / "corpus" / "brat", "lies inside the corpus"),
        ("brat", other, "is not empty and not a brat export"),
    ]
    for fmt, out, reason in refused:
        assert cli_main(["export", "--format", fmt, "--corpus", str(project / "corpus"), "--out", str(out)]) == 2
        assert reason in capsys.readouterr().err
    assert _snapshot(seeds) == before and sorted(p.name for p in other.iterdir()) == ["todo.txt"]
    brat = project / "brat"
    for _ in range(2):  # an earlier brat export is written over
        assert cli_main(["export", "--format", "brat", "--corpus", str(project / "corpus"), "--out", str(brat)]) == 0


def test_labelstudio_predictions_never_become_gold(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    before = _snapshot(seeds)
    out = _export("labelstudio", project)  # tasks with predictions only
    capsys.readouterr()
    assert _run("labelstudio", out, project, "--accept-unreviewed", "--force") == 1
    err = capsys.readouterr().err
    assert "4 task(s) with no submitted annotation (doc_a, doc_b, doc_c, doc_d): nothing written for them" in err
    assert _snapshot(seeds) == before

    tasks = json.loads(out.read_text(encoding="utf-8"))
    cancelled = {"id": 9, "was_cancelled": True, "updated_at": "2025-01-01T00:00:00Z",
                 "result": [x for p in tasks[2]["predictions"] for x in p["result"]]}
    tasks[2]["annotations"] = [cancelled]  # skipped by the annotator: does not count
    out.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    assert _run("labelstudio", out, project, "--accept-unreviewed") == 1
    assert "4 task(s) with no submitted annotation" in capsys.readouterr().err
    assert _snapshot(seeds) == before

    # a person submits a corrected annotation for doc_c: that becomes gold, the rest is reported
    result = [dict(r) for r in cancelled["result"]]
    for r in result:
        if r["from_name"] == "entity_id":
            r["value"] = r["value"] | {"text": ["PER-Donald-Tusk-Polish-PM"]}
    tasks[2]["annotations"].append({"id": 10, "was_cancelled": False, "updated_at": "2024-06-01T00:00:00Z", "result": result})
    out.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    assert _run("labelstudio", out, project) == 0
    captured = capsys.readouterr()
    assert "doc_c.gold.json: new, 1 mention(s)" in captured.out
    assert "3 task(s) with no submitted annotation (doc_a, doc_b, doc_d)" in captured.err
    assert load_gold_file(seeds / "doc_c.gold.json")["mentions"][0]["entity_id"] == "PER-Donald-Tusk-Polish-PM"


def test_reviewed_documents_are_written_and_the_flag_accepts_the_rest(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    out = _export("brat", project)
    ann = out / "doc_c.ann"
    ann.write_text(ann.read_text(encoding="utf-8").replace("AnnotatorNotes T1\tDonald Tusk", "AnnotatorNotes T1\tDonald Tusk (premier)"), encoding="utf-8")
    capsys.readouterr()
    assert _run("brat", out, project) == 1  # doc_c reviewed (lemma changed): written; doc_d (empty) refused
    captured = capsys.readouterr()
    assert "doc_c.gold.json: new, 1 mention(s)" in captured.out
    assert captured.err.count("\n") == 1 and "1 document(s) with no mention (doc_d)" in captured.err
    assert load_gold_file(seeds / "doc_c.gold.json")["mentions"][0]["lemma"] == "Donald Tusk (premier)"
    assert not (seeds / "doc_d.gold.json").exists()

    (ann).write_text(ann.read_text(encoding="utf-8").replace(" (premier)", ""), encoding="utf-8")  # back to automatic
    assert _run("brat", out, project, "--accept-unreviewed", "--annotator", "Ala") == 1  # doc_c now differs from its gold
    assert "1 document(s) already have a gold layer with other mentions (doc_c)" in capsys.readouterr().err
    assert _run("brat", out, project, "--accept-unreviewed", "--annotator", "Ala", "--force") == 0
    captured = capsys.readouterr()
    assert "identical to the automatic layers" in captured.err and "written anyway (--accept-unreviewed)" in captured.err
    record = load_gold_file(seeds / "doc_c.gold.json")
    assert record["annotator"] == "Ala" and record["layer"] == "gold_v1" and record["origin"]["file"] == "export.brat"
    assert record["mentions"] == [{"start": 8, "end": 19, "text": "Donald Tusk", "label": "PER", "lemma": "Donald Tusk", "entity_id": "PER-Donald-Tusk"}]
    assert load_gold_file(seeds / "doc_d.gold.json")["mentions"] == []
    assert not any(p.suffix == ".tmp" for p in seeds.iterdir())


def test_document_missing_from_the_corpus_is_not_trusted(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    (seeds / "doc_e.txt").write_bytes(DOC_C.encode("utf-8"))  # a new seed, not built yet
    out = project / "new.conll"
    out.write_text(conll.dumps([AnnotatedText("doc_e", DOC_C, _mentions(DOC_C, TUSK))]), encoding="utf-8")
    assert _run("conll", out, project) == 1
    assert "1 document(s) not in " in capsys.readouterr().err
    assert not (seeds / "doc_e.gold.json").exists()
    assert _run("conll", out, project, "--accept-unreviewed") == 0
    assert (seeds / "doc_e.gold.json").exists()


def test_refusals_are_summarised_not_listed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    ids = [f"empty_{i:03d}" for i in range(120)]
    for doc_id in ids:
        (seeds / f"{doc_id}.txt").write_bytes(DOC_D.encode("utf-8"))
    out = project / "empty.conll"
    out.write_text("".join(f"-DOCSTART-\t{doc_id}\n\n" for doc_id in ids), encoding="utf-8")
    assert _run("conll", out, project) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "kronika import: 120 document(s) with no mention (empty_000, empty_001, empty_002, empty_003, empty_004 "
        "and 115 more): not written; review them, or pass --accept-unreviewed"
    ]
    assert not list(seeds.glob("empty_*.gold.json"))


def test_dry_run_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    out = _export("conll", project)
    text = out.read_text(encoding="utf-8")
    text = text.replace("\tPER-Donald-Tusk\t", "\tPER-Donald-Tusk-PM\t")  # reviewed doc_c
    text = text.replace("\tGPE-Russia\t", "\tGPE-Russian-Federation\t")  # edited gold of doc_a
    out.write_text(text, encoding="utf-8")
    before = _snapshot(seeds)
    capsys.readouterr()
    assert _run("conll", out, project, "--dry-run", "--force", "--accept-unreviewed") == 0
    lines = capsys.readouterr().out.splitlines()
    assert _snapshot(seeds) == before
    assert lines == [
        f"{seeds / 'doc_a.gold.json'}: replace, 7 -> 7 mention(s)",
        f"{seeds / 'doc_b.gold.json'}: unchanged, 5 mention(s)",
        f"{seeds / 'doc_c.gold.json'}: new, 1 mention(s)",
        f"{seeds / 'doc_d.gold.json'}: new, 0 mention(s)",
        "dry run, nothing written: 2 new, 1 replace, 1 unchanged",
    ]
    assert _run("conll", out, project, "--dry-run") == 1  # the same refusals as a real run, still nothing written
    assert _snapshot(seeds) == before


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_import_errors_are_one_line_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = project / "seeds"
    before = _snapshot(seeds)
    bad = project / "bad.conll"
    bad.write_text(conll.dumps(_docs()) + "-DOCSTART-\tghost\n", encoding="utf-8")
    assert _run("conll", bad, project) == 2
    assert "doc_id: 'ghost' has no seed file" in _one_line_error(capsys)
    assert _snapshot(seeds) == before  # all or nothing

    assert _run("labelstudio", project / "missing.json", project) == 2
    assert "missing.json" in _one_line_error(capsys)
    bad.write_text("[{", encoding="utf-8")
    assert _run("labelstudio", bad, project) == 2
    assert "invalid JSON at line 1" in _one_line_error(capsys)
    assert cli_main(["export", "--format", "brat", "--corpus", str(project / "nowhere"), "--out", str(project / "b")]) == 2
    assert "no documents/*.parquet" in _one_line_error(capsys)
    bad.write_text(conll.dumps(_docs()), encoding="utf-8")  # fine, but no corpus to compare with
    assert cli_main(["import", "--format", "conll", "--in", str(bad), "--seeds", str(seeds), "--corpus", str(project / "nowhere")]) == 2
    assert "nowhere: no documents/*.parquet" in _one_line_error(capsys)
    assert import_main(["--format", "nope", "--in", "x"]) == 2
    assert _snapshot(seeds) == before


BAD_INPUTS = {
    "folder": (None, "is a folder"),
    "invalid-json": (b'[{"data": ', "invalid JSON at line 1"),
    "deep-json": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "long-number": (b'[{"data": {"doc_id": "doc_a"}, "annotations": [{"result": [], "id": ' + b"7" * 5001 + b"}]}]", "digits"),
    "not-utf8": (b'[{"data": {"doc_id": "caf\xe9"}}]', "invalid UTF-8 at byte offset 25"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_naming_the_file(fmt: str, case: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if fmt == "spacy":
        pytest.importorskip("spacy")
    seeds = project / "seeds"
    before = _snapshot(seeds)
    content, needle = BAD_INPUTS[case]
    path = project / f"input-{case}"
    if fmt == "brat":  # brat reads a folder: the bad bytes go into its .ann (or .txt), a file instead of the folder
        if content is None:
            path.write_text("not a folder", encoding="utf-8")
            needle = "must be a folder"
        else:
            path.mkdir()
            (path / "doc_a.txt").write_bytes(DOC_A.encode("utf-8"))
            line = b"T1\tPER 0 " + b"7" * 5001 + b"\tx\n" if case == "long-number" else content
            (path / "doc_a.ann").write_bytes(line)
            needle = {"long-number": "numbers too long to be offsets", "not-utf8": "invalid UTF-8"}.get(case, "is not a T")
    elif content is None:
        path.mkdir()
    else:
        if fmt == "conll" and case == "long-number":
            content = b"-DOCSTART-\tdoc_a\n\nSpotkanie\tO\t" + b"7" * 5001 + b"\t9\t_\t_\n"
            needle = "are not offsets"
        elif fmt == "conll" and case in ("invalid-json", "deep-json"):
            needle = "doc_id: token line before the first -DOCSTART-"
        elif fmt == "spacy" and case != "not-utf8":
            needle = "not a spaCy DocBin file"
        elif fmt == "spacy":
            needle = "not a spaCy DocBin file"
        path.write_bytes(content)
    assert _run(fmt, path, project) == 2
    err = _one_line_error(capsys)
    assert err.startswith("kronika import: ") and str(path) in err and needle in err, err
    assert _snapshot(seeds) == before


def test_labelstudio_odd_structures_are_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "odd.json"
    for tasks, needle in (
        ({"data": {}}, "expected a list of tasks"),
        ([{"data": {"doc_id": "doc_a"}, "annotations": 5}], "annotations: expected a list"),
        ([{"data": {"doc_id": "doc_a", "text": DOC_A}, "annotations": [{"result": 5}]}], "result: expected a list"),
        ([{"data": {"doc_id": "doc_a", "text": DOC_A}, "annotations": [{"result": [{"id": "m0", "value": "x"}]}]}], "not a region result"),
        ([{"data": {"doc_id": "doc_a", "text": DOC_A}, "annotations": [{"result": [
            {"id": "m0", "type": "labels", "value": {"start": 0, "end": 3, "labels": [["PER"]]}}]}]}], "label"),
        ([{"data": {"doc_id": "doc_a", "text": DOC_A}, "annotations": [{"result": [  # one id for two regions
            {"id": "m0", "type": "labels", "value": {"start": 0, "end": 3, "labels": ["PER"]}},
            {"id": "m0", "type": "labels", "value": {"start": 4, "end": 9, "labels": ["LOC"]}}]}]}], "region 'm0' has a second 'labels' result"),
    ):
        path.write_text(json.dumps(tasks), encoding="utf-8")
        assert _run("labelstudio", path, project) == 2
        assert needle in _one_line_error(capsys)


@pytest.mark.parametrize("fmt", ["conll", "labelstudio", "brat"])
def test_a_fifo_to_import_is_refused_unread(fmt: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reading it would block the import forever."""
    path = project / "in"
    if fmt == "brat":
        path.mkdir()
        (path / "doc_a.txt").write_text(DOC_A, encoding="utf-8")
        os.mkfifo(path / "doc_a.ann")
    else:
        os.mkfifo(path)
    assert _run(fmt, path, project) == 2
    assert "is not a regular file" in _one_line_error(capsys)


def test_skipped_task_ids_are_printed_escaped(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "odd.json"
    path.write_text(json.dumps([{"data": {"doc_id": "evil\n0 gold file(s) written\u001b[2K"}, "predictions": []}]), encoding="utf-8")
    _run("labelstudio", path, project)
    err = capsys.readouterr().err
    assert "evil\\n0 gold file(s) written\\x1b[2K" in err and "\x1b" not in err and err.count("\n") == 1, err


def test_load_gold_file_errors_are_one_line(tmp_path: Path, root: Path) -> None:
    committed = load_gold_file(root / "seeds" / "000_fe6e73957cf0fa67.gold.json")  # no origin: still valid
    assert "origin" not in committed
    path = tmp_path / "x.gold.json"
    cases = {
        "folder": (None, "is a folder"),
        "deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        "long-number": (b'{"doc_id": ' + b"1" * 5001 + b"}", "digits"),
        "not-utf8": (b'{"doc_id": "caf\xe9"}', "invalid UTF-8 at byte offset 15"),
        "bad-time": (json.dumps(committed | {"origin": {"tool": "brat", "file": "x", "time": "yesterday"}}).encode(), "origin/time"),
        "id-ending-in-a-newline": (json.dumps(committed | {"mentions": [committed["mentions"][0] | {"entity_id": "PER-Donald-Tusk\n"}]}).encode(), "does not match"),
        "extra-origin-key": (json.dumps(committed | {"origin": {"tool": "brat", "file": "x", "time": "2024-05-01T10:00:00Z", "by": "me"}}).encode(), "origin"),
    }
    for name, (content, needle) in cases.items():
        target = tmp_path / name / "x.gold.json"
        target.parent.mkdir()
        if content is None:
            target.mkdir()
        else:
            target.write_bytes(content)
        with pytest.raises(SeedError) as info:
            load_gold_file(target)
        message = str(info.value)
        assert message.startswith(f"{target}: ") and needle in message and "\n" not in message and len(message) < 500, (name, message)
    good = committed | {"origin": {"tool": "brat", "file": "x", "time": "2024-05-01T10:00:00Z"}}
    path.write_text(json.dumps(good), encoding="utf-8")
    assert load_gold_file(path)["origin"]["tool"] == "brat"


def test_load_gold_file_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.gold.json"
    path.write_text("{}", encoding="utf-8")

    def denied(name: object, *args: object) -> int:
        raise PermissionError(13, "Permission denied", str(name))

    monkeypatch.setattr(os, "open", denied)  # chmod 0 does not stop root
    with pytest.raises(SeedError, match=r"x.gold.json: cannot be read: Permission denied$"):
        load_gold_file(path)


def test_no_gold_mention_or_lemma_has_white_space_at_an_edge(project: Path) -> None:
    """CoNLL and spaCy cannot place such a span (the whole export failed), and brat and
    Label Studio trimmed the lemma, so a round trip changed it."""
    start = DOC_A.index("Świętokrzyskiem")
    with pytest.raises(ExchangeError, match="'Świętokrzyskiem\\\\n' starts or ends with white space; select the name alone"):
        make_mention(DOC_A, start, start + 16, "LOC", "Świętokrzyskie", "LOC-X", "t.json")
    with pytest.raises(ExchangeError, match="lemma: 'Świętokrzyskie ' starts or ends with white space"):
        make_mention(DOC_A, start, start + 15, "LOC", "Świętokrzyskie ", "LOC-X", "t.json")
    path = project / "seeds" / "doc_a.gold.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["mentions"][0]["lemma"] += " "
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SeedError, match=r"mentions/0/lemma: .* starts or ends with white space$"):
        read_gold(path, read_seed(project / "seeds" / "doc_a.txt", project / "seeds"))


def test_a_gold_fifo_or_device_is_refused_unread(tmp_path: Path) -> None:
    """Read as seeds are: a FIFO would block the build forever, /dev/zero never ends."""
    fifo = tmp_path / "a.gold.json"
    os.mkfifo(fifo)
    with pytest.raises(SeedError, match=r"a.gold.json: is a FIFO, not a regular file$"):
        load_gold_file(fifo)
    (tmp_path / "b.gold.json").symlink_to("/dev/zero")
    with pytest.raises(SeedError, match=r"b.gold.json: symlink points outside the seeds folder$"):
        load_gold_file(tmp_path / "b.gold.json")


def test_origin_is_utc_and_names_the_file_only(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from kronika.exchange import origin_of
    from kronika.gold import is_rfc3339

    moment = datetime(2024, 5, 1, 12, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    assert origin_of("brat", tmp_path / "deep" / "folder", moment) == {"tool": "brat", "file": "folder", "time": "2024-05-01T10:30:05Z"}
    assert is_rfc3339(origin_of("conll", Path("x.conll"))["time"])


# ------------------------------------------------------- a built corpus
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus built by ``kronika build`` from the first seed (gold) and three articles (automatic layers)."""
    from corpus_helpers import build_corpus, write_seeds

    root = tmp_path_factory.mktemp("built")
    return build_corpus(root, write_seeds(root / "seeds"))


def _published(corpus: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = [r for path in sorted(corpus.glob("documents/*.parquet")) for r in pq.read_table(path).to_pylist()]
    return sorted(rows, key=lambda r: r["id"])


def _corpus_sentences(corpus: Path) -> dict[str, list[tuple[int, int]]]:
    import pyarrow.parquet as pq

    out: dict[str, list[tuple[int, int, int]]] = {}
    for path in sorted(corpus.glob("sentences/*.parquet")):
        for r in pq.read_table(path, columns=["doc_id", "sentence_index", "start", "end"]).to_pylist():
            out.setdefault(r["doc_id"], []).append((r["sentence_index"], r["start"], r["end"]))
    return {k: [(s, e) for _, s, e in sorted(v)] for k, v in out.items()}


def test_labelstudio_export_of_a_built_corpus_is_what_it_publishes(built: Path, tmp_path: Path) -> None:
    """Acceptance: exactly one prediction per task, whose regions equal the published mentions."""
    out = tmp_path / "tasks.json"
    assert cli_main(["export", "--format", "labelstudio", "--corpus", str(built), "--out", str(out)]) == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    rows = _published(built)
    assert [t["data"]["doc_id"] for t in tasks] == [r["id"] for r in rows]
    layers_per_task = []
    for task, row in zip(tasks, rows):
        assert len(task["predictions"]) == 1
        assert task["data"]["text"] == row["text"] and task["data"]["language"] == row["language"]
        u16 = labelstudio.utf16_offsets(row["text"])
        regions: dict[str, dict] = {}
        for r in task["predictions"][0]["result"]:
            regions.setdefault(r["id"], {})[r["from_name"]] = r
        got = [
            {"start": p["label"]["value"]["start"], "end": p["label"]["value"]["end"], "text": p["label"]["value"]["text"],
             "label": p["label"]["value"]["labels"][0], "lemma": p["lemma"]["value"]["text"][0],
             "entity_id": p["entity_id"]["value"]["text"][0], "source": p["label"]["meta"]["layer"],
             "score": p["label"]["meta"].get("score")}
            for p in regions.values()
        ]
        expected = [
            e | {"start": u16[e["start"]], "end": u16[e["end"]], "score": None if e["score"] is None else round(e["score"], 4)}
            for e in sorted(row["entities"], key=lambda e: (e["start"], e["end"]))
        ]
        assert got == expected
        layers_per_task.append({m["source"] for m in row["entities"]})
    assert any(len(layers) > 1 for layers in layers_per_task)  # a merged layer, still one prediction
    assert sum(len(r["entities"]) for r in rows) > 0


def test_labelstudio_reviewed_export_imports_as_gold(built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Predictions -> the annotations a reviewer submits (one id corrected) -> import: gold, layer read from meta."""
    seeds = built.parent / "seeds"
    out = tmp_path / "tasks.json"
    assert cli_main(["export", "--format", "labelstudio", "--corpus", str(built), "--out", str(out)]) == 0
    tasks = _annotated(json.loads(out.read_text(encoding="utf-8")))
    task = next(t for t in tasks if t["data"]["doc_id"] == "101_krakow")
    for r in task["annotations"][0]["result"]:
        if r["from_name"] == "entity_id" and r["id"] == "m0":
            r["value"] = r["value"] | {"text": [r["value"]["text"][0] + "-City"]}
    docs = labelstudio.from_export(tasks, lambda doc_id, where: read_seed(seeds / f"{doc_id}.txt", seeds).text)
    row = next(r for r in _published(built) if r["id"] == "101_krakow")
    doc = next(d for d in docs if d.doc_id == "101_krakow")
    assert doc.exported_layers == {(e["start"], e["end"]): e["source"] for e in row["entities"]}
    assert {m.source for m in doc.mentions} == {"gold_v1"}
    out.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    before = set(p.name for p in seeds.iterdir())
    try:
        assert _run("labelstudio", out, built.parent) == 0
        record = load_gold_file(seeds / "101_krakow.gold.json")
        assert record["layer"] == "gold_v1" and record["mentions"][0]["entity_id"].endswith("-City")
        assert [(m["start"], m["end"], m["lemma"]) for m in record["mentions"]] == [
            (e["start"], e["end"], e["lemma"]) for e in sorted(row["entities"], key=lambda e: (e["start"], e["end"]))
        ]
    finally:
        (seeds / "101_krakow.gold.json").unlink(missing_ok=True)  # the module's corpus stays as built
    assert set(p.name for p in seeds.iterdir()) == before
    capsys.readouterr()


def test_spacy_export_of_a_built_corpus_has_its_sentences_and_language(built: Path, tmp_path: Path) -> None:
    spacy = pytest.importorskip("spacy")
    pytest.importorskip("kronika.spacy_docbin")
    from spacy.tokens import DocBin

    out = _export_from(built, "spacy", tmp_path)
    sdocs = list(DocBin().from_disk(out).get_docs(spacy.blank("xx").vocab))
    rows, sentences = _published(built), _corpus_sentences(built)
    assert [d.user_data["doc_id"] for d in sdocs] == [r["id"] for r in rows]
    for sdoc, row in zip(sdocs, rows):
        assert sdoc.user_data["language"] == row["language"]
        assert [s.start_char for s in sdoc.sents] == [s for s, _ in sentences[row["id"]]]
        ents = sorted(row["entities"], key=lambda e: (e["start"], e["end"]))
        assert [(e.start_char, e.end_char, e.label_, e._.lemma, e._.entity_id, e._.layer, e._.score) for e in sdoc.ents] == [
            (e["start"], e["end"], e["label"], e["lemma"], e["entity_id"], e["source"], e["score"]) for e in ents
        ]


def test_conll_export_of_a_built_corpus_has_its_sentences(built: Path, tmp_path: Path) -> None:
    out = _export_from(built, "conll", tmp_path)
    starts: dict[str, list[int]] = {}
    doc_id, new_sentence = None, True
    for line in out.read_text(encoding="utf-8").split("\n"):
        if line.startswith("-DOCSTART-"):
            doc_id, new_sentence = line.split("\t")[1], True
            starts[doc_id] = []
        elif not line:
            new_sentence = True
        elif new_sentence:
            starts[doc_id].append(int(line.split("\t")[2]))
            new_sentence = False
    assert starts == {k: [s for s, _ in v] for k, v in _corpus_sentences(built).items()}


def _export_from(corpus: Path, fmt: str, tmp_path: Path) -> Path:
    out = tmp_path / f"export.{fmt}"
    assert cli_main(["export", "--format", fmt, "--corpus", str(corpus), "--out", str(out)]) == 0
    return out


def test_export_takes_sentences_from_the_corpus(built: Path, tmp_path: Path) -> None:
    """The exporters use the corpus's sentences config, not their own splitter (here: one sentence per document)."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from kronika.exchange import iter_corpus

    corpus = tmp_path / "corpus"
    shutil.copytree(built / "documents", corpus / "documents")
    rows = _published(built)
    (corpus / "sentences").mkdir()
    pq.write_table(pa.table({"doc_id": [r["id"] for r in rows], "start": [0] * len(rows), "end": [len(r["text"]) for r in rows]}),
                   corpus / "sentences" / "any-name.parquet")
    docs = iter_corpus(corpus)
    assert not isinstance(docs, list)  # streamed
    assert [d.sentences for d in docs] == [[(0, len(r["text"]))] for r in rows]
    conll_text = _export_from(corpus, "conll", tmp_path).read_text(encoding="utf-8")
    assert conll_text.count("\n\n") == 2 * len(rows)  # after each -DOCSTART- line and after its one sentence
    spacy = pytest.importorskip("spacy")
    pytest.importorskip("kronika.spacy_docbin")
    from spacy.tokens import DocBin

    sdocs = list(DocBin().from_disk(_export_from(corpus, "spacy", tmp_path)).get_docs(spacy.blank("xx").vocab))
    assert [len(list(d.sents)) for d in sdocs] == [1] * len(rows)
