"""Tables of the paper's figures: what the runs give, as columns, and CSV files
written atomically."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..plane import decision_function_on_plane
from ..simulate import Trajectory

__all__ = [
    "FIGURE1_COLUMNS",
    "FIGURE1_STEPS",
    "FIGURE2_STEPS",
    "FIGURE3_STEPS",
    "FIGURE4_STEPS",
    "FIGURES",
    "figure1_table",
    "runs_table",
    "runs_matrix",
    "value_at",
    "positive_projections",
    "histogram_table",
    "histogram_summary",
    "figure2_tables",
    "figure2_summary",
    "write_csv",
    "read_csv",
]


#: A table: column name -> 1-D numpy array, all columns of one length.
Table = dict


#: Columns of ``figure1_left.csv`` and ``figure1_right.csv``.
FIGURE1_COLUMNS = (
    "t",
    "train_median",
    "train_q20",
    "train_q80",
    "test_median",
    "test_q20",
    "test_q80",
)


#: Steps of each panel of Figure 1 ("about 50" and "about 5000" in the paper).
FIGURE1_STEPS = {"left": 50, "right": 5000}


#: Steps of Figure 2's static panels (decision boundary at 0, 1, 15; neurons at 1, 15).
FIGURE2_STEPS = (0, 1, 15)


#: Steps of Figure 3 (alpha = 1e-12) and Figure 4 (alpha = 1e-16).
FIGURE3_STEPS = (0, 1, 2, 3, 10)


FIGURE4_STEPS = (0, 25, 100, 1000, 2000, 5000)


#: The figures the command line makes.
FIGURES = ("figure1", "figure2", "figure3", "figure4")


def _check_table(table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(table, Mapping) or not table:
        raise ValueError(
            "table must be a non-empty mapping of column name -> 1-D array"
        )
    cols = {str(k): np.asarray(v) for k, v in table.items()}
    lengths = {v.shape for v in cols.values()}
    if any(v.ndim != 1 for v in cols.values()) or len(lengths) != 1:
        raise ValueError(
            "table columns must be 1-D and of equal length, got shapes "
            f"{sorted(lengths)}"
        )
    return cols


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then rename it over
    ``path`` (atomic on POSIX)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(
            tmp, 0o666 & ~umask
        )  # mkstemp makes the file private; give it the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _format(value) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value.item() if hasattr(value, "item") else value)


def write_csv(path: str | os.PathLike, table: Mapping[str, np.ndarray]) -> Path:
    """Write a table as CSV (header row, then one row per entry) atomically; returns
    the path."""
    cols = _check_table(table)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols.keys())
    for row in zip(*cols.values()):
        writer.writerow([_format(v) for v in row])
    path = Path(path)
    _atomic_write_bytes(path, buf.getvalue().encode())
    return path


def _parse_column(values: list[str]) -> np.ndarray:
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)


def read_csv(path: str | os.PathLike) -> Table:
    """Read a CSV written by :func:`write_csv`: integer, float or string columns."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{os.fspath(path)!r} is empty")
    header, body = rows[0], rows[1:]
    return {name: _parse_column([r[k] for r in body]) for k, name in enumerate(header)}


def figure1_table(traj: Trajectory) -> Table:
    """Medians and 20 %/80 % quantiles over seeds of train and test accuracy at each
    recorded step.

    Returns the columns ``FIGURE1_COLUMNS``, one row per recorded step.
    """
    tr = traj.quantiles("train_acc", (0.2, 0.5, 0.8))
    te = traj.quantiles("test_acc", (0.2, 0.5, 0.8))
    return {
        "t": traj.t.astype(np.int64),
        "train_median": tr[1],
        "train_q20": tr[0],
        "train_q80": tr[2],
        "test_median": te[1],
        "test_q20": te[0],
        "test_q80": te[2],
    }


def runs_table(traj: Trajectory) -> Table:
    """Every run at every recorded step, long format: seed, t, train_acc, test_acc,
    loss."""
    S, T = traj.train_acc.shape
    return {
        "seed": np.repeat(traj.seeds.astype(np.int64), T),
        "t": np.tile(traj.t.astype(np.int64), S),
        "train_acc": traj.train_acc.ravel(),
        "test_acc": traj.test_acc.ravel(),
        "loss": traj.loss.ravel(),
    }


