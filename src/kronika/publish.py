"""``kronika publish --repo-id ORG/NAME``: upload the dataset repository to the Hugging Face Hub.

What goes up is the dataset, not the project: the card (``README.md``),
``croissant.json``, ``corpus/`` (shards, manifest, plots), ``schema/``, and the
``LICENSE`` and ``ANNOTATION.md`` the card and the Croissant file refer to.
Files of ``corpus/`` on the Hub that this version no longer has are deleted in
the same commit, so a shard of an older version cannot linger. The commit is
then tagged (``--revision``, default ``v<version>``), since a Hub version is a
git tag (``load_dataset(id, revision="v0.2.0")``).

A corpus that does not validate (``kronika validate``) is never uploaded, and
``--dry-run`` lists what would go up without talking to the Hub. The Hub is
``HF_ENDPOINT`` when set, the token the usual ``HF_TOKEN`` or saved login.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

CARD = "README.md"
CROISSANT = "croissant.json"
FOLDERS = ("corpus", "schema")
EXTRAS = ("LICENSE", "ANNOTATION.md")
MAX_PROBLEMS_SHOWN = 20


class PublishError(RuntimeError):
    """Nothing was (or could be) published; one line saying why."""


@dataclass(frozen=True)
class Plan:
    root: Path
    repo_id: str
    tag: str | None
    files: list[tuple[str, int]]  # path in the repository, size in bytes

    def lines(self) -> list[str]:
        total = sum(size for _, size in self.files)
        head = f"would upload {len(self.files)} files ({total:,} bytes) to datasets/{self.repo_id}"
        return [head + (f", then tag {self.tag}" if self.tag else ""), *(f"  {path} ({size:,} bytes)" for path, size in self.files)]


def plan(root: Path, repo_id: str, tag: str | None = None) -> Plan:
    """What would go up; raises ``PublishError`` for a repository id, card or Croissant file that is missing or wrong."""
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PublishError(f"{repo_id!r}: give the repository as ORG/NAME")
    for name in (CARD, CROISSANT):
        if not (root / name).is_file():
            raise PublishError(f"{root / name}: missing; run kronika build first")
    if not (root / "corpus" / "manifest.json").is_file():
        raise PublishError(f"{root / 'corpus'}: not a built corpus (no manifest.json)")
    files = [CARD, CROISSANT, *(name for name in EXTRAS if (root / name).is_file())]
    for folder in FOLDERS:
        files += sorted(p.relative_to(root).as_posix() for p in (root / folder).rglob("*")
                        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    return Plan(root=root, repo_id=repo_id, tag=tag if tag is not None else default_tag(root), files=[(f, (root / f).stat().st_size) for f in files])


def default_tag(root: Path) -> str | None:
    version = json.loads((root / "corpus" / "manifest.json").read_text(encoding="utf-8")).get("version")
    return f"v{version}" if version else None


def check_valid(root: Path) -> None:
    """Refuse a corpus that ``kronika validate`` finds a problem in (the problems go to stderr)."""
    from kronika.validate import validate_path

    problems = validate_path(root)
    if problems:
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            print(problem, file=sys.stderr)
        raise PublishError(f"{root}: {len(problems)} validation problem(s); nothing was uploaded")


def upload(p: Plan, *, private: bool = False, message: str | None = None, endpoint: str | None = None) -> str:
    """Create the repository (if needed), upload the planned files in one commit, tag it; returns the commit id."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None)
    api.create_repo(p.repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(p.root),
        repo_id=p.repo_id,
        repo_type="dataset",
        allow_patterns=[path for path, _ in p.files],
        delete_patterns=["corpus/*"],
        commit_message=message or (f"Kronika {p.tag}" if p.tag else "Kronika"),
    )
    if p.tag:
        api.create_tag(p.repo_id, tag=p.tag, revision=info.oid, repo_type="dataset", tag_message=f"Kronika {p.tag}")
    return info.oid


def publish(root: Path, repo_id: str, *, tag: str | None = None, dry_run: bool = False, private: bool = False,
            message: str | None = None) -> Plan:
    """Validate, then upload (or only plan, with ``dry_run``)."""
    p = plan(root, repo_id, tag)
    check_valid(root)
    if not dry_run:
        upload(p, private=private, message=message)
    return p


def main(argv: list[str] | None = None) -> int:
    """``kronika publish --repo-id ORG/NAME [--revision TAG] [--root .] [--private] [--dry-run]``."""
    parser = argparse.ArgumentParser(prog="kronika publish", description="upload the dataset repository to the Hugging Face Hub")
    parser.add_argument("--repo-id", required=True, help="the dataset repository, ORG/NAME")
    parser.add_argument("--revision", default=None, metavar="TAG", help="tag the upload with this name (default: v<corpus version>)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the dataset repository root holding README.md and corpus/ (default: .)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--message", default=None, help="commit message (default: Kronika <tag>)")
    parser.add_argument("--dry-run", action="store_true", help="validate and list what would go up; upload nothing")
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 2
    try:
        done = publish(args.root, args.repo_id, tag=args.revision, dry_run=args.dry_run, private=args.private, message=args.message)
    except PublishError as err:
        print(f"kronika publish: {err}", file=sys.stderr)
        return 1
    except ImportError:
        print("kronika publish: huggingface_hub is not installed: pip install 'kronika[publish]'", file=sys.stderr)
        return 1
    except Exception as err:  # the Hub's errors (HTTP, network, auth) in one line, never a traceback
        first = str(err).strip().splitlines()
        print(f"kronika publish: the upload failed: {type(err).__name__}: {first[0] if first else ''}", file=sys.stderr)
        return 1
    if args.dry_run:
        print("\n".join(done.lines()))
    else:
        print(f"published {len(done.files)} files to datasets/{done.repo_id}" + (f", tagged {done.tag}" if done.tag else ""))
    return 0
