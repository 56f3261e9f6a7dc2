"""The paper's Figures 1-4 (its Appendix A.7): run, tabulate, draw and write them.

A *table* here is a plain ``dict`` of equal-length 1-D numpy columns (no pandas needed); :func:`write_csv`
writes one atomically and :func:`read_csv` reads it back.

* Figure 1 (:func:`run_figure1`, :func:`figure1_table`, :func:`plot_figure1`): train and test accuracy,
  medians with a 20-80 % band over seeds, against t + 1 on a log axis; left panel alpha = 1e-12, right
  panel alpha = 1e-16.
* Figure 2 (:func:`run_figure2`, :func:`figure2_tables`, :func:`plot_figure2`, :func:`animate_figure2`):
  data and decision function on span(mu1, mu2), neurons projected on that plane.
* Figures 3 and 4 (:func:`run_histograms`, :func:`histogram_table`, :func:`histogram_summary`,
  :func:`plot_histograms`): histograms of <w_j, mu1> and <w_j, mu2> over positive neurons, runs pooled.

:func:`make_figure` does everything the command line ``python -m xorgrok figureN`` does.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from .config import PAPER_FIG1_LEFT, PAPER_FIG1_RIGHT, Setup
from .data import CLUSTER_NAMES
from .plane import decision_function_on_plane
from .simulate import Trajectory, simulate
from .sweep import log_steps

__all__ = [
    "FIGURE1_COLUMNS",
    "FIGURE1_STEPS",
    "FIGURE1_MARKS",
    "FIGURE2_STEPS",
    "FIGURE3_STEPS",
    "FIGURE4_STEPS",
    "FIGURES",
    "figure1_record",
    "run_figure1",
    "figure1_table",
    "runs_table",
    "plot_figure1",
    "plot_figure1_panel",
    "run_histograms",
    "positive_projections",
    "histogram_table",
    "histogram_summary",
    "plot_histograms",
    "run_figure2",
    "figure2_tables",
    "figure2_summary",
    "plot_figure2",
    "animate_figure2",
    "animation_html",
    "write_csv",
    "read_csv",
    "save_figure",
    "make_figure",
    "scaled_setup",
    "convention_setup",
]

#: A table: column name -> 1-D numpy array, all columns of one length.
Table = dict

#: Columns of ``figure1_left.csv`` and ``figure1_right.csv``.
FIGURE1_COLUMNS = ("t", "train_median", "train_q20", "train_q80", "test_median", "test_q20", "test_q80")
#: Steps of each panel of Figure 1 ("about 50" and "about 5000" in the paper).
FIGURE1_STEPS = {"left": 50, "right": 5000}
#: Steps of Figure 2's static panels (decision boundary at 0, 1, 15; neurons at 1, 15).
FIGURE2_STEPS = (0, 1, 15)
#: Steps of Figure 3 (alpha = 1e-12) and Figure 4 (alpha = 1e-16).
FIGURE3_STEPS = (0, 1, 2, 3, 10)
FIGURE4_STEPS = (0, 25, 100, 1000, 2000, 5000)
#: The figures the command line makes.
FIGURES = ("figure1", "figure2", "figure3", "figure4")

Progress = Optional[Callable[[int], None]]


# ----------------------------------------------------------------------------------------------------
# Tables and files
# ----------------------------------------------------------------------------------------------------


def _check_table(table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(table, Mapping) or not table:
        raise ValueError("table must be a non-empty mapping of column name -> 1-D array")
    cols = {str(k): np.asarray(v) for k, v in table.items()}
    lengths = {v.shape for v in cols.values()}
    if any(v.ndim != 1 for v in cols.values()) or len(lengths) != 1:
        raise ValueError(f"table columns must be 1-D and of equal length, got shapes {sorted(lengths)}")
    return cols


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path`` (atomic on POSIX)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it the usual permissions
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
    """Write a table as CSV (header row, then one row per entry) atomically; returns the path."""
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


def save_figure(fig, stem: str | os.PathLike, formats: Sequence[str] = ("png", "svg"), dpi: int = 150) -> list[Path]:
    """Save a matplotlib figure as ``stem.png`` and ``stem.svg`` (each written atomically)."""
    paths = []
    for fmt in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        path = Path(f"{os.fspath(stem)}.{fmt}")
        _atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------------------
# Figure 1
# ----------------------------------------------------------------------------------------------------


#: Round steps a long Figure 1 run always records (steps quoted from the paper, Figure 4's).
FIGURE1_MARKS = (10, 25, 40, 50, 100, 200, 300, 500, 1000, 2000, 3000, 4000, 5000)


def figure1_record(steps: int) -> np.ndarray:
    """The recorded steps of a Figure 1 panel: every step up to 100; beyond, about 20 per decade plus
    :data:`FIGURE1_MARKS` (test accuracy is only computed at recorded steps, so long runs stay cheap)."""
    if steps <= 100:
        return np.arange(steps + 1)
    marks = [s for s in FIGURE1_MARKS if s <= steps]
    return np.unique(np.concatenate([log_steps(steps, per_decade=20), marks])).astype(np.int64)


def run_figure1(
    setup: Setup,
    steps: int,
    seeds: Iterable[int],
    record: Iterable[int] | None = None,
    progress: Progress = None,
    **kwargs,
) -> Trajectory:
    """Train one network per seed (:func:`xorgrok.simulate`), recording at :func:`figure1_record` by default.

    Extra keyword arguments (``neurons=True``, ``outputs=True``, ``engine=``...) go to :func:`xorgrok.simulate`.
    """
    if record is None:
        record = figure1_record(steps)
    return simulate(setup, steps, seeds, record=record, progress=progress, **kwargs)


def figure1_table(traj: Trajectory) -> Table:
    """Medians and 20 %/80 % quantiles over seeds of train and test accuracy at each recorded step.

    Returns the columns :data:`FIGURE1_COLUMNS`, one row per recorded step.
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
    """Every run at every recorded step, long format: seed, t, train_acc, test_acc, loss."""
    S, T = traj.train_acc.shape
    return {
        "seed": np.repeat(traj.seeds.astype(np.int64), T),
        "t": np.tile(traj.t.astype(np.int64), S),
        "train_acc": traj.train_acc.ravel(),
        "test_acc": traj.test_acc.ravel(),
        "loss": traj.loss.ravel(),
    }


