"""Command line: ``python -m xorgrok figure1 --runs 100 --out DIR`` (and figure2, figure3, figure4, export-notebooks).

Each ``figureN`` command runs the paper's experiment (:func:`xorgrok.figures.make_figure`), shows a progress
bar over the runs, and writes the figure as PNG and SVG with the data behind it as CSV files next to it.
Every file is written atomically (a temporary file in the same folder, then renamed), so an interrupted
command leaves no half-written output. Bad arguments exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import NoReturn, Sequence

__all__ = ["main", "build_parser"]

PROG = "xorgrok"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    return parse


def _positive_float(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value) or value <= 0:
            message = f"{name} must be a finite number > 0, got {text!r}"
            raise argparse.ArgumentTypeError(message)
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands figure1..figure4, export-notebooks and sweep)."""
    parser = _Parser(
        prog=PROG,
        description="Reproduce the figures of Xu, Wang, Frei, Vardi and Hu (ICLR 2024): benign overfitting and "
        "grokking in ReLU networks on XOR cluster data.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    helps = {
        "figure1": "train and test accuracy over t (alpha = 1e-12 and 1e-16), medians and 20-80%% bands",
        "figure2": "data, decision boundary and neurons on span(mu1, mu2) at t = 0, 1, 15 (alpha = 1e-12)",
        "figure3": "histograms of <w_j, mu1>, <w_j, mu2> over positive neurons, alpha = 1e-12",
        "figure4": "histograms of <w_j, mu1>, <w_j, mu2> over positive neurons, alpha = 1e-16",
    }
    for name, text in helps.items():
        p = sub.add_parser(name, help=text, description=text.replace("%%", "%") + ". Writes PNG, SVG and CSV files.")
        p.add_argument("--runs", type=_int_at_least(1), default=100, help="independent runs (seeds 0..runs-1; default 100, the paper's)")
        p.add_argument("--out", required=True, help="output folder (created if missing)")
        p.add_argument("--first-seed", type=_int_at_least(0), default=0, help="first seed (default 0)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.add_argument(
            "--step-scale", type=_positive_float("--step-scale"), default=1.0,
            help="multiply the step size alpha by this factor (default 1: the paper's "
            "stated alpha; 2 is the convention -l'(0) = 1 of chapter 5)",
        )
        p.add_argument(
            "--init-scale", type=_positive_float("--init-scale"), default=1.0,
            help="multiply omega_init by this factor (default 1: the paper's "
            "stated 1e-15; 0.5 is the other candidate convention of chapter 5)",
        )
        # Hidden: a smaller experiment, for tests and quick checks (||mu|| = 2.5 sqrt(p/n) is kept).
        p.add_argument("--p", type=_int_at_least(3), default=None, help=argparse.SUPPRESS)
        p.add_argument("--n", type=_int_at_least(1), default=None, help=argparse.SUPPRESS)
        p.add_argument("--m", type=_int_at_least(1), default=None, help=argparse.SUPPRESS)
        p.add_argument("--steps", type=_int_at_least(1), default=None, help=argparse.SUPPRESS)
    nb = sub.add_parser(
        "export-notebooks",
        help="export the book's chapters as Jupyter notebooks (.ipynb)",
        description="Export the book's MyST chapters as Jupyter notebooks (.ipynb, without outputs).",
    )
    nb.add_argument("out_dir", metavar="DIR", help="folder to write the notebooks into (created if missing)")
    nb.add_argument("--book", default=None, help="folder of the chapters (default: the repository's book/)")
    from .sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    return parser


def _fail(message: str, status: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _export_notebooks(args: argparse.Namespace) -> int:
    try:
        from . import notebooks
    except ImportError as err:  # the module is optional (it needs jupytext)
        return _fail(f"export-notebooks is unavailable: {err}")
    book = args.book
    if book is None:
        default = getattr(notebooks, "_default_book_dir", None)
        book = default() if default is not None else "book"
    paths = notebooks.export_notebooks(book, args.out_dir)
    for path in paths:
        print(path)
    return 0


def _figure(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .figures import make_figure

    if os.path.exists(args.out) and not os.path.isdir(args.out):
        return _fail(f"--out must be a folder, got the file {args.out!r}")
    total = args.runs * (2 if args.command == "figure1" else 1)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=args.command, unit="run", file=sys.stderr)
    start = time.perf_counter()
    try:
        paths = make_figure(
            args.command,
            args.out,
            runs=args.runs,
            progress=bar.update if bar is not None else None,
            p=args.p,
            n=args.n,
            m=args.m,
            steps=args.steps,
            first_seed=args.first_seed,
            step_scale=args.step_scale,
            init_scale=args.init_scale,
        )
    finally:
        if bar is not None:
            bar.close()
    for path in paths:
        print(path)
    print(f"{args.command}: {args.runs} runs in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``xorgrok`` and ``python -m xorgrok``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "export-notebooks":
            return _export_notebooks(args)
        if args.command == "sweep":
            from .sweep_cli import run as run_sweep

            return run_sweep(args)
        return _figure(args)
    except ValueError as err:
        return _fail(str(err).splitlines()[0] if str(err) else "invalid value")
    except OSError as err:
        target = f" {os.fspath(err.filename)!r}" if getattr(err, "filename", None) else ""
        return _fail(f"cannot write{target}: {err.strerror or err}", status=1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial output was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
