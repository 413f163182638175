"""`kronika validate` catches what `datasets` accepts silently, naming file, record and field."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from kronika.assemble import assemble
from kronika.cli import main
from kronika.ingest import parse_seed
from kronika.record import CONFIGS, LanguageSpan, Mention, arrow_schema, card_features
from kronika.validate import validate_path
from kronika.views import SentenceTable, mention_rows, sentence_spans
from kronika.record import sha256_file
from kronika.write import config_schema, config_table, document_table, write_json, write_parquet, write_text

TEXT = "date 2023-09 Władimir Putin spotkał się z Kim Dzong Unem we Władywostoku.\n"


def good_row(doc_id: str = "doc1") -> dict:
    """A valid document; each id gets its own text (exact copies would need a duplicate cluster)."""
    doc = parse_seed(TEXT.replace(".\n", f". Notatka {doc_id}.\n").encode(), f"{doc_id}.txt")
    mentions = [
        _mention(doc.text, "Władimir Putin", "Władimir Putin", "PER-Vladimir-Putin"),
        _mention(doc.text, "Kim Dzong Unem", "Kim Dzong Un", "PER-Kim-Dzong-Un"),
    ]
    span = LanguageSpan(0, len(doc.text.rstrip()), "pl", 0.99)
    return published(assemble(
        doc, language="pl", language_script="pol_Latn", language_score=0.99,
        languages=[span], entities=mentions, entity_status="gold",
    ))


# Fields the build sets over the whole corpus, after `assemble` (when the schema has them).
CORPUS_FIELDS = {"duplicate_cluster": None, "duplicate_count": 1}


def published(row: dict) -> dict:
    """``row`` as the build publishes it: with the corpus-level fields of a document without copies."""
    properties = CONFIGS["documents"]()["properties"]
    row.update({k: v for k, v in CORPUS_FIELDS.items() if k in properties and k not in row})
    return row


def _mention(text: str, surface: str, lemma: str, entity_id: str) -> Mention:
    start = text.index(surface)
    return Mention(start, start + len(surface), surface, "PER", lemma, entity_id, "gold_v1")


def write_corpus(root: Path, rows: list[dict], num_examples: int | None = None) -> Path:
    """A complete corpus of ``rows``: all three configs, the manifest and the card."""
    corpus = root / "corpus"
    sentences = SentenceTable()
    mentions = []
    for row in rows:
        spans = sentence_spans(row)
        sentences.add(row, spans)
        mentions += mention_rows(row, spans)
    tables = {
        "documents": document_table(rows, "0.0.0"),
        "mentions": config_table(mentions, "mentions", "0.0.0"),
        "sentences": sentences.to_arrow(config_schema("sentences", "0.0.0")),
    }
    splits, entries = {}, []
    for config, table in tables.items():
        if not table.num_rows:
            continue
        name = f"{config}/train-00000-of-00001.parquet"
        num_bytes = write_parquet(table, corpus / name)  # the data's size, from the file's own metadata
        entries.append({"path": name, "sha256": sha256_file(corpus / name), "num_rows": table.num_rows})
        count = table.num_rows if num_examples is None or config != "documents" else num_examples
        splits[config] = {"paths": [f"corpus/{name}"], "num_examples": count, "num_bytes": num_bytes}
    write_json(corpus / "manifest.json", {"name": "kronika", "version": "0.0.0", "files": entries})
    write_text(root / "README.md", f"---\n{yaml.safe_dump(card(splits), sort_keys=False, allow_unicode=True)}---\n# Kronika\n")
    return corpus


def card(splits: dict[str, dict]) -> dict:
    """The card's front matter as ``datasets`` reads it (written here, not by kronika.write,
    so that these tests pin what validate expects)."""
    configs = [{"config_name": c, "version": "0.0.0", "data_files": [{"split": "train", "path": s["paths"]}]} for c, s in splits.items()]
    infos = [
        {"config_name": c, "features": card_features(arrow_schema(CONFIGS[c]())),
         "splits": [{"name": "train", "num_bytes": s["num_bytes"], "num_examples": s["num_examples"]}]}
        for c, s in splits.items()
    ]
    return {"pretty_name": "Kronika", "configs": configs, "dataset_info": infos}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def messages(path: Path) -> list[str]:
    return [str(p) for p in validate_path(path)]


def test_good_corpus_is_valid(tmp_path: Path) -> None:
    plain = parse_seed("Tytuł\n\nTekst bez nagłówka.\n".encode(), "c.txt")
    no_header = published(assemble(plain, language="und", language_script="und", language_score=0.0, languages=[], entities=[], entity_status="none"))
    corpus = write_corpus(tmp_path, [good_row("a"), good_row("b"), no_header])
    assert messages(corpus) == []
    assert main(["validate", str(corpus)]) == 0


def test_shifted_offset_names_record_and_field(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    row = good_row()
    row["entities"][1]["start"] += 1
    row["entities"][1]["end"] += 1
    corpus = write_corpus(tmp_path, [row])
    assert main(["validate", str(corpus)]) == 1
    out = capsys.readouterr().out
    assert "record doc1: entities[1].text: text[30:44] is 'im Dzong Unem ', not 'Kim Dzong Unem'" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["entities"][0].update(label="PERSON"), "entities[0].label: 'PERSON' is not one of"),
        (lambda r: r["entities"][0].pop("lemma"), "entities[0]: 'lemma' is a required property"),
        (lambda r: r.pop("language"), "(record): 'language' is a required property"),
        (lambda r: r["metadata"].update(date_precision="day"), "metadata.date_precision: 'day' does not match date '2023-09'"),
        (lambda r: r.update(text=r["text"] + "x"), "metadata.sha256: header + text do not rebuild the seed bytes"),
        (lambda r: r["blocks"].clear(), "lies outside every block"),
        (lambda r: r.update(language="Polish"), "language: 'Polish' does not match"),
        (lambda r: r["entities"].reverse(), "overlaps or precedes the previous span"),
        (lambda r: r["entities"][0].update(entity_id="Putin"), "entities[0].entity_id: 'Putin' does not match"),
        (lambda r: r.update(language_script="und"), "language_script: is 'und' for language 'pl'"),
    ],
    ids=["wrong label", "missing struct field", "missing column", "date precision", "lossless", "blocks", "language code", "order", "entity id",
         "und script"],
)
def test_jsonl_problems(tmp_path: Path, mutate, expected: str) -> None:
    row = good_row()
    mutate(row)
    found = messages(write_jsonl(tmp_path / "rows.jsonl", [row]))
    assert any(expected in m for m in found), found
    assert all(m.startswith(str(tmp_path / "rows.jsonl") + ": record doc1") for m in found), found


def test_missing_parquet_column_and_int32(tmp_path: Path) -> None:
    table = document_table([good_row()], "0.0.0")
    table = table.drop_columns(["entity_status"])
    table = table.set_column(table.schema.get_field_index("language_score"), "language_score", pa.array([1], pa.int32()))
    pq.write_table(table, tmp_path / "bad.parquet")
    found = messages(tmp_path / "bad.parquet")
    assert any("entity_status: column is missing" in m for m in found), found
    assert any("language_score: has Arrow type int32, expected double" in m for m in found), found


def test_mismatched_num_examples(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, [good_row()], num_examples=5)
    found = messages(corpus)
    assert any("README.md: dataset_info[documents].splits[train].num_examples: says 5, files hold 1" in m for m in found), found


def test_duplicate_ids(tmp_path: Path) -> None:
    found = messages(write_jsonl(tmp_path / "rows.jsonl", [good_row(), good_row()]))
    assert any("id: duplicate id" in m for m in found), found


def test_bad_json_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(good_row()) + "\n{not json\n", encoding="utf-8")
    assert messages(path) == [f"{path}: record line 2: invalid JSON (Expecting property name enclosed in double quotes)"]


def test_not_parquet(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "x.parquet").write_bytes(b"hello")
    assert main(["validate", str(tmp_path / "x.parquet")]) == 1
    assert "not a readable Parquet file" in capsys.readouterr().out


def test_words_are_counted_exactly_as_count_words() -> None:
    """The RE2 count spells out Python's \\w; characters beyond the BMP go to count_words."""
    from kronika.record import count_words
    from kronika.validate import word_counts

    texts = [
        "Ala ma kota.", "", "   ", "F-16, Kirby’ego i m.in. 10-13 -- x", "ż_1 ...a'b'c.d- -e", "Straße ٣٤ Σίσυφος 中文",
        "e\u0301cole a\u0308 x\u00b2 \u2160\u2161", "emoji 😀 w tekście 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐀𐐁", "Тест, ещё: раз-два!", "x" * 10_000,
    ]
    assert word_counts(pa.array(texts)) == [count_words(t) for t in texts]


