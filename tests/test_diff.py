"""``kronika diff``: build, add an article, remove one, relabel one gold mention, rebuild; the diff reports exactly that."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import SEED_ID
from corpus_helpers import EXTRA_SEEDS, build_corpus, write_seeds
from kronika.cli import main
from kronika.diff import compare, diff, load, summary_markdown

RELABELLED = "ORG-Wagner-Group"  # a gold entity no other article mentions: its new label changes nothing else


def _mentions(corpus: Path, doc_id: str) -> list[dict]:
    rows = pq.read_table(corpus / "documents").to_pylist()
    return next(r["entities"] for r in rows if r["id"] == doc_id)


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The corpus before (seed, 100, 101) and after (+102, -101, one gold mention ORG -> PRO), as two dataset roots."""
    base = tmp_path_factory.mktemp("diff")
    seeds = write_seeds(base / "seeds", ["100_warszawa", "101_krakow"])
    build_corpus(base / "old", seeds)
    (seeds / "101_krakow.txt").unlink()
    (seeds / "102_gdansk.txt").write_text(EXTRA_SEEDS["102_gdansk"], encoding="utf-8")
    gold_file = seeds / f"{SEED_ID}.gold.json"
    gold = json.loads(gold_file.read_text(encoding="utf-8"))
    edited = [m for m in gold["mentions"] if m["entity_id"] == RELABELLED]
    assert len(edited) == 1
    edited[0]["label"] = "PRO"
    gold_file.write_text(json.dumps(gold, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    build_corpus(base / "new", seeds)
    return base / "old", base / "new"


def _expected(old: Path, new: Path) -> dict:
    added, removed = _mentions(new / "corpus", "102_gdansk"), _mentions(old / "corpus", "101_krakow")
    assert added and removed, "the articles should have automatic mentions"

    def counts(mentions: list[dict], key: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in mentions:
            out[m[key]] = out.get(m[key], 0) + 1
        return dict(sorted(out.items()))

    return {
        "added": {"total": len(added), "by_label": counts(added, "label"), "by_layer": counts(added, "source")},
        "removed": {"total": len(removed), "by_label": counts(removed, "label"), "by_layer": counts(removed, "source")},
        "relabelled": {"total": 1, "by_label": {"ORG -> PRO": 1}, "by_layer": {"gold_v1": 1}},
        "changed": {"total": 0, "by_label": {}, "by_layer": {}},
    }


def test_diff_reports_exactly_the_three_changes(versions: tuple[Path, Path]) -> None:
    old, new = versions
    result = diff(str(old), str(new))
    assert result["documents"] == {
        "old": 3, "new": 3, "added": ["102_gdansk"], "removed": ["101_krakow"],
        "changed": {"text": [], "annotations": [SEED_ID]},
    }
    assert result["mentions"] == _expected(old, new)
    assert result["languages"] == {"changed": [], "spans_changed": []}
    assert result["splits"] == {"moved": []}


def test_cli_prints_and_writes_json(versions: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old, new = versions
    out = tmp_path / "diff.json"
    assert main(["diff", str(old / "corpus"), str(new / "corpus"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "+1 added, -1 removed" in printed and "1 relabelled" in printed and "ORG -> PRO 1" in printed
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["documents"]["added"] == ["102_gdansk"] and written["mentions"]["relabelled"]["total"] == 1
    assert main(["diff", str(tmp_path / "missing"), str(new)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def _git(repo: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin", "HOME": str(repo)}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_git_revisions_compare_like_folders(versions: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = versions
    repo = tmp_path / "repo"
    shutil.copytree(old / "corpus", repo / "corpus")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "old")
    _git(repo, "tag", "v1")
    shutil.rmtree(repo / "corpus")
    shutil.copytree(new / "corpus", repo / "corpus")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "new")
    by_git = diff("v1", "HEAD", repo=repo)
    by_folder = diff(str(old), str(new))
    assert {k: v for k, v in by_git.items() if k not in ("old", "new")} == {k: v for k, v in by_folder.items() if k not in ("old", "new")}
    assert diff("v1", str(repo), repo=repo)["documents"]["added"] == ["102_gdansk"]


def test_same_corpus_no_changes_and_markdown(versions: tuple[Path, Path]) -> None:
    old, _ = versions
    docs = load(old / "corpus")
    result = compare(docs, docs)
    assert result["documents"]["added"] == [] and all(v["total"] == 0 for v in result["mentions"].values())
    markdown = summary_markdown({"old": "a", "new": "b", **result})
    assert markdown.startswith("- documents: 3 -> 3 (+0 added")
