"""Faults of a careful user's worst week: each ends in one line, a non-zero exit,
and the previous output (and every seed) as it was."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SEED_ID
from kronika import output
from kronika.build import BuildError, build
from kronika.cli import main
from kronika.ingest import SeedError, seed_bytes
from kronika.layers import LayerCache
from kronika.record import MAX_SEED_BYTES

SEED = (ROOT / "seeds" / f"{SEED_ID}.txt").read_bytes()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A dataset root with two seeds and a built corpus (``corpus/``, ``README.md``)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_bytes(SEED)
    (seeds / "b.txt").write_bytes("Jan Kowalski przyjechał do Warszawy.\n".encode())
    assert main(["build", "--seeds", str(seeds), "--out", str(tmp_path / "corpus"), "--quiet", "--no-cache", "--jobs", "1"]) == 0
    return tmp_path


def _build(root: Path, *extra: str) -> list[str]:
    return ["build", "--seeds", str(root / "seeds"), "--out", str(root / "corpus"), "--quiet", "--no-cache", "--jobs", "1", *extra]


def _fails_in_one_line(argv: list[str], capsys: pytest.CaptureFixture, expected: str) -> None:
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def _everything(root: Path) -> dict[str, bytes]:
    return _tree(root)


# ---------------------------------------------------------------- the table
def _fifo(root: Path) -> None:
    os.mkfifo(root / "seeds" / "x.txt")


def _gold_folder(root: Path) -> None:
    (root / "seeds" / "b.gold.json").mkdir()


def _gold_deep(root: Path) -> None:
    (root / "seeds" / "b.gold.json").write_text("[" * 100_000 + "]" * 100_000)


def _gold_huge_number(root: Path) -> None:
    (root / "seeds" / "b.gold.json").write_text('{"doc_id": "b", "sha256": ' + "9" * 5001 + "}")


def _card_folder(root: Path) -> None:
    (root / "README.md").unlink()
    (root / "README.md").mkdir()


def _oversize(root: Path) -> None:
    with open(root / "seeds" / "big.txt", "wb") as handle:
        handle.truncate(MAX_SEED_BYTES + 1)  # sparse: nothing is written, and nothing must be read


def _out_is_file(root: Path) -> list[str]:
    (root / "file").write_text("x")
    return ["--out", str(root / "file")]


def _out_not_corpus(root: Path) -> list[str]:
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("keep me")
    return ["--out", str(root / "mine")]


def _out_seeds(root: Path) -> list[str]:
    return ["--out", str(root / "seeds")]


def _out_above_seeds(root: Path) -> list[str]:
    return ["--out", str(root)]


def _out_repo_root(root: Path) -> list[str]:
    (root / "repo").mkdir()
    (root / "repo" / "pyproject.toml").write_text("")
    return ["--out", str(root / "repo")]


def _out_symlink(root: Path) -> list[str]:
    (root / "elsewhere").mkdir()
    (root / "link").symlink_to(root / "elsewhere")
    return ["--out", str(root / "link")]


def _bad_jobs(root: Path) -> list[str]:
    return ["--jobs", "-1"]


def _zero_shard(root: Path) -> list[str]:
    return ["--shard-size", "0"]


FAULTS = {  # name: (set-up, what the one line says)
    "FIFO seed": (_fifo, "x.txt: is a FIFO, not a regular file"),
    "gold file is a folder": (_gold_folder, "b.gold.json"),
    "gold JSON nested 100,000 deep": (_gold_deep, "b.gold.json"),
    "gold number of 5,001 digits": (_gold_huge_number, "b.gold.json"),
    "card is a folder": (_card_folder, "README.md: is not a file"),
    "seed over the size limit": (_oversize, f"big.txt: is {MAX_SEED_BYTES + 1:,} bytes"),
    "out is a file": (_out_is_file, "is not a folder"),
    "out is not a corpus": (_out_not_corpus, "is not a Kronika corpus"),
    "out is the seeds folder": (_out_seeds, "must not be, contain or lie inside the seeds folder"),
    "out holds the seeds": (_out_above_seeds, "must not be, contain or lie inside the seeds folder"),
    "out is a repository root": (_out_repo_root, "is a repository root"),
    "out is a symbolic link": (_out_symlink, "link: is a symbolic link"),
    "jobs -1": (_bad_jobs, "--jobs: must be at least 1, not -1"),
    "shard size 0": (_zero_shard, "--shard-size: must be at least 1, not 0"),
}


@pytest.mark.parametrize("name", FAULTS)
def test_fault_ends_in_one_line_and_changes_nothing(name: str, dataset: Path, capsys: pytest.CaptureFixture) -> None:
    setup, expected = FAULTS[name]
    extra = setup(dataset) or []
    before = _everything(dataset)
    _fails_in_one_line(_build(dataset, *extra), capsys, expected)
    assert _everything(dataset) == before
    assert not [p.name for p in dataset.iterdir() if p.name.startswith(".corpus")]


@pytest.mark.parametrize("files", [["documents/train-00000-of-00001.parquet"], None, {"a": 1}])
def test_a_damaged_manifest_is_no_split_ledger(files: object, dataset: Path) -> None:
    """The previous manifest keeps documents in their splits; damaged, it is ignored (no traceback)."""
    path = dataset / "corpus" / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")) | {"files": files}), encoding="utf-8")
    assert main(_build(dataset)) == 0


def test_a_file_where_the_layer_cache_needs_a_folder_is_a_build_failure(dataset: Path, capsys: pytest.CaptureFixture) -> None:
    """The cache writer's clean-up failed too, and its thread died with a traceback; the build went on without a cache."""
    cache = dataset / "cache"
    cache.mkdir()
    for prefix in range(256):  # every layer cache subfolder is a file
        (cache / f"{prefix:02x}").touch()
    before = _tree(dataset / "corpus")
    argv = [a for a in _build(dataset) if a != "--no-cache"] + ["--cache", str(cache)]
    _fails_in_one_line(argv, capsys, "layer cache")
    assert _tree(dataset / "corpus") == before