def test_schema_rules_come_from_the_json_schema() -> None:
    from kronika.record import LABELS
    from kronika.validate import RULES, Rule

    assert Rule(("entities", "[]", "label"), "enum", tuple(LABELS)) in RULES["documents"]
    assert Rule(("metadata", "date"), "null") not in RULES["documents"]  # nullable
    assert Rule(("ner_tags", "[]"), "maximum", 10) in RULES["sentences"]
    assert Rule(("context",), "minLength", 1) in RULES["mentions"]


def test_header_and_title_are_recomputed(tmp_path: Path) -> None:
    row = good_row()
    header, text = row["metadata"]["header"], row["text"]
    row["metadata"].update(header="", date=None, date_precision=None, sha256=__import__("hashlib").sha256((header + text).encode()).hexdigest())
    row["text"] = header + text
    row["metadata"]["char_count"] = len(row["text"])
    found = messages(write_jsonl(tmp_path / "rows.jsonl", [row]))
    assert any("metadata.header: is empty, but the text starts with the inline header 'date 2023-09 '" in m for m in found), found
    titled = good_row()
    titled["metadata"]["title"] = "Władimir Putin"
    found = messages(write_jsonl(tmp_path / "titled.jsonl", [titled]))
    assert any("metadata.title: must be null: a file with an inline header has no title" in m for m in found), found


