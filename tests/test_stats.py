"""The card's statistics section, recomputed from the Parquet by hand; deterministic plots; ``kronika stats``."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus_helpers import build_corpus, write_seeds
from kronika import plots, stats
from kronika.cli import main
from kronika.corpus_files import split_of
from kronika.write import card_yaml, present_languages, replace_stats_section


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small built corpus whose card carries the statistics section (added here if the build does not yet)."""
    root = tmp_path_factory.mktemp("stats")
    corpus = build_corpus(root, write_seeds(root / "seeds"))
    card = root / "README.md"
    text = card.read_text(encoding="utf-8")
    if stats.START not in text:
        card.write_text(replace_stats_section(text, stats.card_section(corpus)), encoding="utf-8")
    return root


def _tables(markdown: str) -> dict[str, list[list[str]]]:
    """Each ``### title`` of the section with the rows of the first table under it (cells as text)."""
    out: dict[str, list[list[str]]] = {}
    for block in re.split(r"^### ", markdown, flags=re.M)[1:]:
        title, _, rest = block.partition("\n")
        rows = [line.strip("|").split(" | ") for line in rest.splitlines() if line.startswith("| ")]
        out[title] = [[cell.strip() for cell in row] for row in rows]
    return out


def _num(cell: str) -> float:
    return float(cell.replace(",", ""))


def _by_hand(corpus: Path) -> dict:
    """The figures, from every row of every documents shard, with no code shared with kronika.stats."""
    docs = []
    for path in sorted((corpus / "documents").glob("*.parquet")):
        docs += [dict(row, split=split_of(path.name)) for row in pq.read_table(path).to_pylist()]
    count = lambda key: {k: (sum(1 for d in docs if d[key] == k), sum(d["metadata"]["word_count"] for d in docs if d[key] == k),
                             sum(len(d["entities"]) for d in docs if d[key] == k)) for k in {d[key] for d in docs}}
    mentions = [m for d in docs for m in d["entities"]]
    per_doc = [len(d["entities"]) for d in docs]
    ids = Counter(m["entity_id"] for m in mentions)
    return {
        "documents": len(docs), "words": sum(d["metadata"]["word_count"] for d in docs), "mentions": len(mentions),
        "split": count("split"), "language": count("language"), "entity_status": count("entity_status"),
        "labels": Counter(m["label"] for m in mentions), "layers": Counter(m["source"] for m in mentions),
        "spans": Counter(s["language"] for d in docs for s in d["languages"]),
        "per_doc": (min(per_doc), statistics.median(per_doc), max(per_doc)),
        "top": ids.most_common(1)[0][1], "entity_ids": set(ids),
    }


def test_card_statistics_equal_the_parquet(dataset: Path) -> None:
    card = (dataset / "README.md").read_text(encoding="utf-8")
    section = card[card.index(stats.START) : card.index(stats.END)]
    tables, truth = _tables(section), _by_hand(dataset / "corpus")
    assert f"{truth['documents']:,} documents, {truth['words']:,} words, {truth['mentions']:,} entity mentions" in section
    for title, key in (("Splits", "split"), ("Languages", "language"), ("Entity status", "entity_status")):
        assert {row[0]: tuple(int(_num(c)) for c in row[1:]) for row in tables[title][1:]} == truth[key], title
    labels = tables["Mentions per label"]
    assert {row[0]: int(_num(row[-1])) for row in labels[1:]} == truth["labels"]
    assert labels[0][1:-1] == list(truth["split"]) or set(labels[0][1:-1]) == set(truth["split"])
    assert {row[0]: int(_num(row[1])) for row in tables["Mentions per layer"][1:]} == truth["layers"]
    assert {row[0]: int(_num(row[1])) for row in tables["Language spans"][1:]} == truth["spans"]
    low, median, _, high = (_num(c) for c in tables["Mentions per document"][1])
    assert (low, median, high) == truth["per_doc"]
    top = tables[f"Most frequent entities (top {stats.TOP_ENTITIES})"][1:]
    assert int(_num(top[0][2])) == truth["top"] and {row[0].strip("`") for row in top} <= truth["entity_ids"]
    assert "corpus/stats/labels.png" in section and "@misc{kronika" in card


