"""``kronika view``: a corpus folder becomes a static HTML site to check annotations by eye.

People review annotations by looking at coloured spans, not by reading JSON.
The site needs no server (open ``index.html``); ``--serve`` is a convenience.

* It reads only the Parquet files and the card (pyarrow, yaml), never an
  annotator, so a consumer can view a download.
* Documents are streamed in batches and each page is written as soon as it is
  rendered; only a small summary per document and a bounded sample of mentions
  per entity id stay in memory, so 10,000 documents take seconds, not memory.
* Every text and attribute is HTML-escaped, and each page carries a
  Content-Security-Policy that runs only the site's own inline script (by hash):
  a seed holding ``<script>`` shows it as text and nothing it injects can run.
* Offsets are code points, so the text is cut in Python (where ``text[a:b]`` is
  right after an emoji), never in the browser (which counts UTF-16 units).
* Each mention is exactly one ``<mark>`` element with ``data-label``,
  ``data-entity-id`` and ``data-source``. Blocks and language spans may cross a
  mention's edge; then they are split there, never the mention.
* The site is written into a staging folder and renamed into place, and only a
  folder this command made (it holds ``.kronika-site``) is ever replaced.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import html
import json
import os
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from kronika.ingest import shown
from kronika.record import ENTITY_ID_PATTERN, ID_PATTERN, LABELS

SITE_MARK = ".kronika-site"
REPO_MARKERS = (".git", "pyproject.toml")
BATCH_ROWS = 256
CONTEXT_CHARS = 80  # characters either side of a mention on entity pages
EXAMPLES_PER_LABEL = 100  # mentions shown in context per entity id and label
MAX_NAME_CHARS = 100  # readable part of an entity page's file name
EXIT_FAILED = 1
EXIT_USAGE = 2
# Optional document columns shown in the index only once the schema has them.
OPTIONAL_COLUMNS = ("split", "duplicate_cluster")
_ID = re.compile(ID_PATTERN)
_ENTITY_ID = re.compile(ENTITY_ID_PATTERN)


class ViewError(RuntimeError):
    """The site cannot be written; the message is one line saying why."""


# ---------------------------------------------------------------- page assets
CSS = """
:root{--per:#ffcf96;--org:#a8c8ff;--loc:#b4ecaa;--evt:#ffb0b0;--pro:#d9c9ff;--oth:#e2e2e2;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c1c1e;background:#f7f7f8}
body{margin:0;line-height:1.5}
header{background:#213a5e;color:#fff;padding:.55rem 1.2rem .7rem}
header a{color:#cfe0ff}
header nav{font-size:.85rem}
h1{font-size:1.3rem;margin:.15rem 0;overflow-wrap:anywhere}
h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.sub{margin:0;color:#d5dfee;font-size:.88rem}
main{padding:.4rem 1.2rem 2rem}
.doc{display:grid;grid-template-columns:minmax(0,1fr) 17rem;gap:1.2rem;align-items:start}
.text{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #d8d8dc;border-radius:6px;
padding:.9rem 1.1rem;font-size:1rem;line-height:1.8}
mark.m{color:inherit;border-radius:3px;padding:.05em .1em;cursor:pointer;box-shadow:inset 0 -2px rgba(0,0,0,.28)}
.m-PER{background:var(--per)}.m-ORG{background:var(--org)}.m-LOC{background:var(--loc)}
.m-EVT{background:var(--evt)}.m-PRO{background:var(--pro)}.m-other{background:var(--oth)}
mark.m:target,mark.m.sel{outline:2px solid #c0392b;outline-offset:1px}
mark.m.mixed{box-shadow:inset 0 -3px #c0392b}
.b-heading{font-weight:650;font-size:1.06em}
.b-boilerplate{color:#6b6b70;font-style:italic}
.kinds .b0::before{content:attr(data-kind);font:600 .62rem/1 system-ui,sans-serif;font-style:normal;
text-transform:uppercase;letter-spacing:.04em;color:#fff;background:#7a8599;border-radius:3px;
padding:.15em .35em;margin-right:.4em;vertical-align:.2em}
.kinds .b-heading.b0::before{background:#3d5a80}.kinds .b-boilerplate.b0::before{background:#a0a0a6}
.l0::before{content:attr(lang);font:600 .62rem/1 ui-monospace,monospace;font-style:normal;color:#1f6f5c;
border:1px solid #1f6f5c;border-radius:3px;padding:.05em .25em;margin-right:.3em;vertical-align:.25em}
.l.f{text-decoration:underline wavy #d35400;text-underline-offset:4px}
.alllangs .l{text-decoration:underline 2px #1f9e89;text-underline-offset:5px}
.alllangs .l.alt{text-decoration-color:#8e44ad}
.toggles{font-size:.85rem;margin:.3rem 0 .5rem;color:#444}
.toggles label{margin-right:1rem}
.legend{display:flex;flex-wrap:wrap;gap:.35rem .8rem;font-size:.85rem;margin:.4rem 0}
.key{border-radius:3px;padding:0 .35em;box-shadow:inset 0 -2px rgba(0,0,0,.28)}
aside{position:sticky;top:.6rem;background:#fff;border:1px solid #d8d8dc;border-radius:6px;padding:.7rem .9rem;font-size:.88rem}
aside dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .6rem;margin:.3rem 0}
aside dt{color:#666}aside dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;background:#fff;font-size:.86rem}
th,td{border-bottom:1px solid #e3e3e6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4;position:sticky;top:0}
th.sort{cursor:pointer;user-select:none}th.sort:hover{background:#dde3ee}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.wide{width:100%}
.ctx{color:#555}.ctx.left{text-align:right}
.flag{color:#fff;background:#c0392b;border-radius:3px;padding:0 .35em;font-size:.8rem;font-weight:600}
.warn{background:#fdecea;border:1px solid #e6a49c;border-radius:6px;padding:.5rem .8rem}
.note{color:#666;font-size:.85rem}
.stats{display:flex;flex-wrap:wrap;gap:1.4rem;align-items:flex-start}
.charts{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.rows td:nth-child(2){white-space:nowrap}
figure.chart{margin:0;background:#fff;border:1px solid #d8d8dc;border-radius:6px;padding:.4rem .6rem}
figure.chart figcaption{font-size:.85rem;font-weight:600}
svg text{font:11px system-ui,sans-serif;fill:#333}
rect.bar{fill:#5b7db1}rect.bar-PER{fill:#e59a3c}rect.bar-ORG{fill:#4f86d9}rect.bar-LOC{fill:#4caf50}
rect.bar-EVT{fill:#d9534f}rect.bar-PRO{fill:#8e6fd1}
.bar-ctl{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.4rem 0;font-size:.88rem}
.bar-ctl input[type=search]{min-width:16rem;padding:.2rem .4rem}
code{font-size:.85em;overflow-wrap:anywhere}
td.flagged{color:#c0392b;font-weight:600}
""".strip()

JS = r"""
(function () {
  'use strict';
  var PAGE = 100;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  function cmp(a, b) {
    if (a === b) return 0;
    if (a == null || a === '') return 1;
    if (b == null || b === '') return -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a).localeCompare(String(b));
  }
  function table(root) {
    var data = JSON.parse(document.getElementById(root.getAttribute('data-rows')).textContent);
    var cols = data.columns, rows = data.rows, shown = rows, page = 0, by = -1, dir = 1;
    var ctl = el('div', 'bar-ctl'), q = el('input'), selects = [];
    q.type = 'search'; q.placeholder = 'filter (any column)'; q.setAttribute('aria-label', 'filter');
    ctl.appendChild(q);
    cols.forEach(function (c, i) {
      if (!c.choices) return;
      var s = el('select'); s.setAttribute('aria-label', c.title);
      s.appendChild(el('option', null, c.title + ': all')).value = '';
      c.choices.forEach(function (v) { s.appendChild(el('option', null, v)).value = v; });
      s.addEventListener('change', apply); selects.push([i, s]); ctl.appendChild(s);
    });
    var first = el('button', null, '\u00ab'), prev = el('button', null, '\u2039 prev'),
        next = el('button', null, 'next \u203a'), last = el('button', null, '\u00bb'), info = el('span', 'count');
    [first, prev, next, last, info].forEach(function (b) { ctl.appendChild(b); });
    var tbl = el('table', 'wide rows'), head = el('tr'), body = el('tbody');
    cols.forEach(function (c, i) {
      if (c.hidden) return;
      var th = el('th', 'sort' + (c.num ? ' num' : ''), c.title);
      th.title = 'sort by ' + c.title;
      th.addEventListener('click', function () { dir = by === i ? -dir : 1; by = i; apply(); });
      head.appendChild(th);
    });
    tbl.appendChild(el('thead')).appendChild(head); tbl.appendChild(body);
    root.textContent = ''; root.appendChild(ctl); root.appendChild(tbl);
    function apply() {
      var needle = q.value.trim().toLowerCase();
      shown = rows.filter(function (r) {
        for (var k = 0; k < selects.length; k++) {
          var v = selects[k][1].value;
          if (v && String(r[selects[k][0]]) !== v) return false;
        }
        if (!needle) return true;
        for (var i = 0; i < cols.length; i++) {
          if (!cols[i].hidden && r[i] != null && String(r[i]).toLowerCase().indexOf(needle) >= 0) return true;
        }
        return false;
      });
      if (by >= 0) shown = shown.slice().sort(function (a, b) { return dir * cmp(a[by], b[by]); });
      page = 0; draw();
    }
    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / PAGE));
      page = Math.min(Math.max(page, 0), pages - 1);
      body.textContent = '';
      shown.slice(page * PAGE, page * PAGE + PAGE).forEach(function (r) {
        var tr = el('tr');
        cols.forEach(function (c, i) {
          if (c.hidden) return;
          var td = el('td', c.num ? 'num' : null);
          if (c.link != null && r[c.link]) {
            var a = el('a', null, r[i]); a.href = r[c.link]; td.appendChild(a);
          } else td.textContent = r[i] == null ? '' : String(r[i]);
          if (c.flag && r[i] === c.flag) td.className = 'flagged';
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      info.textContent = 'rows ' + (shown.length ? page * PAGE + 1 : 0) + '\u2013' +
        Math.min(shown.length, page * PAGE + PAGE) + ' of ' + shown.length +
        (shown.length !== rows.length ? ' (filtered from ' + rows.length + ')' : '') +
        ' \u00b7 page ' + (page + 1) + '/' + pages;
      first.disabled = prev.disabled = page === 0; next.disabled = last.disabled = page >= pages - 1;
    }
    q.addEventListener('input', apply);
    first.addEventListener('click', function () { page = 0; draw(); });
    prev.addEventListener('click', function () { page--; draw(); });
    next.addEventListener('click', function () { page++; draw(); });
    last.addEventListener('click', function () { page = 1e9; draw(); });
    draw();
  }
  Array.prototype.forEach.call(document.querySelectorAll('[data-rows]'), table);

  var text = document.getElementById('text'), panel = document.getElementById('panel');
  if (!text || !panel) return;
  var selected = null;
  function show(m) {
    if (selected) selected.classList.remove('sel');
    selected = m; m.classList.add('sel');
    var d = m.dataset, dl = el('dl');
    [['text', m.textContent], ['label', d.label], ['lemma', d.lemma], ['entity id', d.entityId],
     ['layer', d.source], ['score', d.score || '\u2014'], ['offsets', d.start + '\u2013' + d.end]]
      .forEach(function (p) { dl.appendChild(el('dt', null, p[0])); dl.appendChild(el('dd', null, p[1])); });
    panel.textContent = '';
    panel.appendChild(el('strong', null, 'Mention ' + (Number(d.i) + 1)));
    panel.appendChild(dl);
    if (m.classList.contains('mixed')) panel.appendChild(el('p', 'flag', 'this id has several labels here'));
    var a = el('a', null, 'all mentions of this id \u203a'); a.href = d.href; panel.appendChild(a);
  }
  text.addEventListener('click', function (e) {
    var m = e.target.closest ? e.target.closest('mark.m') : null;
    if (m) show(m);
  });
  function toggle(id, cls) {
    var box = document.getElementById(id);
    if (!box) return;
    var sync = function () { text.classList.toggle(cls, box.checked); };
    box.addEventListener('change', sync); sync();
  }
  toggle('t-kinds', 'kinds'); toggle('t-langs', 'alllangs');
})();
""".strip()


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(script: bool = True) -> str:
    """Only the site's own inline script (or none) and style; no network, plug-in, form or ``<base>``."""
    scripts = _csp_hash(JS) if script else "'none'"
    return (
        f"default-src 'none'; script-src {scripts}; style-src {_csp_hash(CSS)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


CSP = csp()


def esc(value: Any) -> str:
    """HTML-escape text or an attribute value (quotes too).

    A carriage return is written as ``&#13;``: the HTML parser turns a raw CR
    into LF, and the page's text must equal the document's text exactly.
    """
    return html.escape("" if value is None else str(value), quote=True).replace("\r", "&#13;")


def json_block(element_id: str, data: Any) -> str:
    """Data for the page's script, as a non-executable ``<script type=application/json>``.

    ``<``, ``>`` and ``&`` are escaped inside the JSON, so no string in it can
    close the element (``</script>``) or open a comment.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def page(title: str, heading: str, body: str, *, sub: str = "", lang: str = "und", root: str = "", script: bool = True) -> str:
    """One HTML page: the CSP first, the style and script inline (no external asset).

    Entity pages need no script (``script=False``): there can be tens of
    thousands of them, and the script would be half of each file.
    """
    nav = f'<a href="{root}index.html">Kronika corpus</a> · <a href="{root}entities.html">entities</a>'
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(script)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>"
        f"<header><nav>{nav}</nav><h1>{heading}</h1>{f'<p class=sub>{sub}</p>' if sub else ''}</header>\n"
        f"<main>{body}</main>{f'<script>{JS}</script>' if script else ''}</body></html>\n"
    )


# ------------------------------------------------------------- file names
def doc_file(doc_id: str, taken: set[str]) -> str:
    """``<id>.html`` for a valid id; otherwise, or when a case-insensitive file
    system would mix it up with an earlier id, a hashed name no valid id can take."""
    name = f"{doc_id}.html" if isinstance(doc_id, str) and _ID.match(doc_id) else None
    if name is None or name.casefold() in taken:
        digest = hashlib.sha256(str(doc_id).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        name = f"~{digest}-{len(taken)}.html"
    taken.add(name.casefold())
    return name


@functools.lru_cache(maxsize=65536)
def entity_file(entity_id: str) -> str:
    """A readable, safe and unique file name for an entity id.

    The readable part is the id when it is valid (else ``entity``), cut to
    ``MAX_NAME_CHARS``; a digest of the full id follows after ``~``, a character
    no id may hold, so two ids (even differing only in case) never share a file.
    """
    readable = entity_id[:MAX_NAME_CHARS] if _ENTITY_ID.match(entity_id) else "entity"
    digest = hashlib.sha256(entity_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{readable}~{digest}.html"


# ------------------------------------------------------------ text markup
Spans = list[dict[str, Any]]


def disjoint(spans: Iterable[dict[str, Any]] | None, length: int) -> tuple[Spans, Spans]:
    """Spans sorted, inside ``[0, length]``, non-empty and not overlapping, and the rest.

    A validated corpus drops nothing; an unvalidated one still renders, and
    the page lists what it could not place.
    """
    kept: Spans = []
    dropped: Spans = []
    end = 0
    for span in sorted(spans or (), key=lambda s: (_int(s.get("start")), _int(s.get("end")))):
        start, stop = _int(span.get("start")), _int(span.get("end"))
        if 0 <= start < stop <= length and start >= end:
            kept.append(span)
            end = stop
        else:
            dropped.append(span)
    return kept, dropped


def _int(value: Any) -> int:
    return value if isinstance(value, int) else -1


def covering(spans: Spans, cuts: list[int]) -> list[int]:
    """For each piece ``[cuts[k], cuts[k+1])``, the index of the span covering it, or -1.

    One sweep: spans are sorted and disjoint, and every span edge is a cut.
    """
    out, p, n = [], 0, len(spans)
    for a in cuts[:-1]:
        while p < n and spans[p]["end"] <= a:
            p += 1
        out.append(p if p < n and spans[p]["start"] <= a else -1)
    return out


Key = tuple[str, int]  # ("b" | "l" | "m", index)


def chains(cuts: list[int], blk: list[int], lng: list[int], men: list[int]) -> Iterator[tuple[list[Key], int]]:
    """For each piece, the elements enclosing it, outermost first.

    The order is block > language span > mention. A mention is never split: if
    its block or language span changes inside it, that element (and the ones
    inside it) go inside the mention instead, cut at the mention's edges.
    """
    k, n = 0, len(cuts) - 1
    while k < n:
        if men[k] < 0:
            yield [key for key in (("b", blk[k]), ("l", lng[k])) if key[1] >= 0], k
            k += 1
            continue
        end = k
        while end < n and men[end] == men[k]:
            end += 1
        layers = (blk, lng)
        outside = 0
        while outside < len(layers) and len(set(layers[outside][k:end])) == 1:
            outside += 1
        prefix = [(name, layer[k]) for name, layer in zip("bl", layers[:outside]) if layer[k] >= 0]
        for j in range(k, end):
            inner = [(name, layer[j]) for name, layer in zip("bl"[outside:], layers[outside:]) if layer[j] >= 0]
            yield [*prefix, ("m", men[k]), *inner], j
        k = end


@dataclass
class Marked:
    """A document text as HTML, with what the page needs to say about it."""

    html: str
    mentions: Spans
    dropped: Spans = field(default_factory=list)


def mark_text(row: dict[str, Any], hrefs: dict[str, str], mixed: set[str]) -> Marked:
    """The document text with its blocks, language spans and mentions as nested elements."""
    text = row.get("text") or ""
    length = len(text)
    blocks, _ = disjoint(row.get("blocks"), length)
    langs, _ = disjoint(row.get("languages"), length)
    mentions, dropped = disjoint(row.get("entities"), length)
    cuts = sorted({0, length, *(s[e] for spans in (blocks, langs, mentions) for s in spans for e in ("start", "end"))})
    blk, lng, men = covering(blocks, cuts), covering(langs, cuts), covering(mentions, cuts)
    doc_lang = row.get("language")
    out: list[str] = []
    stack: list[Key] = []
    for chain, k in chains(cuts, blk, lng, men):
        a = cuts[k]
        same = 0
        while same < len(stack) and same < len(chain) and stack[same] == chain[same]:
            same += 1
        while len(stack) > same:
            out.append("</mark>" if stack.pop()[0] == "m" else "</span>")
        for key in chain[same:]:
            if key[0] == "b":
                out.append(_block_tag(blocks[key[1]], key[1], a))
            elif key[0] == "l":
                out.append(_lang_tag(langs[key[1]], key[1], a, doc_lang))
            else:
                out.append(_mention_tag(mentions[key[1]], key[1], hrefs, mixed))
            stack.append(key)
        out.append(esc(text[a : cuts[k + 1]]))
    out.extend("</mark>" if key[0] == "m" else "</span>" for key in reversed(stack))
    return Marked("".join(out), mentions, dropped)


def _block_tag(block: dict[str, Any], index: int, at: int) -> str:
    kind = block.get("kind") if block.get("kind") in ("heading", "paragraph", "boilerplate") else "other"
    first = " b0" if at == block["start"] else ""
    return f'<span class="b b-{kind}{first}" data-kind="{esc(block.get("kind"))}" data-block="{index}">'


def _lang_tag(span: dict[str, Any], index: int, at: int, doc_lang: str | None) -> str:
    lang = span.get("language") or "und"
    classes = "l" + (" f" if lang != doc_lang else "") + (" alt" if index % 2 else "") + (" l0" if at == span["start"] else "")
    return f'<span class="{classes}" lang="{esc(lang)}" data-span="{index}" data-score="{esc(span.get("score"))}">'


def _mention_tag(m: dict[str, Any], index: int, hrefs: dict[str, str], mixed: set[str]) -> str:
    label = m.get("label")
    cls = f"m-{label}" if label in LABELS else "m-other"
    entity = m.get("entity_id") or ""
    score = "" if m.get("score") is None else f"{m['score']:.4g}"
    tip = f"{label} · {m.get('lemma')} · {entity} · {m.get('source')}" + (f" · score {score}" if score else "")
    flag = " mixed" if entity in mixed else ""
    return (
        f'<mark class="m {cls}{flag}" id="m-{index}" data-i="{index}" data-label="{esc(label)}" '
        f'data-entity-id="{esc(entity)}" data-source="{esc(m.get("source"))}" data-lemma="{esc(m.get("lemma"))}" '
        f'data-score="{score}" data-start="{m["start"]}" data-end="{m["end"]}" '
        f'data-href="{esc(hrefs.get(entity, ""))}" title="{esc(tip)}">'
    )


# ----------------------------------------------------------- document pages
def _title(row: dict[str, Any]) -> str:
    """The seed's title, else its first line (cut), else the id: what a reader recognises."""
    title = (row.get("metadata") or {}).get("title")
    if title:
        return title
    line = (row.get("text") or "").strip().split("\n", 1)[0]
    return line[:100] + ("…" if len(line) > 100 else "") if line else str(row.get("id"))


def doc_page(row: dict[str, Any], entity_root: str) -> tuple[str, Marked]:
    """The page of one document, and its marked text (the caller counts mentions from it)."""
    mentions = row.get("entities") or []
    labels_by_id: dict[str, set[str]] = {}
    for m in mentions:
        labels_by_id.setdefault(m.get("entity_id") or "", set()).add(m.get("label"))
    mixed = {entity for entity, labels in labels_by_id.items() if len(labels) > 1}
    hrefs = {entity: entity_root + entity_file(entity) for entity in labels_by_id if entity}
    marked = mark_text(row, hrefs, mixed)
    meta = row.get("metadata") or {}
    sub = " · ".join(esc(x) for x in (row.get("id"), meta.get("date"), row.get("language"), f"entities: {row.get('entity_status')}", f"{len(mentions)} mentions") if x)
    body = (
        '<div class="doc"><section>'
        + _doc_legend(marked.mentions, row)
        + '<div class="toggles"><label><input type="checkbox" id="t-kinds" checked> block kinds</label>'
        '<label><input type="checkbox" id="t-langs"> underline every language span</label></div>'
        + f'<div id="text" class="text kinds" lang="{esc(row.get("language") or "und")}">{marked.html}</div>'
        + (f'<p class="warn">{len(marked.dropped)} mention(s) not highlighted: out of range or overlapping (run kronika validate).</p>' if marked.dropped else "")
        + "</section>"
        '<aside id="panel"><strong>Mention details</strong><p class="note">Click a highlighted mention '
        "(hovering shows a tooltip too). A red underline marks an entity id with several labels in this document.</p></aside></div>"
        + _mention_table(marked.mentions, hrefs, mixed)
        + _language_table(row)
        + _metadata_table(row)
    )
    title = _title(row)
    return page(f"{title} · Kronika", esc(title), body, sub=sub, lang=row.get("language") or "und", root="../"), marked


def _doc_legend(mentions: Spans, row: dict[str, Any]) -> str:
    counts = Counter(m.get("label") for m in mentions)
    keys = [f'<span class="key m-{label}">{label}</span> {counts.get(label, 0)}' for label in LABELS]
    keys += [f'<span class="key m-other">{esc(label)}</span> {n}' for label, n in counts.items() if label not in LABELS]
    langs = Counter(s.get("language") for s in row.get("languages") or [])
    keys.append("language spans: " + (", ".join(f"{esc(lang)} ×{n}" for lang, n in langs.most_common()) or "none"))
    keys.append('<span class="note">wavy underline: not the document language</span>')
    return f'<div class="legend">{"".join(f"<span>{k}</span>" for k in keys)}</div>'


def _mention_table(mentions: Spans, hrefs: dict[str, str], mixed: set[str]) -> str:
    if not mentions:
        return "<h2>Mentions</h2><p class=note>No mentions.</p>"
    rows = []
    for i, m in enumerate(mentions):
        entity = m.get("entity_id") or ""
        flag = ' <span class="flag">labels differ</span>' if entity in mixed else ""
        score = "" if m.get("score") is None else f"{m['score']:.4g}"
        link = f'<a href="{esc(hrefs[entity])}">{esc(entity)}</a>' if entity in hrefs else esc(entity)
        rows.append(
            f'<tr><td class="num"><a href="#m-{i}">{i + 1}</a></td><td>{esc(m.get("text"))}</td><td>{esc(m.get("label"))}{flag}</td>'
            f"<td>{esc(m.get('lemma'))}</td><td>{link}</td><td>{esc(m.get('source'))}</td>"
            f'<td class="num">{score}</td><td class="num">{m["start"]}–{m["end"]}</td></tr>'
        )
    head = "<tr><th>#</th><th>text</th><th>label</th><th>lemma</th><th>entity id</th><th>layer</th><th>score</th><th>offsets</th></tr>"
    return f'<h2>Mentions</h2><table class="wide"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _language_table(row: dict[str, Any]) -> str:
    text = row.get("text") or ""
    spans = row.get("languages") or []
    rows = "".join(
        f'<tr><td>{esc(s.get("language"))}</td><td class="num">{esc(s.get("score"))}</td><td class="num">{s.get("start")}–{s.get("end")}</td>'
        f'<td>{esc(_excerpt(text, s.get("start"), s.get("end")))}</td></tr>'
        for s in spans
    )
    doc = f"document: <code>{esc(row.get('language'))}</code> (<code>{esc(row.get('language_script'))}</code>, score {esc(row.get('language_score'))})"
    head = "<tr><th>language</th><th>score</th><th>offsets</th><th>text</th></tr>"
    return f'<h2>Language spans</h2><p class="note">{doc}</p><table class="wide"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def _excerpt(text: str, start: Any, end: Any, width: int = 60) -> str:
    if not isinstance(start, int) or not isinstance(end, int):
        return ""
    piece = " ".join(text[start:end].split())
    return piece if len(piece) <= 2 * width else f"{piece[:width]} … {piece[-width:]}"


def _metadata_table(row: dict[str, Any]) -> str:
    meta = dict(row.get("metadata") or {})
    meta |= {k: row.get(k) for k in ("language", "language_script", "language_score", "entity_status", *OPTIONAL_COLUMNS) if k in row}
    meta["blocks"] = ", ".join(f"{b.get('kind')} {b.get('start')}–{b.get('end')}" for b in row.get("blocks") or [])
    rows = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(json.dumps(v, ensure_ascii=False))}</code></td></tr>" for k, v in meta.items())
    return f"<h2>Metadata</h2><table><tbody>{rows}</tbody></table>"


# ------------------------------------------------------------- entities
@dataclass
class EntityStats:
    """What an entity page needs: counts, and a bounded sample of mentions per label."""

    labels: Counter = field(default_factory=Counter)
    lemmas: Counter = field(default_factory=Counter)
    forms: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    documents: int = 0
    last_doc: str | None = None
    examples: dict[str, list[tuple]] = field(default_factory=dict)

    def add(self, m: dict[str, Any], index: int, doc_id: str, doc_href: str, text: str) -> None:
        label = m.get("label")
        self.labels[label] += 1
        self.lemmas[m.get("lemma")] += 1
        self.forms[m.get("text")] += 1
        self.sources[m.get("source")] += 1
        if self.last_doc != doc_id:
            self.documents += 1
            self.last_doc = doc_id
        sample = self.examples.setdefault(label, [])
        if len(sample) < EXAMPLES_PER_LABEL:
            s, e = m["start"], m["end"]
            left = text[max(0, s - CONTEXT_CHARS) : s]
            sample.append((doc_id, f"{doc_href}#m-{index}", left, m.get("text"), text[e : e + CONTEXT_CHARS], m.get("lemma"), m.get("source"), m.get("score")))


def entity_page(entity_id: str, stats: EntityStats) -> str:
    mentions = sum(stats.labels.values())
    mixed = len(stats.labels) > 1
    flag = (
        f'<p class="warn"><span class="flag">labels differ</span> The mentions of this id carry {len(stats.labels)} labels: '
        f"{esc(_counted(stats.labels))}. That is the first thing to check.</p>"
        if mixed else ""
    )
    facts = (
        f"<table><tbody><tr><th>mentions</th><td>{mentions} in {stats.documents} document(s)</td></tr>"
        f"<tr><th>labels</th><td>{esc(_counted(stats.labels))}</td></tr>"
        f"<tr><th>lemmas</th><td>{esc(_counted(stats.lemmas, 30))}</td></tr>"
        f"<tr><th>forms</th><td>{esc(_counted(stats.forms, 30))}</td></tr>"
        f"<tr><th>layers</th><td>{esc(_counted(stats.sources))}</td></tr></tbody></table>"
    )
    sections = [flag, facts]
    for label, n in stats.labels.most_common():
        sample = stats.examples.get(label, [])
        cls = f"m-{label}" if label in LABELS else "m-other"
        note = f" (the first {len(sample)} shown)" if len(sample) < n else ""
        rows = "".join(
            f'<tr><td><a href="{esc(href)}">{esc(doc)}</a></td><td class="ctx left">{esc(left)}</td>'
            f'<td><mark class="m {cls}">{esc(form)}</mark></td><td class="ctx">{esc(right)}</td>'
            f"<td>{esc(lemma)}</td><td>{esc(source)}</td><td class=num>{'' if score is None else f'{score:.4g}'}</td></tr>"
            for doc, href, left, form, right, lemma, source, score in sample
        )
        head = "<tr><th>document</th><th></th><th>mention</th><th></th><th>lemma</th><th>layer</th><th>score</th></tr>"
        sections.append(f'<h2>{esc(label)}: {n} mention(s){note}</h2><table class="wide"><thead>{head}</thead><tbody>{rows}</tbody></table>')
    sub = f"{mentions} mentions · {stats.documents} documents · {esc(_counted(stats.labels))}"
    return page(f"{entity_id} · Kronika", esc(entity_id), "".join(sections), sub=sub, root="../", script=False)


def _counted(counts: Counter, most: int | None = None) -> str:
    shown_items = counts.most_common(most)
    text = ", ".join(f"{key} ×{n}" for key, n in shown_items)
    return text + (f", … ({len(counts) - len(shown_items)} more)" if len(counts) > len(shown_items) else "")


# ------------------------------------------------------------- the index
@dataclass
class Summary:
    """Counts over the whole corpus, gathered while the pages are written."""

    rows: list[list[Any]] = field(default_factory=list)
    labels: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    span_chars: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    years: Counter = field(default_factory=Counter)
    characters: int = 0
    mentions: int = 0
    dropped: int = 0


def doc_columns(optional: list[str]) -> list[dict[str, Any]]:
    """Index table columns; the row's last value is its page's href."""
    columns: list[dict[str, Any]] = [
        {"title": "id", "link": -1}, {"title": "date"}, {"title": "title"}, {"title": "language", "choices": []},
        {"title": "entity_status", "choices": []}, {"title": "mentions", "num": True}, {"title": "characters", "num": True},
    ]
    columns += [{"title": name, "choices": []} for name in optional]
    columns.append({"title": "href", "hidden": True})
    columns[0]["link"] = len(columns) - 1
    return columns


def summarize(summary: Summary, row: dict[str, Any], href: str, marked: Marked, optional: list[str]) -> None:
    meta = row.get("metadata") or {}
    text = row.get("text") or ""
    summary.rows.append([row.get("id"), meta.get("date"), _title(row), row.get("language"), row.get("entity_status"),
                         len(row.get("entities") or []), len(text), *(_optional(row, name) for name in optional), href])
    summary.labels.update(m.get("label") for m in row.get("entities") or [])
    summary.sources.update(m.get("source") for m in row.get("entities") or [])
    summary.languages[row.get("language")] += 1
    for span in row.get("languages") or []:
        if isinstance(span.get("start"), int) and isinstance(span.get("end"), int):
            summary.span_chars[span.get("language")] += span["end"] - span["start"]
    summary.statuses[row.get("entity_status")] += 1
    summary.years[meta["date"][:4] if meta.get("date") else "no date"] += 1
    summary.characters += len(text)
    summary.mentions += len(row.get("entities") or [])
    summary.dropped += len(marked.dropped)


def _optional(row: dict[str, Any], name: str) -> Any:
    value = row[name] if name in row else (row.get("metadata") or {}).get(name)
    return value if value is None or isinstance(value, (str, int, float)) else json.dumps(value)


def bar_chart(title: str, counts: list[tuple[Any, int]], label_classes: bool = False, top: int = 12) -> str:
    """A horizontal bar chart as inline SVG (attributes only: the CSP allows no style attribute)."""
    items = [(str(k), n) for k, n in counts[:top]]
    if len(counts) > top:
        items.append((f"{len(counts) - top} more", sum(n for _, n in counts[top:])))
    if not items:
        return ""
    most = max(n for _, n in items) or 1
    width, left, bar, height = 340, 96, 190, 18
    parts = []
    for i, (key, n) in enumerate(items):
        y = i * height + 4
        w = max(1, round(bar * n / most))
        cls = f"bar bar-{key}" if label_classes and key in LABELS else "bar"
        parts.append(
            f'<text x="{left - 6}" y="{y + 11}" text-anchor="end">{esc(key[:14])}</text>'
            f'<rect class="{cls}" x="{left}" y="{y}" width="{w}" height="13"></rect>'
            f'<text x="{left + w + 4}" y="{y + 11}">{n:,}</text>'
        )
    h = len(items) * height + 8
    return (
        f'<figure class="chart"><figcaption>{esc(title)}</figcaption>'
        f'<svg width="{width}" height="{h}" viewBox="0 0 {width} {h}" role="img" aria-label="{esc(title)}">{"".join(parts)}</svg></figure>'
    )


def index_page(summary: Summary, card: dict[str, Any], footers: dict[str, int], entities: dict[str, EntityStats], optional: list[str]) -> str:
    columns = doc_columns(optional)
    for i, column in enumerate(columns):
        if "choices" in column:
            column["choices"] = sorted({str(r[i]) for r in summary.rows if r[i] is not None})
    mixed = sum(1 for stats in entities.values() if len(stats.labels) > 1)
    figures = [
        ("documents", f"{len(summary.rows):,}"), ("mentions", f"{summary.mentions:,}"),
        ("entity ids", f"{len(entities):,}"), ("entity ids with several labels", f"{mixed:,}"),
        ("characters", f"{summary.characters:,}"),
    ]
    if summary.dropped:
        figures.append(("mentions not highlighted (invalid offsets)", f"{summary.dropped:,}"))
    own = "".join(f"<tr><th>{esc(k)}</th><td class=num>{v}</td></tr>" for k, v in figures)
    charts = "".join([
        bar_chart("mentions by label", summary.labels.most_common(), label_classes=True),
        bar_chart("documents by language", summary.languages.most_common()),
        bar_chart("characters in language spans", summary.span_chars.most_common()),
        bar_chart("documents by entity_status", summary.statuses.most_common()),
        bar_chart("mentions by layer", summary.sources.most_common()),
        bar_chart("documents by year", sorted(summary.years.items())),
    ])
    body = (
        f'<h2>Statistics</h2><div class="stats"><table><tbody>{own}</tbody></table>{card_table(card, footers)}</div>'
        f'<h2>Plots</h2><div class="charts">{charts}</div>'
        f'<h2>Documents</h2><p class="note">Click a column to sort, type to filter; {len(summary.rows):,} documents, 100 a page. '
        f'Entity ids are listed on the <a href="entities.html">entities page</a>.</p>'
        f'<div data-rows="docs-data"><noscript>The table needs JavaScript; each document is doc/&lt;id&gt;.html.</noscript></div>'
        + json_block("docs-data", {"columns": columns, "rows": summary.rows})
    )
    sub = esc(f"Kronika {card.get('_version') or ''}".strip()) + " · entity spans, language spans and blocks, for review"
    return page("Kronika corpus", "Kronika corpus", body, sub=sub)


def card_table(card: dict[str, Any], footers: dict[str, int]) -> str:
    """Each config's ``num_examples`` and ``num_bytes`` from the card, beside the rows the Parquet files hold."""
    if card.get("_error"):
        return f'<p class="warn">{esc(card["_error"])}</p>'
    infos = card.get("dataset_info") or []
    rows = []
    for info in infos if isinstance(infos, list) else []:
        if not isinstance(info, dict):
            continue
        name = info.get("config_name")
        for split in info.get("splits") or []:
            if not isinstance(split, dict):
                continue
            held = footers.get(f"{name}/{split.get('name')}")
            stated = split.get("num_examples")
            check = "" if held is None else (" ✓" if held == stated else f' <span class="flag">files hold {held:,}</span>')
            rows.append(f"<tr><td>{esc(name)}</td><td>{esc(split.get('name'))}</td><td class=num>{esc(stated)}{check}</td><td class=num>{esc(split.get('num_bytes'))}</td></tr>")
    if not rows:
        return '<p class="note">The card states no dataset_info.</p>'
    head = "<tr><th>config</th><th>split</th><th>num_examples (card)</th><th>num_bytes</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def entities_page(entities: dict[str, EntityStats]) -> str:
    columns = [
        {"title": "entity id", "link": 7}, {"title": "labels"}, {"title": "several labels", "choices": ["yes", "no"], "flag": "yes"},
        {"title": "lemma"}, {"title": "mentions", "num": True}, {"title": "documents", "num": True}, {"title": "layers"},
        {"title": "href", "hidden": True},
    ]
    rows = [
        [entity, _counted(s.labels), "yes" if len(s.labels) > 1 else "no", s.lemmas.most_common(1)[0][0] if s.lemmas else "",
         sum(s.labels.values()), s.documents, _counted(s.sources), "entity/" + entity_file(entity)]
        for entity, s in sorted(entities.items())
    ]
    body = (
        f'<p class="note">{len(rows):,} entity ids. Choose “several labels: yes” to see the ids whose mentions disagree on the label.</p>'
        '<div data-rows="entity-data"><noscript>The table needs JavaScript.</noscript></div>'
        + json_block("entity-data", {"columns": columns, "rows": rows})
    )
    return page("Entities · Kronika", "Entity ids", body)


# ------------------------------------------------------------- reading
def parquet_files(corpus: Path, config: str) -> list[Path]:
    return sorted(p for p in (corpus / config).glob("*.parquet") if p.is_file())


def read_card(corpus: Path) -> dict[str, Any]:
    """The card's YAML front matter (the ``README.md`` beside the corpus), or ``{"_error": why}``.

    A missing or broken card does not stop the site: the statistics say so.
    """
    card = corpus.resolve().parent / "README.md"
    try:
        text = card.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"_error": "No dataset card (README.md) beside the corpus."}
    except (OSError, UnicodeDecodeError) as err:
        return {"_error": f"{shown(card)}: cannot read the card: {getattr(err, 'strerror', None) or err}"}
    end = text.find("\n---\n", 3)
    if not text.startswith("---\n") or end < 0:
        return {"_error": "The card has no YAML front matter."}
    try:
        data = yaml.safe_load(text[4:end])
    except yaml.YAMLError as err:
        return {"_error": f"{shown(card)}: the card's YAML does not parse: {str(err).splitlines()[0]}"}
    return data if isinstance(data, dict) else {"_error": "The card's front matter is not a mapping."}


def footer_rows(corpus: Path) -> dict[str, int]:
    """Rows per config and per ``config/split`` from the Parquet footers (no data read).

    Shards are named ``<split>-NNNNN-of-NNNNN.parquet``, as the Hub names them.
    """
    counts: dict[str, int] = {}
    for config in ("documents", "mentions", "sentences"):
        for path in parquet_files(corpus, config):
            rows = _parquet(path).metadata.num_rows
            split = path.name.split("-", 1)[0]
            counts[config] = counts.get(config, 0) + rows
            counts[f"{config}/{split}"] = counts.get(f"{config}/{split}", 0) + rows
    return counts


def _parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise ViewError(f"{shown(path)}: not a readable Parquet file: {_one_line(err)}") from None


def _one_line(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())[:300]


def documents(files: list[Path]) -> Iterator[dict[str, Any]]:
    """Document rows, one batch in memory at a time."""
    for path in files:
        try:
            for batch in _parquet(path).iter_batches(batch_size=BATCH_ROWS):
                yield from batch.to_pylist()
        except (OSError, pa.ArrowException) as err:
            raise ViewError(f"{shown(path)}: cannot read: {_one_line(err)}") from None


def optional_columns(files: list[Path]) -> list[str]:
    """The optional index columns the documents' schema has (top level or in ``metadata``)."""
    schema = _parquet(files[0]).schema_arrow
    names = set(schema.names)
    if "metadata" in names and pa.types.is_struct(schema.field("metadata").type):
        names |= {f.name for f in schema.field("metadata").type}
    return [name for name in OPTIONAL_COLUMNS if name in names]


def _version(files: list[Path]) -> str | None:
    raw = (_parquet(files[0]).schema_arrow.metadata or {}).get(b"kronika_version")
    return raw.decode("utf-8", "replace") if raw else None


# ------------------------------------------------------------- the site
@dataclass
class SiteReport:
    out: Path
    documents: int
    mentions: int
    entities: int
    mixed: int
    seconds: float

    def line(self) -> str:
        return (
            f"kronika view: {shown(self.out)}: {self.documents} document page(s), {self.mentions} mention(s), "
            f"{self.entities} entity page(s) ({self.mixed} with several labels) in {self.seconds:.1f} s; "
            f"open {shown(self.out / 'index.html')}"
        )


def render_site(corpus: Path, stage: Path) -> SiteReport:
    """Write every page of the site into ``stage`` (an empty folder)."""
    started = time.perf_counter()
    files = parquet_files(corpus, "documents")
    if not files:
        raise ViewError(f"{shown(corpus)}: no documents/*.parquet; give a corpus folder (for example --corpus corpus)")
    card = read_card(corpus)
    card["_version"] = _version(files)
    footers = footer_rows(corpus)
    optional = optional_columns(files)
    (stage / "doc").mkdir()
    (stage / "entity").mkdir()
    summary, entities, taken = Summary(), {}, set()
    for row in documents(files):
        name = doc_file(row.get("id"), taken)
        html_text, marked = doc_page(row, "../entity/")
        (stage / "doc" / name).write_bytes(html_text.encode("utf-8"))
        href = "doc/" + name
        text = row.get("text") or ""
        for i, m in enumerate(marked.mentions):
            entities.setdefault(m.get("entity_id") or "", EntityStats()).add(m, i, row.get("id"), "../" + href, text)
        summarize(summary, row, href, marked, optional)
    entities.pop("", None)
    for entity, stats in entities.items():
        (stage / "entity" / entity_file(entity)).write_bytes(entity_page(entity, stats).encode("utf-8"))
    (stage / "index.html").write_bytes(index_page(summary, card, footers, entities, optional).encode("utf-8"))
    (stage / "entities.html").write_bytes(entities_page(entities).encode("utf-8"))
    mixed = sum(1 for s in entities.values() if len(s.labels) > 1)
    return SiteReport(stage, len(summary.rows), summary.mentions, len(entities), mixed, time.perf_counter() - started)


def check_out(out: Path, corpus: Path) -> None:
    """Refuse an output folder whose replacement could lose data.

    The site replaces ``out`` as a whole, so ``out`` must be a site this
    command wrote (it holds ``SITE_MARK``), an empty folder or not there yet;
    never a repository root, the seeds folder, the dataset root, or the corpus.
    """
    where, data = out.resolve(), corpus.resolve()
    if out.is_symlink():
        raise ViewError(f"{shown(out)}: is a symbolic link; give a real folder")
    if where == data or where.is_relative_to(data) or data.is_relative_to(where):
        raise ViewError(f"{shown(out)}: the site must not be, contain or lie inside the corpus {shown(corpus)}")
    if where == data.parent / "seeds" or where.is_relative_to(data.parent / "seeds"):
        raise ViewError(f"{shown(out)}: is the seeds folder; give a folder of its own (for example --out site)")
    if not where.exists():
        return
    if not where.is_dir():
        raise ViewError(f"{shown(out)}: exists and is not a folder")
    if any((where / marker).exists() for marker in REPO_MARKERS):
        raise ViewError(f"{shown(out)}: is a repository root; give a folder of its own (for example --out site)")
    if not (where / SITE_MARK).is_file() and any(where.iterdir()):
        raise ViewError(f"{shown(out)}: is not empty and not a Kronika site (no {SITE_MARK}); refusing to replace it")


def write_site(corpus: Path, out: Path) -> SiteReport:
    """Render into a staging folder beside ``out``, then swap it in: ``out`` is the old site or the new one."""
    check_out(out, corpus)
    parent = out.resolve().parent
    _remove_stale(parent, out.name)
    stage = parent / f".{out.name}.view-stage-{os.getpid()}"
    try:
        stage.mkdir(parents=True)
        (stage / SITE_MARK).write_text(json.dumps({"name": "kronika-site"}) + "\n", encoding="utf-8")
        report = render_site(corpus, stage)
        _swap(stage, out.resolve())
    except OSError as err:
        raise ViewError(f"{shown(getattr(err, 'filename', None) or out)}: {_one_line(err)}; {shown(out)} unchanged") from None
    finally:
        if stage.exists() and (stage / SITE_MARK).is_file():
            shutil.rmtree(stage, ignore_errors=True)
    report.out = out
    return report


def _swap(stage: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.view-old-{os.getpid()}"
    if out.exists():
        if (out / SITE_MARK).is_file():
            os.rename(out, old)
        else:
            out.rmdir()  # empty: check_out said so
    os.rename(stage, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale(parent: Path, name: str) -> None:
    """Staging and old folders left by a killed run; only ours (they hold the mark)."""
    for pattern in (f".{name}.view-stage-*", f".{name}.view-old-*"):
        for folder in parent.glob(pattern):
            if folder.is_dir() and not folder.is_symlink() and (folder / SITE_MARK).is_file():
                shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------- serving
class _Handler(SimpleHTTPRequestHandler):
    """Static files only; the CSP also as a header, and quiet logs."""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def serve(site: Path, port: int) -> int:
    """Serve ``site`` on 127.0.0.1 only (never on the network) until Ctrl-C."""
    handler = functools.partial(_Handler, directory=str(site))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        print(f"kronika view: cannot serve on 127.0.0.1:{port}: {_one_line(err)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"kronika view: serving {shown(site)} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# ------------------------------------------------------------- command line
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """One line, not the usage block."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535, not {number}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kronika view", description="Write a static HTML site to review the corpus: documents, entities, language spans.")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus folder (default: corpus)")
    parser.add_argument("--out", type=Path, default=Path("site"), help="site folder, replaced as a whole (default: site)")
    parser.add_argument("--serve", type=_port, default=None, metavar="PORT", help="then serve the site on 127.0.0.1:PORT (0: any free port)")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    try:
        report = write_site(args.corpus, args.out)
    except ViewError as err:
        print(f"kronika view: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"kronika view: interrupted; {shown(args.out)} unchanged", file=sys.stderr)
        return 130
    print(report.line(), flush=True)
    return serve(args.out, args.serve) if args.serve is not None else 0


if __name__ == "__main__":
    sys.exit(main())
