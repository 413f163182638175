"""Build, check, measure and explore the Kronika news corpus (one command per task; `kronika COMMAND --help`).

Bad input ends with one line per problem and a non-zero exit, never a traceback.
Heavy modules are imported inside each command, so ``kronika validate`` works
without any annotator installed.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kronika.plots import PlotProcess

EXIT_INVALID = 1
EXIT_USAGE = 2
MAX_PROBLEMS_SHOWN = 200
_console = False  # set by ``run``: the process is the console command, not a library caller


def run() -> None:
    """The console entry point: ``main``, then exit without tearing the interpreter down.

    Everything is written and closed by then; freeing the loaded models object
    by object took about 0.8 s after a build, time a user waits for nothing.
    A build or a validation starts without pandas (``kronika.startup``).
    """
    global _console
    _console = True
    try:
        code = main()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `kronika build | head -1`: the reader left early; no traceback
        code = 1
    if code and "multiprocessing.synchronize" in sys.modules:
        # a failed parallel build leaves its traceback's cycles, which hold the pool's
        # semaphores: unreleased, the resource tracker warns of "leaked semaphore objects"
        gc.collect()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in FORWARDED:
        return _forward(argv[0], argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already printed in one line
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("kronika: interrupted; the previous output is untouched", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """One line, not the usage block: ``kronika build: --jobs: must be at least 1, not -1``."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``, read from the package metadata only when asked: importlib.metadata
    costs 25-35 ms, which ``kronika validate`` (no version of its own) need not pay."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        import kronika

        print(f"kronika {kronika.__version__}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kronika", description=__doc__.splitlines()[0].replace("`", ""))
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="build the corpus from seed files")
    build.add_argument("--seeds", type=Path, default=Path("seeds"), help="seed folder (default: seeds)")
    build.add_argument("--out", type=Path, default=Path("corpus"), help="corpus folder; its parent holds the card (default: corpus)")
    build.add_argument("--jobs", type=_positive, default=None, help="worker processes (default and most: the cores, as memory allows)")
    build.add_argument("--shard-size", type=_positive, default=None, help="average seeds per Parquet shard, at most twice that (default: 250)")
    build.add_argument("--keep-going", action="store_true", help="leave bad seeds out (listed with reasons) instead of failing")
    build.add_argument("--entity-model", type=Path, action="append", default=[], metavar="MODEL_DIR", help="add a trained entity model (kronika train) as a layer; models/*/ of the dataset root are added too")
    build.add_argument("--drop-duplicates", action="store_true", help="keep one document of each cluster of copies (the smallest id with a gold file, else that builds)")
    build.add_argument("--cache", type=Path, default=Path(".kronika-cache"), help="layer cache folder (default: .kronika-cache)")
    build.add_argument("--no-cache", action="store_true", help="annotate every seed afresh and write no cache")
    build.add_argument("--report", type=Path, default=None, help="also write the build report as JSON here")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument("--engine", choices=["local", "ray"], default="local", help="where shards run (default: local process pool)")
    build.add_argument("--ray-address", default=None, help="address of an existing Ray cluster (default: start a local one)")
    build.add_argument("--verbose", action="store_true", help="let third-party log lines through (Ray's INFO and WARNING)")
    build.set_defaults(run=_build)

    validate = sub.add_parser("validate", help="check a corpus folder, Parquet file or JSONL file")
    validate.add_argument("path", type=Path, help="a corpus folder, a dataset repository root, a .parquet or a .jsonl file")
    validate.set_defaults(run=_validate)

    schema = sub.add_parser("schema", help="write the JSON Schema files")
    schema.add_argument("--out", type=Path, default=Path("schema"), help="folder (default: schema)")
    schema.set_defaults(run=_schema)

    for name, (_, _, text) in FORWARDED.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _build(args: argparse.Namespace) -> int:
    from kronika.plots import plot_process

    # the plot process first: matplotlib loads (0.4-0.7 s) while pyarrow and the build
    # are imported (it touches nothing; if the build stops here, it is killed)
    with plot_process(start=args.no_cache or args.cache is None) as drawer:
        _lean_start()
        from kronika.preflight import ToolsMissing, check_tools

        try:  # before importing the build, which imports the annotators
            check_tools()
        except ToolsMissing as err:
            return _failed(args.out, str(err))
        return _run_build(args, drawer)


