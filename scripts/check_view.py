#!/usr/bin/env python3
"""Check `kronika view` in headless Chromium on real news (issue 13's acceptance).

Builds a corpus from the committed seed plus N real articles of a news folder
(DIR/<lang>/*.txt; nothing is copied into the repository), renders the site,
opens every document page in Debian's chromium and compares the live DOM with
the Parquet rows: one highlighted element per mention with its label, entity
id, layer and text; language spans with their `lang`; the whole text
unchanged; no script run. Optionally saves the README screenshots, taken of
a site built from the committed seed and generated articles (tests/test_view.py),
so no third-party text goes into the repository.

    python scripts/check_view.py ../shared/data/news
    python scripts/check_view.py ../shared/data/news --take pl=24,en=6 --screenshots docs

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_view import CHROMEDRIVER, CHROMIUM, news_seeds, open_browser, site_pages, site_problems  # noqa: E402

from kronika import view  # noqa: E402
from kronika.build import build  # noqa: E402


def pick(news: Path, take: dict[str, int], seeds: Path) -> int:
    """The first articles (sorted) of each language folder, as <lang>_<name>.txt, plus the committed seed."""
    seeds.mkdir(parents=True)
    for seed in (ROOT / "seeds").iterdir():
        shutil.copyfile(seed, seeds / seed.name)
    n = 0
    for lang, count in take.items():
        for path in sorted((news / lang).glob("*.txt"))[:count]:
            name = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{lang}_{path.stem}")
            shutil.copyfile(path, seeds / f"{name}.txt")
            n += 1
    return n


def screenshots(driver, site: Path, out: Path, doc_id: str) -> dict[str, int]:
    """One document page and the index, at a readable size; PNG bytes written per file."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, url, size in (
        ("view-document.png", site_pages(site)[doc_id].as_uri(), (1200, 860)),
        ("view-index.png", (site / "index.html").as_uri(), (1200, 980)),
    ):
        width, height = size
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        driver.get(url)
        if name == "view-document.png":  # show the details panel of one mention
            driver.execute_script("var m = document.querySelectorAll('mark.m[data-label=PER]')[2]; if (m) m.click();")
        time.sleep(0.3)
        (out / name).write_bytes(driver.get_screenshot_as_png())
        sizes[name] = (out / name).stat().st_size
    return sizes


def parse_take(text: str) -> dict[str, int]:
    return {lang: int(n) for lang, n in (part.split("=") for part in text.split(","))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("news", type=Path, help="news folder: <lang>/*.txt")
    parser.add_argument("--take", type=parse_take, default=parse_take("pl=24,en=6"), help="articles per language folder (default: pl=24,en=6)")
    parser.add_argument("--screenshots", type=Path, default=None, help="also save view-document.png and view-index.png here")
    parser.add_argument("--screenshot-doc", default="000_fe6e73957cf0fa67", help="the document for view-document.png")
    args = parser.parse_args(argv)
    if not (CHROMIUM and CHROMEDRIVER):
        print("chromium and chromedriver are needed: apt-get install chromium chromium-driver", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="kronika-check-view-"))
    driver = None
    try:
        articles = pick(args.news, args.take, work / "seeds")
        build(work / "seeds", work / "corpus", jobs=1, cache_dir=None, progress=False)
        started = time.perf_counter()
        if view.main(["--corpus", str(work / "corpus"), "--out", str(work / "site")]) != 0:
            return 1
        render = time.perf_counter() - started
        driver = open_browser(work / "profile", extra=("--hide-scrollbars",))
        started = time.perf_counter()
        result = site_problems(driver, work / "site", work / "corpus")
        result |= {"articles": articles, "render_seconds": round(render, 2), "browser_seconds": round(time.perf_counter() - started, 2)}
        if args.screenshots:  # of the seed and generated articles: no third-party text goes into the repository
            build(news_seeds(work / "shot-seeds"), work / "shot-corpus", jobs=1, cache_dir=None, progress=False)
            view.main(["--corpus", str(work / "shot-corpus"), "--out", str(work / "shot-site")])
            result["screenshots"] = screenshots(driver, work / "shot-site", args.screenshots, args.screenshot_doc)
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(work, ignore_errors=True)
    for problem in result["problems"][:50]:
        print(problem)
    print(json.dumps({**result, "problems": len(result["problems"])}, ensure_ascii=False))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
