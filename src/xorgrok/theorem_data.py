"""The stored data of the chapter "The theorem, tested as stated": the command ``python
-m xorgrok theorem-data --out DIR``.

For every n in ``ns`` and every C in ``Cs`` it builds the setup of
:func:`xorgrok.theory.setup_satisfying_assumptions` (A1-A6 hold with that C), trains one
network per seed with the reduced engine for ``horizon * floor(sqrt(n))`` steps, and
writes

* ``theorem_runs.csv``: one row per (n, C, seed): the conclusions of Theorem 3.1
  (:func:`xorgrok.proof_events.conclusions`), the events (B1)-(B4), (D1)-(D4), and the
  approximations (Lemma A.10's one-step error and bound, max abs(g - 1/2) over the
  window, Lemma A.4's relative error over the window); rows with ``C`` = 0 are the
  paper's experimental setup (events only, no training);
* ``theorem_curves.csv``: train and clean test accuracy of every run at every step;
* ``theorem_setups.csv``: the setups and each assumption's margin (lhs / rhs);
* ``provenance_theorem.txt``: command, package version, commit, date, machine, cores,
  wall time.

The folder is written atomically (:func:`xorgrok.outputs.staged_folder`): an interrupted
run leaves the previous data as they were.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import MAX_INT, PAPER_FIG1_LEFT, Setup
from .outputs import staged_folder
from .proof_events import (
    conclusions,
    data_events,
    g_deviation,
    init_events,
    preact_change_error,
    theorem_window,
)
from .simulate import sample, simulate
from .theory import (
    check_assumptions,
    lemma_a10_bound,
    one_step_error,
    required_dimension,
    setup_satisfying_assumptions,
)

__all__ = [
    "theorem_setup",
    "run_one_setup",
    "representable",
    "write_theorem_data",
    "read_table",
    "add_parser",
    "run",
]

#: Defaults of the stored data.
NS, CS, SEEDS, M, N_TEST, HORIZON = (
    (50, 100, 200, 400, 800),
    (1.0, 2.0, 4.0),
    100,
    100,
    1000,
    3,
)
#: The slack of the setups (see :func:`theorem_setup`).
SLACK = 2.0
#: Seeds run together by the engine (bounds the memory of the recorded pre-activations).
CHUNK = 10


def theorem_setup(n: int, C: float, m: int = M, n_test: int = N_TEST) -> Setup:
    """The setup of the stored data: A1-A6 hold with constant C, eta = 0.05, and the
    default slack 2 of :func:`xorgrok.theory.setup_satisfying_assumptions` (p twice the
    smallest dimension A1 and A2 allow, omega_init half the largest A5 allows)."""
    return setup_satisfying_assumptions(
        n=n, m=m, C=C, eta=0.05, n_test=n_test, slack=SLACK
    )


def representable(n: int, C: float) -> bool:
    """Whether the setup of (n, C) has p <= 2**53, the largest dimension a
    :class:`xorgrok.config.Setup` holds (p = ceil(2 C^4 n^5.02) exceeds it from n = 800
    with C = 2 on); the data skip the other cells."""
    return math.ceil(SLACK * required_dimension(n, C)) <= MAX_INT


def _events(problem) -> dict[str, Any]:
    return {**data_events(problem), **init_events(problem)}


def run_one_setup(
    setup: Setup, C: float, seeds: Sequence[int], horizon: int = HORIZON
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """Train ``setup`` for every seed; returns (rows of theorem_runs.csv, rows of the
    curves)."""
    n = setup.n
    lo, hi = theorem_window(n, C)
    steps = max(horizon * math.isqrt(n), hi)
    rows, curves = [], []
    for start in range(0, len(seeds), CHUNK):
        chunk = list(seeds[start : start + CHUNK])
        tr = simulate(setup, steps, chunk, outputs=True, preacts=True)
        for k, seed in enumerate(chunk):
            problem = sample(setup, seed)
            concl = conclusions(tr.t, tr.train_acc[k], 1 - tr.test_acc[k], n, C)
            win = slice(lo, hi + 1)
            rows.append(
                {
                    "n": n,
                    "C": C,
                    "seed": seed,
                    **concl,
                    **_events(problem),
                    "a10_error": one_step_error(problem),
                    "a10_bound": lemma_a10_bound(setup),
                    "g_dev": float(g_deviation(tr.f_train[k, win], tr.y[k]).max()),
                    "a4_rel_error": float(
                        preact_change_error(tr.preacts[k, : hi + 1], problem)[1:].max()
                    ),
                }
            )
            curves += [
                (n, C, seed, int(t), float(a), float(b))
                for t, a, b in zip(tr.t, tr.train_acc[k], tr.test_acc[k])
            ]
    return rows, curves


def _paper_rows(seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The events at the paper's experimental setup (Figure 1 left); C = 0 marks
    them."""
    return [
        {
            "n": PAPER_FIG1_LEFT.n,
            "C": 0.0,
            "seed": seed,
            **_events(sample(PAPER_FIG1_LEFT, seed)),
        }
        for seed in seeds
    ]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a CSV written by this module: columns of True/False become bool arrays (an
    empty
    field is False), every other column float64 (an empty field is NaN)."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{os.fspath(path)!r} is empty")
    out = {}
    for k, name in enumerate(rows[0]):
        values = [r[k] for r in rows[1:]]
        if set(values) <= {"True", "False", ""} and set(values) & {"True", "False"}:
            out[name] = np.array([v == "True" for v in values])
        else:
            out[name] = np.array([float(v) if v else math.nan for v in values])
    return out


