"""Corpus statistics from the Parquet alone: the card's statistics section, plots, ``kronika stats``.

Everything is computed from ``<corpus>/documents/*.parquet`` (splits from the
shard names), so the figures describe exactly the files a user downloads, and
a download can be described with no Kronika build installed (pyarrow only;
matplotlib for the plots). Fields the corpus may lack (``duplicate_cluster``,
``duplicate_count``) are used only when present.

The card section is plain Markdown between two markers, so a build can replace
it in the card body without touching the documentation around it
(``write.replace_stats_section``).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from kronika.corpus_files import manifest, shards, split_rank
from kronika.record import ENTITY_STATUSES, LABELS

START = "<!-- kronika:stats:start -->"
END = "<!-- kronika:stats:end -->"
PLOTS = ("labels.png", "languages.png")
TOP_ENTITIES = 20
BUCKETS = ((0, 0), (1, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, None))  # mentions per document
COLUMNS = ["id", "language", "metadata", "languages", "entities", "entity_status", "duplicate_cluster", "duplicate_count"]


class StatsError(ValueError):
    """The corpus cannot be read; one line naming the folder or file."""


# ------------------------------------------------------------------ compute
def compute(corpus: Path) -> dict[str, Any]:
    """Every figure of the statistics section, as plain JSON-able data."""
    documents = shards(corpus).get("documents")
    if not documents:
        raise StatsError(f"{corpus}: no documents/<split>-NNNNN-of-NNNNN.parquet files; is this a corpus folder?")
    acc = _Accumulator()
    for split, paths in documents.items():
        for path in paths:
            for row in _rows(path):
                acc.add(split, row)
    return acc.result()


def _rows(path: Path) -> list[dict[str, Any]]:
    """The columns the statistics need, of one shard (a shard holds a few hundred documents)."""
    try:
        names = set(pq.read_schema(path).names)
        return pq.read_table(path, columns=[c for c in COLUMNS if c in names]).to_pylist()
    except (OSError, ValueError) as err:
        raise StatsError(f"{path}: cannot read: {err}") from None


class _Accumulator:
    """Counts documents, words and mentions by every dimension while the rows stream past."""

    def __init__(self) -> None:
        self.by: dict[str, dict[str, Counter]] = {dim: defaultdict(Counter) for dim in ("split", "language", "entity_status")}
        self.labels: dict[str, Counter] = defaultdict(Counter)  # label -> split -> mentions
        self.status_by_language: dict[str, Counter] = defaultdict(Counter)  # language -> entity_status -> documents
        self.layers: Counter = Counter()
        self.spans: dict[str, Counter] = defaultdict(Counter)  # language -> spans, characters, foreign
        self.per_doc: list[int] = []
        self.entities: dict[str, Counter] = defaultdict(Counter)  # entity id -> mentions, documents, label:X
        self.clusters: dict[str, int] = {}
        self.has_duplicates = False
        self.in_clusters = 0

    def add(self, split: str, row: dict[str, Any]) -> None:
        mentions = row.get("entities") or []
        words = (row.get("metadata") or {}).get("word_count") or 0
        for dim, key in (("split", split), ("language", row["language"]), ("entity_status", row["entity_status"])):
            self.by[dim][key].update(documents=1, words=words, mentions=len(mentions))
        self.per_doc.append(len(mentions))
        self.status_by_language[row["language"]][row["entity_status"]] += 1
        for mention in mentions:
            self.labels[mention["label"]][split] += 1
            self.layers[mention["source"]] += 1
            self.entities[mention["entity_id"]].update(mentions=1, **{f"label:{mention['label']}": 1})
        for entity_id in {m["entity_id"] for m in mentions}:
            self.entities[entity_id]["documents"] += 1
        for span in row.get("languages") or []:
            self.spans[span["language"]].update(spans=1, characters=span["end"] - span["start"],
                                                other=int(span["language"] != row["language"]))
        self._add_duplicates(row)

    def _add_duplicates(self, row: dict[str, Any]) -> None:
        if "duplicate_cluster" not in row:
            return
        self.has_duplicates = True
        cluster = row["duplicate_cluster"]
        if cluster is not None:
            self.in_clusters += 1
            self.clusters[cluster] = self.clusters.get(cluster, 0) + 1

    def result(self) -> dict[str, Any]:
        total = sum(self.by["split"].values(), Counter())
        return {
            "documents": total["documents"],
            "words": total["words"],
            "mentions": total["mentions"],
            "splits": _table(self.by["split"], key=split_rank),
            "languages": _table(self.by["language"], key=lambda k: (-self.by["language"][k]["documents"], k)),
            "entity_status": _table(self.by["entity_status"], key=lambda k: (_rank(ENTITY_STATUSES, k), k)),
            "entity_status_by_language": {
                lang: {status: self.status_by_language[lang][status] for status in ENTITY_STATUSES if self.status_by_language[lang][status]}
                for lang in sorted(self.status_by_language, key=lambda k: (-self.by["language"][k]["documents"], k))
            },
            "labels": {label: dict(sorted(splits.items(), key=lambda kv: split_rank(kv[0])))
                       for label, splits in sorted(self.labels.items(), key=lambda kv: (_rank(LABELS, kv[0]), kv[0]))},
            "layers": dict(sorted(self.layers.items())),
            "language_spans": {lang: {"spans": c["spans"], "characters": c["characters"], "outside_document_language": c["other"]}
                               for lang, c in sorted(self.spans.items(), key=lambda kv: (-kv[1]["spans"], kv[0]))},
            "mentions_per_document": _distribution(self.per_doc),
            "top_entities": self._top_entities(),
            "duplicates": self._duplicates() if self.has_duplicates else None,
        }

    def _top_entities(self) -> list[dict[str, Any]]:
        ranked = sorted(self.entities.items(), key=lambda kv: (-kv[1]["mentions"], kv[0]))[:TOP_ENTITIES]
        return [{"entity_id": eid, "label": _main_label(c), "mentions": c["mentions"], "documents": c["documents"]} for eid, c in ranked]

    def _duplicates(self) -> dict[str, Any]:
        sizes = sorted(self.clusters.values(), reverse=True)
        return {
            "clusters": len(sizes),
            "documents_in_clusters": self.in_clusters,
            "redundant_copies": self.in_clusters - len(sizes),
            "largest_cluster": sizes[0] if sizes else 0,
        }


def _table(counts: dict[str, Counter], key: Any) -> dict[str, dict[str, int]]:
    return {name: {"documents": c["documents"], "words": c["words"], "mentions": c["mentions"]}
            for name, c in sorted(counts.items(), key=lambda kv: key(kv[0]))}


def _rank(order: list[str], value: str) -> int:
    return order.index(value) if value in order else len(order)


def _main_label(counts: Counter) -> str:
    labels = {k[6:]: v for k, v in counts.items() if k.startswith("label:")}
    return min(labels, key=lambda label: (-labels[label], label))


def _distribution(values: list[int]) -> dict[str, Any]:
    """Summary and histogram of mentions per document; the mean rounded so the card shows what JSON holds."""
    histogram = {_bucket_name(lo, hi): sum(1 for v in values if v >= lo and (hi is None or v <= hi)) for lo, hi in BUCKETS}
    return {
        "min": min(values, default=0),
        "median": statistics.median(values) if values else 0,
        "mean": round(statistics.fmean(values), 2) if values else 0.0,
        "max": max(values, default=0),
        "histogram": histogram,
    }


def _bucket_name(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"{lo}+"
    return str(lo) if lo == hi else f"{lo}-{hi}"


# ----------------------------------------------------------------- markdown
def stats_markdown(corpus: Path, *, plots_prefix: str | None = "corpus/stats", stats: dict[str, Any] | None = None) -> str:
    """The statistics as Markdown tables (a card section, without the markers).

    ``plots_prefix`` is where the card finds the PNGs, relative to the card;
    None leaves the images out (``kronika stats`` on a terminal).
    """
    s = stats or compute(corpus)
    out = ["## Statistics", "",
           f"Generated by `kronika stats` from the Parquet files: {s['documents']:,} documents, "
           f"{s['words']:,} words, {s['mentions']:,} entity mentions.", ""]
    out += _section("Splits", ["split", "documents", "words", "mentions"], _rows_of(s["splits"]))
    out += _section("Languages", ["language", "documents", "words", "mentions"], _rows_of(s["languages"]))
    out += _section("Entity status", ["entity_status", "documents", "words", "mentions"], _rows_of(s["entity_status"]))
    out += _section("Entity status per language (documents)", ["language", *ENTITY_STATUSES],
                    [[lang, *(by.get(status, 0) for status in ENTITY_STATUSES)] for lang, by in s["entity_status_by_language"].items()])
    splits = list(s["splits"])
    out += _section("Mentions per label", ["label", *splits, "total"],
                    [[label, *(by.get(sp, 0) for sp in splits), sum(by.values())] for label, by in s["labels"].items()])
    out += _section("Mentions per layer", ["source", "mentions"], [[k, v] for k, v in s["layers"].items()])
    out += _section("Language spans", ["language", "spans", "characters", "outside the document language"],
                    [[k, v["spans"], v["characters"], v["outside_document_language"]] for k, v in s["language_spans"].items()])
    dist = s["mentions_per_document"]
    out += _section("Mentions per document", ["min", "median", "mean", "max"], [[dist["min"], dist["median"], dist["mean"], dist["max"]]])
    out += _table_lines(["mentions", "documents"], [[k, v] for k, v in dist["histogram"].items()]) + [""]
    if s["duplicates"] is not None:
        d = s["duplicates"]
        out += _section("Duplicates", ["clusters", "documents in clusters", "redundant copies", "largest cluster"],
                        [[d["clusters"], d["documents_in_clusters"], d["redundant_copies"], d["largest_cluster"]]])
    out += _section(f"Most frequent entities (top {TOP_ENTITIES})", ["entity_id", "label", "mentions", "documents"],
                    [[f"`{e['entity_id']}`", e["label"], e["mentions"], e["documents"]] for e in s["top_entities"]])
    if plots_prefix is not None:
        out += ["### Plots", "", f"![Mentions per label]({plots_prefix}/labels.png)", "",
                f"![Documents per language]({plots_prefix}/languages.png)", ""]
    return "\n".join(out)


def card_section(
    corpus: Path, *, plots_prefix: str = "corpus/stats", version: str | None = None, stats: dict[str, Any] | None = None
) -> str:
    """The statistics section and the citation between their markers, for ``write.replace_stats_section``.

    The citation names the version (from the manifest unless given), so it is
    generated with the figures rather than written by hand.
    """
    version = version or manifest(corpus).get("version", "")
    citation = ["## Citation", "", "```bibtex", citation_bibtex(version), "```", ""]
    return f"{START}\n{stats_markdown(corpus, plots_prefix=plots_prefix, stats=stats)}\n" + "\n".join(citation) + f"{END}\n"


def citation_bibtex(version: str) -> str:
    """How to cite this version of the corpus (the card's citation and Croissant's ``citeAs``)."""
    return (
        "@misc{kronika,\n  title = {Kronika: an annotated news corpus with entity spans and language tags},\n"
        f"  author = {{Kronika contributors}},\n  howpublished = {{Hugging Face dataset}},\n  note = {{Version {version}}}\n}}"
    )


def _section(title: str, header: list[str], rows: list[list[Any]]) -> list[str]:
    return [f"### {title}", "", *_table_lines(header, rows), ""]


def _table_lines(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _cell(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "\\|")
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")


def _rows_of(table: dict[str, dict[str, int]]) -> list[list[Any]]:
    return [[name, c["documents"], c["words"], c["mentions"]] for name, c in table.items()]


# -------------------------------------------------------------------- plots
FIGSIZE = (8.0, 4.5)
DPI = 100


def write_plots(corpus: Path, out_dir: Path, *, stats: dict[str, Any] | None = None) -> list[Path]:
    """Write ``labels.png`` and ``languages.png`` into ``out_dir``, byte for byte the same for the same data.

    PNG bytes depend on more than the data: matplotlib writes its version
    (``Software``) into the file, and the user's matplotlibrc changes fonts and
    sizes. Both are pinned here: default rc parameters, a fixed size and dpi,
    no metadata, the Agg renderer.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    s = stats or compute(corpus)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = list(s["splits"])
    labels = {label: [by.get(sp, 0) for sp in splits] for label, by in s["labels"].items()} or {label: [0] * len(splits) for label in LABELS}
    languages = list(s["languages"].items())[:20]
    written = []
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update({"svg.hashsalt": "kronika", "path.simplify": True, "font.family": "DejaVu Sans"})
        written.append(_save(plt, _label_figure(plt, labels, splits), out_dir / "labels.png"))
        written.append(_save(plt, _language_figure(plt, languages), out_dir / "languages.png"))
    return written