def _lean_start() -> None:
    """A build or a validation run from the console (``run``) imports pyarrow without
    numpy and starts without pandas (``kronika.startup``); library callers of
    ``main`` are left alone."""
    if _console:
        from kronika.startup import pyarrow_without_numpy, skip_pandas_probe

        pyarrow_without_numpy()
        skip_pandas_probe()


def _run_build(args: argparse.Namespace, drawer: PlotProcess | None) -> int:
    from kronika.build import DEFAULT_SHARD_SIZE, BuildError, build, write_report

    try:
        report = build(
            args.seeds,
            args.out,
            jobs=args.jobs,
            shard_size=args.shard_size or DEFAULT_SHARD_SIZE,
            keep_going=args.keep_going,
            cache_dir=None if args.no_cache else args.cache,
            progress=not args.quiet,
            engine=args.engine,
            ray_address=args.ray_address,
            drop_duplicates=args.drop_duplicates,
            verbose=args.verbose,
            entity_models=tuple(args.entity_model),
            drawer=drawer,
        )
    except BuildError as err:
        return _failed(args.out, str(err))
    print(report.summary())
    if args.report:
        try:
            write_report(report, args.report)
        except OSError as err:
            print(f"kronika build: the corpus is built, but the report could not be written: {args.report}: {err.strerror or err}", file=sys.stderr)
            return EXIT_INVALID
    return 0


def _failed(out: Path, reasons: str) -> int:
    """One line per reason, the first saying that the previous output stands."""
    print(f"kronika build: failed, {out} unchanged: {reasons}", file=sys.stderr)
    return EXIT_INVALID


def _validate(args: argparse.Namespace) -> int:
    _lean_start()
    from kronika.validate import validate_path

    problems = validate_path(args.path)
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(problem)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    if problems:
        print(f"{args.path}: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    print(f"{args.path}: valid")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from kronika.record import SCHEMAS, schema_text
    from kronika.atomic import write_text

    for name in SCHEMAS:
        write_text(args.out / name, schema_text(name))
        print(args.out / name)
    return 0


# Commands with their own argument parsers: argv is handed to ``module.function`` as it
# is, imported only when the command runs. name -> (module, function, help line)
FORWARDED = {
    "eval-language": ("kronika.eval_language", "main", "measure language identification on a gold JSONL file"),
    "eval-entities": ("kronika.eval_entities", "main", "measure the entity layers (or a trained model) on a gold JSONL file"),
    "train": ("kronika.train", "main", "train the entity model (crf_v1) from gold layers or gold JSONL"),
    "export": ("kronika.exchange", "export_main", "export annotations (conll, spacy, labelstudio, brat)"),
    "import": ("kronika.exchange", "import_main", "import reviewed annotations into gold layers (conll, spacy, labelstudio, brat)"),
    "view": ("kronika.view", "main", "write a static HTML site to review documents, entities and language spans"),
    "stats": ("kronika.stats", "main", "print corpus statistics (documents, words, mentions per language, label, split, status)"),
    "diff": ("kronika.diff", "main", "compare two corpus folders or git revisions (documents, mentions, languages, splits)"),
    "release": ("kronika.release", "main", "bump the version, rebuild, write the CHANGELOG entry and tag the release"),
    "publish": ("kronika.publish", "main", "upload the dataset repository to the Hugging Face Hub (card, corpus, croissant.json, schema)"),
}


def _forward(name: str, argv: list[str]) -> int:
    module, function, _ = FORWARDED[name]
    return getattr(importlib.import_module(module), function)(argv)


if __name__ == "__main__":
    run()