def test_derived_rows_must_match_their_document(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, [good_row("a")])
    shard = next((corpus / "mentions").glob("*.parquet"))
    rows = pq.read_table(shard).to_pylist()
    rows[1]["lemma"] = "Kim"
    write_parquet(config_table(rows, "mentions", "0.0.0"), shard)
    found = messages(corpus)
    assert any("record a@29: lemma: is 'Kim', the document's entity has 'Kim Dzong Un'" in m for m in found), found
    assert any("manifest.json: mentions/train-00000-of-00001.parquet: sha256 does not match the file" in m for m in found), found


def test_dropped_sentence_row_is_caught(tmp_path: Path) -> None:
    plain = parse_seed("Tytuł\n\nPierwsze zdanie. Drugie zdanie.\n".encode(), "c.txt")
    row = published(assemble(plain, language="pl", language_script="pol_Latn", language_score=0.9, languages=[], entities=[], entity_status="none"))
    corpus = write_corpus(tmp_path, [row])
    shard = next((corpus / "sentences").glob("*.parquet"))
    write_parquet(config_table(pq.read_table(shard).to_pylist()[:-1], "sentences", "0.0.0"), shard)
    found = messages(corpus)
    assert any("record c: sentence_index: text[23:39] 'Drugie zdanie.' is in no sentence" in m for m in found), found


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)  # opening it would block forever


def _edit_card(corpus: Path, change) -> None:
    card = corpus.parent / "README.md"
    meta = yaml.safe_load(card.read_text(encoding="utf-8").split("---\n")[1])
    change(meta)
    write_text(card, f"---\n{yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)}---\n# Kronika\n")


