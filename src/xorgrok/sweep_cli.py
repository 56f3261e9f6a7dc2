"""The ``sweep`` command: run the experiments of "Beyond the theorem" (or any grid) from
the command line.

Examples::

    python -m xorgrok sweep list
    python -m xorgrok sweep paper-samples --resolution full --workers 16 \\
        --cache-dir ~/.cache/xorgrok --out samples.npz
    python -m xorgrok sweep custom --set m=100 --set n=50 \\
        --axis alpha=1e-12,1e-14 --steps 200 --seeds 8
    python -m xorgrok sweep paper-init --resolution full --dask tcp://scheduler:8786
    python -m xorgrok sweep --all --resolution full --out book/data/beyond

``--all`` runs every paper-size experiment and writes each, with its provenance record,
to ``OUT/NAME/`` (:func:`xorgrok.beyond_data.write_plan_data`).

``python -m xorgrok`` (:mod:`xorgrok.cli`) is the only entry point: it wires this
command with :func:`add_parser` and :func:`run`. Results are cached per (cell, seed) and
a rerun resumes where an interrupted one stopped. Bad input exits with status 2 and a
one-line message.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .beyond_data import save_result, write_plan_data
from .config import PAPER_FIG1_LEFT, PAPER_FIG1_RIGHT, Setup
from .outputs import check_writable_file, check_writable_folder
from .schedule import log_steps
from .sweep import SweepResult, grid, sweep

__all__ = ["add_parser", "run", "DEFAULT_CACHE"]

#: Default cache folder: $XORGROK_CACHE, else $XDG_CACHE_HOME/xorgrok/sweeps, else
#: ~/.cache/xorgrok/sweeps.
DEFAULT_CACHE = os.environ.get(
    "XORGROK_CACHE",
    str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "xorgrok"
        / "sweeps"
    ),
)
_BASES = {"paper-left": PAPER_FIG1_LEFT, "paper-right": PAPER_FIG1_RIGHT, "book": None}
_INT_FIELDS = ("p", "n", "n_test", "m")
#: Most seeds, steps and workers a sweep command accepts (checked before building).
MAX_SEEDS = 100_000
MAX_STEPS = 10**9
MAX_WORKERS = 4096
MAX_SEED = 2**63 - 1


class _UsageError(ValueError):
    pass


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` sub-command to an ``argparse`` sub-parsers object; returns
    its parser."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a grid of setups x seeds (cached, resumable, parallel)",
        description="Run a named experiment of the part 'Beyond the theorem' or a "
        "custom grid. "
        "Finished (cell, seed) runs are cached on disk; rerunning resumes.",
    )
    _fill(parser)
    return parser


def _fill(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sweep``: the experiment, seeds, workers, cache, output."""
    parser.add_argument(
        "experiment",
        nargs="?",
        help="a named experiment, 'custom' (with --axis/--set) or 'list'",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every named experiment, each written to OUT/NAME/ (--out: a folder) "
        "with its provenance record: python -m xorgrok sweep --all --resolution full "
        "--out book/data/beyond",
    )
    parser.add_argument(
        "--resolution",
        default="full",
        choices=("page", "full"),
        help="grid of a named experiment: the book's coarse one or the full one "
        "(default)",
    )
    parser.add_argument(
        "--seeds",
        default=None,
        help="K (seeds 0..K-1) or A:B (seeds A..B-1); default: the experiment's",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: all cores)",
    )
    parser.add_argument(
        "--cache-dir",
        default=DEFAULT_CACHE,
        help=f"cache folder (default: {DEFAULT_CACHE})",
    )
    parser.add_argument("--no-cache", action="store_true", help="keep nothing on disk")
    parser.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run on a dask.distributed scheduler at ADDRESS ('local': a local "
        "cluster)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="write the stacked curves to this .npz file (with --all: this folder)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_custom_options(parser.add_argument_group("custom grids"))


def _add_custom_options(custom: argparse._ArgumentGroup) -> None:
    """The options of ``sweep custom``: base setup, changed fields, axes, steps."""
    custom.add_argument(
        "--base",
        default="book",
        choices=sorted(_BASES),
        help="base setup of a custom grid (default: book = xorgrok.beyond.BOOK_BASE)",
    )
    custom.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a field",
    )
    custom.add_argument(
        "--axis",
        action="append",
        default=[],
        metavar="FIELD=V1,V2,...",
        help="a grid axis",
    )
    custom.add_argument(
        "--steps", type=int, default=200, help="GD steps of a custom grid (default 200)"
    )
    custom.add_argument(
        "--per-decade",
        type=int,
        default=20,
        help="recorded steps per decade of a custom grid (default 20)",
    )
    custom.add_argument(
        "--engine", default="auto", help="engine of a custom grid (default auto)"
    )


