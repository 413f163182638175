"""End to end: seeds -> corpus, read back by datasets, pyarrow, pandas, polars and DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SEED_ID
from kronika.build import BuildError, build, cut_points
from kronika.cli import main
from kronika.record import raw_bytes
from kronika.validate import validate_path

DOCUMENTS = ROOT / "corpus" / "documents"  # any number of shards: users add seeds


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build of the repo's seeds into a fresh dataset root."""
    root = tmp_path_factory.mktemp("dataset")
    build(ROOT / "seeds", root / "corpus", jobs=1, progress=False)
    return root


def test_rebuild_equals_committed_corpus(built: Path) -> None:
    assert _tree(built / "corpus") == _tree(ROOT / "corpus"), "rebuild the corpus: kronika build"


def test_two_builds_are_byte_identical(built: Path, tmp_path: Path) -> None:
    assert main(["build", "--seeds", str(ROOT / "seeds"), "--out", str(tmp_path / "X"), "--jobs", "1", "--quiet", "--no-cache"]) == 0
    assert _tree(tmp_path / "X") == _tree(built / "corpus")


def test_seed_row_acceptance(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(str(ROOT), split="train", cache_dir=str(tmp_path / "cache"))
    row = next(r for r in ds if r["id"] == SEED_ID)
    assert row["metadata"]["date"] == "2023-09"
    assert row["language"] == "pl"
    assert len(row["entities"]) >= 40
    assert all(row["text"][m["start"] : m["end"]] == m["text"] for m in row["entities"])
    assert raw_bytes(row) == (ROOT / "seeds" / f"{SEED_ID}.txt").read_bytes()


def test_load_dataset_equals_pyarrow(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(str(ROOT), split="train", cache_dir=str(tmp_path / "cache"))
    table = pq.read_table(DOCUMENTS)
    assert ds.to_list() == table.to_pylist()
    assert ds.info.version is not None and str(ds.info.version) == json.loads((ROOT / "corpus" / "manifest.json").read_text())["version"]


def test_plain_readers() -> None:
    duckdb = pytest.importorskip("duckdb")
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")

    n = pq.read_table(DOCUMENTS).num_rows
    files = f"{DOCUMENTS}/*.parquet"
    assert len(pd.read_parquet(DOCUMENTS)) == n
    assert pl.read_parquet(files).height == n
    assert duckdb.sql(f"select count(*) from read_parquet('{files}')").fetchall()[0][0] == n
    entities = duckdb.sql(f"select count(*) from (select unnest(entities) from read_parquet('{files}'))").fetchall()[0][0]
    assert entities >= 40


def test_readme_plain_parquet_examples_run_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("duckdb", "pandas", "polars"):
        pytest.importorskip(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("As plain Parquet") :]
    code = section[section.index("```python\n") + 10 : section.index("```\n", section.index("```python\n") + 10)]
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 (our own README)
    assert scope["table"].num_rows == len(scope["df"]) >= 1
    labels = [label for row in scope["tags"].fetchall() for label in row[3]]
    assert "O" in labels and any(label.startswith("B-") for label in labels)


def test_committed_corpus_is_valid() -> None:
    assert [str(p) for p in validate_path(ROOT / "corpus")] == []


def _seeds(folder: Path, texts: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in texts.items():
        (folder / name).write_bytes(raw)
    return folder


def test_bad_seed_fails_and_leaves_output_untouched(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path / "seeds", {"a.txt": "Ala ma kota.\n".encode()})
    out = tmp_path / "corpus"
    build(seeds, out, jobs=1, progress=False)
    before = _tree(out)
    (seeds / "b.txt").write_bytes(b"bad \xff byte")
    with pytest.raises(BuildError, match=r"b.txt: invalid UTF-8 at byte offset 4"):
        build(seeds, out, jobs=1, progress=False)
    assert _tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".corpus")]


def test_keep_going_accounts_for_every_seed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    seeds = _seeds(tmp_path / "seeds", {"a.txt": b"Ala ma kota.\n", "b.txt": b"", "c.txt": b"x\x00y", "notes.md": b"hi"})
    out = tmp_path / "corpus"
    assert main(["build", "--seeds", str(seeds), "--out", str(out), "--keep-going", "--quiet", "--no-cache", "--jobs", "1"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["reason"] for r in manifest["rejected"]] == ["empty file", "NUL byte at byte offset 1"]
    assert [r["reason"] for r in manifest["skipped"]] == ["not a seed: only *.txt files are built"]
    assert manifest["files"][0]["num_rows"] == 1
    printed = capsys.readouterr().out
    assert "built 1 of 3 seeds" in printed and "rejected" in printed and "b.txt: empty file" in printed


def test_cli_build_error_is_one_line_per_seed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    seeds = _seeds(tmp_path / "seeds", {"a.txt": b"", "b.txt": b"\xef\xbb"})
    assert main(["build", "--seeds", str(seeds), "--out", str(tmp_path / "corpus"), "--quiet", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "a.txt: empty file" in err and "b.txt: invalid UTF-8 at byte offset 0" in err
    assert "Traceback" not in err
    assert not (tmp_path / "corpus").exists()


def test_shards_and_jobs_give_identical_bytes(tmp_path: Path) -> None:
    texts = {f"doc{i:02d}.txt": f"Tytuł {i}\n\nAkapit numer {i} o Warszawie i Krakowie.\n".encode() for i in range(5)}
    seeds = _seeds(tmp_path / "seeds", texts)
    build(seeds, tmp_path / "one" / "corpus", jobs=1, shard_size=2, progress=False)
    build(seeds, tmp_path / "two" / "corpus", jobs=2, shard_size=2, progress=False)
    one, two = _tree(tmp_path / "one" / "corpus"), _tree(tmp_path / "two" / "corpus")
    assert one == two
    documents = sorted(k for k in one if k.startswith("documents/"))
    assert documents == [f"documents/train-0000{i}-of-00003.parquet" for i in range(3)]  # cut_points: [2, 4, 5]
    assert (tmp_path / "one" / "README.md").read_bytes() == (tmp_path / "two" / "README.md").read_bytes()
    assert validate_path(tmp_path / "one" / "corpus") == []


def _shards(ids: list[str], size: int) -> set[tuple[str, ...]]:
    cuts = cut_points(ids, size)
    return {tuple(ids[a:b]) for a, b in zip([0, *cuts], cuts)}


CS = (
    "Vláda dnes schválila nový zákon o státním rozpočtu na příští rok. Ministr financí uvedl, že deficit "
    "bude nižší než letos a že se podaří snížit výdaje na provoz úřadů. Opozice návrh kritizovala. "
)
SK = "Podľa ministra to však nebude stačiť, pretože ekonomika sa spomaľuje a ceny energií stále rastú."


def test_a_one_job_build_of_shards_asks_a_served_lingua(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1-job build of several shards asks lingua in a server process (its models load
    on another core while the shard goes on; the rows are finished at the shard's end),
    which stops with the build: the rows are those of a build that asks lingua in its
    own process."""
    from kronika import layers
    from kronika.build.engines import local

    texts = {f"doc{i:02d}.txt": f"Zpráva {i}\n\n{CS}{SK} {CS}\n".encode() for i in range(5)}  # 3 shards
    seeds = _seeds(tmp_path / "seeds", texts)
    served_by: list[object] = []
    real_serve = local._serve_lingua
    monkeypatch.setattr(local, "_serve_lingua", lambda: served_by.append(proxy := real_serve()) or proxy)
    layers.tools_for.cache_clear()  # taggers made by other tests hold their own lingua
    try:
        build(seeds, tmp_path / "served" / "corpus", jobs=1, shard_size=2, progress=False)
    finally:
        layers.tools_for.cache_clear()
    assert len(served_by) == 1 and local._SERVERS == []  # one server, stopped with the build
    build(seeds, tmp_path / "here" / "corpus", jobs=1, progress=False)  # one shard: lingua in this process
    assert len(served_by) == 1

    def rows(corpus: Path) -> list[dict]:
        return pq.read_table(sorted((corpus / "documents").glob("*.parquet"))).sort_by("id").to_pylist()

    served, here = rows(tmp_path / "served" / "corpus"), rows(tmp_path / "here" / "corpus")
    assert served == here
    assert all([s["language"] for s in row["languages"]] == ["cs", "sk", "cs"] for row in served)


def test_workers_share_one_lingua_with_the_same_answers() -> None:
    """The lingua server of a parallel build answers exactly as a local ``Lingua``."""
    import multiprocessing
    import os

    from kronika.language import Lingua
    from kronika.language_server import LinguaServer

    questions = [
        ("Газпром спира доставките за България", ("bg", "mk"), False),
        ("Vláda schválila návrh zákona o rozpočtu", ("cs", "sk"), False),
        ("we will not accept it", ("en", "pl"), True),
        ("To jest zdanie po polsku", ("cs", "pl", "sk"), False),
    ]
    key = os.urandom(16)
    with LinguaServer(ctx=multiprocessing.get_context("forkserver"), authkey=key) as server:
        client = LinguaServer(address=server.address, authkey=key)
        client.connect()
        served = client.lingua()
        remote = [served.confidences(text, codes, quick) for text, codes, quick in questions]
    local = Lingua()
    for answer, (text, codes, quick) in zip(remote, questions):
        # lingua itself varies in the last bits from call to call; outputs keep 4 decimals
        assert answer == pytest.approx(local.confidences(text, codes, quick), abs=1e-12)


def test_helpers_exit_when_the_build_is_killed() -> None:
    """Workers and the lingua server watch the build's process (``exit_with``)."""
    import subprocess
    import sys

    build = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    helper = subprocess.Popen([
        sys.executable, "-c",
        f"import time; from kronika.build import exit_with; exit_with({build.pid}); time.sleep(60)",
    ])
    try:
        build.kill()
        build.wait()
        assert helper.wait(timeout=20) == 1
    finally:
        helper.kill()


def test_shard_cuts_are_bounded_and_local() -> None:
    ids = [f"{i:06d}" for i in range(20_000)]
    cuts = cut_points(ids, 250)
    sizes = [b - a for a, b in zip([0, *cuts], cuts)]
    assert cuts[-1] == len(ids) and min(sizes[:-1]) >= 125 and max(sizes) <= 500
    assert 200 <= sum(sizes) / len(sizes) <= 300
    before = _shards(ids, 250)
    for added in ("000100a", "010000a", "019999a"):  # a new seed at the start, middle, end
        after = _shards(sorted([*ids, added]), 250)
        assert len(after - before) <= 2, added  # its own shard, and the next one at most


def test_incremental_rebuild_reannotates_only_the_new_seed(tmp_path: Path) -> None:
    texts = {f"doc{i}.txt": f"Tytuł {i}\n\nAkapit {i}: Donald Tusk spotkał się z Olafem Scholzem w Berlinie.\n".encode() for i in range(4)}
    seeds = _seeds(tmp_path / "seeds", texts)
    cache = tmp_path / "cache"
    first = build(seeds, tmp_path / "a" / "corpus", jobs=1, shard_size=2, progress=False, cache_dir=cache)
    assert first.from_cache == 0
    (seeds / "doc9.txt").write_bytes("Nowy\n\nAkapit o Warszawie.\n".encode())
    (seeds / "doc1.txt").write_bytes("Zmieniony\n\nAkapit o Krakowie.\n".encode())
    second = build(seeds, tmp_path / "a" / "corpus", jobs=1, shard_size=2, progress=False, cache_dir=cache)
    assert (second.built, second.from_cache) == (5, 3)
    build(seeds, tmp_path / "b" / "corpus", jobs=1, shard_size=2, progress=False)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_sentences_config_has_bio_class_labels(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(str(ROOT), "sentences", split="train", cache_dir=str(tmp_path / "cache"))
    tags = ds.features["ner_tags"]
    assert isinstance(tags, datasets.List) and isinstance(tags.feature, datasets.ClassLabel)
    assert tags.feature.names[:3] == ["O", "B-PER", "I-PER"] and len(tags.feature.names) == 11
    documents = pq.read_table(DOCUMENTS).to_pylist()
    gold = {(d["id"], m["start"], m["end"], m["label"]) for d in documents for m in d["entities"]}
    decoded = set()
    for row in ds:
        current = None
        for off, tag in zip(row["token_offsets"], tags.feature.int2str(row["ner_tags"])):
            if tag.startswith("I-") and current:
                current[2] = off["end"]
                continue
            if current:
                decoded.add(tuple(current))
            current = [row["doc_id"], off["start"], off["end"], tag[2:]] if tag != "O" else None
        if current:
            decoded.add(tuple(current))
    manifest = json.loads((ROOT / "corpus" / "manifest.json").read_text())
    misaligned = {(m["doc_id"], m["start"], m["end"]) for m in manifest["misaligned_mentions"]}
    assert {(d, s, e, l) for d, s, e, l in decoded} == {g for g in gold if g[:3] not in misaligned}
    decoded_labels = {(d, s, e): l for d, s, e, l in decoded}
    assert all(decoded_labels[(d, s, e)] == l for d, s, e, l in gold if (d, s, e) in decoded_labels)


def test_mentions_config_counts_every_mention(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(str(ROOT), "mentions", split="train", cache_dir=str(tmp_path / "cache"))
    documents = pq.read_table(DOCUMENTS).to_pylist()
    assert len(ds) == sum(len(d["entities"]) for d in documents)
    texts = {d["id"]: d["text"] for d in documents}
    assert all(texts[r["doc_id"]][r["start"] : r["end"]] == r["text"] for r in ds)


def test_readme_is_the_card_built_from_the_shipped_template() -> None:
    """README.md's body is src/kronika/card.md with the statistics section filled in: edit the template."""
    from kronika.write import card_body

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = readme[readme.index("\n---\n", 3) + 5 :]
    start, end = "<!-- kronika:stats:start -->\n", "<!-- kronika:stats:end -->\n"
    strip = lambda text: text[: text.index(start)] + text[text.index(end) + len(end) :]  # noqa: E731
    assert strip(body) == strip(card_body()), "edit src/kronika/card.md, then run kronika build"


def test_a_card_anywhere_has_the_whole_documentation(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path / "seeds", {"a.txt": "Ala ma kota w Warszawie.\n".encode()})
    build(seeds, tmp_path / "elsewhere" / "out", jobs=1, progress=False)
    card = (tmp_path / "elsewhere" / "README.md").read_text(encoding="utf-8")
    assert "## Set up" in card and "## Statistics" in card and "## Licenses" in card


def test_each_shard_holds_one_split_train_first() -> None:
    """Splits are cut apart, so the small ones come in few files (issue 10)."""
    from kronika.build.plan import plan

    seeds = [Path(f"/s/{i:04d}.txt") for i in range(1000)]
    split = {p.stem: ("train", "validation", "test")[int(p.stem) % 10 // 8 + (int(p.stem) % 10 == 9)] for p in seeds}
    placement = {stem: (s, None, 1) for stem, s in split.items()}
    specs = plan(seeds, Path("/s"), Path("/stage"), 250, placement, version="0")
    splits = [{p[0] for p in spec.placement} for spec in specs]
    assert all(len(s) == 1 for s in splits)
    order = [s.pop() for s in splits]
    assert order == sorted(order, key=("train", "validation", "test").index)
    assert order.count("validation") == order.count("test") == 1  # 100 seeds each: one shard
    assert sorted(p for spec in specs for p in spec.seeds) == [str(p) for p in seeds]
    for spec in specs:
        assert list(spec.seeds) == sorted(spec.seeds)
