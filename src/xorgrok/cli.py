"""Command line: ``python -m xorgrok figure1 --runs 100 --out DIR`` (also figure2-4,
export-notebooks and sweep).

Each ``figureN`` command runs the paper's experiment
(:func:`xorgrok.figures.make_figure`), shows a progress bar over the runs and writes the
figure as PNG and SVG with the data behind it as CSV files.

* Output is complete or absent: every command writes its files into a staging folder
  beside ``--out`` and swaps it in at the end (:func:`xorgrok.outputs.staged_folder`);
  an error, Ctrl-C or SIGTERM leaves the folder as it was, without the staging folder.
* Bad arguments (also sizes that would not fit in memory, and an ``--out`` that cannot
  be written) exit with status 2 and a one-line message before any computation; I/O
  failures exit 1 with one line naming the user's path; Ctrl-C exits 130 and SIGTERM
  143, with one line, after stopping every worker.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import time
import warnings
from contextlib import contextmanager
from typing import Iterator, NoReturn, Sequence

from .outputs import OutputError, check_writable_folder, staged_folder

__all__ = ["main", "build_parser", "Terminated", "interruption"]

PROG = "xorgrok"
#: Most runs a figure command accepts (the paper uses 100; 10^5 runs of its size take
#: weeks on a laptop).
MAX_RUNS = 100_000
#: Largest seed (seeds are stored as int64).
MAX_SEED = 2**63 - 1


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _int_at_least(low: int, high: int = 2**53):
    """An argparse type: an integer written as one (no float, however round), in
    [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer in [{low}, {high}], got {text!r}"
            )
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
    """The argument parser (subcommands figure1..figure4, export-notebooks and
    sweep)."""
    parser = _Parser(
        prog=PROG,
        description="Reproduce the figures of Xu, Wang, Frei, Vardi and Hu (ICLR "
        "2024): benign overfitting and "
        "grokking in ReLU networks on XOR cluster data.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, text in _FIGURE_HELPS.items():
        _add_figure_parser(sub, name, text)
    _add_export_parser(sub)
    from .sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    from .theorem_data import add_parser as add_theorem_parser

    add_theorem_parser(sub)
    from .plateau_data import add_parser as add_plateau_parser

    add_plateau_parser(sub)
    return parser


#: The figure commands and their one-line help.
_FIGURE_HELPS = {
    "figure1": "train and test accuracy over t (alpha = 1e-12 and 1e-16), medians and "
    "20-80%% "
    "bands",
    "figure2": "data, decision boundary and neurons on span(mu1, mu2) at t = 0, 1, 15 "
    "(alpha = "
    "1e-12)",
    "figure3": "histograms of <w_j, mu1>, <w_j, mu2> over positive neurons, alpha = "
    "1e-12",
    "figure4": "histograms of <w_j, mu1>, <w_j, mu2> over positive neurons, alpha = "
    "1e-16",
}


def _add_figure_parser(sub: argparse._SubParsersAction, name: str, text: str) -> None:
    """The sub-command ``name`` (figure1..figure4): runs, seeds, scales, output
    folder."""
    p = sub.add_parser(
        name,
        help=text,
        description=text.replace("%%", "%") + ". Writes PNG, SVG and CSV files.",
    )
    p.add_argument(
        "--runs",
        type=_int_at_least(1, MAX_RUNS),
        default=100,
        help="independent runs (seeds 0..runs-1; default 100, the paper's)",
    )
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument(
        "--first-seed",
        type=_int_at_least(0, MAX_SEED),
        default=0,
        help="first seed (default 0)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--step-scale",
        type=_positive_float("--step-scale"),
        default=1.0,
        help="multiply the step size alpha by this factor (default 1: the paper's "
        "stated alpha; 2 is the convention -l'(0) = 1 of chapter 5)",
    )
    p.add_argument(
        "--init-scale",
        type=_positive_float("--init-scale"),
        default=1.0,
        help="multiply omega_init by this factor (default 1: the paper's "
        "stated 1e-15; 0.5 is the other candidate convention of chapter 5)",
    )
    # Hidden: a smaller experiment, for tests and quick checks (||mu|| = 2.5 sqrt(p/n)
    # is kept).
    p.add_argument("--p", type=_int_at_least(3), default=None, help=argparse.SUPPRESS)
    p.add_argument("--n", type=_int_at_least(1), default=None, help=argparse.SUPPRESS)
    p.add_argument("--m", type=_int_at_least(1), default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--steps", type=_int_at_least(1), default=None, help=argparse.SUPPRESS
    )


def _add_export_parser(sub: argparse._SubParsersAction) -> None:
    """The sub-command ``export-notebooks``."""
    nb = sub.add_parser(
        "export-notebooks",
        help="export the book's chapters as Jupyter notebooks (.ipynb)",
        description="Export the book's MyST chapters as Jupyter notebooks (.ipynb, "
        "without "
        "outputs).",
    )
    nb.add_argument(
        "out_dir",
        metavar="DIR",
        help="folder to write the notebooks into (created if missing)",
    )
    nb.add_argument(
        "--book",
        default=None,
        help="folder of the chapters (default: the repository's book/)",
    )


def _fail(message: str, status: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _export_notebooks(args: argparse.Namespace) -> int:
    from . import notebooks  # imports jupytext only when converting

    book = args.book if args.book is not None else notebooks._default_book_dir()
    if not notebooks.chapter_paths(book):
        raise ValueError(f"--book holds no MyST notebook chapter: {os.fspath(book)!r}")
    check_writable_folder(args.out_dir)
    with staged_folder(args.out_dir) as stage:
        staged = notebooks.export_notebooks(book, stage)
    for path in staged:
        print(os.path.join(args.out_dir, path.name))
    return 0


def _check_figure_args(args: argparse.Namespace) -> None:
    """Everything about a figure command's arguments that can fail, before any
    computation: seeds, sizes, the memory of the recorded arrays
    (:func:`xorgrok.resources.run_bytes`) and ``--out``."""
    from . import figures as FG
    from .config import PAPER_FIG1_LEFT
    from .resources import check_memory, run_bytes

    if args.first_seed + args.runs - 1 > MAX_SEED:
        raise ValueError(
            f"--first-seed + --runs - 1 must be at most 2**63 - 1, got "
            f"{args.first_seed + args.runs - 1}"
        )
    check_writable_folder(args.out)
    # ValueError on a bad size
    setup = FG.scaled_setup(PAPER_FIG1_LEFT, args.p, args.n, args.m)
    if args.command == "figure1":
        longest = FG.FIGURE1_STEPS["right"]
        last = longest if args.steps is None else min(args.steps, longest)
        shape = dict(recorded=len(FG.figure1_record(last)))
    elif args.command == "figure2":
        shape = dict(recorded=FG.FIGURE2_STEPS[-1] + 1, neurons=True)
    else:
        shape = dict(recorded=len(FG.FIGURE4_STEPS), neurons=True)
    need = run_bytes(setup, args.runs, itemsize=4, **shape)
    what = f"{args.command} with {args.runs} runs at m = {setup.m}, n = {setup.n}"
    check_memory(need, what)


def _figure(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .figures import make_figure

    _check_figure_args(args)
    total = args.runs * (2 if args.command == "figure1" else 1)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=args.command, unit="run", file=sys.stderr)
    start = time.perf_counter()
    try:
        with staged_folder(args.out) as stage:
            staged = make_figure(
                args.command,
                stage,
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
    for path in staged:
        print(os.path.join(args.out, path.name))
    print(
        f"{args.command}: {args.runs} runs in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    return 0


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) received: unwinds like Ctrl-C, so that workers stop and the
    staging folder is removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextmanager
def _signals_as_exceptions() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` in the main thread (the previous
    handlers are restored afterwards)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    saved = {n: signal.signal(getattr(signal, n), _raise_terminated) for n in names}
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {str(message).splitlines()[0]}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``xorgrok`` and ``python -m xorgrok``; returns the exit status.

    0: done; 1: an I/O error or a failed computation; 2: bad arguments; 130: Ctrl-C;
    143: SIGTERM.
    """
    try:
        with _signals_as_exceptions(), warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            status = _dispatch(build_parser().parse_args(argv))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; outputs are left as they were", file=sys.stderr)
        return _interrupted_exit(argv, 130)
    except Terminated as stop:
        print(
            f"{PROG}: terminated by signal {stop.signum}; outputs are left as they "
            "were",
            file=sys.stderr,
        )
        return _interrupted_exit(argv, 128 + stop.signum)
    # the sweep command reports its own interruption (finished runs are cached)
    return _interrupted_exit(argv, status) if status == 130 else status


def _interrupted_exit(argv: Sequence[str] | None, status: int) -> int:
    """``status``; a program (``argv`` None: the command line) exits with it at once,
    everything cleaned up already. A signal that lands while a C extension loads can
    leave the interpreter marked "interrupted", which would turn a normal exit into a
    death by SIGINT (status -2) at shutdown."""
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "export-notebooks":
            return _export_notebooks(args)
        if args.command == "sweep":
            from .sweep_cli import run as run_sweep

            return run_sweep(args)
        if args.command == "theorem-data":
            from .theorem_data import run as run_theorem_data

            return run_theorem_data(args)
        if args.command == "plateau-data":
            from .plateau_data import run as run_plateau_data

            return run_plateau_data(args)
        return _figure(args)
    except Exception as err:
        stop = interruption(err)
        if stop is not None:
            raise stop from None
        return _report(err)


def interruption(err: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or :class:`Terminated` behind ``err``, if any: a signal
    that
    lands while a C extension is being imported surfaces as an ImportError
    ("initialization failed") whose cause is the interruption."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, (KeyboardInterrupt, Terminated)):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _report(err: Exception) -> int:
    """One line for a failure, with the exit status; anything unexpected is
    re-raised."""
    from .sweep import SweepError

    if isinstance(err, OutputError):
        return _fail(err.strerror, status=1 if err.errno not in _USAGE_ERRNOS else 2)
    if isinstance(err, (ValueError, MemoryError, OverflowError)):
        return _fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    if isinstance(err, OSError):
        target = (
            f" {os.fspath(err.filename)!r}" if getattr(err, "filename", None) else ""
        )
        return _fail(f"cannot write{target}: {err.strerror or err}", status=1)
    if isinstance(err, SweepError):
        return _fail(str(err).splitlines()[0], status=1)
    raise err


#: Output errors that are the user's arguments (exit 2): a file given as folder, a
#: missing or read-only parent, an empty name, the current folder.
_USAGE_ERRNOS = {errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.EACCES, errno.EINVAL}


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
