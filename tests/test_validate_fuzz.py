"""Corruption fuzzing: every kind of damage to a built corpus is caught, as lines, never a traceback.

A small corpus is built once (the committed seed plus synthetic Polish and English
seeds with a title, a header, CRLF, a BOM), in several shards. Each case copies
it, damages it one way, then *reseals* it: the manifest's sha256 and num_rows and
the card's num_examples are updated to match the damaged files, so only the deep
checks (rows against rows, rows against their text, Parquet page checksums) can
catch it. Kinds that damage the manifest or the card themselves are not resealed
there. The random choices come from one fixed seed.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from conftest import ROOT, SEED_ID
from kronika.build import build
from kronika.record import BIO_TAGS, CONFIGS, LABELS
from kronika.validate import by_split, read_card, validate_path
from kronika.record import sha256_file
from kronika.write import config_table, write_parquet

CASES_PER_KIND = 8
SYNTHETIC = {
    "pl_title.txt": "Premier spotkał się z prezydentem w Warszawie\n\nPremier Donald Tusk spotkał się w poniedziałek z prezydentem Andrzejem Dudą w Pałacu Prezydenckim w Warszawie. Rozmowa dotyczyła bezpieczeństwa Polski.\n\nW spotkaniu uczestniczył także minister obrony Władysław Kosiniak-Kamysz. Czytaj także: relacja z Brukseli.\n",
    "pl_header_crlf.txt": "date 2021-03-15\r\nRada Bezpieczeństwa Narodowego zebrała się w Krakowie. Obrady prowadził prezydent Andrzej Duda.\r\n\r\nNastępne posiedzenie odbędzie się w Gdańsku, poinformowało Biuro Bezpieczeństwa Narodowego.\r\n",
    "en_bom.txt": "\ufeffPrime Minister visits Berlin\n\nThe Prime Minister of the United Kingdom met the German Chancellor in Berlin on Monday. They discussed trade and the war in Ukraine.\n\nRead more: the full statement from Downing Street.\n",
    "pl_month.txt": "  date 2020-05 Władimir Putin rozmawiał z Xi Jinpingiem o gazociągu Nord Stream.\n\nKomentarz Kremla pojawił się w Moskwie dopiero po południu. Rosja nie podała szczegółów.\n",
    "pl_plain.txt": "W Poznaniu otwarto nowy most na Warcie. Prezydent miasta Jacek Jaśkowiak przeciął wstęgę.\n\nMost połączy Śródkę z Ostrowem Tumskim, a koszt budowy wyniósł 40 mln zł.\n",
}


# ------------------------------------------------------------------ corpus
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clean corpus (the root folder: README.md + corpus/), valid to begin with."""
    root = tmp_path_factory.mktemp("fuzz")
    seeds = root / "seeds"
    seeds.mkdir()
    for suffix in (".txt", ".gold.json"):
        shutil.copy(ROOT / "seeds" / f"{SEED_ID}{suffix}", seeds)
    for name, text in SYNTHETIC.items():
        (seeds / name).write_bytes(text.encode("utf-8"))
    build(seeds, root / "dataset" / "corpus", jobs=1, shard_size=2, cache_dir=None, progress=False)
    dataset = root / "dataset"
    assert [str(p) for p in validate_path(dataset)] == []
    assert len(list((dataset / "corpus" / "documents").glob("*.parquet"))) > 1  # order across shards is tested
    return dataset


