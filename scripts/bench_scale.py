#!/usr/bin/env python3
"""Scale benchmark (issue 10, "Linear in the input"): time and memory against one article's length.

Generates single-article seed folders in a temporary directory and runs the whole
command ``kronika build --seeds S --out O --no-cache --quiet --jobs 1`` on each in a
subprocess (interpreter start-up, model loading and exit included), then
``kronika validate O``. For each command it records the wall time, the peak RSS of
the child's process tree (psutil, sampled every 20 ms, summed over the tree) and
the child's own ``ru_maxrss`` (largest single process, from ``os.wait4``).

Cases (one seed each):

* ``one_line_1mb``   -- (a) one line of ~1 MB of random words, no punctuation at all;
* ``capitalised_50k`` -- (b) 50,000 capitalised words separated by single spaces;
* ``capitalised_plain_50k`` -- (b) the same without organisation words ("Bank",
  "Group", ...), which would let the rules take the rest of a run at once;
* ``name_list_8000``  -- (c) 8,000 person names separated by commas (~100 KB), one line;
* ``size_1mb`` ... ``size_5mb`` -- (d) real-looking text of 1-5 MB: articles of
  ``--source`` (any folder of ``*.txt``, searched recursively) concatenated, or
  synthetic Polish-like paragraphs if no source is given.

Nothing is written into the repository; the source text is only read.

    python scripts/bench_scale.py --source ../shared/data/news/pl
    python scripts/bench_scale.py                 # synthetic text only
    python scripts/bench_scale.py --cases one_line_1mb capitalised_50k

Growth is called linear when the build time of 5 MB is at most ``--max-ratio``
(default 6) times that of 1 MB. Acceptance: that, and a peak tree RSS under
1.5 GB for ``one_line_1mb``, both ``capitalised`` cases and ``size_5mb``. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

MB = 1_000_000
RSS_LIMIT_MB = 1536  # 1.5 GB
RSS_CASES = ("one_line_1mb", "capitalised_50k", "capitalised_plain_50k", "size_5mb")

# Synthetic vocabulary (used when no --source is given, and for the names of case c).
_LOWER = """
i w na z do że się nie to jest o po od za jak ale co przez dla już tak być który także
oraz jednak według bardzo może roku lat czasie mówi powiedział powiedziała dodał
zdaniem rządu miasta kraju władze decyzja sprawie spotkanie rozmowy protesty rolnicy
prezydent premier minister rzecznik posłowie wybory sondaż gospodarka inflacja ceny
wojna granica wojsko pomoc uchodźcy szkoła szpital lekarze pacjenci sąd prokuratura
policja zatrzymała dziennikarze telewizja gazeta artykuł informacje dane raport
wzrost spadek procent miliardów złotych euro dolarów budżet podatki ustawa projekt
komisja parlament głosowanie większość opozycja koalicja partia lider kandydat
tydzień miesiąc wtorek środę piątek wczoraj dzisiaj jutro rano wieczorem godzinie
ludzie mieszkańcy rodziny dzieci kobiety mężczyźni pracownicy firmy rynek sprzedaż
nowy nowa duży wielki ważny polski polska europejski rosyjski ukraiński amerykański
""".split()
_CAPITALISED = """
Polska Warszawa Kraków Gdańsk Ukraina Rosja Niemcy Francja Bruksela Moskwa Kijów Berlin
Unia Europejska Sejm Senat Rada Ministrów Komisja Europejska Parlament Europejski NATO
Platforma Obywatelska Prawo Sprawiedliwość Nowa Lewica Trybunał Konstytucyjny Sąd
Najwyższy Narodowy Bank Polski Rzecznik Praw Obywatelskich Ministerstwo Zdrowia
Jan Anna Piotr Maria Andrzej Katarzyna Tomasz Agnieszka Donald Władimir Joe Emmanuel
Kowalski Nowak Wiśniewska Wójcik Kamiński Lewandowska Zieliński Szymańska Tusk Putin
Biden Macron Scholz Zełenski Duda Morawiecki Kaczyński Trzaskowski Hołownia Bosak
Wielka Brytania Stany Zjednoczone Biały Dom Kreml Wisła Odra Bałtyk Tatry Mazowsze
Cambridge Analytica Royal Dutch Shell Google Microsoft Apple Amazon Facebook Twitter
Gazprom Orlen Lotos PKO Allegro Reuters Bloomberg Associated Press New York Times
Północny Wschodni Zachodni Południowy Wielki Nowy Stary Górny Dolny Czerwony Biały
Forum Ekonomiczne Szczyt Mistrzostwa Świata Igrzyska Olimpijskie Festiwal Filmowy
Bank Group Holding Fund Foundation Institute Council Party Union Agency Energy Capital
Xanthe Qorvath Zembla Brixton Halvorsen Okonkwo Nakamura Fitzgerald Ouellette Vasquez
""".split()
_FIRST = "Jan Anna Piotr Maria Adam Ewa Tomasz Zofia Marek Ola Paweł Alicja Igor Lena Kamil Iga Olaf Ada Emil Hanna".split()
_LAST = "Nowak Kowalczyk Wójcik Lis Mazur Krawiec Dudek Zając Wrona Kubiak Sowa Pawlak Górski Baran Rutka Sikora Wilk Bąk Cebula Nowik".split()


def _words_of(source: Path | None) -> list[str]:
    if source is None:
        return _LOWER * 4 + _CAPITALISED
    words = re.findall(r"[^\W\d_]+", "\n".join(t for t in _source_texts(source)))
    return words or _LOWER


def _source_texts(source: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(source.rglob("*.txt"))]


def _fill(size: int, piece: Callable[[], str], sep: str) -> str:
    """Pieces joined by ``sep`` until ``size`` UTF-8 bytes are reached."""
    out, total = [], 0
    while total < size:
        p = piece()
        out.append(p)
        total += len(p.encode()) + len(sep.encode())
    return sep.join(out)


def one_line(rng: random.Random, words: list[str], size: int = MB) -> str:
    """(a) random words, single spaces, no punctuation, no line break inside."""
    return _fill(size, lambda: rng.choice(words), " ") + "\n"


# Foreign words that make a capitalised run one organisation name (kronika.entities.ORG_WORDS):
# left out of the "plain" variant, where no such shortcut ends the rules' work early.
_ORG_WORDS = frozenset("""
AG SA GmbH Ltd Inc plc PLC Corp Corporation Company Co Group Holding Holdings Bank Fund Trust
Foundation Institute University College School Council Committee Party Union Association
Agency Service Services Office Centre Center Partners Capital Energy Airlines Airways Air
Motors Systems Media Network Industries International Foods Pharma Vote Leave Club Society
""".split())


def capitalised(rng: random.Random, words: list[str], n: int = 50_000, *, org_words: bool = True) -> str:
    """(b) ``n`` capitalised words: the source's capitalised words and the built-in mix
    (adjectives, organisation/event heads, names, foreign and unknown words); with
    ``org_words=False`` none of the words that make a run an organisation name."""
    pool = sorted({w for w in words if w[:1].isupper() and len(w) > 1}) + _CAPITALISED * 20
    if not org_words:
        pool = [w for w in pool if w not in _ORG_WORDS]
    return " ".join(rng.choice(pool) for _ in range(n)) + "\n"


def name_list(rng: random.Random, n: int = 8000) -> str:
    """(c) ``n`` names "First Last", comma separated, one line (~100 KB)."""
    return ", ".join(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(n)) + ".\n"


def _synthetic_paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(2, 6)):
        words = [rng.choice(_LOWER) for _ in range(rng.randint(6, 22))]
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(_CAPITALISED))
        if rng.random() < 0.15:
            i = rng.randrange(len(words))
            words[i] = "„" + words[i]
            j = min(len(words) - 1, i + rng.randint(2, 6))
            words[j] += "”"
        if rng.random() < 0.3:
            words[rng.randrange(len(words))] += ","
        sentence = " ".join(words)
        sentences.append(sentence[:1].upper() + sentence[1:] + rng.choice(".....?!"))
    return " ".join(sentences)


def real_text(rng: random.Random, source: Path | None, size: int) -> str:
    """(d) ``size`` bytes of articles (blank lines between), cut at a line break."""
    if source is None:
        body = _fill(size, lambda: _synthetic_paragraph(rng), "\n\n")
    else:
        texts = [t.strip() for t in _source_texts(source) if t.strip()]
        if not texts:
            raise SystemExit(f"{source}: no *.txt articles")
        body = _fill(size, lambda: rng.choice(texts), "\n\n")
    data = body.encode()[:size]
    cut = data.rfind(b"\n", 0, size)
    return data[: cut if cut > size // 2 else size].decode("utf-8", errors="ignore").rstrip() + "\n"


def make_cases(source: Path | None, seed: int) -> dict[str, Callable[[], str]]:
    words = _words_of(source)

    def rng(n: int) -> random.Random:
        return random.Random(seed * 1000 + n)

    cases: dict[str, Callable[[], str]] = {
        "one_line_1mb": lambda: one_line(rng(1), words),
        "capitalised_50k": lambda: capitalised(rng(2), words),
        "capitalised_plain_50k": lambda: capitalised(rng(4), words, org_words=False),
        "name_list_8000": lambda: name_list(rng(3)),
    }
    for mb in range(1, 6):
        cases[f"size_{mb}mb"] = lambda mb=mb: real_text(rng(10 + mb), source, mb * MB)
    return cases


# ------------------------------------------------------------------ measuring
def kronika_command() -> list[str]:
    exe = Path(sys.executable).with_name("kronika")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kronika.cli"]


def measure(cmd: list[str], timeout: float) -> dict:
    """Run ``cmd``: wall seconds, peak RSS of its process tree, its ru_maxrss, exit code."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    status = None
    usage = None
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            tree = [root, *root.children(recursive=True)]
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        if time.perf_counter() - started > timeout:
            timed_out = True
            for p in [*root.children(recursive=True), root]:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            _pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    maxrss = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    out = {
        "seconds": round(wall, 2),
        "peak_tree_rss_mb": round(max(peak / 2**20, maxrss), 1),
        "ru_maxrss_mb": round(maxrss, 1),
        "exit": proc.returncode,
    }
    if timed_out:
        out["timeout"] = True
    if proc.returncode and err:
        out["stderr"] = err.strip().splitlines()[-1][:300]
    return out


