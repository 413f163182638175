"""``kronika diff OLD NEW``: what changed between two versions of the corpus.

OLD and NEW are corpus folders, dataset roots (a folder holding ``corpus/``) or
git revisions of the repository (``v0.1.0``, ``HEAD~1``), whose corpus is
extracted with ``git archive`` into a temporary folder. Only the ``documents``
config is read: the other configs are derived from it, so they change exactly
when it does.

Documents are matched by id. A matched document changed its *text* when the
text differs, otherwise its *annotations* when its mentions, language tags or
entity_status differ. Mentions are matched within a document by their span
``(start, end)``: a span on one side only is added or removed, a span on both
with another label is relabelled, with the same label but another lemma,
entity id or layer it is changed. Language changes and split moves are listed
per document.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from kronika.corpus_files import shards

COLUMNS = ["id", "text", "language", "languages", "entities", "entity_status"]


class DiffError(ValueError):
    """A side of the comparison cannot be read; one line naming it."""


@dataclass(frozen=True)
class Doc:
    """What the comparison needs of a document (the text only as a hash)."""

    split: str
    text_sha: str
    language: str
    languages: tuple[tuple[int, int, str], ...]
    entities: dict[tuple[int, int], dict[str, Any]]
    entity_status: str


# ------------------------------------------------------------------- inputs
def load(corpus: Path) -> dict[str, Doc]:
    """Every document of a corpus folder, by id."""
    documents = shards(corpus).get("documents")
    if not documents:
        raise DiffError(f"{corpus}: no documents/<split>-NNNNN-of-NNNNN.parquet files; is this a corpus folder?")
    out: dict[str, Doc] = {}
    for split, paths in documents.items():
        for path in paths:
            for row in _read(path):
                out[row["id"]] = _doc(split, row)
    return out


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        return pq.read_table(path, columns=COLUMNS).to_pylist()
    except (OSError, ValueError) as err:
        raise DiffError(f"{path}: cannot read: {err}") from None


def _doc(split: str, row: dict[str, Any]) -> Doc:
    entities = {(m["start"], m["end"]): {k: m[k] for k in ("text", "label", "lemma", "entity_id", "source")} for m in row["entities"] or []}
    return Doc(
        split=split,
        text_sha=hashlib.sha256(row["text"].encode("utf-8")).hexdigest(),
        language=row["language"],
        languages=tuple((s["start"], s["end"], s["language"]) for s in row["languages"] or []),
        entities=entities,
        entity_status=row["entity_status"],
    )


def resolve(spec: str, stack: ExitStack, *, repo: Path, corpus_path: str = "corpus") -> Path:
    """The corpus folder ``spec`` names: a folder as it is, otherwise a git revision extracted to a temporary folder."""
    path = Path(spec)
    if path.is_dir():
        return path / corpus_path if not (path / "documents").is_dir() and (path / corpus_path / "documents").is_dir() else path
    return extract_revision(spec, stack, repo=repo, corpus_path=corpus_path)


def extract_revision(rev: str, stack: ExitStack, *, repo: Path, corpus_path: str = "corpus") -> Path:
    """``git archive REV corpus_path`` unpacked into a temporary folder removed when ``stack`` closes."""
    try:
        done = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", rev, "--", corpus_path],
                              capture_output=True, timeout=600, check=False)
    except OSError as err:
        raise DiffError(f"{rev}: not a folder, and git cannot be run: {err.strerror or err}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffError(f"{rev}: neither a folder nor a git revision with {corpus_path}/ in {repo} ({reason[-1] if reason else 'git archive failed'})")
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kronika-diff-")))
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(folder, filter="data")
    return folder / corpus_path


# ------------------------------------------------------------------ compare
def compare(old: dict[str, Doc], new: dict[str, Doc]) -> dict[str, Any]:
    """The differences between two corpora, as JSON-able data (see the module doc)."""
    added, removed = sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys())
    both = sorted(old.keys() & new.keys())
    text = [i for i in both if old[i].text_sha != new[i].text_sha]
    annotations = [i for i in both if old[i].text_sha == new[i].text_sha and _annotations(old[i]) != _annotations(new[i])]
    mentions = _Mentions()
    for doc_id in added:
        mentions.add_all("added", new[doc_id])
    for doc_id in removed:
        mentions.add_all("removed", old[doc_id])
    for doc_id in both:
        mentions.compare(old[doc_id], new[doc_id])
    return {
        "documents": {
            "old": len(old), "new": len(new), "added": added, "removed": removed,
            "changed": {"text": text, "annotations": annotations},
        },
        "mentions": mentions.result(),
        "languages": {
            "changed": [{"id": i, "old": old[i].language, "new": new[i].language} for i in both if old[i].language != new[i].language],
            "spans_changed": [i for i in both if old[i].languages != new[i].languages],
        },
        "splits": {"moved": [{"id": i, "old": old[i].split, "new": new[i].split} for i in both if old[i].split != new[i].split]},
    }


def _annotations(doc: Doc) -> tuple[Any, ...]:
    return (doc.entities, doc.language, doc.languages, doc.entity_status)


class _Mentions:
    """Mention changes counted per label and per layer (``source``)."""

    def __init__(self) -> None:
        self.kinds = {kind: (Counter(), Counter()) for kind in ("added", "removed", "relabelled", "changed")}

    def count(self, kind: str, label: str, layer: str) -> None:
        by_label, by_layer = self.kinds[kind]
        by_label[label] += 1
        by_layer[layer] += 1

    def add_all(self, kind: str, doc: Doc) -> None:
        for mention in doc.entities.values():
            self.count(kind, mention["label"], mention["source"])

    def compare(self, old: Doc, new: Doc) -> None:
        for span in old.entities.keys() - new.entities.keys():
            self.count("removed", old.entities[span]["label"], old.entities[span]["source"])
        for span in new.entities.keys() - old.entities.keys():
            self.count("added", new.entities[span]["label"], new.entities[span]["source"])
        for span in old.entities.keys() & new.entities.keys():
            before, after = old.entities[span], new.entities[span]
            if before["label"] != after["label"]:
                self.count("relabelled", f"{before['label']} -> {after['label']}", after["source"])
            elif before != after:
                self.count("changed", after["label"], after["source"])

    def result(self) -> dict[str, Any]:
        return {kind: {"total": sum(by_label.values()), "by_label": dict(sorted(by_label.items())), "by_layer": dict(sorted(by_layer.items()))}
                for kind, (by_label, by_layer) in self.kinds.items()}


def diff(old: str, new: str, *, repo: Path = Path("."), corpus_path: str = "corpus") -> dict[str, Any]:
    """Compare two corpora named as on the command line (folders or git revisions)."""
    with ExitStack() as stack:
        before = load(resolve(old, stack, repo=repo, corpus_path=corpus_path))
        after = load(resolve(new, stack, repo=repo, corpus_path=corpus_path))
    return {"old": old, "new": new, **compare(before, after)}


# ------------------------------------------------------------------- output
def summary_lines(result: dict[str, Any]) -> list[str]:
    """A human summary, one fact a line; also the body of a CHANGELOG entry (``summary_markdown``)."""
    d, m = result["documents"], result["mentions"]
    lines = [
        f"documents: {d['old']} -> {d['new']} (+{len(d['added'])} added, -{len(d['removed'])} removed, "
        f"{len(d['changed']['text'])} with new text, {len(d['changed']['annotations'])} with new annotations only)",
    ]
    for key, ids in (("added", d["added"]), ("removed", d["removed"]), ("text changed", d["changed"]["text"]),
                     ("annotations changed", d["changed"]["annotations"])):
        if ids:
            lines.append(f"  {key}: {_ids(ids)}")
    lines.append("mentions: " + ", ".join(f"{m[k]['total']} {k}" for k in ("added", "removed", "relabelled", "changed")))
    for kind in ("added", "removed", "relabelled", "changed"):
        if m[kind]["total"]:
            lines.append(f"  {kind} by label: {_counts(m[kind]['by_label'])}; by layer: {_counts(m[kind]['by_layer'])}")
    languages = result["languages"]["changed"]
    lines.append(f"languages: {len(languages)} document(s) changed language, {len(result['languages']['spans_changed'])} changed language spans")
    lines += [f"  {c['id']}: {c['old']} -> {c['new']}" for c in languages[:20]]
    moved = result["splits"]["moved"]
    lines.append(f"splits: {len(moved)} document(s) moved")
    lines += [f"  {c['id']}: {c['old']} -> {c['new']}" for c in moved[:20]]
    return lines


def summary_markdown(result: dict[str, Any]) -> str:
    """The summary as a Markdown list (top-level facts, details indented under them)."""
    out = []
    for line in summary_lines(result):
        out.append(f"  - {line.strip()}" if line.startswith("  ") else f"- {line}")
    return "\n".join(out) + "\n"


def _ids(ids: list[str], shown: int = 10) -> str:
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``kronika diff OLD NEW [--json FILE] [--repo DIR] [--corpus-path corpus]``."""
    parser = argparse.ArgumentParser(prog="kronika diff", description="compare two corpus folders or two git revisions of the repository")
    parser.add_argument("old", help="a corpus folder, a dataset root or a git revision (v0.1.0, HEAD~1)")
    parser.add_argument("new", help="the same, for the newer side")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the comparison as JSON here")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the git repository for revisions (default: .)")
    parser.add_argument("--corpus-path", default="corpus", help="the corpus folder inside a revision (default: corpus)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 2
    try:
        result = diff(args.old, args.new, repo=args.repo, corpus_path=args.corpus_path)
    except DiffError as err:
        print(f"kronika diff: {err}", file=sys.stderr)
        return 1
    print("\n".join(summary_lines(result)))
    if args.json:
        try:
            args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as err:
            print(f"kronika diff: {args.json}: {err.strerror or err}", file=sys.stderr)
            return 1
    return 0