class Case:
    """One damaged copy of the corpus."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self.corpus = root / "corpus"
        self.reseal_manifest = True
        self.reseal_card = True

    def shards(self, config: str) -> list[Path]:
        return sorted((self.corpus / config).glob("*.parquet"))

    def rows(self, config: str) -> list[tuple[Path, list[dict]]]:
        return [(p, pq.read_table(p).to_pylist()) for p in self.shards(config)]

    def write(self, path: Path, config: str, rows: list[dict]) -> None:
        version = (pq.read_schema(path).metadata or {}).get(b"kronika_version", b"").decode()
        write_parquet(config_table(rows, config, version), path)

    def pick(self, config: str, where: Callable[[dict], bool] = lambda r: True) -> tuple[Path, list[dict], int]:
        """A random row (satisfying ``where``) of a random shard: (shard, its rows, row index)."""
        choices = [(p, rows, i) for p, rows in self.rows(config) for i, r in enumerate(rows) if where(r)]
        return self.rng.choice(choices)

    def edit(self, config: str, change: Callable[[dict], None], where: Callable[[dict], bool] = lambda r: True) -> None:
        path, rows, i = self.pick(config, where)
        change(rows[i])
        self.write(path, config, rows)

    def reseal(self) -> None:
        """Make the manifest and the card agree with the files as they now are."""
        manifest = self.corpus / "manifest.json"
        if self.reseal_manifest:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            for entry in data["files"]:
                path = self.corpus / entry["path"]
                if path.exists():
                    entry["sha256"] = sha256_file(path)
                    entry["num_rows"] = _num_rows(path, entry["num_rows"])
            manifest.write_text(json.dumps(data, indent=2), encoding="utf-8")
        if self.reseal_card:
            card = self.root / "README.md"
            front = read_card(card)
            for info in front["dataset_info"]:
                shards = by_split(self.shards(info["config_name"]))
                for split in info["splits"]:
                    split["num_examples"] = sum(_num_rows(p, 0) for p in shards.get(split["name"], []))
            _write_card(card, front)


def _write_card(card: Path, front: dict) -> None:
    """``write.write_card`` with libyaml's dumper (the pure-Python one took most of the test's time)."""
    text = card.read_text(encoding="utf-8")
    body = text[text.index("\n---\n", 4) + 5 :]
    dumped = yaml.dump(front, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, allow_unicode=True, width=100)
    card.write_text(f"---\n{dumped}---\n{body}", encoding="utf-8")


def _num_rows(path: Path, fallback: int) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:
        return fallback


def _other(value: str, choices: list[str]) -> str:
    return next(c for c in choices if c != value)


def _flip_char(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    return text[:i] + ("x" if text[i] != "x" else "y") + text[i + 1 :]


# ------------------------------------------------------------------ kinds
def documents_swap_in_shard(c: Case) -> None:
    path, rows, _ = c.pick("documents")
    if len(rows) < 2:
        return documents_swap_across_shards(c)
    i = c.rng.randrange(len(rows) - 1)
    rows[i], rows[i + 1] = rows[i + 1], rows[i]
    c.write(path, "documents", rows)


def documents_swap_across_shards(c: Case) -> None:
    shards = c.rows("documents")
    k = c.rng.randrange(len(shards) - 1)
    (a, first), (b, second) = shards[k], shards[k + 1]
    first[-1], second[0] = second[0], first[-1]
    c.write(a, "documents", first)
    c.write(b, "documents", second)


def duplicate_row(config: str) -> Callable[[Case], None]:
    def damage(c: Case) -> None:
        path, rows, i = c.pick(config)
        rows.insert(i + c.rng.choice([0, 1]), dict(rows[i]))
        c.write(path, config, rows)

    return damage


def drop_row(config: str) -> Callable[[Case], None]:
    def damage(c: Case) -> None:
        path, rows, i = c.pick(config)
        del rows[i]
        c.write(path, config, rows)

    return damage


def swap_rows(config: str) -> Callable[[Case], None]:
    def damage(c: Case) -> None:
        path, rows, _ = c.pick(config)
        i = c.rng.randrange(len(rows) - 1)
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
        c.write(path, config, rows)

    return damage


def metadata_drift(c: Case) -> None:
    """One recomputable metadata field no longer matches the text."""
    field = c.rng.choice(["char_count", "word_count", "date", "date_precision", "source_file", "title", "sha256", "header", "bom", "newline"])

    def change(row: dict) -> None:
        meta = row["metadata"]
        if field in ("char_count", "word_count"):
            meta[field] += c.rng.choice([-1, 1, 7])
        elif field == "date":
            meta["date"] = "1999-01-02" if meta["date"] != "1999-01-02" else "1998"
            meta["date_precision"] = {4: "year", 7: "month", 10: "day"}[len(meta["date"])]
        elif field == "date_precision":
            meta[field] = _other(meta[field], ["year", "month", "day"])
        elif field == "source_file":
            meta[field] = meta[field].replace(".txt", ".md")
        elif field == "title":
            meta[field] = None if meta[field] and c.rng.random() < 0.3 else (meta[field] or "Tytuł") + " x"
        elif field == "sha256":
            meta[field] = ("0" if meta[field][0] != "0" else "1") + meta[field][1:]
        elif field == "header":
            meta[field] = meta[field][1:] if meta[field] else "date 2001\n"
        elif field == "bom":
            meta[field] = not meta[field]
        else:
            meta[field] = _other(meta[field], ["lf", "crlf"])

    where = (lambda r: r["metadata"]["title"] is not None) if field == "title" and c.rng.random() < 0.7 else (lambda r: True)
    c.edit("documents", change, where)


def text_drift(c: Case) -> None:
    c.edit("documents", lambda r: r.update(text=_flip_char(r["text"], c.rng)))


def wrong_label(c: Case) -> None:
    config = c.rng.choice(["documents", "mentions"])
    if config == "documents":
        c.edit(config, lambda r: c.rng.choice(r["entities"]).update(label="PERSON"), lambda r: bool(r["entities"]))
    else:
        c.edit(config, lambda r: r.update(label=c.rng.choice(["GPE", "per", "MISC"])))


def null_value(c: Case) -> None:
    config = c.rng.choice(list(CONFIGS))
    schema = CONFIGS[config]()
    column = c.rng.choice([k for k, v in schema["properties"].items() if "null" not in str(v.get("type"))])
    c.edit(config, lambda r: r.update({column: None}))


def null_struct_field(c: Case) -> None:
    fields = ["source_file", "license", "header", "char_count"]
    c.edit("documents", lambda r: r["metadata"].update({c.rng.choice(fields): None}))


def entity_offset_shift(c: Case) -> None:
    def change(row: dict) -> None:
        entity = c.rng.choice(row["entities"])
        entity["start"] += 1
        entity["end"] += 1

    c.edit("documents", change, lambda r: bool(r["entities"]))


def block_damage(c: Case) -> None:
    def change(row: dict) -> None:
        block = c.rng.choice(row["blocks"])
        what = c.rng.choice(["start", "end", "kind"])
        if what == "kind" and row["metadata"]["title"] is not None:
            row["blocks"][0]["kind"] = "paragraph"
        elif what == "end":
            block["end"] -= 1
        else:
            block["start"] += 1

    c.edit("documents", change)


def bad_pattern(c: Case) -> None:
    config = c.rng.choice(list(CONFIGS))
    column = {"documents": "language", "mentions": "entity_id", "sentences": "doc_id"}[config]
    c.edit(config, lambda r: r.update({column: "Polish language" if column != "entity_id" else "Putin"}))


MENTION_FIELDS = ["start", "end", "text", "label", "lemma", "entity_id", "source", "score", "language",
                  "context", "context_start", "context_end", "sentence_start", "sentence_end", "sentence_index"]


def mention_disagrees(c: Case) -> None:
    """A mentions row differs from its document (or its sentence) on one copied field."""
    field = c.rng.choice(MENTION_FIELDS)

    def change(row: dict) -> None:
        value = row[field]
        if field == "label":
            row[field] = _other(value, LABELS)
        elif field in ("lemma", "entity_id"):
            row[field] = value + "x"
        elif field == "source":
            row[field] = _other(value, ["gazetteer_v1", "rules_v1", "gold_v1"])
        elif field == "score":
            row[field] = 0.5 if value is None or value != 0.5 else 0.25
        elif field == "language":
            row[field] = _other(value, ["pl", "en", "und"])
        elif field in ("text", "context"):
            row[field] = _flip_char(value, c.rng)
        elif field in ("context_start", "sentence_start"):
            row[field] = value - 1 if value > 0 else value + 1
        else:
            row[field] = value + 1

    c.edit("mentions", change)


def sentence_damage(c: Case) -> None:
    what = c.rng.choice(["start", "end", "language", "sentence_index"])

    def change(row: dict) -> None:
        if what == "language":
            row[what] = _other(row[what], ["pl", "en", "und"])
        elif what == "start":
            row[what] = row[what] + 1 if c.rng.random() < 0.5 or row[what] == 0 else row[what] - 1
        else:
            row[what] += 1

    c.edit("sentences", change)


def bad_bio(c: Case) -> None:
    def change(row: dict) -> None:
        tags = row["ner_tags"]
        tagged = [i for i, t in enumerate(tags) if t]
        if tagged and c.rng.random() < 0.5:  # a tag that decodes to another label
            i = c.rng.choice(tagged)
            name = BIO_TAGS[tags[i]]
            tags[i] = BIO_TAGS.index(f"{name[:2]}{_other(name[2:], LABELS)}")
        else:  # an I- that continues nothing
            i = c.rng.randrange(len(tags))
            previous = BIO_TAGS[tags[i - 1]][2:] if i else ""
            tags[i] = BIO_TAGS.index(f"I-{_other(previous, LABELS)}")

    c.edit("sentences", change)


def token_text_mismatch(c: Case) -> None:
    def change(row: dict) -> None:
        i = c.rng.randrange(len(row["tokens"]))
        row["tokens"][i] = _flip_char(row["tokens"][i], c.rng)

    c.edit("sentences", change)


def token_offset_shift(c: Case) -> None:
    def change(row: dict) -> None:
        offset = c.rng.choice(row["token_offsets"])
        offset["start"] += 1
        offset["end"] += 1

    c.edit("sentences", change)


def wrong_type(c: Case) -> None:
    """A column written with another Arrow type (what `datasets` would silently accept)."""
    config = c.rng.choice(list(CONFIGS))
    path = c.rng.choice(c.shards(config))
    table = pq.read_table(path)
    name = c.rng.choice([f.name for f in table.schema if pa.types.is_int64(f.type) or pa.types.is_float64(f.type)])
    i = table.schema.get_field_index(name)
    table = table.set_column(i, name, table.column(name).cast(pa.int32() if pa.types.is_int64(table.schema.field(name).type) else pa.float32()))
    pq.write_table(table, path)


def dropped_field(c: Case) -> None:
    config = c.rng.choice(list(CONFIGS))
    path = c.rng.choice(c.shards(config))
    table = pq.read_table(path)
    pq.write_table(table.drop_columns([c.rng.choice(table.column_names)]), path)


def delete_manifest(c: Case) -> None:
    (c.corpus / "manifest.json").unlink()
    c.reseal_manifest = False


def malformed_manifest(c: Case) -> None:
    path = c.corpus / "manifest.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(c.rng.choice([text[: c.rng.randrange(1, len(text) - 2)], "[1, 2]", '{"files": 3}']), encoding="utf-8")
    c.reseal_manifest = False


def manifest_missing_entry(c: Case) -> None:
    path = c.corpus / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["files"].pop(c.rng.randrange(len(data["files"])))
    path.write_text(json.dumps(data), encoding="utf-8")


def manifest_lists_missing_file(c: Case) -> None:
    shard = c.rng.choice([p for config in CONFIGS for p in c.shards(config)])
    if c.rng.random() < 0.5:  # the file is gone (and the card still lists it)
        shard.unlink()
    else:
        path = c.corpus / "manifest.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data["files"].append({"path": "documents/train-99999-of-99999.parquet", "sha256": "0" * 64, "num_rows": 1})
        path.write_text(json.dumps(data), encoding="utf-8")


def delete_card(c: Case) -> None:
    (c.root / "README.md").unlink()
    c.reseal_card = False


def malformed_card(c: Case) -> None:
    card = c.root / "README.md"
    text = card.read_text(encoding="utf-8")
    card.write_text(c.rng.choice([text.replace("configs:", "configs: [", 1), text.replace("\n---\n", "\n", 1), "---\n- a\n---\n"]), encoding="utf-8")
    c.reseal_card = False


def card_data_files(c: Case) -> None:
    card = c.root / "README.md"
    front = read_card(card)
    config = c.rng.choice(front["configs"])
    paths = config["data_files"][0]["path"]
    if len(paths) > 1 and c.rng.random() < 0.5:
        paths.pop(c.rng.randrange(len(paths)))
    else:
        paths.append(paths[0].replace("train-0", "train-9"))
    _write_card(card, front)


def truncated_file(c: Case) -> None:
    path = c.rng.choice([p for config in CONFIGS for p in c.shards(config)])
    data = path.read_bytes()
    path.write_bytes(data[: c.rng.randrange(1, len(data))])


def flipped_byte(c: Case) -> None:
    """One byte of the page area changed, where a reader would see it (a flip in bytes
    no reader uses, such as a page header's statistics, changes nothing to catch)."""
    path = c.rng.choice([p for config in CONFIGS for p in c.shards(config)])
    data = path.read_bytes()
    original = pq.read_table(path)
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    for _ in range(100):
        i = c.rng.randrange(4, footer)
        damaged = data[:i] + bytes([data[i] ^ (1 << c.rng.randrange(8))]) + data[i + 1 :]
        path.write_bytes(damaged)
        try:
            same = pq.ParquetFile(path, page_checksum_verification=True).read().equals(original)
        except Exception:
            same = False
        if not same:
            return
    raise AssertionError("no observable byte flip found")


def stray_file(c: Case) -> None:
    source = c.rng.choice(c.shards("documents"))
    shutil.copy(source, c.corpus / c.rng.choice(["documents/extra.parquet", "loose.parquet"]))


KINDS: dict[str, Callable[[Case], None]] = {
    "documents out of order (in a shard)": documents_swap_in_shard,
    "documents out of order (across shards)": documents_swap_across_shards,
    "duplicate document": duplicate_row("documents"),
    "duplicate mention row": duplicate_row("mentions"),
    "duplicate sentence row": duplicate_row("sentences"),
    "mentions out of order": swap_rows("mentions"),
    "sentences out of order": swap_rows("sentences"),
    "dropped sentence row": drop_row("sentences"),
    "dropped mention row": drop_row("mentions"),
    "dropped document row": drop_row("documents"),
    "metadata drift": metadata_drift,
    "text drift": text_drift,
    "wrong label": wrong_label,
    "null value": null_value,
    "null struct field": null_struct_field,
    "entity offsets shifted": entity_offset_shift,
    "block damaged": block_damage,
    "pattern broken": bad_pattern,
    "mention disagrees with its document": mention_disagrees,
    "sentence disagrees with its document": sentence_damage,
    "bad BIO": bad_bio,
    "token text mismatch": token_text_mismatch,
    "token offsets shifted": token_offset_shift,
    "wrong Arrow type": wrong_type,
    "dropped column": dropped_field,
    "manifest deleted": delete_manifest,
    "manifest malformed": malformed_manifest,
    "manifest entry missing": manifest_missing_entry,
    "manifest lists a missing file": manifest_lists_missing_file,
    "card deleted": delete_card,
    "card malformed": malformed_card,
    "card data_files wrong": card_data_files,
    "truncated file": truncated_file,
    "flipped byte": flipped_byte,
    "stray Parquet file": stray_file,
}


def test_every_corruption_is_caught(built: Path, tmp_path: Path) -> None:
    rng = random.Random(20261201)
    caught, missed, timings = Counter(), [], Counter()
    for kind, damage in KINDS.items():
        for n in range(CASES_PER_KIND):
            root = tmp_path / f"{kind.replace(' ', '_')}-{n}"
            shutil.copytree(built, root)
            case = Case(root, rng)
            damage(case)
            case.reseal()
            problems = validate_path(root)  # raises on a bug: that is a failure too
            lines = [str(p) for p in problems]
            if lines and not any("Traceback" in line for line in lines):
                caught[kind] += 1
            else:
                missed.append(f"{kind} #{n}")
            shutil.rmtree(root)
    total = sum(caught.values()) + len(missed)
    print(f"\n{sum(caught.values())} of {total} corruptions caught, {len(KINDS)} kinds")
    assert len(KINDS) >= 20 and total >= 250
    assert missed == []


def test_cli_reports_a_broken_file_in_one_line(built: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from kronika.cli import main

    root = tmp_path / "dataset"
    shutil.copytree(built, root)
    shard = sorted((root / "corpus" / "sentences").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])
    assert main(["validate", str(root / "corpus")]) == 1
    out = capsys.readouterr().out
    assert f"{shard}: not a readable Parquet file" in out
    assert "Traceback" not in out


def test_rules_cover_every_schema_keyword() -> None:
    """The vectorised rules are derived from the schema; a keyword they do not know would go unchecked."""
    from kronika.validate import RULE_KEYWORDS, SHAPE_KEYWORDS

    def keywords(node: object) -> set[str]:
        if isinstance(node, dict):
            found = set(node) - {"$schema", "$id", "title", "$defs"}
            for key, value in node.items():
                if key in ("properties", "$defs"):
                    for child in value.values():
                        found |= keywords(child)
                elif isinstance(value, dict):
                    found |= keywords(value)
            return found
        return set()

    for make in CONFIGS.values():
        assert keywords(make()) <= RULE_KEYWORDS | SHAPE_KEYWORDS | {"enum"}