def test_json_and_cli_print_the_same_figures(dataset: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["stats", "--corpus", str(dataset / "corpus"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(stats.compute(dataset / "corpus")))
    assert main(["stats", "--corpus", str(dataset / "corpus")]) == 0
    assert "### Mentions per label" in capsys.readouterr().out
    assert main(["stats", "--corpus", str(dataset / "nothing")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


PLOT_SCRIPT = "import sys; from pathlib import Path; from kronika.stats import write_plots; write_plots(Path(sys.argv[1]), Path(sys.argv[2]))"


def test_plots_are_byte_identical_across_processes(dataset: Path, tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-c", PLOT_SCRIPT, str(dataset / "corpus"), str(tmp_path / run)], check=True, timeout=120)
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / run).iterdir())})
    assert outputs[0] == outputs[1] and set(outputs[0]) == set(stats.PLOTS)
    assert all(data.startswith(b"\x89PNG") and b"matplotlib" not in data for data in outputs[0].values())


def test_plots_change_with_the_data(dataset: Path, tmp_path: Path) -> None:
    base = stats.compute(dataset / "corpus")
    other = json.loads(json.dumps(base))
    other["labels"]["PER"] = {split: n + 7 for split, n in other["labels"].get("PER", {"train": 0}).items()}
    a = stats.write_plots(dataset / "corpus", tmp_path / "a", stats=base)
    b = stats.write_plots(dataset / "corpus", tmp_path / "b", stats=other)
    assert a[0].read_bytes() != b[0].read_bytes() and a[1].read_bytes() == b[1].read_bytes()


def test_cached_plots_are_copied_without_drawing(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = stats.compute(dataset / "corpus")
    drawn = stats.write_plots(dataset / "corpus", tmp_path / "a", stats=figures, cache=tmp_path / "cache")
    monkeypatch.setattr(stats, "draw_plots", lambda *args: pytest.fail("unchanged figures were drawn again"))
    copied = stats.write_plots(dataset / "corpus", tmp_path / "b", stats=figures, cache=tmp_path / "cache")
    assert [p.read_bytes() for p in copied] == [p.read_bytes() for p in drawn]
    other = json.loads(json.dumps(figures))
    other["labels"]["PER"] = {split: n + 7 for split, n in other["labels"].get("PER", {"train": 0}).items()}
    with pytest.raises(pytest.fail.Exception):
        stats.write_plots(dataset / "corpus", tmp_path / "c", stats=other, cache=tmp_path / "cache")


def test_a_plot_process_draws_the_same_bytes_and_a_failed_one_falls_back(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = stats.compute(dataset / "corpus")
    here = stats.write_plots(dataset / "corpus", tmp_path / "here", stats=figures)
    drawer = plots.PlotProcess()
    there = stats.write_plots(dataset / "corpus", tmp_path / "there", stats=figures, drawer=drawer)
    assert [p.read_bytes() for p in there] == [p.read_bytes() for p in here]
    monkeypatch.setattr(plots.sys, "executable", "/nonexistent/python")
    broken = plots.PlotProcess()  # cannot start: write_plots draws in this process
    again = stats.write_plots(dataset / "corpus", tmp_path / "again", stats=figures, drawer=broken)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in here]
    plots.PlotProcess().close()  # unused: ends without drawing


def test_splits_and_duplicate_fields_are_used_when_present(dataset: Path, tmp_path: Path) -> None:
    """A corpus with validation/test shards and the duplicate fields: splits from the names, clusters counted."""
    rows = pq.read_table(dataset / "corpus" / "documents").to_pylist()
    ids = sorted(r["id"] for r in rows)
    cluster = {ids[0]: ids[0], ids[1]: ids[0]}
    table = pa.Table.from_pylist([dict(r, duplicate_cluster=cluster.get(r["id"]), duplicate_count=2 if r["id"] in cluster else 1) for r in rows])
    folder = tmp_path / "corpus" / "documents"
    folder.mkdir(parents=True)
    pq.write_table(table.slice(0, 2), folder / "train-00000-of-00001.parquet")
    pq.write_table(table.slice(2), folder / "test-00000-of-00001.parquet")
    result = stats.compute(tmp_path / "corpus")
    assert list(result["splits"]) == ["train", "test"]
    assert result["duplicates"] == {"clusters": 1, "documents_in_clusters": 2, "redundant_copies": 1, "largest_cluster": 2}
    assert "### Duplicates" in stats.stats_markdown(tmp_path / "corpus")
    assert stats.compute(dataset / "corpus")["duplicates"] is None or "duplicate_cluster" in pq.read_schema(
        next((dataset / "corpus" / "documents").glob("*.parquet"))).names


def test_replace_stats_section() -> None:
    section = f"{stats.START}\nfigures\n{stats.END}\n"
    body = "# Kronika\n\nManual.\n"
    once = replace_stats_section(body, section)
    assert once == body + "\n" + section
    assert replace_stats_section(once, section) == once
    new = f"{stats.START}\nnew figures\n{stats.END}\n"
    around = f"# K\n\n{section}\n## Licenses\n"
    assert replace_stats_section(around, new) == f"# K\n\n{new}\n## Licenses\n"


def test_card_yaml_has_the_hub_fields() -> None:
    split = {"paths": ["corpus/documents/train-00000-of-00001.parquet"], "num_examples": 1, "num_bytes": 1}
    try:
        card = card_yaml(version="0.1.0", splits={"documents": {"train": split}}, languages=["pl", "und", "en"])
    except (TypeError, KeyError):  # the card before splits: one dict per config
        card = card_yaml(version="0.1.0", splits={"documents": split}, languages=["pl", "und", "en"])
    assert card["language"] == ["en", "pl"] and card["multilinguality"] == "multilingual"
    assert card["annotations_creators"] == ["expert-generated", "machine-generated"]
    assert card["language_creators"] == ["found"] and card["source_datasets"] == ["original"]
    assert present_languages(["und"]) == ["und"]


def test_the_plot_process_imports_matplotlib_and_no_pyarrow() -> None:
    """It starts beside a build and must be ready when the figures are: it loads only
    what drawing needs (``kronika.plots``), not the statistics' pyarrow."""
    code = (
        "import sys; from kronika import plots; plots._serve_plots(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyarrow', 'matplotlib'}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], input="", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['matplotlib']"