def _edit_manifest(corpus: Path, change) -> None:
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    write_json(corpus / "manifest.json", manifest)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda c: (c / "manifest.json").unlink(), "manifest.json: manifest is missing"),
        (lambda c: (c / "manifest.json").write_text("{", encoding="utf-8"), "manifest.json: is not valid JSON"),
        (lambda c: (c.parent / "README.md").unlink(), "README.md: dataset card is missing"),
        (lambda c: (c.parent / "README.md").write_text("---\nconfigs: [\n---\n", encoding="utf-8"), "README.md: front matter is not valid YAML"),
        (lambda c: next((c / "documents").glob("*.parquet")).write_bytes(b"PAR1"), "not a readable Parquet file"),
        (lambda c: _fifo(next((c / "mentions").glob("*.parquet"))), "mentions/train-00000-of-00001.parquet: is not a regular file"),
        (lambda c: _edit_card(c, lambda m: m["configs"][1].update(default=True) or m["configs"][0].update(default=True)),
         "configs: documents, mentions are all marked default; datasets.load_dataset accepts one"),
        (lambda c: _edit_card(c, lambda m: m["dataset_info"][0]["splits"][0].update(num_bytes=1)), "splits[train].num_bytes: says 1, the files' data is"),
        (lambda c: _edit_card(c, lambda m: m.update(language=["de"], size_categories=["1M<n<10M"])), "language: is ['de']; the documents make it ['pl']"),
        (lambda c: _edit_card(c, lambda m: m["configs"][0]["data_files"][0].update(path=[str(c / "documents" / "x.parquet")])),
         "is not a path inside the dataset"),
        (lambda c: _edit_manifest(c, lambda m: m["files"].append(dict(m["files"][0], path="../README.md"))),
         "../README.md: listed file is not a Parquet shard of the corpus"),
        (lambda c: _edit_manifest(c, lambda m: m.update(version=5)), "manifest.json: version: must be a string, not 5"),
    ],
    ids=["no manifest", "bad manifest", "no card", "bad card", "truncated", "fifo shard", "two defaults", "num_bytes",
         "languages", "absolute data_files", "manifest lists a file outside", "manifest version"],
)
def test_corpus_level_damage_is_one_line(tmp_path: Path, damage, expected: str) -> None:
    corpus = write_corpus(tmp_path, [good_row("a")])
    damage(corpus)
    found = messages(corpus)
    assert any(expected in m for m in found), found


def test_space_class_is_pythons_white_space() -> None:
    import pyarrow.compute as pc

    from kronika.record import SPACE_CHARS, SPACE_CLASS

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    found = pc.match_substring_regex(pa.array(chars), f"[{SPACE_CLASS}]").to_pylist()
    assert [c for c, hit in zip(chars, found) if hit != c.isspace()] == []
    assert sorted(SPACE_CHARS) == [c for c in chars if c.isspace()]


def test_no_entity_or_token_has_white_space_where_the_build_never_puts_it(tmp_path: Path) -> None:
    row = good_row()
    row["entities"][0]["lemma"] += "\u00a0"
    found = messages(write_jsonl(tmp_path / "rows.jsonl", [row]))
    assert any("record doc1 (line 1): entities[0].lemma: starts or ends with white space" in m for m in found), found
    corpus = write_corpus(tmp_path / "c", [good_row("a")])
    shard = next((corpus / "sentences").glob("*.parquet"))
    rows = pq.read_table(shard).to_pylist()
    rows[0]["tokens"][1] = rows[0]["tokens"][1][:1] + " " + rows[0]["tokens"][1][2:]  # same length, a space inside
    write_parquet(config_table(rows, "sentences", "0.0.0"), shard)
    assert any("tokens[1]: " in m and "holds white space" in m for m in messages(corpus))


def test_every_problem_is_one_line_whatever_the_data(tmp_path: Path) -> None:
    """An id with a newline cannot forge a problem line; a huge value is cut; deep JSON is one problem."""
    row = good_row()
    row["id"] = "doc1\n/fake.parquet: record X: text: forged"
    row["metadata"]["title"] = list(range(200_000))
    found = messages(write_jsonl(tmp_path / "rows.jsonl", [row]))
    assert found and all("\n" not in m and len(m) < 5000 for m in found), [m[:200] for m in found]
    assert any("doc1\\n/fake.parquet" in m for m in found)
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    assert messages(deep) == [f"{deep}: record line 1: invalid JSON (nested too deeply to read)"]


