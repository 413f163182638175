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
import hashlib
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kronika.atomic import write_bytes
from kronika.corpus_files import manifest, shards, split_rank
from kronika.plots import PLOT_VERSION, PLOTS, PlotProcess, draw_plots
from kronika.record import ENTITY_STATUSES, LABELS

START = "<!-- kronika:stats:start -->"
END = "<!-- kronika:stats:end -->"
TOP_ENTITIES = 20
BUCKETS = ((0, 0), (1, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, None))  # mentions per document
# The leaves the statistics read (``column.subfield``): reading whole mentions and
# spans cost four times as long as counting them.
COLUMNS = [
    "id", "language", "metadata.word_count", "languages.start", "languages.end", "languages.language",
    "entities.label", "entities.source", "entities.entity_id", "entity_status", "duplicate_cluster", "duplicate_count",
]


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
        tables = [_table_of(path) for path in paths]
        acc.add_table(split, pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0])
    return acc.result()


def _table_of(path: Path) -> pa.Table:
    """The columns the statistics need, of one shard (a shard holds a few hundred documents)."""
    try:
        file = pq.ParquetFile(path)
        return file.read(columns=[_path(file.schema_arrow, c) for c in COLUMNS if _has(file.schema_arrow, c)])
    except (OSError, ValueError) as err:
        raise StatsError(f"{path}: cannot read: {err}") from None