def corpus_facts(out: Path) -> dict:
    """Mentions and the longest mention text in the built corpus (pyarrow, if readable)."""
    try:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = pq.read_table(out / "mentions", columns=["text"])
        lengths = pc.utf8_length(table["text"])
        longest = pc.max(lengths).as_py() if len(table) else 0
        return {"mentions": len(table), "longest_mention_chars": longest or 0}
    except Exception as exc:  # a failed build has no corpus; report, don't crash
        return {"mentions": None, "error": f"{type(exc).__name__}: {exc}"[:200]}


def run_case(name: str, text: str, work: Path, timeout: float) -> dict:
    folder = work / name
    seeds = folder / "seeds"
    seeds.mkdir(parents=True)
    (seeds / f"{name}.txt").write_text(text, encoding="utf-8")
    out = folder / "corpus"
    size = len(text.encode())
    base = kronika_command()
    build = measure([*base, "build", "--seeds", str(seeds), "--out", str(out), "--no-cache", "--quiet", "--jobs", "1"], timeout)
    result = {"bytes": size, "chars": len(text), "lines": text.count("\n"), "build": build}
    if build["exit"] == 0:
        result.update(corpus_facts(out))
        result["validate"] = measure([*base, "validate", str(out)], timeout)
    mb = size / MB
    result["build_seconds_per_mb"] = round(build["seconds"] / mb, 2)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def summarise(results: dict[str, dict], max_ratio: float) -> dict:
    summary: dict = {}
    one, five = results.get("size_1mb"), results.get("size_5mb")
    if one and five:
        ratio = five["build"]["seconds"] / max(one["build"]["seconds"], 1e-9)
        summary["build_ratio_5mb_1mb"] = round(ratio, 2)
        summary["linear"] = ratio <= max_ratio
        if "validate" in one and "validate" in five:
            vratio = five["validate"]["seconds"] / max(one["validate"]["seconds"], 1e-9)
            summary["validate_ratio_5mb_1mb"] = round(vratio, 2)
            summary["validate_linear"] = vratio <= max_ratio
    rss = {name: results[name]["build"]["peak_tree_rss_mb"] for name in RSS_CASES if name in results}
    summary["rss_ok"] = all(v < RSS_LIMIT_MB for v in rss.values()) if rss else None
    summary["builds_ok"] = all(r["build"]["exit"] == 0 and not r["build"].get("timeout") for r in results.values())
    summary["mentions_within_cap"] = all(
        (r.get("longest_mention_chars") or 0) <= 300 for r in results.values()
    )
    summary["accept"] = bool(
        summary["builds_ok"] and summary["rss_ok"] is not False and summary.get("linear", True) and summary["mentions_within_cap"]
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_scale.py", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="folder of real *.txt articles (read only); synthetic text if omitted")
    parser.add_argument("--cases", nargs="*", default=None, help="subset of the cases (default: all)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per command before it is killed (default 900)")
    parser.add_argument("--max-ratio", type=float, default=6.0, help="5 MB / 1 MB build time still called linear (default 6)")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--work", type=Path, default=None, help="temporary folder (default: a fresh one, deleted)")
    args = parser.parse_args(argv)
    cases = make_cases(args.source, args.seed)
    names = args.cases or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {list(cases)}")
    work = Path(tempfile.mkdtemp(prefix="kronika-scale-", dir=args.work))
    results: dict[str, dict] = {}
    try:
        print(f"{'case':16s} {'MB':>6s} {'build s':>8s} {'s/MB':>6s} {'RSS MB':>8s} {'valid. s':>8s} {'RSS MB':>8s} {'mentions':>9s} {'longest':>7s}")
        for name in names:
            text = cases[name]()
            r = results[name] = run_case(name, text, work, args.timeout)
            b, v = r["build"], r.get("validate", {})
            status = "" if b["exit"] == 0 else (" TIMEOUT" if b.get("timeout") else f" FAILED: {b.get('stderr', '')}")
            print(
                f"{name:16s} {r['bytes'] / MB:6.2f} {b['seconds']:8.2f} {r['build_seconds_per_mb']:6.2f} {b['peak_tree_rss_mb']:8.1f} "
                f"{v.get('seconds', float('nan')):8.2f} {v.get('peak_tree_rss_mb', float('nan')):8.1f} "
                f"{str(r.get('mentions')):>9s} {str(r.get('longest_mention_chars')):>7s}{status}",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = summarise(results, args.max_ratio)
    print(
        f"5 MB / 1 MB build time: {summary.get('build_ratio_5mb_1mb')} (linear: {summary.get('linear')}); "
        f"peak RSS under {RSS_LIMIT_MB} MB for {', '.join(RSS_CASES)}: {summary['rss_ok']}; accept: {summary['accept']}"
    )
    print(json.dumps({"cases": results, "summary": summary, "source": str(args.source) if args.source else None}, sort_keys=True))
    return 0 if summary["accept"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