def _parse_value(field: str, text: str) -> Any:
    """A --set/--axis value: an integer field takes an integer (1e4 is one, 3.7 is
    not), every other field a finite real number."""
    try:
        value = float(text)
    except ValueError:
        raise _UsageError(f"{field} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise _UsageError(f"{field} must be finite, got {text!r}")
    if field not in _INT_FIELDS:
        return value
    try:
        return int(text)
    except ValueError:
        if value != int(value):
            raise _UsageError(f"{field} must be an integer, got {text!r}") from None
        return int(value)


def _parse_assignment(text: str, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise _UsageError(f"{what} must look like FIELD=VALUE, got {text!r}")
    field, value = text.split("=", 1)
    fields = Setup.__dataclass_fields__
    if field not in fields:
        raise _UsageError(
            f"{what} field must be one of {', '.join(fields)}, got {field!r}"
        )
    return field, value


def _parse_seeds(text: str | None) -> range | None:
    if text is None:
        return None
    try:
        if ":" in text:
            a, b = (int(x) for x in text.split(":", 1))
        else:
            a, b = 0, int(text)
    except ValueError:
        raise _UsageError(
            f"--seeds must be K or A:B with integers, got {text!r}"
        ) from None
    if a < 0 or b <= a or b - 1 > MAX_SEED or b - a > MAX_SEEDS:
        raise _UsageError(
            f"--seeds must name 1 to {MAX_SEEDS} seeds in [0, 2**63 - 1], got {text!r}"
        )
    return range(a, b)


def _check_workers(workers: int | None) -> None:
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise _UsageError(f"--workers must be in [1, {MAX_WORKERS}], got {workers}")


def _executor(address: str | None):
    if address is None:
        return None, None
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise _UsageError(
            "--dask needs the 'distributed' package: pip install 'dask[distributed]'"
        ) from None
    if address == "local":
        client = Client(LocalCluster(processes=True))
    else:
        client = Client(address)
    return client, client.get_executor()


def _summary(res: SweepResult, names: list[str]) -> str:
    lines = [
        f"{res.cells.size} cells x {len(res.seeds)} seeds: {res.n_computed} runs "
        "computed, "
        f"{res.n_cached} from the cache"
    ]
    columns = ("median final train", "median final test", "t(test>=0.9)")
    header = f"{'cell':>5}  {columns[0]:>18}  {columns[1]:>17}  {columns[2]:>12}  setup"
    lines.append(header)
    final_train = np.nanmedian(res.final("train_acc"), -1)
    final_test = np.nanmedian(res.final("test_acc"), -1)
    t_gen = np.asarray(res.first_step("test_acc", 0.9))  # [*G] (a float for an empty G)
    for k, idx in enumerate(np.ndindex(*res.shape)):
        cell = res.cells[idx]
        shown = ", ".join(f"{f}={getattr(cell.setup, f):g}" for f in names) or str(
            cell.setup
        )
        if cell.variant:
            shown += " " + json.dumps(dict(cell.variant))
        lines.append(
            f"{k:>5}  {final_train[idx]:>18.3f}  {final_test[idx]:>17.3f}  "
            f"{t_gen[idx]:>12g}  "
            f"{shown}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Execute the ``sweep`` sub-command; returns the exit status (2 on bad input, 1
    when a computation or a write fails, 130 on Ctrl-C; :class:`xorgrok.cli.Terminated`
    passes through)."""
    from .cli import interruption
    from .outputs import OutputError
    from .sweep import SweepError

    try:
        try:
            return _run(args)
        except (
            Exception
        ) as err:  # an interruption behind another error is an interruption
            stop = interruption(err)
            if stop is not None:
                raise stop from None
            raise
    except OutputError as err:
        print(f"xorgrok sweep: error: {err.strerror}", file=sys.stderr)
        return 1 if err.errno == errno.ENOSPC else 2
    except (_UsageError, ValueError, MemoryError) as err:
        print(f"xorgrok sweep: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    except (SweepError, OSError) as err:
        print(f"xorgrok sweep: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "xorgrok sweep: interrupted; finished runs are cached: run the same "
            "command "
            "again to resume",
            file=sys.stderr,
        )
        return 130


def _run(args: argparse.Namespace) -> int:
    from . import beyond

    if args.all:
        return _run_all(args)
    if args.experiment is None:
        raise _UsageError("give an experiment, 'custom', 'list' or --all")
    if args.experiment == "list":
        _list()
        return 0
    seeds = _parse_seeds(args.seeds)
    _check_workers(args.workers)
    if args.out is not None:
        check_writable_file(args.out)  # before computing
    options: dict[str, Any] = dict(
        cache_dir=None if args.no_cache else os.path.expanduser(args.cache_dir),
        workers=args.workers,
    )
    if args.experiment == "custom":
        setups, axes = _custom_grid(args)
        names = list(axes)
    elif args.experiment in beyond.EXPERIMENTS:
        names = []
    else:
        raise _UsageError(
            f"experiment must be one of {', '.join(beyond.EXPERIMENTS)}, custom or "
            "list, got "
            f"{args.experiment!r}"
        )
    client, executor = _executor(args.dask)
    bar = None if args.no_progress else _progress_bar()
    try:
        if executor is not None:
            options["executor"] = executor
        options["progress"] = None if bar is None else bar.update
        if args.experiment == "custom":
            record = log_steps(args.steps, args.per_decade)
            res = sweep(
                setups,
                args.steps,
                seeds or range(8),
                record=record,
                engine=args.engine,
                axes=axes,
                **options,
            )
        else:
            res = beyond.run(args.experiment, args.resolution, seeds=seeds, **options)
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
    print(_summary(res, names))
    if args.out:
        save_result(args.out, res)
        print(f"curves written to {args.out}")
    return 0


def _list() -> None:
    """``sweep list``: the paper-size experiments with their predicted cost, the toy
    ones, custom."""
    from . import beyond
    from .beyond_plans import budget_table

    print("paper-size experiments (full resolution, predicted on 2 cores):")
    print(budget_table())
    for name, (question, _) in beyond.EXPERIMENTS.items():
        print(f"{name:20s} {question}")
    print("toy experiments (m = 100, n = 50; page resolution only):")
    for name, (question, _) in beyond.TOY_EXPERIMENTS.items():
        print(f"{name:20s} {question}")
    print(f"{'custom':20s} a grid given by --base, --set and --axis")


def _custom_grid(args: argparse.Namespace) -> tuple[Any, dict[str, list]]:
    """The setups (a Setup or a grid) and the named axes of ``sweep custom``."""
    from . import beyond

    base = _BASES[args.base] or beyond.BOOK_BASE
    changes = dict(_parse_assignment(s, "--set") for s in args.set)
    base = base.replace(**{f: _parse_value(f, v) for f, v in changes.items()})
    axes = {}
    for text in args.axis:
        field, values = _parse_assignment(text, "--axis")
        axes[field] = [_parse_value(field, v) for v in values.split(",") if v]
    if not 0 <= args.steps <= MAX_STEPS:
        raise _UsageError(f"--steps must be in [0, {MAX_STEPS}], got {args.steps}")
    if not 1 <= args.per_decade <= 1000:
        raise _UsageError(f"--per-decade must be in [1, 1000], got {args.per_decade}")
    return (grid(base, **axes) if axes else base), axes


def _progress_bar() -> Any:
    """A tqdm bar over the (cell, seed) runs as they are computed."""
    from tqdm import tqdm

    return tqdm(desc="sweep", unit="run")


def _run_all(args: argparse.Namespace) -> int:
    """``sweep --all``: every named experiment into ``--out``/NAME/, resumable."""
    from . import beyond

    if args.experiment is not None:
        raise _UsageError(f"--all takes no experiment, got {args.experiment!r}")
    if args.out is None:
        raise _UsageError("--all needs --out FOLDER")
    if args.seeds is not None:
        raise _UsageError("--all runs each plan's own seeds: drop --seeds")
    _check_workers(args.workers)
    check_writable_folder(args.out)
    options: dict[str, Any] = dict(
        cache_dir=None if args.no_cache else os.path.expanduser(args.cache_dir),
        workers=args.workers,
    )
    command = (
        f"python -m xorgrok sweep --all --resolution {args.resolution} --out {args.out}"
    )
    client, executor = _executor(args.dask)
    if executor is not None:
        options["executor"] = executor
    try:
        for name in beyond.EXPERIMENTS:
            pl = beyond.plan(name, args.resolution)
            bar = None if args.no_progress else _progress_bar()
            try:
                progress = None if bar is None else bar.update
                folder = write_plan_data(
                    name,
                    args.out,
                    plan=pl,
                    command=command,
                    progress=progress,
                    **options,
                )
            finally:
                if bar is not None:
                    bar.close()
            print(f"{name}: {folder}", flush=True)
    finally:
        if client is not None:
            client.close()
    return 0