def _grouped(table: pa.Table, keys: list[str], sums: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """Rows ``(*key values, count, *sums)`` of ``table`` grouped by ``keys``."""
    out = table.group_by(keys).aggregate([(keys[0], "count", _all_rows()), *sums])
    columns = [out[k].to_pylist() for k in keys] + [out[f"{keys[0]}_count"].to_pylist()]
    columns += [out[f"{name}_{how}"].to_pylist() for name, how in sums]
    return list(zip(*columns))


def _has(schema: pa.Schema, column: str) -> bool:
    name, _dot, sub = column.partition(".")
    if name not in schema.names:
        return False
    kind = schema.field(name).type
    kind = kind.value_type if pa.types.is_list(kind) else kind
    return not sub or (pa.types.is_struct(kind) and kind.get_field_index(sub) >= 0)


def _all_rows() -> Any:
    import pyarrow.compute as pc

    return pc.CountOptions(mode="all")


def _path(schema: pa.Schema, column: str) -> str:
    """Parquet's path of a leaf: a list's items sit under ``list.element``."""
    name, _dot, sub = column.partition(".")
    if sub and pa.types.is_list(schema.field(name).type):
        return f"{name}.list.element.{sub}"
    return column


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

    def add_table(self, split: str, table: pa.Table) -> None:
        """Count the rows of one shard, by Arrow kernels (a Python loop over every
        mention was most of a cached build's statistics)."""
        import pyarrow.compute as pc

        n = table.num_rows
        if not n:
            return
        docs = pa.table({
            "language": table["language"], "entity_status": table["entity_status"],
            "words": pc.fill_null(table["metadata"].combine_chunks().field("word_count"), 0),
            "mentions": pc.fill_null(pc.list_value_length(table["entities"]), 0),
        })
        self.by["split"][split].update(documents=n, words=pc.sum(docs["words"]).as_py() or 0, mentions=pc.sum(docs["mentions"]).as_py() or 0)
        for dim in ("language", "entity_status"):
            for key, count, words, mentions in _grouped(docs, [dim], [("words", "sum"), ("mentions", "sum")]):
                self.by[dim][key].update(documents=count, words=words, mentions=mentions)
        self.per_doc.extend(docs["mentions"].to_pylist())
        for language, status, count in _grouped(docs, ["language", "entity_status"], []):
            self.status_by_language[language][status] += count
        self._add_mentions(split, table["entities"].combine_chunks())
        self._add_spans(table["languages"].combine_chunks(), table["language"].combine_chunks())
        if "duplicate_cluster" in table.column_names:
            self.has_duplicates = True
            clusters = table["duplicate_cluster"].drop_null()
            self.in_clusters += len(clusters)
            for item in pc.value_counts(clusters).to_pylist():
                self.clusters[item["values"]] = self.clusters.get(item["values"], 0) + item["counts"]

    def _add_mentions(self, split: str, entities: pa.ListArray) -> None:
        import pyarrow.compute as pc

        flat = pc.list_flatten(entities)
        if not len(flat):
            return
        mentions = pa.table({
            "doc": pc.list_parent_indices(entities), "label": flat.field("label"),
            "source": flat.field("source"), "entity_id": flat.field("entity_id"),
        })
        for label, count in _grouped(mentions, ["label"], []):
            self.labels[label][split] += count
        for source, count in _grouped(mentions, ["source"], []):
            self.layers[source] += count
        for entity_id, label, count in _grouped(mentions, ["entity_id", "label"], []):
            self.entities[entity_id].update(mentions=count, **{f"label:{label}": count})
        pairs = mentions.group_by(["doc", "entity_id"]).aggregate([])
        for entity_id, count in _grouped(pairs, ["entity_id"], []):
            self.entities[entity_id]["documents"] += count

    def _add_spans(self, spans: pa.ListArray, doc_language: pa.Array) -> None:
        import pyarrow.compute as pc

        flat = pc.list_flatten(spans)
        if not len(flat):
            return
        own = pc.take(doc_language, pc.list_parent_indices(spans))
        table = pa.table({
            "language": flat.field("language"),
            "characters": pc.subtract(flat.field("end"), flat.field("start")),
            "other": pc.cast(pc.not_equal(flat.field("language"), own), pa.int64()),
        })
        for language, count, characters, other in _grouped(table, ["language"], [("characters", "sum"), ("other", "sum")]):
            self.spans[language].update(spans=count, characters=characters, other=other)

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


def write_plots(
    corpus: Path, out_dir: Path, *, stats: dict[str, Any] | None = None, cache: Path | None = None,
    drawer: PlotProcess | None = None,
) -> list[Path]:
    """Write ``labels.png`` and ``languages.png`` into ``out_dir``, byte for byte the same for the same data.

    PNG bytes depend on more than the data: matplotlib writes its version
    (``Software``) into the file, and the user's matplotlibrc changes fonts and
    sizes. Both are pinned here: default rc parameters, a fixed size and dpi,
    no metadata, the Agg renderer.

    With ``cache`` the PNGs are kept there under a key of what they plot and the
    matplotlib version; a build whose figures did not change copies them and
    never imports matplotlib (0.5 s of import and 0.2 s of drawing). ``drawer``:
    a ``PlotProcess`` started earlier that draws them (here if it fails).
    """
    s = stats or compute(corpus)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = list(s["splits"])
    labels = {label: [by.get(sp, 0) for sp in splits] for label, by in s["labels"].items()} or {label: [0] * len(splits) for label in LABELS}
    languages = list(s["languages"].items())[:20]
    kept = cache / "plots" / _plot_key(labels, splits, languages) if cache else None
    if kept is not None and all((kept / name).is_file() for name in PLOTS):
        return [write_bytes(out_dir / name, (kept / name).read_bytes()) for name in PLOTS]
    written = (drawer.draw(out_dir, labels, splits, languages) if drawer else None) or draw_plots(out_dir, labels, splits, languages)
    if kept is not None:
        _keep(written, kept)
    return written


def _plot_key(labels: dict[str, list[int]], splits: list[str], languages: list[tuple[str, dict[str, int]]]) -> str:
    from importlib.metadata import version

    data = [PLOT_VERSION, version("matplotlib"), labels, splits, [[name, c["documents"]] for name, c in languages]]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _keep(written: list[Path], kept: Path) -> None:
    """Copy the fresh PNGs into the cache; a cache that cannot be written only costs speed."""
    try:
        kept.mkdir(parents=True, exist_ok=True)
        for path in written:
            write_bytes(kept / path.name, path.read_bytes())
    except OSError:
        pass


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


if __name__ == "__main__":
    sys.exit(main())
