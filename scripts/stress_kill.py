"""Kill ``kronika build`` with SIGKILL at random instants; the corpus must always be the old or the new one.

    python scripts/stress_kill.py --source ../shared/data/news/pl --n 60 --runs 20

Each run adds one seed, starts a build (2 jobs, no cache), kills its whole
process group after a random delay, then checks that the corpus folder and the
card are exactly the previous build's or exactly a complete build's, that the
next build recovers (and equals a clean build), and that no worker is left.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

KRONIKA = str(Path(sys.executable).with_name("kronika"))


def state(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "corpus").rglob("*")) + [root / "README.md"]:
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def build(root: Path) -> subprocess.Popen:
    argv = [KRONIKA, "build", "--seeds", str(root / "seeds"), "--out", str(root / "corpus"), "--quiet", "--no-cache", "--jobs", "2"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="folder of *.txt articles")
    parser.add_argument("--n", type=int, default=60, help="seeds in the first build")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sources = sorted(args.source.glob("*.txt"))
    root = Path(tempfile.mkdtemp(prefix="kronika-kill-"))
    (root / "seeds").mkdir()
    for path in sources[: args.n]:
        shutil.copyfile(path, root / "seeds" / path.name)
    assert build(root).wait() == 0
    started = time.perf_counter()
    assert build(root).wait() == 0
    full = time.perf_counter() - started
    first = time.time()
    outcomes = {"old": 0, "new": 0}
    bad = []
    for run, path in enumerate(sources[args.n : args.n + args.runs]):
        old = state(root)
        shutil.copyfile(path, root / "seeds" / path.name)
        process = build(root)
        time.sleep(rng.uniform(0.2 * full, 1.5 * full))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        now = state(root)
        done = build(root)
        if done.wait() != 0:
            bad.append(f"run {run}: the next build failed: {done.stderr.read().decode()[:200]}")
        new = state(root)
        kind = "old" if now == old else "new" if now == new else "other"
        outcomes[kind] = outcomes.get(kind, 0) + 1
        if kind == "other":
            bad.append(f"run {run}: the corpus after the kill is neither the old nor the new one")
        if leftovers(root):
            bad.append(f"run {run}: left behind {leftovers(root)}")
    time.sleep(1.5)  # workers notice the killed build within a second
    stray = [p for p in psutil.process_iter(["cmdline", "create_time"]) if p.info["create_time"] >= first and "multiprocessing" in " ".join(p.info["cmdline"] or [])]
    if stray:
        bad.append(f"{len(stray)} process(es) left running")
    for line in bad:
        print(line)
    print(json.dumps({"runs": args.runs, "outcomes": outcomes, "problems": len(bad), "build_seconds": round(full, 2)}))
    shutil.rmtree(root)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