def provenance_text(command: str, commit: str, wall: float) -> str:
    """The provenance record: command, package version, commit, date, machine, cores,
    wall time (one ``field: value`` a line)."""
    from . import __version__

    threads = os.environ.get("OMP_NUM_THREADS", "all")
    lines = [
        f"command: {command}",
        f"package: xorgrok {__version__}",
        f"commit: {commit}",
        f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        f"machine: {platform.system()} {platform.machine()}, {_cpu()}",
        f"cores: {os.cpu_count()} (threads: {threads})",
        f"wall time: {wall:.0f} s",
    ]
    return "\n".join(lines) + "\n"


def _commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "diff", "--quiet", "HEAD", "--", "src"]
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" (src modified)" if dirty.returncode else "")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_theorem_data(
    out: str | os.PathLike,
    ns: Sequence[int] = NS,
    Cs: Sequence[float] = CS,
    seeds: int = SEEDS,
    m: int = M,
    n_test: int = N_TEST,
    horizon: int = HORIZON,
    command: str = "",
    progress: bool = False,
) -> Path:
    """Compute and write the stored data into the folder ``out`` (see the module
    docstring)."""
    start = time.time()
    commit = _commit()  # the code that computes, not the checkout at the end
    runs, curves, setups = [], [], []
    for C in Cs:
        for n in ns:
            if not representable(n, C):
                if progress:
                    print(f"n = {n}, C = {C:g}: skipped, p > 2**53", flush=True)
                continue
            setup = theorem_setup(n, C, m, n_test)
            setups.append(
                {
                    "n": n,
                    "C": C,
                    "p": setup.p,
                    "mu_norm": setup.mu_norm,
                    "m": setup.m,
                    "eta": setup.eta,
                    "alpha": setup.alpha,
                    "omega_init": setup.omega_init,
                    "n_test": setup.n_test,
                    **{a.name: a.factor for a in check_assumptions(setup, C)},
                }
            )
            r, c = run_one_setup(setup, C, range(seeds), horizon)
            runs += r
            curves += c
            if progress:
                print(f"n = {n}, C = {C:g}: {time.time() - start:.0f} s", flush=True)
    runs += _paper_rows(range(seeds))
    wall = time.time() - start
    final = Path(out)
    with staged_folder(final) as stage:
        _write_csv(stage / "theorem_runs.csv", runs)
        _write_csv(stage / "theorem_setups.csv", setups)
        with open(stage / "theorem_curves.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["n", "C", "seed", "t", "train_acc", "test_acc"])
            writer.writerows(
                (n, C, s, t, f"{a:.6g}", f"{b:.6g}") for n, C, s, t, a, b in curves
            )
        text = provenance_text(
            command or "python -m xorgrok theorem-data", commit, wall
        )
        (stage / "provenance_theorem.txt").write_text(text)
    return final


# --------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, got {text!r}"
        )
    if not values or min(values) < 4:
        raise argparse.ArgumentTypeError(
            f"every n must be an integer >= 4, got {text!r}"
        )
    return values


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        )
    if not values or not all(math.isfinite(v) and v >= 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"every C must be a finite number >= 1, got {text!r}"
        )
    return values


def _count(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value

    return parse


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``theorem-data`` sub-command."""
    p = subparsers.add_parser(
        "theorem-data",
        help="the stored data of the chapter 'The theorem, tested as stated'",
        description="Train networks where A1-A6 hold (reduced engine) and write the "
        "conclusions of Theorem 3.1, the proof's events and approximations per run.",
    )
    p.add_argument("--out", required=True, help="output folder (replaced atomically)")
    p.add_argument(
        "--n", type=_ints, default=list(NS), help="training set sizes, e.g. 50,100"
    )
    p.add_argument(
        "--C", type=_floats, default=list(CS), help="constants C >= 1, e.g. 1,2,4"
    )
    p.add_argument(
        "--seeds",
        type=_count(1, 100_000),
        default=SEEDS,
        help="seeds 0..seeds-1 per setup (default 100)",
    )
    p.add_argument(
        "--m", type=_count(1, 100_000), default=M, help="width (default 100)"
    )
    p.add_argument(
        "--n-test",
        type=_count(1, 100_000),
        default=N_TEST,
        help="clean test points per run (default 1000)",
    )
    p.add_argument(
        "--horizon",
        type=_count(1, 1000),
        default=HORIZON,
        help="train for horizon * floor(sqrt(n)) steps (default 3)",
    )
    p.add_argument("--progress", action="store_true", help="print a line per setup")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit status. The provenance names every
    option."""
    command = (
        f"python -m xorgrok theorem-data --out {args.out}"
        f" --n {','.join(map(str, args.n))} --C {','.join(f'{c:g}' for c in args.C)}"
        f" --seeds {args.seeds} --m {args.m} --n-test {args.n_test}"
        f" --horizon {args.horizon}"
    )
    write_theorem_data(
        args.out,
        args.n,
        args.C,
        args.seeds,
        args.m,
        args.n_test,
        args.horizon,
        command=command,
        progress=args.progress,
    )
    return 0
