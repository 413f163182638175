"""``kronika release``: in a temporary clone of a tiny dataset repository, never in the project's own."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from corpus_helpers import EXTRA_SEEDS, write_seeds
from kronika.cli import main
from kronika.release import ReleaseError, bump_init, bump_pyproject, changelog_with, rebuild, release

PYPROJECT = '[build-system]\nrequires = ["hatchling"]\n\n[project]\nname = "kronika"\nversion = "0.1.0"\n\n[tool.x]\nversion = "9.9.9"\n'


@pytest.fixture()
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone of a tiny repository (pyproject, __init__, seeds, corpus, CHANGELOG) released as v0.1.0, with one new seed."""
    for key, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                       "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": "/dev/null"}.items():
        monkeypatch.setenv(key, value)
    origin = tmp_path / "origin"
    (origin / "src" / "kronika").mkdir(parents=True)
    (origin / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    shutil.copy(ROOT / "src" / "kronika" / "__init__.py", origin / "src" / "kronika" / "__init__.py")
    shutil.copy(ROOT / "CHANGELOG.md", origin / "CHANGELOG.md")
    (origin / ".gitignore").write_text(".kronika-cache/\n", encoding="utf-8")
    write_seeds(origin / "seeds", ["100_warszawa"])
    rebuild(origin, "0.1.0")
    _git(origin, "init", "-q")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-qm", "0.1.0")
    _git(origin, "tag", "-a", "v0.1.0", "-m", "0.1.0")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True, capture_output=True)
    (clone / "seeds" / "101_krakow.txt").write_text(EXTRA_SEEDS["101_krakow"], encoding="utf-8")
    _git(clone, "add", "seeds")
    _git(clone, "commit", "-qm", "a new article")
    return clone


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_release_bumps_rebuilds_logs_and_tags(clone: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["release", "0.2.0", "--repo", str(clone)]) == 0
    assert "released 0.2.0 (compared with v0.1.0), tagged v0.2.0" in capsys.readouterr().out
    pyproject = (clone / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "kronika"\nversion = "0.2.0"' in pyproject and 'version = "9.9.9"' in pyproject
    assert json.loads((clone / "corpus" / "manifest.json").read_text(encoding="utf-8"))["version"] == "0.2.0"
    card = yaml.safe_load((clone / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    assert {c["version"] for c in card["configs"]} == {"0.2.0"}
    log = (clone / "CHANGELOG.md").read_text(encoding="utf-8")
    entry = log[log.index("## 0.2.0") : log.index("## 0.1.0")]
    assert "documents: 2 -> 3 (+1 added, -0 removed" in entry and "added: 101_krakow" in entry
    assert _git(clone, "rev-parse", "v0.2.0^{commit}") == _git(clone, "rev-parse", "HEAD")
    assert _git(clone, "status", "--porcelain", "--untracked-files=no") == ""
    assert "101_krakow" in _git(clone, "show", "--stat", "HEAD")
    assert "Release 0.2.0" in _git(clone, "log", "-1", "--format=%B")


def test_release_refuses_and_leaves_nothing(clone: Path) -> None:
    head = _git(clone, "rev-parse", "HEAD")
    with pytest.raises(ReleaseError, match="exists already"):
        release("0.1.0", root=clone)
    with pytest.raises(ReleaseError, match="older than"):
        release("0.0.9", root=clone)
    with pytest.raises(ReleaseError, match="not a version"):
        release("1.0", root=clone)
    (clone / "CHANGELOG.md").write_text("edited\n", encoding="utf-8")
    with pytest.raises(ReleaseError, match="uncommitted changes"):
        release("0.2.0", root=clone)
    assert _git(clone, "rev-parse", "HEAD") == head and "v0.2.0" not in _git(clone, "tag")


def test_a_failed_rebuild_restores_the_version(clone: Path) -> None:
    (clone / "seeds" / "bad.txt").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ReleaseError, match="rebuild failed"):
        release("0.2.0", root=clone, allow_dirty=True)
    assert 'version = "0.1.0"' in (clone / "pyproject.toml").read_text(encoding="utf-8")
    assert "v0.2.0" not in _git(clone, "tag")


def test_version_text_edits() -> None:
    assert 'version = "1.2.3"' in bump_pyproject(PYPROJECT, "1.2.3") and 'version = "9.9.9"' in bump_pyproject(PYPROJECT, "1.2.3")
    assert bump_init('__version__ = "0.1.0"\n', "0.2.0") == '__version__ = "0.2.0"\n'
    assert bump_init('__version__ = version("kronika")\n', "0.2.0") == '__version__ = version("kronika")\n'
    log = "# Changelog\n\nIntro.\n\n## 0.1.0 (unreleased)\n\n- first\n"
    assert changelog_with(log, "0.1.0", "- sum\n", "2025-01-02") == (
        "# Changelog\n\nIntro.\n\n## 0.1.0 (2025-01-02)\n\n- first\n\n### Changes in the corpus (kronika diff)\n\n- sum\n")
    newer = changelog_with(log, "0.2.0", "- sum\n", "2025-01-02")
    assert newer.index("## 0.2.0 (2025-01-02)") < newer.index("## 0.1.0 (unreleased)")