def plot_figure1_panel(ax, table: Mapping[str, np.ndarray], title: str | None = None, label_suffix: str = "") -> None:
    """One panel of Figure 1 on ``ax``: medians and 20-80 % bands against t + 1 (log axis), line at 0.5."""
    from .plotting import COLORS

    x = np.asarray(table["t"]) + 1
    for key, name in (("train", "train"), ("test", "test (clean)")):
        color = COLORS[key]
        ax.fill_between(x, table[f"{key}_q20"], table[f"{key}_q80"], color=color, alpha=0.25, linewidth=0)
        ax.plot(x, table[f"{key}_median"], color=color, label=f"{name} median{label_suffix}")
    ax.axhline(0.5, color=COLORS["neutral"], linestyle="--", linewidth=1, label="0.5 (chance)")
    ax.set_xscale("log")
    ax.set_xlabel("t + 1 (gradient-descent steps + 1, log scale)")
    ax.set_ylabel("accuracy (fraction correct)")
    ax.set_ylim(0.35, 1.03)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")


def plot_figure1(
    left: Mapping[str, np.ndarray],
    right: Mapping[str, np.ndarray],
    runs: int | None = None,
    alphas: tuple[float, float] = (1e-12, 1e-16),
):
    """Figure 1, both panels, from two :func:`figure1_table` tables. Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    note = f", {runs} runs" if runs else ""
    plot_figure1_panel(axes[0], left, f"alpha = {alphas[0]:g}{note}")
    plot_figure1_panel(axes[1], right, f"alpha = {alphas[1]:g}{note}")
    return fig


# ----------------------------------------------------------------------------------------------------
# Figures 3 and 4: histograms of <w_j, mu1>, <w_j, mu2> over positive neurons
# ----------------------------------------------------------------------------------------------------


def run_histograms(setup: Setup, steps: Sequence[int], seeds: Iterable[int], progress: Progress = None, **kwargs) -> Trajectory:
    """Train and record the neurons' projections only at ``steps`` (the histogram's time points)."""
    steps = sorted({int(s) for s in steps})
    if not steps:
        raise ValueError("steps must name at least one step")
    return simulate(setup, steps[-1], seeds, record=steps, neurons=True, progress=progress, **kwargs)


def positive_projections(traj: Trajectory, step: int) -> tuple[np.ndarray, np.ndarray]:
    """<w_j, mu1> and <w_j, mu2> of every positive neuron (a_j > 0) of every run at ``step``, pooled: ([K], [K])."""
    if traj.proj is None:
        raise ValueError("the trajectory has no neuron projections: simulate with neurons=True")
    k = traj.index(step)
    pos = traj.a > 0  # [S, m]
    values = traj.proj[:, k]  # [S, m, 2]
    return values[..., 0][pos], values[..., 1][pos]


def histogram_table(traj: Trajectory, steps: Sequence[int] | None = None, bins: int = 60) -> Table:
    """Histogram counts, long format: t, direction ("mu1"/"mu2"), bin_left, bin_right, count.

    At each step both directions share ``bins`` equal bins over [-R, R], R the largest absolute value at that step.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    steps = list(traj.t) if steps is None else list(steps)
    cols: dict[str, list] = {"t": [], "direction": [], "bin_left": [], "bin_right": [], "count": []}
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
    """Summary of the pooled positive neurons' projections: t, direction, n_neurons, mean, sd, quantiles
    q05, q25, q50, q75, q95, and ``sd_between``: the spread over runs of each run's own sd (for tolerances)."""
    steps = list(traj.t) if steps is None else list(steps)
    rows = []
    pos = traj.a > 0
    for step in steps:
        k = traj.index(int(step))
        for d, name in enumerate(("mu1", "mu2")):
            v = traj.proj[:, k, :, d][pos]
            per_run = np.array([traj.proj[s, k, pos[s], d].std() for s in range(traj.a.shape[0])])
            q = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
            sd_between = float(per_run.std(ddof=1)) if per_run.size > 1 else float("nan")
            rows.append((int(step), name, v.size, v.mean(), v.std(), *q, sd_between))
    names = ("t", "direction", "n_neurons", "mean", "sd", "q05", "q25", "q50", "q75", "q95", "sd_between")
    out = {name: np.array([r[i] for r in rows]) for i, name in enumerate(names)}
    out["t"] = out["t"].astype(np.int64)
    out["n_neurons"] = out["n_neurons"].astype(np.int64)
    out["direction"] = out["direction"].astype(str)
    return out