def runs_matrix(table: Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One column of a :func:`runs_table` (or its CSV) back as a matrix: the steps t
    [T] and the values [S, T], rows in increasing seed order, columns in increasing t.

    The rows of ``table`` may come in any order; ``ValueError`` unless every (seed, t)
    pair appears exactly once or if ``name`` is not a column.
    """
    if name not in table:
        raise ValueError(f"name must be a column of the table ({', '.join(table)})")
    seeds, s_idx = np.unique(np.asarray(table["seed"]), return_inverse=True)
    t, t_idx = np.unique(np.asarray(table["t"]), return_inverse=True)
    values = np.asarray(table[name])
    cell = s_idx * t.size + t_idx
    if values.size != seeds.size * t.size or np.unique(cell).size != values.size:
        raise ValueError(
            f"table must hold every (seed, t) pair once: {values.size} rows for "
            f"{seeds.size} seeds x {t.size} steps"
        )
    out = np.empty((seeds.size, t.size), dtype=values.dtype)
    out[s_idx, t_idx] = values
    return t, out


def value_at(table: Table, step: int, column: str) -> float:
    """``table[column]`` on the first row where ``table["t"] == step``; ``KeyError``
    if ``step`` is not in the table."""
    hits = np.flatnonzero(np.asarray(table["t"]) == step)
    if hits.size == 0:
        raise KeyError(f"step {step} is not in the table")
    return float(table[column][hits[0]])


def positive_projections(traj: Trajectory, step: int) -> tuple[np.ndarray, np.ndarray]:
    """<w_j, mu1> and <w_j, mu2> of every positive neuron (a_j > 0) of every run at
    ``step``, pooled: ([K], [K])."""
    if traj.proj is None:
        raise ValueError(
            "the trajectory has no neuron projections: simulate with neurons=True"
        )
    k = traj.index(step)
    pos = traj.a > 0  # [S, m]
    values = traj.proj[:, k]  # [S, m, 2]
    return values[..., 0][pos], values[..., 1][pos]


def histogram_table(
    traj: Trajectory, steps: Sequence[int] | None = None, bins: int = 60
) -> Table:
    """Histogram counts, long format: t, direction ("mu1"/"mu2"), bin_left, bin_right,
    count.

    At each step both directions share ``bins`` equal bins over [-R, R], R the largest
    absolute value at that step.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    steps = list(traj.t) if steps is None else list(steps)
    cols: dict[str, list] = {
        "t": [],
        "direction": [],
        "bin_left": [],
        "bin_right": [],
        "count": [],
    }
    for step in steps:
        v1, v2 = positive_projections(traj, int(step))
        R = float(max(np.abs(v1).max(initial=0.0), np.abs(v2).max(initial=0.0))) or 1.0
        edges = np.linspace(-R, R, bins + 1)
        for name, v in (("mu1", v1), ("mu2", v2)):
            counts, _ = np.histogram(v, bins=edges)
            cols["t"] += [int(step)] * bins
            cols["direction"] += [name] * bins
            cols["bin_left"] += list(edges[:-1])
            cols["bin_right"] += list(edges[1:])
            cols["count"] += list(counts)
    return {
        "t": np.array(cols["t"], dtype=np.int64),
        "direction": np.array(cols["direction"], dtype=str),
        "bin_left": np.array(cols["bin_left"], dtype=np.float64),
        "bin_right": np.array(cols["bin_right"], dtype=np.float64),
        "count": np.array(cols["count"], dtype=np.int64),
    }


def histogram_summary(traj: Trajectory, steps: Sequence[int] | None = None) -> Table:
    """Summary of the pooled positive neurons' projections: t, direction, n_neurons,
    mean, sd, quantiles
    q05, q25, q50, q75, q95, and ``sd_between``: the spread over runs of each run's
    own sd (for tolerances)."""
    steps = list(traj.t) if steps is None else list(steps)
    rows = []
    pos = traj.a > 0
    for step in steps:
        k = traj.index(int(step))
        for d, name in enumerate(("mu1", "mu2")):
            v = traj.proj[:, k, :, d][pos]
            per_run = np.array(
                [traj.proj[s, k, pos[s], d].std() for s in range(traj.a.shape[0])]
            )
            q = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
            sd_between = (
                float(per_run.std(ddof=1)) if per_run.size > 1 else float("nan")
            )
            rows.append((int(step), name, v.size, v.mean(), v.std(), *q, sd_between))
    names = (
        "t",
        "direction",
        "n_neurons",
        "mean",
        "sd",
        "q05",
        "q25",
        "q50",
        "q75",
        "q95",
        "sd_between",
    )
    out = {name: np.array([r[i] for r in rows]) for i, name in enumerate(names)}
    out["t"] = out["t"].astype(np.int64)
    out["n_neurons"] = out["n_neurons"].astype(np.int64)
    out["direction"] = out["direction"].astype(str)
    return out


def _plane_limit(traj: Trajectory, s: int) -> float:
    return 1.15 * float(np.abs(traj.plane[s]).max())


def figure2_tables(
    traj: Trajectory,
    steps: Sequence[int] = FIGURE2_STEPS,
    run: int = 0,
    grid_num: int = 101,
) -> dict[str, Table]:
    """The data of Figure 2 for one run (``run`` indexes ``traj.seeds``):

    * ``points``: i, u1, u2 (coordinates along mu1/||mu||, mu2/||mu||), cluster, y
      (noisy label; 0 for test points), y_clean, train (1/0);
    * ``neurons``: t, j, a, proj_mu1, proj_mu2 at every step of ``steps``;
    * ``boundary``: t, u1, u2, f: the network output on a grid of the plane
      (:func:`decision_function_on_plane`).
    """
    if traj.proj is None:
        raise ValueError(
            "the trajectory has no neuron projections: simulate with neurons=True"
        )
    if (
        isinstance(grid_num, bool)
        or not isinstance(grid_num, (int, np.integer))
        or grid_num < 2
    ):
        raise ValueError(f"grid_num must be an integer >= 2, got {grid_num!r}")
    s = int(run)
    n = traj.y.shape[1]
    N = traj.plane.shape[1]
    y_all = np.zeros(N, dtype=np.int64)
    y_all[:n] = traj.y[s]
    points = {
        "i": np.arange(N, dtype=np.int64),
        "u1": traj.plane[s, :, 0],
        "u2": traj.plane[s, :, 1],
        "cluster": traj.cluster[s].astype(np.int64),
        "y": y_all,
        "y_clean": traj.y_clean[s].astype(np.int64),
        "train": (np.arange(N) < n).astype(np.int64),
    }
    m = traj.a.shape[1]
    limit = _plane_limit(traj, s)
    axis = np.linspace(-limit, limit, grid_num)
    u1, u2 = np.meshgrid(axis, axis)
    grid = np.stack([u1.ravel(), u2.ravel()], axis=-1)
    neurons: dict[str, list] = {
        "t": [],
        "j": [],
        "a": [],
        "proj_mu1": [],
        "proj_mu2": [],
    }
    boundary: dict[str, list] = {"t": [], "u1": [], "u2": [], "f": []}
    for step in steps:
        k = traj.index(int(step))
        proj = traj.proj[s, k]
        neurons["t"].append(np.full(m, int(step)))
        neurons["j"].append(np.arange(m))
        neurons["a"].append(traj.a[s])
        neurons["proj_mu1"].append(proj[:, 0])
        neurons["proj_mu2"].append(proj[:, 1])
        f = decision_function_on_plane(proj, traj.a[s], traj.setup.mu_norm, grid)
        boundary["t"].append(np.full(grid.shape[0], int(step)))
        boundary["u1"].append(grid[:, 0])
        boundary["u2"].append(grid[:, 1])
        boundary["f"].append(f)
    cat = lambda d: {k: np.concatenate(v) for k, v in d.items()}  # noqa: E731
    neurons_t = cat(neurons)
    neurons_t["t"] = neurons_t["t"].astype(np.int64)
    neurons_t["j"] = neurons_t["j"].astype(np.int64)
    boundary_t = cat(boundary)
    boundary_t["t"] = boundary_t["t"].astype(np.int64)
    return {"points": points, "neurons": neurons_t, "boundary": boundary_t}


def figure2_summary(traj: Trajectory, steps: Sequence[int] = FIGURE2_STEPS) -> Table:
    """Every run's train and test accuracy at Figure 2's steps (is the run drawn
    typical?): seed, t, train_acc, test_acc."""
    rows = [
        (
            int(seed),
            int(step),
            traj.train_acc[s, traj.index(int(step))],
            traj.test_acc[s, traj.index(int(step))],
        )
        for s, seed in enumerate(traj.seeds)
        for step in steps
    ]
    return {
        "seed": np.array([r[0] for r in rows], dtype=np.int64),
        "t": np.array([r[1] for r in rows], dtype=np.int64),
        "train_acc": np.array([r[2] for r in rows], dtype=np.float64),
        "test_acc": np.array([r[3] for r in rows], dtype=np.float64),
    }