def test_a_cache_in_the_seeds_folder_is_refused(dataset: Path, capsys: pytest.CaptureFixture) -> None:
    """``cd seeds && kronika build --seeds .`` would put the default cache there."""
    before = _everything(dataset)
    argv = [a for a in _build(dataset) if a != "--no-cache"] + ["--cache", str(dataset / "seeds" / ".kronika-cache")]
    _fails_in_one_line(argv, capsys, "the cache folder must not lie inside the seeds folder")
    assert _everything(dataset) == before and not (dataset / "seeds" / ".kronika-cache").exists()


def test_keep_going_with_every_seed_rejected_fails(tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture) -> None:
    for seed in (dataset / "seeds").iterdir():
        seed.write_bytes(b"\xff")
    before = _tree(dataset / "corpus")
    assert main(_build(dataset, "--keep-going")) == 1
    err = capsys.readouterr().err
    assert "none of the 2 seed(s) could be built" in err and err.count("unchanged") == 1
    assert "a.txt: invalid UTF-8" in err and "b.txt: invalid UTF-8" in err  # each seed's reason
    assert _tree(dataset / "corpus") == before


BLOCK_FASTTEXT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "fasttext":
            raise ModuleNotFoundError("No module named 'fasttext'")
sys.meta_path.insert(0, Block())
from kronika.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("keep_going", [[], ["--keep-going"]])
def test_missing_package_stops_the_build_before_any_seed(dataset: Path, keep_going: list[str]) -> None:
    before = _everything(dataset)
    done = subprocess.run([sys.executable, "-c", BLOCK_FASTTEXT, *_build(dataset, *keep_going)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "fasttext-predict" in done.stderr and "pip install 'kronika[annotate]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert _everything(dataset) == before


def test_full_cache_disk_is_a_build_failure(dataset: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def full(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    (dataset / "seeds" / "c.txt").write_text("Nowy tekst o Krakowie.\n")
    monkeypatch.setattr(Path, "write_text", full)
    before = _tree(dataset / "corpus")
    argv = [a for a in _build(dataset, "--keep-going", "--cache", str(dataset / "cache")) if a != "--no-cache"]
    _fails_in_one_line(argv, capsys, "No space left on device")
    assert _tree(dataset / "corpus") == before


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_an_unwritable_output_is_one_line(code: int, dataset: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A read-only or full file system (root ignores permission bits, so it is simulated)."""
    def refuse(*args: object, **kwargs: object) -> str:
        raise OSError(code, os.strerror(code), str(dataset))

    monkeypatch.setattr(output.tempfile, "mkdtemp", refuse)
    before = _everything(dataset)
    _fails_in_one_line(_build(dataset), capsys, os.strerror(code))
    assert _everything(dataset) == before


def test_a_second_build_fails_at_once_naming_the_holder(dataset: Path, capsys: pytest.CaptureFixture) -> None:
    with output.locked(dataset / "corpus"):
        _fails_in_one_line(_build(dataset), capsys, f"another build (pid {os.getpid()}) is writing it")
    assert main(_build(dataset)) == 0


def test_stale_staging_folders_are_removed_and_others_kept(dataset: Path) -> None:
    ours, theirs = dataset / ".corpus.new-killed", dataset / ".corpus.new-someone-elses"
    for folder in (ours, theirs):
        folder.mkdir()
    (ours / output.STAGE_MARK).touch()
    assert main(_build(dataset)) == 0
    assert not ours.exists() and theirs.exists()


def test_planted_modules_in_the_current_folder_are_not_imported(dataset: Path) -> None:
    for name in ("tqdm", "concurrent"):
        (dataset / f"{name}.py").write_text(f"open({str(dataset / 'PLANTED')!r}, 'w').write({name!r})\nraise SystemExit(9)\n")
    kronika = Path(sys.executable).with_name("kronika")
    argv = [str(kronika), *_build(dataset)[:-2], "--jobs", "2", "--shard-size", "1"]
    done = subprocess.run(argv, cwd=dataset, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (dataset / "PLANTED").exists()


def test_a_full_disk_while_writing_parquet_is_one_line(dataset: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The OSError is what the user sees (a full disk made pyarrow raise a RuntimeError
    over it), and no half-written shard stays behind."""
    import pyarrow.parquet as pq

    def full(self: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    before = _everything(dataset)
    _fails_in_one_line(_build(dataset), capsys, "No space left on device")
    assert _everything(dataset) == before and not list(dataset.glob(".corpus.new-*"))


def test_a_failing_parallel_build_leaves_no_stage_and_no_warning(dataset: Path) -> None:
    """Its running shards end before the stage goes (they wrote it anew), and the
    pool's semaphores are released (else the resource tracker warns of leaks)."""
    (dataset / "seeds" / "c.txt").write_text("Nowy tekst o Krakowie.\n")
    cache = dataset / "cache"
    cache.mkdir()
    (cache / "shards").touch()  # the shard cache cannot be made
    before = _tree(dataset / "corpus")
    kronika = Path(sys.executable).with_name("kronika")
    argv = [str(kronika), *[a for a in _build(dataset) if a != "--no-cache"][:-2], "--cache", str(cache), "--jobs", "2", "--shard-size", "1"]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "shards: Not a directory" in done.stderr
    assert not list(dataset.glob(".corpus.new-*")) and _tree(dataset / "corpus") == before


# ------------------------------------------------------------ the swap
def _states(root: Path) -> tuple[dict[str, bytes], bytes]:
    return _tree(root / "corpus"), (root / "README.md").read_bytes()


def _new_stage(root: Path) -> Path:
    with output.staging(root / "corpus") as stage:
        (stage / "documents").mkdir()
        (stage / "manifest.json").write_text(json.dumps({"name": "kronika", "new": True}))
    return stage


@pytest.mark.parametrize("killed_at", range(5))
def test_a_swap_killed_at_any_step_is_recovered(dataset: Path, killed_at: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.replace`` is the only step that moves things; kill the swap before each one."""
    old = _states(dataset)
    stage = _new_stage(dataset)
    calls = []
    real = os.replace

    def replace(src: object, dst: object) -> None:
        if len(calls) == killed_at:
            raise SystemExit("killed")
        calls.append((src, dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(SystemExit):
        output.commit(stage, dataset / "corpus", {dataset / "README.md": "---\nnew: card\n---\n"})
    monkeypatch.setattr(os, "replace", real)
    output.recover(dataset / "corpus", [dataset / "README.md"])
    now = _states(dataset)
    new = ({"manifest.json": json.dumps({"name": "kronika", "new": True}).encode()}, b"---\nnew: card\n---\n")
    assert now in (old, new)
    assert now == (old if killed_at < 4 else new)
    assert not [p.name for p in dataset.iterdir() if p.name.startswith(".corpus") or p.name.startswith(".README")]


@pytest.mark.parametrize("failing_at", range(5))
def test_a_swap_that_fails_leaves_the_card_and_corpus_agreeing(dataset: Path, failing_at: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in a step (not a kill): the stage goes with it, so the swap must not
    leave a journal that rolls the new card in over the old corpus."""
    old = _states(dataset)
    real = os.replace
    calls = []

    def replace(src: object, dst: object) -> None:
        if len(calls) == failing_at:
            raise OSError(errno.EIO, "Input/output error")
        calls.append((src, dst))
        real(src, dst)

    with pytest.raises(OSError):
        with output.staging(dataset / "corpus") as stage:
            (stage / "manifest.json").write_text(json.dumps({"name": "kronika", "new": True}))
            monkeypatch.setattr(os, "replace", replace)
            output.commit(stage, dataset / "corpus", {dataset / "README.md": "---\nnew: card\n---\n"})
    monkeypatch.setattr(os, "replace", real)
    output.recover(dataset / "corpus", [dataset / "README.md"])
    new = ({"manifest.json": json.dumps({"name": "kronika", "new": True}).encode()}, b"---\nnew: card\n---\n")
    assert _states(dataset) == (old if failing_at < 4 else new)


def test_seed_checks_read_nothing_of_a_vanished_or_special_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="vanished during the build"):
        seed_bytes(tmp_path / "gone.txt", tmp_path)
    os.symlink("/dev/zero", tmp_path / "inside.txt")
    with pytest.raises(SeedError, match="symlink points outside"):
        seed_bytes(tmp_path / "inside.txt", tmp_path)
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "dangling.txt")
    with pytest.raises(SeedError, match="dangling.txt: is a symbolic link to a missing file$"):
        seed_bytes(tmp_path / "dangling.txt", tmp_path)


def test_names_are_printed_escaped(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "ok.txt").write_text("Tekst.\n")
    (seeds / "new\nline.txt").write_text("Tekst.\n")
    (seeds / os.fsdecode(b"bad\xff.txt")).write_text("Tekst.\n")
    assert main(["build", "--seeds", str(seeds), "--out", str(tmp_path / "corpus"), "--quiet", "--no-cache", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "new\\nline.txt: file name is not printable UTF-8" in err and "bad\\xff.txt" in err
    assert len(err.strip().splitlines()) == 2


def test_build_error_is_raised_for_the_api_too(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="seeds folder not found"):
        build(tmp_path / "nowhere", tmp_path / "corpus", progress=False)


def test_an_odd_card_is_replaced_whole(dataset: Path) -> None:
    """The card is built from the shipped template, never parsed: an unclosed front matter is no fault."""
    (dataset / "README.md").write_text("---\npretty_name: x\n")
    assert main(_build(dataset)) == 0
    assert "## Set up" in (dataset / "README.md").read_text()