def _power(values: np.ndarray) -> int:
    """The power of ten of the largest |value| (for axis labels like "(x 1e-12)")."""
    top = float(np.abs(np.asarray(values)).max(initial=0.0))
    return int(math.floor(math.log10(top))) if top > 0 else 0


def plot_histograms(
    hist: Mapping[str, np.ndarray],
    steps: Sequence[int] | None = None,
    title: str | None = None,
    per_row: int | None = None,
):
    """Figures 3/4: one column per step, <w_j, mu1> on top and <w_j, mu2> below, from
    :func:`histogram_table`. With ``per_row``, at most that many steps side by side: the pairs of rows
    are stacked (figure width fits the book's text column for ``per_row=3``)."""
    import matplotlib.pyplot as plt

    from .plotting import COLORS

    t = np.asarray(hist["t"])
    steps = sorted(set(t.tolist())) if steps is None else list(steps)
    cols = len(steps) if per_row is None else min(per_row, len(steps))
    blocks = -(-len(steps) // cols)
    fig, axes = plt.subplots(
        2 * blocks, cols, figsize=(2.3 * cols, 4.4 * blocks), constrained_layout=True, squeeze=False
    )
    for k in range(len(steps), cols * blocks):  # empty places of the last pair of rows
        block, col = divmod(k, cols)
        axes[2 * block, col].axis("off")
        axes[2 * block + 1, col].axis("off")
    for k, step in enumerate(steps):
        block, col = divmod(k, cols)
        for row, (name, label, color) in enumerate(
            (
                ("mu1", r"$\langle w_j, \mu_1\rangle$", COLORS["mu1"]),
                ("mu2", r"$\langle w_j, \mu_2\rangle$", COLORS["negative"]),
            )
        ):
            ax = axes[2 * block + row, col]
            sel = (t == step) & (np.asarray(hist["direction"]) == name)
            edges = np.r_[np.asarray(hist["bin_left"])[sel], np.asarray(hist["bin_right"])[sel][-1:]]
            power = _power(edges)
            ax.stairs(np.asarray(hist["count"])[sel], edges / 10.0**power, fill=True, color=color, alpha=0.8, label=label)
            ax.set_title(f"$t = {step}$")
            ax.set_xlabel(rf"{label} ($\times 10^{{{power}}}$)")
            if col == 0:
                ax.set_ylabel("positive neurons (count)")
            if col == cols - 1 and block == 0:
                ax.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------------------------------
# Figure 2: the plane span(mu1, mu2)
# ----------------------------------------------------------------------------------------------------


def run_figure2(setup: Setup, seeds: Iterable[int], steps: int = 15, progress: Progress = None, **kwargs) -> Trajectory:
    """Train and record every step 0..steps with the neurons' projections (for the panels and the animation)."""
    return simulate(setup, steps, seeds, neurons=True, progress=progress, **kwargs)


def _plane_limit(traj: Trajectory, s: int) -> float:
    return 1.15 * float(np.abs(traj.plane[s]).max())


def figure2_tables(traj: Trajectory, steps: Sequence[int] = FIGURE2_STEPS, run: int = 0, grid_num: int = 101) -> dict[str, Table]:
    """The data of Figure 2 for one run (``run`` indexes ``traj.seeds``):

    * ``points``: i, u1, u2 (coordinates along mu1/||mu||, mu2/||mu||), cluster, y (noisy label; 0 for test
      points), y_clean, train (1/0);
    * ``neurons``: t, j, a, proj_mu1, proj_mu2 at every step of ``steps``;
    * ``boundary``: t, u1, u2, f: the network output on a grid of the plane (:func:`decision_function_on_plane`).
    """
    if traj.proj is None:
        raise ValueError("the trajectory has no neuron projections: simulate with neurons=True")
    if isinstance(grid_num, bool) or not isinstance(grid_num, (int, np.integer)) or grid_num < 2:
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
    neurons: dict[str, list] = {"t": [], "j": [], "a": [], "proj_mu1": [], "proj_mu2": []}
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
    """Every run's train and test accuracy at Figure 2's steps (is the run drawn typical?): seed, t, train_acc, test_acc."""
    rows = [(int(seed), int(step), traj.train_acc[s, traj.index(int(step))], traj.test_acc[s, traj.index(int(step))])
            for s, seed in enumerate(traj.seeds) for step in steps]
    return {
        "seed": np.array([r[0] for r in rows], dtype=np.int64),
        "t": np.array([r[1] for r in rows], dtype=np.int64),
        "train_acc": np.array([r[2] for r in rows], dtype=np.float64),
        "test_acc": np.array([r[3] for r in rows], dtype=np.float64),
    }


def _draw_plane(ax, points: Mapping[str, np.ndarray], boundary: Mapping[str, np.ndarray] | None, step: int, legend: bool) -> None:
    from .plotting import CLUSTER_COLORS, COLORS

    if boundary is not None:
        sel = np.asarray(boundary["t"]) == step
        g = int(round(math.sqrt(sel.sum())))
        u1 = np.asarray(boundary["u1"])[sel].reshape(g, g)
        u2 = np.asarray(boundary["u2"])[sel].reshape(g, g)
        f = np.asarray(boundary["f"])[sel].reshape(g, g)
        scale = float(np.abs(f).max()) or 1.0
        ax.contourf(u1, u2, f / scale, levels=[-1.01, 0, 1.01], colors=[COLORS["negative"], COLORS["positive"]], alpha=0.18)
        if f.min() < 0 < f.max():
            ax.contour(u1, u2, f, levels=[0], colors=[COLORS["black"]], linewidths=1.2)
    train = np.asarray(points["train"]) == 1
    cluster = np.asarray(points["cluster"])
    flipped = train & (np.asarray(points["y"]) != np.asarray(points["y_clean"]))
    for c, name in enumerate(CLUSTER_NAMES):
        sel = (cluster == c) & train & ~flipped
        ax.scatter(points["u1"][sel], points["u2"][sel], s=10, color=CLUSTER_COLORS[c], label=rf"train, cluster ${name[0]}\mu_{name[-1]}$" if legend else None)
        sel_test = (cluster == c) & ~train
        ax.scatter(points["u1"][sel_test], points["u2"][sel_test], s=10, facecolors="none", edgecolors=CLUSTER_COLORS[c],
                   linewidths=0.6, label="test point (hollow)" if legend and c == 3 else None)
    ax.scatter(points["u1"][flipped], points["u2"][flipped], s=40, marker="x", color=COLORS["black"], label="flipped label" if legend else None)
    ax.set_xlabel(r"$\langle x, \mu_1\rangle / \Vert\mu\Vert$")
    ax.set_ylabel(r"$\langle x, \mu_2\rangle / \Vert\mu\Vert$")
    ax.set_aspect("equal")
    ax.set_title(f"data and $f(x) = 0$ at $t = {step}$")


def _draw_neurons(ax, neurons: Mapping[str, np.ndarray], step: int, legend: bool, power: int | None = None) -> int:
    from .plotting import COLORS

    sel = np.asarray(neurons["t"]) == step
    a = np.asarray(neurons["a"])[sel]
    p1, p2 = np.asarray(neurons["proj_mu1"])[sel], np.asarray(neurons["proj_mu2"])[sel]
    power = _power(np.r_[p1, p2]) if power is None else power
    for sign, key, name in ((1, "positive", "positive neurons ($a_j > 0$)"), (-1, "negative", "negative neurons ($a_j < 0$)")):
        pick = np.sign(a) == sign
        ax.scatter(p1[pick] / 10.0**power, p2[pick] / 10.0**power, s=5, alpha=0.6, color=COLORS[key], label=name if legend else None)
    ax.set_xlabel(rf"$\langle w_j, \mu_1\rangle$ ($\times 10^{{{power}}}$)")
    ax.set_ylabel(rf"$\langle w_j, \mu_2\rangle$ ($\times 10^{{{power}}}$)")
    ax.set_title(f"neurons at $t = {step}$")
    return power


def plot_figure2(tables: Mapping[str, Mapping[str, np.ndarray]], boundary_steps: Sequence[int] = (0, 1, 15), neuron_steps: Sequence[int] = (1, 15)):
    """Figure 2 from :func:`figure2_tables`: top row data and decision boundary, bottom row neurons."""
    import matplotlib.pyplot as plt

    cols = max(len(boundary_steps), len(neuron_steps))
    from .plotting import COLUMN_IN

    width = min(3.6 * cols, COLUMN_IN)  # the book's column
    fig, axes = plt.subplots(2, cols, figsize=(width, 7.0 * width / (3.6 * cols) + 0.6), layout="constrained", squeeze=False)
    for c, step in enumerate(boundary_steps):
        _draw_plane(axes[0, c], tables["points"], tables["boundary"], int(step), legend=c == 0)
    for c, step in enumerate(neuron_steps):
        _draw_neurons(axes[1, c], tables["neurons"], int(step), legend=c == 0)
    for c in range(len(neuron_steps), cols):
        axes[1, c].axis("off")
    # the legends outside the panels: in the empty place of the bottom row if there is one, else below
    handles, labels = [sum(pair, []) for pair in zip(*(axes[r, 0].get_legend_handles_labels() for r in (0, 1)))]
    if len(neuron_steps) < cols:
        axes[1, -1].legend(handles, labels, loc="center", frameon=False)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
    return fig


def animate_figure2(traj: Trajectory, steps: Sequence[int] | None = None, run: int = 0, grid_num: int = 61, dpi: int = 60):
    """A matplotlib animation over ``steps`` (default the first 20 recorded steps): the data with the sign of
    the decision function (left) and the neurons on the plane (right, axes rescaled every frame).
    Embed in a page with ``IPython.display.HTML(animation_html(anim))`` (self-contained, no kernel needed)."""
    import matplotlib.pyplot as plt
    from matplotlib import animation
    from matplotlib.colors import ListedColormap

    from .plotting import COLORS

    if steps is None:
        steps = list(traj.t[: min(20, traj.t.size)])
    steps = [int(s) for s in steps]
    tables = figure2_tables(traj, steps, run=run, grid_num=grid_num)
    fig, (ax_plane, ax_neur) = plt.subplots(1, 2, figsize=(8, 3.8), dpi=dpi)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.92, wspace=0.3)  # fixed: no layout pass per frame
    _draw_plane(ax_plane, tables["points"], None, steps[0], legend=False)
    bt = np.asarray(tables["boundary"]["t"])
    first = bt == steps[0]
    u1, u2 = tables["boundary"]["u1"][first], tables["boundary"]["u2"][first]
    extent = (u1.min(), u1.max(), u2.min(), u2.max())
    cmap = ListedColormap([COLORS["negative"], COLORS["positive"]])

    def sign_image(step: int) -> np.ndarray:
        f = np.asarray(tables["boundary"]["f"])[bt == step]
        return (f.reshape(grid_num, grid_num) > 0).astype(float)

    image = ax_plane.imshow(sign_image(steps[0]), extent=extent, origin="lower", cmap=cmap, vmin=0, vmax=1,
                            alpha=0.25, interpolation="nearest", zorder=0)
    nt = np.asarray(tables["neurons"]["t"])
    a_sign = np.sign(np.asarray(tables["neurons"]["a"])[nt == steps[0]])
    dots = {
        sign: ax_neur.scatter([], [], s=5, alpha=0.6, color=COLORS[key], label=name)
        for sign, key, name in ((1, "positive", "positive neurons (a_j > 0)"), (-1, "negative", "negative neurons (a_j < 0)"))
    }
    ax_neur.legend(loc="upper left", fontsize=7)

    def draw(frame: int):
        step = steps[frame]
        image.set_data(sign_image(step))
        ax_plane.set_title(f"data and sign of f(x) at t = {step}")
        sel = nt == step
        p1, p2 = tables["neurons"]["proj_mu1"][sel], tables["neurons"]["proj_mu2"][sel]
        top = float(np.abs(np.r_[p1, p2]).max()) or 1.0
        power = _power(np.array([top]))
        scale = 10.0**power
        for sign, artist in dots.items():
            pick = a_sign == sign
            artist.set_offsets(np.c_[p1[pick], p2[pick]] / scale)
        lim = 1.1 * top / scale
        ax_neur.set_xlim(-lim, lim)
        ax_neur.set_ylim(-lim, lim)
        ax_neur.set_xlabel(f"<w_j, mu1> (x 1e{power})")
        ax_neur.set_ylabel(f"<w_j, mu2> (x 1e{power})")
        ax_neur.set_title(f"neurons at t = {step} (axes rescale)")
        return [image, *dots.values()]

    draw(0)
    anim = animation.FuncAnimation(fig, draw, frames=len(steps), interval=400, blit=False)
    plt.close(fig)
    return anim