def test_characters_beyond_the_bmp_are_found_in_any_layout() -> None:
    """The byte search for 4-byte UTF-8 (which sends a text to count_words) finds
    exactly the texts with such characters: sliced arrays, chunked ones, nulls, blocks."""
    import random

    from kronika.record import count_words
    from kronika.validate import _beyond_bmp, word_counts

    rng = random.Random(7)
    for _ in range(200):
        texts = [None if rng.random() < 0.1 else "".join(rng.choice("aż中😀 .-") for _ in range(rng.randrange(8)))
                 for _ in range(rng.randrange(300))]
        array, cut = pa.array(texts, pa.string()), rng.randrange(len(texts) + 1)
        expected = [i for i, t in enumerate(texts) if t and any(ord(c) > 0xFFFF for c in t)]
        assert _beyond_bmp(array) == expected
        assert _beyond_bmp(array.slice(cut)) == [i - cut for i in expected if i >= cut]
        assert _beyond_bmp(pa.chunked_array([array.slice(0, cut), array.slice(cut)], pa.string())) == expected
        assert word_counts(array) == [count_words(t or "") for t in texts]


def test_length_rules_count_characters_not_bytes() -> None:
    """minLength/maxLength are settled by byte lengths where they can be, by characters otherwise."""
    from kronika.validate import Leaves, Rule, _violations

    texts = ["", "a", "ż", "żż", "中中中", "😀😀", None, "abcd"]
    batch = pa.RecordBatch.from_arrays([pa.array(texts, pa.string())], names=["x"])
    for kind in ("minLength", "maxLength"):
        for limit in range(6):
            bad = _violations(Rule(("x",), kind, limit), Leaves(batch)).to_pylist()
            found = {i for i, flag in enumerate(bad) if flag}
            expected = {i for i, t in enumerate(texts) if t is not None and (len(t) < limit if kind == "minLength" else len(t) > limit)}
            assert found == expected, (kind, limit)


def test_many_shards_give_the_same_problems_as_one(tmp_path: Path) -> None:
    """Rows read by workers from several shards at once, in units made of several files,
    are reported as the rows of their own file."""
    rows = [good_row(f"d{i:02d}") for i in range(12)]
    rows[5]["metadata"]["word_count"] += 1
    rows[9]["entities"][0]["label"] = "PERSON"
    one = tmp_path / "one.parquet"
    write_parquet(document_table(rows, "0.0.0"), one)
    shards = tmp_path / "shards"
    for i in range(0, 12, 2):
        write_parquet(document_table(rows[i : i + 2], "0.0.0"), shards / f"train-{i // 2:05d}-of-00006.parquet")
    whole = [(p.record, p.field, p.message) for p in validate_path(one)]
    parts = validate_path(shards)
    assert [(p.record, p.field, p.message) for p in parts] == whole
    assert {p.record: Path(p.file).name for p in parts} == {"d05": "train-00002-of-00006.parquet", "d09": "train-00004-of-00006.parquet"}


def test_exact_copies_must_share_a_cluster(tmp_path: Path) -> None:
    """Two documents of one text (with words) are one duplicate cluster; without words they copy nothing."""
    twin = good_row("b")
    twin["text"] = good_row("a")["text"]
    twin["metadata"]["sha256"] = good_row("a")["metadata"]["sha256"]
    found = messages(write_jsonl(tmp_path / "rows.jsonl", [good_row("a"), twin]))
    assert any("record b (line 2): duplicate_cluster: is None, but the text is that of 'a'" in m for m in found), found
    both = [good_row("a"), twin]
    for row in both:
        row.update(duplicate_cluster="a", duplicate_count=2)
    assert messages(write_jsonl(tmp_path / "paired.jsonl", both)) == []
    rows = [
        published(assemble(parse_seed("***\n".encode(), name), language="und", language_script="und", language_score=0.0, languages=[], entities=[], entity_status="none"))
        for name in ("w1.txt", "w2.txt")
    ]
    assert messages(write_jsonl(tmp_path / "wordless.jsonl", rows)) == []


def test_copies_the_build_leaves_unclustered_pass(tmp_path: Path) -> None:
    """A halfwidth sound mark is a word to ``count_words`` but none once NFKC-normalised, so the
    build clusters no copies of it; validate applies the build's rule, not the word count."""
    from kronika.build import build

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in ("a1", "a2"):
        (seeds / f"{name}.txt").write_text("*** \uff9e ***\n", encoding="utf-8")
    build(seeds, tmp_path / "out" / "corpus", jobs=1, progress=False)
    assert messages(tmp_path / "out" / "corpus") == []


def test_a_file_named_dash_is_still_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert messages(Path("-")) == ["-: no such file or folder"]
