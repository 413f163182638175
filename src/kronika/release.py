"""``kronika release X.Y.Z``: bump the version, rebuild, write the CHANGELOG entry, commit and tag.

The version in ``pyproject.toml`` is the dataset version; the build writes it
into the card (``configs[].version``), the Parquet metadata and the manifest.
``kronika.__version__`` comes from the installed package metadata, which an
editable install reads at install time, so a rebuild in this process would
still see the old version: the rebuild therefore runs with the new version set
on ``kronika`` and ``kronika.build.driver`` for its duration. A literal
``__version__ = "..."`` in ``src/kronika/__init__.py`` is bumped as well.

The CHANGELOG entry is the ``kronika diff`` summary against the previous
release (its ``v*`` tag), or against the corpus as it was before the rebuild
when nothing was tagged yet. Nothing is committed or tagged unless every step
succeeded; a failed rebuild puts the bumped files back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kronika import diff

VERSION_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
PROJECT_VERSION_RE = re.compile(r'(?ms)^(\[project\]\s*$.*?^version\s*=\s*")([^"]+)(")')
INIT_VERSION_RE = re.compile(r'(?m)^(__version__\s*=\s*["\'])([^"\']+)(["\'])')
INIT = Path("src/kronika/__init__.py")


class ReleaseError(RuntimeError):
    """The release cannot be made; one line saying why (nothing was committed or tagged)."""


@dataclass
class Release:
    version: str
    previous: str
    tag: str | None
    summary: str


# --------------------------------------------------------------- versions
def project_version(pyproject_text: str) -> str:
    match = PROJECT_VERSION_RE.search(pyproject_text)
    if not match:
        raise ReleaseError("pyproject.toml: no version = \"...\" in [project]")
    return match[2]


def bump_pyproject(text: str, version: str) -> str:
    project_version(text)
    return PROJECT_VERSION_RE.sub(lambda m: f"{m[1]}{version}{m[3]}", text, count=1)


def bump_init(text: str, version: str) -> str:
    """A literal ``__version__`` is bumped; one read from the package metadata follows pyproject.toml by itself."""
    return INIT_VERSION_RE.sub(lambda m: f"{m[1]}{version}{m[3]}", text, count=1)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def changelog_with(text: str, version: str, summary: str, date: str) -> str:
    """The CHANGELOG with this release's entry.

    A ``## X.Y.Z (unreleased)`` heading for this version becomes the release
    heading and keeps its notes, the summary following them; otherwise a new
    entry goes above the first ``## `` heading (at the end when there is none).
    """
    entry = f"### Changes in the corpus (kronika diff)\n\n{summary}"
    unreleased = re.search(rf"(?m)^## {re.escape(version)} \(unreleased\)\s*$", text)
    if unreleased:
        nxt = re.compile(r"(?m)^## ").search(text, unreleased.end())
        end = nxt.start() if nxt else len(text)
        notes = text[unreleased.end():end].strip("\n")
        block = f"## {version} ({date})\n\n" + (f"{notes}\n\n" if notes else "") + entry + ("\n" if text[end:] else "")
        return text[:unreleased.start()] + block + text[end:]
    first = re.search(r"(?m)^## ", text)
    block = f"## {version} ({date})\n\n{entry}\n"
    if not first:
        return (text.rstrip("\n") + "\n\n" if text.strip() else "# Changelog\n\n") + block
    return text[:first.start()] + block + text[first.start():]


# -------------------------------------------------------------------- git
def git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=600, check=False)
    except OSError as err:
        raise ReleaseError(f"git cannot be run: {err.strerror or err}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ReleaseError(f"git {args[0]}: {lines[-1] if lines else 'failed'}")
    return done.stdout


def previous_tag(root: Path) -> str | None:
    tags = [t for t in git(root, "tag", "--list", "v*").split() if VERSION_RE.match(t[1:])]
    return max(tags, key=lambda t: _key(t[1:]), default=None)


# ---------------------------------------------------------------- rebuild
@contextmanager
def building_as(version: str) -> Iterator[None]:
    """``kronika.__version__`` (and the build's copy of it) set to ``version`` for a rebuild (see the module doc)."""
    import kronika
    import kronika.build.driver as build_module

    saved = (kronika.__version__, build_module.__version__)
    kronika.__version__ = build_module.__version__ = version
    try:
        yield
    finally:
        kronika.__version__, build_module.__version__ = saved


def rebuild(root: Path, version: str, *, seeds: str = "seeds", out: str = "corpus", jobs: int | None = None) -> None:
    from kronika.build import BuildError, build

    with building_as(version):
        try:
            build(root / seeds, root / out, jobs=jobs, progress=False, cache_dir=root / ".kronika-cache")
        except BuildError as err:
            raise ReleaseError(f"the rebuild failed: {err}") from None


# ---------------------------------------------------------------- release
def release(version: str, *, root: Path = Path("."), seeds: str = "seeds", out: str = "corpus", jobs: int | None = None,
            tag: bool = True, allow_dirty: bool = False, today: str | None = None) -> Release:
    """Make the release (see the module doc); raise ``ReleaseError`` with nothing committed."""
    if not VERSION_RE.match(version):
        raise ReleaseError(f"{version!r} is not a version X.Y.Z")
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise ReleaseError(f"{root}: no pyproject.toml; run it at the repository root or give --repo")
    current = project_version(pyproject.read_text(encoding="utf-8"))
    _check_repo(root, version, current, allow_dirty)
    previous = previous_tag(root)
    with ExitStack() as stack:
        before = _previous_corpus(root, out, previous, stack)
        changed = _bump(root, version)
        try:
            rebuild(root, version, seeds=seeds, out=out, jobs=jobs)
        except BaseException:
            for path, text in changed.items():
                path.write_text(text, encoding="utf-8")
            raise
        result = diff.compare(diff.load(before) if before else {}, diff.load(root / out))
    summary = diff.summary_markdown(result)
    changelog = root / "CHANGELOG.md"
    old_log = changelog.read_text(encoding="utf-8") if changelog.exists() else ""
    changelog.write_text(changelog_with(old_log, version, summary, today or dt.date.today().isoformat()), encoding="utf-8")
    _commit(root, version, out, summary, tag)
    return Release(version=version, previous=previous or f"{current} (working tree)", tag=f"v{version}" if tag else None, summary=summary)


def _check_repo(root: Path, version: str, current: str, allow_dirty: bool) -> None:
    git(root, "rev-parse", "--show-toplevel")
    if _key(version) < _key(current):
        raise ReleaseError(f"{version} is older than the current version {current}")
    if git(root, "tag", "--list", f"v{version}").strip():
        raise ReleaseError(f"tag v{version} exists already")
    if not allow_dirty and git(root, "status", "--porcelain", "--untracked-files=no").strip():
        raise ReleaseError("the work tree has uncommitted changes; commit them first (or --allow-dirty)")


def _previous_corpus(root: Path, out: str, previous: str | None, stack: ExitStack) -> Path | None:
    """The corpus to compare with: the previous tag's, else a copy of the current one, else none (everything is new)."""
    if previous:
        return diff.extract_revision(previous, stack, repo=root, corpus_path=out)
    if not (root / out / "documents").is_dir():
        return None
    copy = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kronika-release-"))) / "corpus"
    shutil.copytree(root / out, copy)
    return copy


def _bump(root: Path, version: str) -> dict[Path, str]:
    """Write the new version into pyproject.toml (and a literal ``__version__``); returns the old texts."""
    old: dict[Path, str] = {}
    pyproject = root / "pyproject.toml"
    old[pyproject] = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(bump_pyproject(old[pyproject], version), encoding="utf-8")
    init = root / INIT
    if init.is_file():
        text = init.read_text(encoding="utf-8")
        bumped = bump_init(text, version)
        if bumped != text:
            old[init] = text
            init.write_text(bumped, encoding="utf-8")
    return old


def _commit(root: Path, version: str, out: str, summary: str, tag: bool) -> None:
    paths = [p for p in ("pyproject.toml", str(INIT), "CHANGELOG.md", "README.md", "croissant.json", out) if (root / p).exists()]
    git(root, "add", "-A", "--", *paths)
    git(root, "commit", "-q", "-m", f"Release {version}\n\n{summary}", "--", *paths)
    if tag:
        git(root, "tag", "-a", f"v{version}", "-m", f"Kronika {version}\n\n{summary}")


# -------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``kronika release X.Y.Z [--repo DIR] [--seeds seeds] [--out corpus] [--no-tag] [--allow-dirty]``."""
    parser = argparse.ArgumentParser(prog="kronika release", description="bump the version, rebuild, write the CHANGELOG entry, commit and tag")
    parser.add_argument("version", help="the new version, X.Y.Z")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the repository root (default: .)")
    parser.add_argument("--seeds", default="seeds", help="seed folder inside the repository (default: seeds)")
    parser.add_argument("--out", default="corpus", help="corpus folder inside the repository (default: corpus)")
    parser.add_argument("--jobs", type=int, default=None, help="build worker processes")
    parser.add_argument("--no-tag", action="store_true", help="commit, but make no tag")
    parser.add_argument("--allow-dirty", action="store_true", help="release with uncommitted changes in tracked files")
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 2
    try:
        made = release(args.version, root=args.repo, seeds=args.seeds, out=args.out, jobs=args.jobs,
                       tag=not args.no_tag, allow_dirty=args.allow_dirty)
    except (ReleaseError, diff.DiffError) as err:
        print(f"kronika release: {err}", file=sys.stderr)
        return 1
    print(f"released {made.version} (compared with {made.previous}){f', tagged {made.tag}' if made.tag else ''}")
    print(made.summary, end="")
    return 0