def animation_html(anim) -> str:
    """``anim.to_jshtml()`` with frames rendered at the figure's own dpi (not ``savefig.dpi``), so a low-dpi
    animation stays small: a self-contained HTML player that works on a static page without a kernel
    (and without the network: the player's icon stylesheet from a CDN is replaced by Unicode glyphs)."""
    import matplotlib as mpl

    from .explorer import offline_controls

    with mpl.rc_context({"savefig.dpi": "figure"}):
        return offline_controls(anim.to_jshtml())


# ----------------------------------------------------------------------------------------------------
# Everything the command line does
# ----------------------------------------------------------------------------------------------------


def scaled_setup(base: Setup, p: int | None = None, n: int | None = None, m: int | None = None) -> Setup:
    """The paper's setup with p, n (= n_test) or m changed and ||mu|| = 2.5 sqrt(p/n) kept (for quick runs and tests)."""
    p = base.p if p is None else p
    n = base.n if n is None else n
    m = base.m if m is None else m
    for name, value, low in (("p", p, 3), ("n", n, 1), ("m", m, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return base.replace(p=int(p), n=int(n), n_test=int(n), m=int(m), mu_norm=2.5 * math.sqrt(p / n))


def convention_setup(
    base: Setup, step_scale: float = 1.0, init_scale: float = 1.0
) -> Setup:
    """``base`` with alpha multiplied by ``step_scale`` and omega_init by ``init_scale``.

    The paper states neither a factor 2 in its step (a loss with -l'(0) = 1) nor an
    initialization other than omega_init; these are the two conventions that map its
    Figure 1 onto the book's (chapter 5).

    Both factors must be finite and > 0; ``ValueError`` names the parameter otherwise.
    """
    for name, value in (("step_scale", step_scale), ("init_scale", init_scale)):
        real = (int, float, np.integer, np.floating)
        ok = isinstance(value, real) and not isinstance(value, bool)
        if not ok or not math.isfinite(float(value)) or float(value) <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return base.replace(
        alpha=base.alpha * float(step_scale),
        omega_init=base.omega_init * float(init_scale),
    )


def _steps_scaled(steps: Sequence[int], last: int) -> list[int]:
    """Map the paper's time points onto a shorter run ending at ``last`` (same proportions, distinct)."""
    top = max(steps)
    if last >= top:
        return list(steps)
    return sorted({int(round(s * last / top)) for s in steps})


def make_figure(
    name: str,
    out_dir: str | os.PathLike,
    runs: int = 100,
    progress: Progress = None,
    p: int | None = None,
    n: int | None = None,
    m: int | None = None,
    steps: int | None = None,
    first_seed: int = 0,
    step_scale: float = 1.0,
    init_scale: float = 1.0,
) -> list[Path]:
    """Run, tabulate, draw and write one of the paper's figures into ``out_dir``; returns the paths written.

    * ``figure1``: ``figure1_left.csv``, ``figure1_right.csv`` (:data:`FIGURE1_COLUMNS`), every run in
      ``figure1_left_runs.csv``, ``figure1_right_runs.csv``, and ``figure1.png``, ``figure1.svg``.
    * ``figure2``: ``figure2_points.csv``, ``figure2_neurons.csv``, ``figure2_boundary.csv`` (the first run),
      ``figure2_runs.csv`` (every run's accuracies at t = 0, 1, 15), ``figure2.png``, ``figure2.svg``.
    * ``figure3``/``figure4``: ``figureN_hist.csv`` (:func:`histogram_table`), ``figureN_summary.csv``
      (:func:`histogram_summary`), ``figureN.png``, ``figureN.svg``.

    Seeds are ``first_seed .. first_seed + runs - 1``. ``p``, ``n``, ``m`` (:func:`scaled_setup`) and ``steps``
    (the last step; the paper's time points are scaled onto it) shrink the experiment for quick checks.
    ``progress`` is called with the number of runs finished, as they finish (``2 * runs`` in all for figure 1).
    ``step_scale`` and ``init_scale`` multiply the paper's alpha and omega_init
    (:func:`convention_setup`); chapter 5's two candidate conventions are
    ``step_scale=2`` and ``init_scale=0.5``.
    """
    if name not in FIGURES:
        raise ValueError(f"name must be one of {', '.join(FIGURES)}, got {name!r}")
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1, got {runs!r}")
    if isinstance(first_seed, bool) or not isinstance(first_seed, (int, np.integer)) or first_seed < 0:
        raise ValueError(f"first_seed must be an integer >= 0, got {first_seed!r}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1):
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir must be a folder, got the file {os.fspath(out)!r}")
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(int(first_seed), int(first_seed) + int(runs))
    left, right = (
        convention_setup(scaled_setup(base, p, n, m), step_scale, init_scale)
        for base in (PAPER_FIG1_LEFT, PAPER_FIG1_RIGHT)
    )

    import matplotlib.pyplot as plt

    from .plotting import use_style

    use_style()
    written: list[Path] = []
    if name == "figure1":
        tables = {}
        for panel, setup in (("left", left), ("right", right)):
            last = FIGURE1_STEPS[panel] if steps is None else min(steps, FIGURE1_STEPS[panel])
            traj = run_figure1(setup, last, seeds, progress=progress)
            tables[panel] = figure1_table(traj)
            written.append(write_csv(out / f"figure1_{panel}.csv", tables[panel]))
            written.append(write_csv(out / f"figure1_{panel}_runs.csv", runs_table(traj)))
        alphas = (left.alpha, right.alpha)
        fig = plot_figure1(tables["left"], tables["right"], runs=int(runs), alphas=alphas)
        written += save_figure(fig, out / "figure1")
        plt.close(fig)
    elif name == "figure2":
        last = FIGURE2_STEPS[-1] if steps is None else min(steps, FIGURE2_STEPS[-1])
        shown = _steps_scaled(FIGURE2_STEPS, last)
        traj = run_figure2(left, seeds, steps=last, progress=progress)
        tables = figure2_tables(traj, shown)
        for key, table in tables.items():
            written.append(write_csv(out / f"figure2_{key}.csv", table))
        written.append(write_csv(out / "figure2_runs.csv", figure2_summary(traj, shown)))
        fig = plot_figure2(tables, shown, shown[1:])
        written += save_figure(fig, out / "figure2")
        plt.close(fig)
    else:
        setup, paper_steps = (left, FIGURE3_STEPS) if name == "figure3" else (right, FIGURE4_STEPS)
        shown = paper_steps if steps is None else _steps_scaled(paper_steps, steps)
        traj = run_histograms(setup, shown, seeds, progress=progress)
        hist = histogram_table(traj, shown)
        written.append(write_csv(out / f"{name}_hist.csv", hist))
        written.append(write_csv(out / f"{name}_summary.csv", histogram_summary(traj, shown)))
        title = f"positive neurons, alpha = {setup.alpha:g}"
        title += f", omega_init = {setup.omega_init:g}"
        fig = plot_histograms(hist, shown, title=f"{title}, {int(runs)} runs pooled")
        written += save_figure(fig, out / name)
        plt.close(fig)
    return written
