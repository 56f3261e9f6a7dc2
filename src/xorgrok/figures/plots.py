"""Drawing the paper's figures from their tables (and Figure 2's animation)."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..data import CLUSTER_NAMES
from ..simulate import Trajectory
from .tables import _atomic_write_bytes, figure2_tables

__all__ = [
    "plot_figure1",
    "plot_figure1_panel",
    "plot_histograms",
    "plot_figure2",
    "animate_figure2",
    "save_figure",
]


def save_figure(
    fig,
    stem: str | os.PathLike,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Save a matplotlib figure as ``stem.png`` and ``stem.svg`` (each written
    atomically)."""
    paths = []
    for fmt in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        path = Path(f"{os.fspath(stem)}.{fmt}")
        _atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def plot_figure1_panel(
    ax,
    table: Mapping[str, np.ndarray],
    title: str | None = None,
    label_suffix: str = "",
) -> None:
    """One panel of Figure 1 on ``ax``: medians and 20-80 % bands against t + 1 (log
    axis), line at 0.5."""
    from ..plotting import COLORS

    x = np.asarray(table["t"]) + 1
    for key, name in (("train", "train"), ("test", "test (clean)")):
        color = COLORS[key]
        ax.fill_between(
            x,
            table[f"{key}_q20"],
            table[f"{key}_q80"],
            color=color,
            alpha=0.25,
            linewidth=0,
        )
        ax.plot(
            x, table[f"{key}_median"], color=color, label=f"{name} median{label_suffix}"
        )
    ax.axhline(
        0.5, color=COLORS["neutral"], linestyle="--", linewidth=1, label="0.5 (chance)"
    )
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
    """Figure 1, both panels, from two :func:`figure1_table` tables. Returns the
    matplotlib Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    note = f", {runs} runs" if runs else ""
    plot_figure1_panel(axes[0], left, f"alpha = {alphas[0]:g}{note}")
    plot_figure1_panel(axes[1], right, f"alpha = {alphas[1]:g}{note}")
    return fig


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
    :func:`histogram_table`. With ``per_row``, at most that many steps side by side:
    the pairs of rows are stacked (figure width fits the book's text column for
    ``per_row=3``)."""
    import matplotlib.pyplot as plt

    from ..plotting import COLORS

    t = np.asarray(hist["t"])
    steps = sorted(set(t.tolist())) if steps is None else list(steps)
    cols = len(steps) if per_row is None else min(per_row, len(steps))
    blocks = -(-len(steps) // cols)
    fig, axes = plt.subplots(
        2 * blocks,
        cols,
        figsize=(2.3 * cols, 4.4 * blocks),
        constrained_layout=True,
        squeeze=False,
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
            edges = np.r_[
                np.asarray(hist["bin_left"])[sel],
                np.asarray(hist["bin_right"])[sel][-1:],
            ]
            power = _power(edges)
            ax.stairs(
                np.asarray(hist["count"])[sel],
                edges / 10.0**power,
                fill=True,
                color=color,
                alpha=0.8,
                label=label,
            )
            ax.set_title(f"$t = {step}$")
            ax.set_xlabel(rf"{label} ($\times 10^{{{power}}}$)")
            if col == 0:
                ax.set_ylabel("positive neurons (count)")
            if col == cols - 1 and block == 0:
                ax.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    return fig


def _draw_plane(
    ax,
    points: Mapping[str, np.ndarray],
    boundary: Mapping[str, np.ndarray] | None,
    step: int,
    legend: bool,
) -> None:
    from ..plotting import CLUSTER_COLORS, COLORS

    if boundary is not None:
        sel = np.asarray(boundary["t"]) == step
        g = int(round(math.sqrt(sel.sum())))
        u1 = np.asarray(boundary["u1"])[sel].reshape(g, g)
        u2 = np.asarray(boundary["u2"])[sel].reshape(g, g)
        f = np.asarray(boundary["f"])[sel].reshape(g, g)
        scale = float(np.abs(f).max()) or 1.0
        ax.contourf(
            u1,
            u2,
            f / scale,
            levels=[-1.01, 0, 1.01],
            colors=[COLORS["negative"], COLORS["positive"]],
            alpha=0.18,
        )
        if f.min() < 0 < f.max():
            ax.contour(u1, u2, f, levels=[0], colors=[COLORS["black"]], linewidths=1.2)
    train = np.asarray(points["train"]) == 1
    cluster = np.asarray(points["cluster"])
    flipped = train & (np.asarray(points["y"]) != np.asarray(points["y_clean"]))
    for c, name in enumerate(CLUSTER_NAMES):
        sel = (cluster == c) & train & ~flipped
        ax.scatter(
            points["u1"][sel],
            points["u2"][sel],
            s=10,
            color=CLUSTER_COLORS[c],
            label=rf"train, cluster ${name[0]}\mu_{name[-1]}$" if legend else None,
        )
        sel_test = (cluster == c) & ~train
        ax.scatter(
            points["u1"][sel_test],
            points["u2"][sel_test],
            s=10,
            facecolors="none",
            edgecolors=CLUSTER_COLORS[c],
            linewidths=0.6,
            label="test point (hollow)" if legend and c == 3 else None,
        )
    ax.scatter(
        points["u1"][flipped],
        points["u2"][flipped],
        s=40,
        marker="x",
        color=COLORS["black"],
        label="flipped label" if legend else None,
    )
    ax.set_xlabel(r"$\langle x, \mu_1\rangle / \Vert\mu\Vert$")
    ax.set_ylabel(r"$\langle x, \mu_2\rangle / \Vert\mu\Vert$")
    ax.set_aspect("equal")
    ax.set_title(f"data and $f(x) = 0$ at $t = {step}$")


def _draw_neurons(
    ax,
    neurons: Mapping[str, np.ndarray],
    step: int,
    legend: bool,
    power: int | None = None,
) -> int:
    from ..plotting import COLORS

    sel = np.asarray(neurons["t"]) == step
    a = np.asarray(neurons["a"])[sel]
    p1, p2 = np.asarray(neurons["proj_mu1"])[sel], np.asarray(neurons["proj_mu2"])[sel]
    power = _power(np.r_[p1, p2]) if power is None else power
    for sign, key, name in (
        (1, "positive", "positive neurons ($a_j > 0$)"),
        (-1, "negative", "negative neurons ($a_j < 0$)"),
    ):
        pick = np.sign(a) == sign
        ax.scatter(
            p1[pick] / 10.0**power,
            p2[pick] / 10.0**power,
            s=5,
            alpha=0.6,
            color=COLORS[key],
            label=name if legend else None,
        )
    ax.set_xlabel(rf"$\langle w_j, \mu_1\rangle$ ($\times 10^{{{power}}}$)")
    ax.set_ylabel(rf"$\langle w_j, \mu_2\rangle$ ($\times 10^{{{power}}}$)")
    ax.set_title(f"neurons at $t = {step}$")
    return power


def plot_figure2(
    tables: Mapping[str, Mapping[str, np.ndarray]],
    boundary_steps: Sequence[int] = (0, 1, 15),
    neuron_steps: Sequence[int] = (1, 15),
):
    """Figure 2 from :func:`figure2_tables`: top row data and decision boundary,
    bottom row neurons."""
    import matplotlib.pyplot as plt

    cols = max(len(boundary_steps), len(neuron_steps))
    from ..plotting import COLUMN_IN

    width = min(3.6 * cols, COLUMN_IN)  # the book's column
    fig, axes = plt.subplots(
        2,
        cols,
        figsize=(width, 7.0 * width / (3.6 * cols) + 0.6),
        layout="constrained",
        squeeze=False,
    )
    for c, step in enumerate(boundary_steps):
        _draw_plane(
            axes[0, c], tables["points"], tables["boundary"], int(step), legend=c == 0
        )
    for c, step in enumerate(neuron_steps):
        _draw_neurons(axes[1, c], tables["neurons"], int(step), legend=c == 0)
    for c in range(len(neuron_steps), cols):
        axes[1, c].axis("off")
    # the legends outside the panels: in the empty place of the bottom row if there is
    # one, else below
    handles, labels = [
        sum(pair, [])
        for pair in zip(*(axes[r, 0].get_legend_handles_labels() for r in (0, 1)))
    ]
    if len(neuron_steps) < cols:
        axes[1, -1].legend(handles, labels, loc="center", frameon=False)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
    return fig


def animate_figure2(
    traj: Trajectory,
    steps: Sequence[int] | None = None,
    run: int = 0,
    grid_num: int = 61,
    dpi: int = 60,
):
    """A matplotlib animation over ``steps`` (default the first 20 recorded steps): the
    data with the sign of
    the decision function (left) and the neurons on the plane (right, axes rescaled
    every frame). Embed in a page with
    ``IPython.display.HTML(xorgrok.animation.animation_html(anim, alt))``
    (self-contained, no kernel needed)."""
    import matplotlib.pyplot as plt
    from matplotlib import animation

    if steps is None:
        steps = list(traj.t[: min(20, traj.t.size)])
    steps = [int(s) for s in steps]
    tables = figure2_tables(traj, steps, run=run, grid_num=grid_num)
    fig, (ax_plane, ax_neur) = plt.subplots(1, 2, figsize=(8, 3.8), dpi=dpi)
    fig.subplots_adjust(
        left=0.08, right=0.98, bottom=0.14, top=0.92, wspace=0.3
    )  # fixed: no layout pass per frame
    _draw_plane(ax_plane, tables["points"], None, steps[0], legend=False)
    image = _sign_image(ax_plane, tables["boundary"], steps[0], grid_num)
    neurons = tables["neurons"]
    nt = np.asarray(neurons["t"])
    a_sign = np.sign(np.asarray(neurons["a"])[nt == steps[0]])
    dots = _neuron_dots(ax_neur)

    def draw(frame: int):
        step = steps[frame]
        image.set_data(_boundary_sign(tables["boundary"], step, grid_num))
        ax_plane.set_title(f"data and sign of f(x) at t = {step}")
        sel = nt == step
        p1, p2 = neurons["proj_mu1"][sel], neurons["proj_mu2"][sel]
        _show_neurons(ax_neur, dots, p1, p2, a_sign)
        ax_neur.set_title(f"neurons at t = {step} (axes rescale)")
        return [image, *dots.values()]

    draw(0)
    anim = animation.FuncAnimation(
        fig, draw, frames=len(steps), interval=400, blit=False
    )
    plt.close(fig)
    return anim


def _boundary_sign(boundary: dict, step: int, grid_num: int) -> np.ndarray:
    """[grid_num, grid_num] 1 where f(x) > 0 on the plane grid at ``step``, else 0
    (``boundary``: the table of :func:`figure2_tables`)."""
    f = np.asarray(boundary["f"])[np.asarray(boundary["t"]) == step]
    return (f.reshape(grid_num, grid_num) > 0).astype(float)


def _sign_image(ax, boundary: dict, step: int, grid_num: int):
    """The sign of f(x) at ``step``, a translucent image under the points of ``ax``."""
    from matplotlib.colors import ListedColormap

    from ..plotting import COLORS

    first = np.asarray(boundary["t"]) == step
    u1, u2 = boundary["u1"][first], boundary["u2"][first]
    return ax.imshow(
        _boundary_sign(boundary, step, grid_num),
        extent=(u1.min(), u1.max(), u2.min(), u2.max()),
        origin="lower",
        cmap=ListedColormap([COLORS["negative"], COLORS["positive"]]),
        vmin=0,
        vmax=1,
        alpha=0.25,
        interpolation="nearest",
        zorder=0,
    )


def _neuron_dots(ax) -> dict:
    """Empty scatter artists of the positive (key 1) and negative (key -1) neurons."""
    from ..plotting import COLORS

    dots = {
        sign: ax.scatter([], [], s=5, alpha=0.6, color=COLORS[key], label=name)
        for sign, key, name in (
            (1, "positive", "positive neurons ($a_j > 0$)"),
            (-1, "negative", "negative neurons ($a_j < 0$)"),
        )
    }
    ax.legend(loc="upper left", fontsize=7)
    return dots


def _show_neurons(
    ax, dots: dict, p1: np.ndarray, p2: np.ndarray, a_sign: np.ndarray
) -> None:
    """Move the neurons' dots to (<w_j, mu1>, <w_j, mu2>) = (p1, p2) [m], in units of
    10^power chosen so that the largest is of order 1; axes and labels follow."""
    top = float(np.abs(np.r_[p1, p2]).max()) or 1.0
    power = _power(np.array([top]))
    scale = 10.0**power
    for sign, artist in dots.items():
        pick = a_sign == sign
        artist.set_offsets(np.c_[p1[pick], p2[pick]] / scale)
    lim = 1.1 * top / scale
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel(f"<w_j, mu1> (x 1e{power})")
    ax.set_ylabel(f"<w_j, mu2> (x 1e{power})")