def _label_figure(plt: Any, labels: dict[str, list[int]], splits: list[str]) -> Any:
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    bottom = [0] * len(labels)
    for i, split in enumerate(splits):
        heights = [counts[i] for counts in labels.values()]
        ax.bar(list(labels), heights, bottom=bottom, label=split)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_title("Entity mentions per label")
    ax.set_ylabel("mentions")
    if len(splits) > 1:
        ax.legend(title="split")
    fig.tight_layout()
    return fig


def _language_figure(plt: Any, languages: list[tuple[str, dict[str, int]]]) -> Any:
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    names = [name for name, _ in languages][::-1]
    ax.barh(names, [c["documents"] for _, c in languages][::-1])
    ax.set_title("Documents per language")
    ax.set_xlabel("documents")
    fig.tight_layout()
    return fig


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """PNG with no metadata (no matplotlib version, no date), written atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``kronika stats [--corpus corpus] [--json]``: the card's figures on the terminal."""
    parser = argparse.ArgumentParser(prog="kronika stats", description="print corpus statistics computed from the Parquet files")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus folder (default: corpus)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 2
    try:
        stats = compute(args.corpus)
    except StatsError as err:
        print(f"kronika stats: {err}", file=sys.stderr)
        return 1
    print(json.dumps(stats, ensure_ascii=False, sort_keys=False) if args.json else stats_markdown(args.corpus, plots_prefix=None, stats=stats))
    return 0
