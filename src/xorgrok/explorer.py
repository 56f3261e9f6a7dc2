"""The live explorer: one configuration in, three views of its training run out (chapter "Explore").

The explorer trains a few networks with the fast ``"reduced"`` engine (cost about 2 m n^2 flops per
seed and step, independent of p) and draws three views of the run at one recorded step t:

1. train and clean test accuracy against t + 1 (medians over seeds with a 20-80% band, the paper's
   Figure 1);
2. the training points of seed 0 projected onto span(mu1, mu2) with the sign of the network's output
   on that plane, f(x_1 e1 + x_2 e2; W^(t)) (the paper's Figure 2,
   :func:`xorgrok.plane.decision_function_on_plane`);
3. histograms of <w_j, mu1> and <w_j, mu2> over the positive neurons (a_j > 0) of all seeds (the paper's
   Figures 3 and 4), in units of alpha ||mu||^2 / (2 n sqrt(m)), one training point's push in one step
   (:func:`projection_unit`).

The pieces: :class:`ExplorerParams` (the controls, validated) -> :func:`to_setup` -> :func:`run_explorer_setup`
(a :class:`~xorgrok.simulate.Trajectory` recorded at log-spaced steps) -> :func:`draw_views`.
:func:`make_animation` scrubs through the recorded steps without a kernel (a self-contained HTML/JS
animation); :func:`build_explorer` wires ipywidgets sliders to the same functions and re-simulates only
when a parameter other than the shown step changes.
"""

from __future__ import annotations

import base64
import io
import math
import re
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from .config import Setup
from .plane import decision_function_on_plane, plane_grid
from .plotting import COLORS
from .simulate import Trajectory, simulate

if TYPE_CHECKING:  # pragma: no cover - IPython is imported lazily at run time
    from IPython.display import HTML

__all__ = [
    "ExplorerParams",
    "RANGES",
    "to_setup",
    "record_steps",
    "run_explorer_setup",
    "SINGLE_THREAD_FLOPS",
    "draw_views",
    "new_figure",
    "projection_unit",
    "figure_png",
    "views_png",
    "animation_steps",
    "shrink_frames",
    "offline_controls",
    "fit_player",
    "make_animation",
    "sweep",
    "Explorer",
    "build_explorer",
    "explorer_flops",
    "measure_updates",
    "MAX_SECONDS",
    "DEFAULT_FLOP_RATE",
]

#: Allowed range (inclusive) of every field of :class:`ExplorerParams`; the sliders use the same ranges.
RANGES: dict[str, tuple[float, float]] = {
    "p": (100, 1_000_000),
    "n": (10, 400),
    "mu_factor": (0.1, 10.0),
    "eta": (0.0, 0.45),
    "m": (10, 2000),
    "init_ratio": (1e-4, 1e4),
    "steps": (1, 5000),
    "seeds": (1, 16),
    "n_test": (10, 1000),
    "alpha": (1e-18, 1e-6),
}
_INT_FIELDS = ("p", "n", "m", "steps", "seeds", "n_test")


@dataclass(frozen=True)
class ExplorerParams:
    """The explorer's controls. Every field is validated against :data:`RANGES` (``ValueError`` otherwise).

    Attributes:
        p: input dimension.
        n: number of training points (noisy labels).
        mu_factor: ||mu|| in units of sqrt(p / n); the paper uses ||mu|| = 2.5 sqrt(p / n).
        eta: label-flip probability.
        m: number of hidden neurons.
        init_ratio: omega_init / alpha, the initialization scale relative to the step size
            (the paper's Figure 1: 1e-3 on the left, 10 on the right).
        steps: number of gradient-descent steps.
        seeds: number of independent runs (seeds 0 .. seeds-1).
        n_test: number of clean test points.
        alpha: the step size; omega_init = init_ratio * alpha. While the network's outputs stay tiny
            (g_i close to 1/2, the paper's regime) the signs, accuracies and the shapes of the views depend
            on omega_init / alpha only, so alpha is a fixed field and not a slider.
    """

    p: int = 40_000
    n: int = 100
    mu_factor: float = 2.5
    eta: float = 0.05
    m: int = 200
    init_ratio: float = 1e-3
    steps: int = 200
    seeds: int = 4
    n_test: int = 200
    alpha: float = 1e-12

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = RANGES[f.name]
            if f.name in _INT_FIELDS:
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise ValueError(f"{f.name} must be an integer in [{low}, {high}], got {value!r}")
                value = int(value)
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                    raise ValueError(f"{f.name} must be a real number in [{low:g}, {high:g}], got {value!r}")
                value = float(value)
            if not (low <= value <= high):  # also rejects nan
                raise ValueError(f"{f.name} must be in [{low:g}, {high:g}], got {value!r}")
            object.__setattr__(self, f.name, value)

    @property
    def mu_norm(self) -> float:
        """||mu|| = mu_factor * sqrt(p / n)."""
        return self.mu_factor * math.sqrt(self.p / self.n)

    @property
    def omega_init(self) -> float:
        """omega_init = init_ratio * alpha."""
        return self.init_ratio * self.alpha

    def replace(self, **changes: Any) -> "ExplorerParams":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dictionary."""
        return asdict(self)


def to_setup(params: ExplorerParams) -> Setup:
    """The :class:`~xorgrok.config.Setup` the explorer trains: ||mu|| = mu_factor sqrt(p/n), omega_init = init_ratio alpha."""
    if not isinstance(params, ExplorerParams):
        raise ValueError(f"params must be an ExplorerParams, got {type(params).__name__}")
    return Setup(
        p=params.p,
        n=params.n,
        n_test=params.n_test,
        m=params.m,
        mu_norm=params.mu_norm,
        eta=params.eta,
        omega_init=params.omega_init,
        alpha=params.alpha,
    )


def record_steps(steps: int, num: int = 40, dense_until: int = 10) -> np.ndarray:
    """The steps the explorer records: every step up to ``dense_until``, then about ``num`` log-spaced ones.

    Always contains 0 and ``steps``; sorted, unique, int64. Raises ``ValueError`` for ``steps < 0`` or ``num < 2``.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 2:
        raise ValueError(f"num must be an integer >= 2, got {num!r}")
    dense = np.arange(min(int(steps), int(dense_until)) + 1)
    logs = np.round(np.logspace(0.0, math.log10(steps + 1), int(num))).astype(np.int64) - 1
    t = np.unique(np.concatenate([dense, logs, [steps]]))
    return t[(t >= 0) & (t <= steps)].astype(np.int64)


#: Below this many floating-point operations per step (2 m n^2 per seed), :func:`run_explorer_setup` runs
#: torch on one thread: the matrices are then so small that synchronizing threads costs more than it saves,
#: and far more on a busy machine (measured: several times slower with two threads while other work runs).
SINGLE_THREAD_FLOPS = 1e8


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)`` (no change for None), then restore."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_explorer_setup(params: ExplorerParams, threads: int | None = -1, **kwargs: Any) -> Trajectory:
    """Simulate ``params.seeds`` seeds (0, 1, ...) for ``params.steps`` steps with the reduced engine.

    Records accuracies, loss and the neurons' projections (``neurons=True``) at :func:`record_steps`.

    Args:
        params: the explorer's parameters.
        threads: torch threads for the simulation: a number, None (torch's setting, unchanged) or -1
            (default: one thread when a step costs less than :data:`SINGLE_THREAD_FLOPS`, else unchanged).
            The previous setting is restored afterwards.
        kwargs: passed on to :func:`xorgrok.simulate.simulate` (e.g. ``dtype``, ``progress``).
    """
    setup = to_setup(params)
    if threads == -1:
        small = 2 * params.m * params.n**2 * params.seeds < SINGLE_THREAD_FLOPS
        threads = 1 if small else None
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be an integer >= 1, None or -1, got {threads!r}")
    with _torch_threads(threads):
        return simulate(
            setup,
            params.steps,
            seeds=range(params.seeds),
            record=record_steps(params.steps),
            engine=kwargs.pop("engine", "reduced"),
            neurons=True,
            **kwargs,
        )


# --------------------------------------------------------------------------------------------- drawing


def new_figure(figsize: tuple[float, float] = (12.0, 3.7), dpi: float = 100) -> Figure:
    """A pyplot-free matplotlib figure sized for :func:`draw_views` (it is never shown automatically)."""
    return Figure(figsize=figsize, dpi=dpi, facecolor="white")


def _nearest_recorded(traj: Trajectory, step: int) -> int:
    """Index in ``traj.t`` of the last recorded step <= ``step`` (the first one if none)."""
    k = int(np.searchsorted(traj.t, step, side="right")) - 1
    return max(k, 0)


def _describe(traj: Trajectory) -> str:
    s = traj.setup
    return (
        rf"$p = {s.p}$, $n = {s.n}$, $\Vert\mu\Vert = {s.mu_norm:.3g}$, $\eta = {s.eta:g}$, $m = {s.m}$, "
        rf"$\omega_\mathrm{{init}}/\alpha = {s.omega_init / s.alpha:.3g}$, "
        rf"$\alpha = {s.alpha:.0e}$, seeds: {len(traj.seeds)}"
    )


_PLAIN_LOG_FORMAT = FuncFormatter(lambda v, _: f"{v:g}")
_NO_LABEL = NullFormatter()


def projection_unit(setup: Setup) -> float:
    """alpha ||mu||^2 / (2 n sqrt(m)): how far one training point moves <w_j, mu_k> in one step.

    With g_i close to 1/2 the update (2.2) changes <w_j, nu> by about (alpha a_j / 2n) y_nu D_{nu,j} ||mu||^2
    (the paper's Lemma A.4), so in this unit the change per step of a positive neuron is
    the count D_{nu,j}
    (clean minus noisy points of cluster nu activating neuron j, minus the same for -nu).
    """
    return setup.alpha * setup.mu_norm**2 / (2 * setup.n * math.sqrt(setup.m))


class _Views:
    """The three panels of one trajectory in one figure: built once, then only the step-dependent artists
    (the step marker, the decision regions, the histograms, the titles) are replaced by :meth:`show`.
    Keeping the axes avoids re-creating ticks and labels, most of the cost of a frame."""

    def __init__(self, fig: Figure, traj: Trajectory, seed_index: int, grid_num: int, bins: int, title: bool):
        from matplotlib.patches import Patch

        self.fig, self.traj, self.seed_index, self.bins = fig, traj, seed_index, bins
        self._background = self._background_canvas = None  # see png()
        self.key = (id(traj), seed_index, grid_num, bins, title)
        fig.clear()
        # a portrait figure (the book's column) stacks the panels; a landscape one puts them side by side
        self.stacked = fig.get_figheight() > fig.get_figwidth()
        layout = (3, 1, {"height_ratios": [1.0, 1.3, 1.0]}) if self.stacked else (1, 3, {"width_ratios": [1.25, 1.0, 1.1]})
        self.ax_curves, self.ax_plane, self.ax_hist = fig.subplots(layout[0], layout[1], gridspec_kw=layout[2])
        s = traj.setup

        # 1. accuracy curves (static) and a movable marker of the shown step
        ax = self.ax_curves
        x = traj.t + 1
        for name, key, label in (("train_acc", "train", "train (noisy labels)"), ("test_acc", "test", "test (clean labels)")):
            lo, med, hi = traj.quantiles(name, (0.2, 0.5, 0.8))
            ax.fill_between(x, lo, hi, color=COLORS[key], alpha=0.2, linewidth=0)
            ax.plot(x, med, color=COLORS[key], label=label, linewidth=1.8)
        ax.axhline(0.5, color=COLORS["neutral"], linestyle=":", linewidth=1)
        self.marker = ax.axvline(1, color=COLORS["black"], linestyle="--", linewidth=1, label="shown step")
        ax.set_xscale("log")
        # plain tick labels (1, 10, 100): the default 10^k labels go through mathtext, which is slow
        ax.xaxis.set_major_formatter(_PLAIN_LOG_FORMAT)
        ax.xaxis.set_minor_formatter(_NO_LABEL)
        ax.set_xlim(1, max(traj.t[-1] + 1, 2))
        ax.set_ylim(0.3, 1.02)
        ax.set_xlabel("t + 1 (gradient-descent steps, log scale)")
        ax.set_ylabel("accuracy (fraction)")
        ax.legend(loc="lower right")

        # 2. the plane: points (static), decision regions (per step)
        ax = self.ax_plane
        n = s.n
        pts = traj.plane[seed_index, :n]
        limit = float(np.abs(pts).max()) * 1.05 if pts.size else 1.0
        self.x1, self.x2, self.grid = plane_grid(limit, grid_num)
        y = traj.y[seed_index]
        flipped = y != traj.y_clean[seed_index, :n]
        self.points = []  # drawn again over the decision regions by png()
        for label, key, text in ((1, "positive", "label +1"), (-1, "negative", "label -1")):
            sel = (y == label) & ~flipped
            self.points.append(ax.scatter(
                pts[sel, 0], pts[sel, 1], s=9, color=COLORS[key], label=text,
                edgecolors="none", zorder=3,
            ))
        self.points.append(ax.scatter(
            pts[flipped, 0], pts[flipped, 1], s=28, marker="X", color=COLORS["flipped"],
            edgecolors=COLORS["black"], linewidths=0.4, label="flipped label", zorder=4,
        ))
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_xlabel(r"$\langle x, \mu_1\rangle / \Vert\mu\Vert$")
        ax.set_ylabel(r"$\langle x, \mu_2\rangle / \Vert\mu\Vert$")
        self.plane_legend = ax.legend(loc="upper right", framealpha=0.9)
        self.regions: list = []

        # 3. histograms (per step), with a static legend
        ax = self.ax_hist
        self.unit = projection_unit(s)
        self.positive = traj.a > 0  # [S, m]
        self.styles = ((COLORS["mu1"], COLORS["train"], r"$\langle w_j, \mu_1\rangle$"),
                       (COLORS["mu2"], COLORS["flipped"], r"$\langle w_j, \mu_2\rangle$"))
        ax.legend(
            handles=[Patch(facecolor=fill, edgecolor=edge, alpha=0.7, label=text) for fill, edge, text in self.styles],
            loc="upper right",
        )
        ax.set_xlabel(r"projection / $(\alpha\Vert\mu\Vert^2 / (2n\sqrt{m}))$")
        ax.set_ylabel("positive neurons (count, all seeds)")
        # per step only their data change (set_data): filled histograms, their outlines
        empty, edges = np.zeros(bins), np.linspace(-1.0, 1.0, bins + 1)
        self.fills = [ax.stairs(empty, edges, fill=True, color=fill, alpha=0.55)
                      for fill, _, _ in self.styles]
        self.outlines = [ax.stairs(empty, edges, color=edge, linewidth=1.3)
                         for _, edge, _ in self.styles]

        if title:
            fig.suptitle(_describe(traj), fontsize=10)
        # fixed margins (tight_layout would cost more than drawing the panels)
        if self.stacked:
            fig.subplots_adjust(left=0.13, right=0.97, bottom=0.06, top=0.9 if title else 0.95, hspace=0.55)
        else:
            fig.subplots_adjust(left=0.055, right=0.99, bottom=0.14, top=0.84 if title else 0.9, wspace=0.3)

    def png(self) -> bytes:
        """The figure as PNG bytes, redrawing only what :meth:`show` changes.

        The first call renders the static part once (the accuracy curves, the axes of
        the plane view, the figure title) into a background; every call restores it,
        draws the step marker, the decision regions with the points and the legend over
        them, the titles and the histogram panel in full (its limits follow the step),
        and encodes the pixels (zlib level 1). Same picture as :func:`figure_png`, at a
        fraction of its cost.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        canvas = self.fig.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.fig)
        dynamic = (self.marker, self.ax_curves.title, *self.regions, *self.points,
                   self.plane_legend, self.ax_plane.title, self.ax_hist)
        if self._background is None or self._background_canvas is not canvas:
            for artist in dynamic:
                artist.set_visible(False)
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._background_canvas = canvas
            for artist in dynamic:
                artist.set_visible(True)
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in dynamic:
            artist.draw(renderer)
        width, height = canvas.get_width_height()
        pixels = canvas.buffer_rgba()
        image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def show(self, k: int) -> None:
        traj, s, t = self.traj, self.traj.setup, int(self.traj.t[k])
        self.marker.set_xdata([t + 1, t + 1])
        self.ax_curves.set_title(f"accuracy (median, 20-80% band), shown t = {t}")

        for artist in self.regions:
            artist.remove()
        f = decision_function_on_plane(traj.proj[self.seed_index, k], traj.a[self.seed_index], s.mu_norm, self.grid)
        sign = np.sign(f)
        self.regions = [
            self.ax_plane.contourf(
                self.x1, self.x2, sign, levels=[-1.5, -0.5, 0.5, 1.5],
                colors=[COLORS["negative"], "white", COLORS["positive"]], alpha=0.25,
            )
        ]
        if np.any(sign > 0) and np.any(sign < 0):
            self.regions.append(self.ax_plane.contour(self.x1, self.x2, f, levels=[0.0], colors=COLORS["black"], linewidths=1))
        self.ax_plane.set_title(
            rf"sign of $f$ on span$(\mu_1, \mu_2)$, seed {traj.seeds[self.seed_index]}, $t = {t}$"
        )

        proj = traj.proj[:, k]  # [S, m, 2]
        values = [proj[..., c][self.positive] / self.unit for c in (0, 1)]
        both = np.concatenate(values)
        lo, hi = (float(both.min()), float(both.max())) if both.size else (-1.0, 1.0)
        if hi - lo < 1e-9 * max(1.0, abs(hi)):
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, self.bins + 1)
        top = 1.0
        for v, filled, outline in zip(values, self.fills, self.outlines):
            counts, _ = np.histogram(v, bins=edges)
            top = max(top, float(counts.max()) if counts.size else 1.0)
            filled.set_data(counts, edges)
            outline.set_data(counts, edges)
        pad = 0.02 * (hi - lo)
        self.ax_hist.set_xlim(lo - pad, hi + pad)
        self.ax_hist.set_ylim(0, 1.12 * top)
        self.ax_hist.set_title(f"projections of positive neurons, t = {t}")


def draw_views(
    fig: Figure,
    traj: Trajectory,
    step: int | None = None,
    *,
    seed_index: int = 0,
    grid_num: int = 61,
    bins: int = 40,
    title: bool = True,
) -> int:
    """Draw the three views of ``traj`` at ``step`` into ``fig``. Returns the step drawn.

    The first call for a trajectory clears ``fig`` and builds the three panels; later calls with the same
    trajectory and options only replace what depends on the step (much faster, e.g. for animations).

    Args:
        fig: a matplotlib figure; three axes are created in one row.
        traj: a trajectory recorded with ``neurons=True`` (``proj`` [S, T, m, 2]).
        step: the step to show; the last recorded step <= ``step`` is drawn (default: the last one).
        seed_index: which seed's training points and decision function the plane view shows.
        grid_num: grid points per axis of the plane view. bins: histogram bins.
        title: add a one-line summary of the setup above the panels.

    Raises:
        ValueError: no neuron projections in ``traj``, ``seed_index`` or ``step`` out of range.
    """
    if traj.proj is None:
        raise ValueError("traj must be recorded with neurons=True (traj.proj is None)")
    S = len(traj.seeds)
    if isinstance(seed_index, bool) or not isinstance(seed_index, (int, np.integer)) or not 0 <= seed_index < S:
        raise ValueError(f"seed_index must be an integer in [0, {S - 1}], got {seed_index!r}")
    if step is None:
        step = int(traj.t[-1])
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step <= int(traj.t[-1]):
        raise ValueError(f"step must be an integer in [0, {int(traj.t[-1])}], got {step!r}")
    k = _nearest_recorded(traj, int(step))
    views = getattr(fig, "_xorgrok_views", None)
    key = (id(traj), int(seed_index), grid_num, bins, title)
    if views is None or views.key != key or views.traj is not traj or list(fig.axes) != [views.ax_curves, views.ax_plane, views.ax_hist]:
        views = _Views(fig, traj, int(seed_index), grid_num, bins, title)
        fig._xorgrok_views = views
    views.show(k)
    return int(traj.t[k])


def views_png(fig: Figure) -> bytes:
    """The figure last drawn by :func:`draw_views` as PNG bytes, fast: only the parts
    that depend on the shown step are redrawn (the live explorer's step slider).
    ``ValueError`` if ``fig`` holds no views."""
    views = getattr(fig, "_xorgrok_views", None)
    if views is None:
        raise ValueError("fig must have been drawn by draw_views")
    return views.png()


def figure_png(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure rendered as PNG bytes (for an ipywidgets Image)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi if dpi is not None else fig.dpi, facecolor="white")
    return buf.getvalue()


def animation_steps(traj: Trajectory, frames: int = 25) -> list[int]:
    """About ``frames`` recorded steps spread evenly over the recorded list (first and last included)."""
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames must be an integer >= 1, got {frames!r}")
    idx = np.unique(np.round(np.linspace(0, len(traj.t) - 1, min(int(frames), len(traj.t)))).astype(int))
    return [int(traj.t[i]) for i in idx]


def make_animation(
    traj: Trajectory,
    steps: Sequence[int] | None = None,
    *,
    frames: int = 25,
    dpi: float = 70,
    figsize: tuple[float, float] = (12.0, 3.7),
    interval_ms: int = 400,
    palette: bool = True,
    alt: str | None = None,
) -> "HTML":
    """A self-contained HTML/JavaScript animation of :func:`draw_views` over ``steps`` (works offline).

    Args:
        traj: a trajectory recorded with ``neurons=True``.
        steps: the steps to show, one frame each (default: :func:`animation_steps` with ``frames``).
        frames: number of frames when ``steps`` is None. dpi, figsize: size of each frame.
        interval_ms: delay between frames when playing.
        palette: re-encode the frames with a 256-colour palette (:func:`shrink_frames`), about 3x smaller.
        alt: alternative text of the player's image (default: a generic description of the three views).

    Returns:
        ``IPython.display.HTML`` made by ``matplotlib.animation.FuncAnimation.to_jshtml``: every frame
        is an embedded PNG, with a slider and play buttons; no network needed (:func:`offline_controls`).
    """
    import matplotlib as mpl
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation

    if steps is None:
        steps = animation_steps(traj, frames)
    steps = [int(s) for s in steps]
    if not steps:
        raise ValueError("steps must name at least one step")
    fig = new_figure(figsize, dpi)
    draw_views(fig, traj, steps[0])

    def frame(i: int) -> list:
        draw_views(fig, traj, steps[i])
        return []

    anim = FuncAnimation(fig, frame, frames=len(steps), interval=interval_ms, blit=False, repeat=False)
    with mpl.rc_context({"savefig.dpi": dpi}):  # to_jshtml saves frames at savefig.dpi, not fig.dpi
        html = anim.to_jshtml(fps=max(1, round(1000 / interval_ms)), default_mode="once")
    if alt is None:
        alt = (
            f"Animation of the explorer's three views (accuracy curves, decision boundary on the plane of mu1 "
            f"and mu2, histograms of the positive neurons' projections) at steps {steps[0]} to {steps[-1]}"
        )
    html = fit_player(offline_controls(html), alt)
    return HTML(shrink_frames(html) if palette else html)


def fit_player(html: str, alt: str) -> str:
    """Give a ``to_jshtml`` player's image an ``alt`` text and let it shrink to the width of the page."""
    alt = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    html = html.replace('<div class="animation">', '<div class="animation" style="max-width: 100%;">', 1)
    return re.sub(
        r'<img id="(_anim_img[0-9a-f]*)">',
        lambda mt: f'<img id="{mt.group(1)}" alt="{alt}" style="max-width: 100%; height: auto;">',
        html,
        count=1,
    )


_CDN_LINK = re.compile(r"<link[^>]*font-awesome[^>]*>\s*")
_ICON = re.compile(r'<i class="fa fa-([a-z-]+)( fa-flip-horizontal)?"></i>')
_GLYPHS = {
    "minus": "\u2212",  # slower
    "plus": "+",  # faster
    "fast-backward": "\u23ee",  # first frame
    "step-backward": "\u25c1",  # previous frame
    "play-flipped": "\u25c0",  # play backwards
    "pause": "\u23f8",
    "play": "\u25b6",
    "step-forward": "\u25b7",  # next frame
    "fast-forward": "\u23ed",  # last frame
}


def offline_controls(html: str) -> str:
    """Make a ``to_jshtml`` animation independent of the network.

    matplotlib's player loads its button icons (Font Awesome) from a CDN; without the network the buttons
    would be blank. This drops that stylesheet and writes each icon as a Unicode character instead
    (the buttons keep their ``title`` and ``aria-label``).
    """

    def glyph(match: re.Match) -> str:
        name = match.group(1) + ("-flipped" if match.group(2) else "")
        return f'<span aria-hidden="true">{_GLYPHS.get(name, name)}</span>'

    return _ICON.sub(glyph, _CDN_LINK.sub("", html))


_FRAME = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)")


def shrink_frames(html: str, colors: int = 256) -> str:
    """Re-encode every embedded PNG frame of a ``to_jshtml`` animation with a palette of ``colors`` colours.

    Figures use few colours, so an adaptive palette (no dithering) keeps them visually unchanged while the
    page gets about three times lighter.
    """
    from PIL import Image

    def repack(match: re.Match) -> str:
        raw = base64.b64decode(match.group(1).replace("\\\n", "").replace("\\", ""))
        image = Image.open(io.BytesIO(raw)).convert("RGB")
        small = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        small.save(buf, format="png", optimize=True)
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    return _FRAME.sub(repack, html)


# --------------------------------------------------------------------------------------------- sweeps


def sweep(
    params: ExplorerParams,
    name: str,
    values: Sequence[float],
    threshold: float = 0.9,
) -> list[dict[str, Any]]:
    """Run the explorer at ``params`` with field ``name`` set to each of ``values`` (the exercises' answers).

    Returns one row per value: ``value``, ``first_step`` (first recorded step at which the median test
    accuracy reaches ``threshold``, or None), ``train_acc_1`` (median train accuracy at t = 1, if recorded)
    and ``test_acc_final`` (median test accuracy at the last step).
    """
    if name not in {f.name for f in fields(ExplorerParams)}:
        raise ValueError(f"name must be a field of ExplorerParams, got {name!r}")
    rows = []
    for value in values:
        traj = run_explorer_setup(params.replace(**{name: value}))
        rows.append(
            {
                "value": value,
                "first_step": traj.first_step("test_acc", threshold),
                "train_acc_1": float(np.median(traj.train_acc[:, traj.index(1)])) if 1 in traj.t else None,
                "test_acc_final": float(np.median(traj.test_acc[:, -1])),
            }
        )
    return rows


# --------------------------------------------------------------------------------------------- widgets

#: Longest predicted simulation the explorer runs, in seconds (longer ones are refused).
MAX_SECONDS = 5.0
#: Speed assumed before the explorer's first simulation has measured one, in flop/s
#: (conservative: a slow laptop core; the default setting then predicts under 2 s).
DEFAULT_FLOP_RATE = 2e9


def explorer_flops(params: ExplorerParams) -> float:
    """Floating-point operations of :func:`run_explorer_setup`: 2 m n^2 per seed and
    step (the span engine's product), plus m n_test n at each recorded step (the test
    outputs)."""
    m, n, recorded = params.m, params.n, len(record_steps(params.steps))
    per_seed = 2 * m * n**2 * params.steps + m * params.n_test * n * recorded
    return float(params.seeds * per_seed)


class _Cancelled(Exception):
    """The explorer's simulation was cancelled."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_P_OPTIONS = (100, 300, 1_000, 3_000, 10_000, 40_000, 100_000, 300_000, 1_000_000)
_STEP_OPTIONS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


class Explorer:
    """The ipywidgets explorer: sliders for :class:`ExplorerParams`, a 'shown step' slider and an image.

    Changing a parameter re-simulates (:func:`run_explorer_setup`) and redraws, unless one of the last
    ``cache_size`` parameter sets comes back (then its cached trajectory is reused); changing only the
    shown step redraws from the current trajectory. ``timings`` holds the last update's ``simulate_s``
    (0 when nothing was simulated), ``draw_s`` and ``total_s`` in seconds; ``simulations`` counts the
    simulations run so far.
    """

    def __init__(self, params: ExplorerParams | None = None, traj: Trajectory | None = None,
                 dpi: float = 80, cache_size: int = 4, max_seconds: float = MAX_SECONDS,
                 background: bool = False) -> None:
        import ipywidgets as w

        number = isinstance(max_seconds, (int, float))
        if isinstance(max_seconds, bool) or not number or not max_seconds > 0:
            raise ValueError(
                f"max_seconds must be a number > 0 (inf: no limit), got {max_seconds!r}"
            )
        self.max_seconds = float(max_seconds)
        self.background = bool(background)
        self.flop_rate = DEFAULT_FLOP_RATE
        self._cancel: threading.Event | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

        self.params = params if params is not None else ExplorerParams()
        if not isinstance(self.params, ExplorerParams):
            raise ValueError(f"params must be an ExplorerParams, got {type(self.params).__name__}")
        if traj is not None and (
            traj.setup != to_setup(self.params)
            or len(traj.seeds) != self.params.seeds
            or int(traj.t[-1]) != self.params.steps
            or traj.proj is None
        ):
            raise ValueError("traj must come from run_explorer_setup(params) (its setup, seeds or steps differ)")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"cache_size must be an integer >= 1, got {cache_size!r}")
        self.dpi = dpi
        self.cache_size = cache_size
        self.figure = new_figure(dpi=dpi)
        self.timings: dict[str, float] = {}
        self.simulations = 0
        self._cache: OrderedDict[ExplorerParams, Trajectory] = OrderedDict()
        self._traj_params: ExplorerParams | None = None
        self.traj: Trajectory | None = None
        if traj is not None:
            self.traj, self._traj_params = traj, self.params
            self._cache[self.params] = traj

        p = self.params
        style = {"description_width": "initial"}
        lay = w.Layout(width="340px")
        R = RANGES
        self.controls: dict[str, Any] = {
            "p": w.SelectionSlider(options=_with(_P_OPTIONS, p.p), value=p.p, description="p (dimension)"),
            "n": w.IntSlider(value=p.n, min=R["n"][0], max=R["n"][1], step=10, description="n (train points)"),
            "mu_factor": w.FloatSlider(value=p.mu_factor, min=R["mu_factor"][0], max=R["mu_factor"][1], step=0.1,
                                       description="||mu|| / sqrt(p/n)"),
            "eta": w.FloatSlider(value=p.eta, min=R["eta"][0], max=R["eta"][1], step=0.01, description="eta (flip rate)"),
            "m": w.IntSlider(value=p.m, min=R["m"][0], max=R["m"][1], step=10, description="m (neurons)"),
            "init_ratio": w.FloatLogSlider(value=p.init_ratio, base=10, min=math.log10(R["init_ratio"][0]),
                                           max=math.log10(R["init_ratio"][1]), step=0.25,
                                           description="omega_init / alpha"),
            "steps": w.SelectionSlider(options=_with(_STEP_OPTIONS, p.steps), value=p.steps, description="steps"),
            "seeds": w.IntSlider(value=p.seeds, min=R["seeds"][0], max=R["seeds"][1], description="seeds"),
        }
        for c in self.controls.values():
            c.continuous_update = False
            c.style = style
            c.layout = lay
        self.step_slider = w.SelectionSlider(options=[0], value=0, description="shown step t",
                                             continuous_update=False, style=style, layout=w.Layout(width="680px"))
        self.mu_label = w.HTML()
        self.status = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="1100px"))
        for c in self.controls.values():
            c.observe(self._on_param, names="value")
        self.step_slider.observe(self._on_step, names="value")
        names = list(self.controls)
        left = w.VBox([self.controls[k] for k in names[:4]])
        right = w.VBox([self.controls[k] for k in names[4:]])
        row = w.HBox([left, right])
        self.cancel_button = w.Button(description="stop", disabled=True,
                                      tooltip="stop the running simulation")
        self.cancel_button.on_click(lambda _: self.cancel())
        status_row = self.status
        if self.background:
            status_row = w.HBox([self.cancel_button, self.status])
        self.ui = w.VBox([row, self.mu_label, self.step_slider, status_row, self.image])
        self._boxes = (left, right, row, self.ui)
        if self.background:
            self._boxes += (status_row,)
        self._busy = False
        if self.traj is not None:
            self._reset_step_slider(None, last=True)
        self.update()

    # -- callbacks
    def read_params(self) -> ExplorerParams:
        """The parameters the sliders show now (alpha and n_test kept from the initial params)."""
        values = {k: c.value for k, c in self.controls.items()}
        return self.params.replace(**values)

    def _on_param(self, change: dict) -> None:
        if not self._busy:
            self.update()

    def _on_step(self, change: dict) -> None:
        if not self._busy:
            self.update(step=int(change["new"]))

    def predict_seconds(self, params: ExplorerParams) -> float:
        """Predicted training time of ``params``: :func:`explorer_flops` over the speed
        measured by the last simulation (:data:`DEFAULT_FLOP_RATE` before the first)."""
        return explorer_flops(params) / self.flop_rate

    def cancel(self) -> None:
        """Ask the running simulation to stop (it stops when its next seed finishes)."""
        if self._cancel is not None:
            self._cancel.set()

    def update(self, step: int | None = None) -> None:
        """Re-simulate if a parameter changed, then redraw at ``step`` (default: the
        shown step).

        Never raises: invalid parameters, a setting predicted to take longer than
        ``max_seconds``, a failed or cancelled simulation each leave the last picture
        and put the controls back to its parameters, with a one-line status saying why.
        """
        start = time.perf_counter()
        try:
            params = self.read_params()
        except ValueError as exc:
            self._refuse(f"<b>invalid parameters</b>: {_first_line(exc)}")
            return
        if self._traj_params != params and params not in self._cache:
            predicted = self.predict_seconds(params)
            if predicted > self.max_seconds:
                self._refuse(
                    f"<b>not run</b>: predicted {predicted:.0f} s, more than the limit "
                    f"of {self.max_seconds:g} s; use fewer steps, seeds, neurons or "
                    "training points"
                )
                return
            self.status.value = f"simulating ... (about {predicted:.1f} s)"
            if self.background:
                self._start_background(params, step, start)
                return
            done = self._simulate(params, threading.Event())
            if done is not None:
                self._show(params, *done, step, start)
            return
        self._show(params, self._cache.get(params, self.traj), 0.0, step, start)

    def _simulate(self, params: ExplorerParams,
                  cancel: threading.Event) -> tuple[Trajectory, float] | None:
        """Train ``params`` (cancellable between seeds): the trajectory and the seconds
        it took, or None after a failure or a cancellation."""
        self._cancel = cancel
        if self.cancel_button is not None:
            self.cancel_button.disabled = False

        def check(done: int) -> None:
            if cancel.is_set():
                raise _Cancelled()

        t0 = time.perf_counter()
        try:
            traj = run_explorer_setup(params, progress=check)
        except (_Cancelled, KeyboardInterrupt):
            self._refuse("<b>cancelled</b>: the picture is still the last run's")
            return None
        except Exception as exc:  # shown in the status line, never raised from a slider
            why = f"{type(exc).__name__}: {_first_line(exc)}"
            self._refuse(f"<b>simulation failed</b>: {why}")
            return None
        finally:
            if self.cancel_button is not None:
                self.cancel_button.disabled = True
        sim_s = time.perf_counter() - t0
        self.flop_rate = explorer_flops(params) / max(sim_s, 1e-6)
        self.simulations += 1
        self._cache[params] = traj
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return traj, sim_s

    def _start_background(
        self, params: ExplorerParams, step: int | None, start: float
    ) -> None:
        """Simulate in a thread (the kernel stays free to receive the stop button's
        click); a newer request cancels an older one."""
        self.cancel()
        cancel = threading.Event()

        def work() -> None:
            done = self._simulate(params, cancel)
            if done is not None and not cancel.is_set():
                with self._lock:
                    self._show(params, *done, step, start)

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def _show(
        self,
        params: ExplorerParams,
        traj: Trajectory,
        sim_s: float,
        step: int | None,
        start: float,
    ) -> None:
        """Make ``traj`` (of ``params``) the shown run and draw it at ``step``."""
        self.params = params
        self.mu_label.value = (
            f"||mu|| = {params.mu_norm:.4g}, omega_init = {params.omega_init:.3g}, "
            f"alpha = {params.alpha:.0e}"
        )
        if self._traj_params != params:
            if params in self._cache:
                self._cache.move_to_end(params)
            first = self.traj is None
            self.traj, self._traj_params = traj, params
            self._reset_step_slider(step, last=first and step is None)
        if step is None:
            step = int(self.step_slider.value)
        t0 = time.perf_counter()
        shown = draw_views(self.figure, self.traj, min(int(step), int(self.traj.t[-1])))
        self.image.value = views_png(self.figure)
        draw_s = time.perf_counter() - t0
        self.timings = {"simulate_s": sim_s, "draw_s": draw_s, "total_s": time.perf_counter() - start}
        self.status.value = (
            f"t = {shown}: simulation {sim_s:.2f} s"
            f"{' (cached)' if sim_s == 0 else ''}, drawing {draw_s:.2f} s"
        )

    def _refuse(self, message: str) -> None:
        """Show ``message`` and put the controls back to the shown run's parameters."""
        self.status.value = message
        shown = self._traj_params
        if shown is None:
            return
        self._busy = True
        try:
            for name, control in self.controls.items():
                control.value = getattr(shown, name)
        finally:
            self._busy = False
        self.params = shown

    def _reset_step_slider(self, step: int | None, last: bool) -> None:
        """New options for the step slider after a simulation: keep the shown step (or show the last one)."""
        options = [int(t) for t in self.traj.t]
        old = int(self.step_slider.value) if step is None else int(step)
        self._busy = True
        try:
            self.step_slider.options = options
            self.step_slider.value = options[-1] if last else options[_nearest_recorded(self.traj, old)]
        finally:
            self._busy = False

    def close(self) -> None:
        """Close every widget of the explorer (they disappear from the front end and the saved widget state)."""
        widgets = (*self.controls.values(), self.step_slider, self.mu_label,
                   self.status, self.image, self.cancel_button, *self._boxes)
        for widget in widgets:
            for part in ("layout", "style"):
                sub = getattr(widget, part, None)
                if sub is not None:
                    sub.close()
            widget.close()

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.ui._repr_mimebundle_(**kwargs)


def _with(options: Sequence[int], value: int) -> list[int]:
    return sorted(set(int(o) for o in options) | {int(value)})


def build_explorer(
    params: ExplorerParams | None = None,
    traj: Trajectory | None = None,
    dpi: float = 80,
    cache_size: int = 4,
    max_seconds: float = MAX_SECONDS,
    background: bool = False,
) -> Explorer:
    """Build the ipywidgets explorer (needs ``ipywidgets``). Display it with ``explorer.ui`` as a cell's value.

    Args:
        params: the initial parameters (default: ``ExplorerParams()``).
        traj: optionally, a trajectory already simulated from ``params`` (saves the first simulation).
        dpi: resolution of the image.
        cache_size: how many recent trajectories to keep (returning to one of them needs no simulation).
        max_seconds: settings predicted to train longer than this are refused
            (:meth:`Explorer.predict_seconds`).
        background: train in a thread, with a "stop" button that cancels (the kernel
            stays responsive); by default a slider waits for its simulation, which the
            kernel's interrupt cancels.

    Raises:
        ImportError: ipywidgets is not installed. ValueError: bad ``params`` or a ``traj`` of other params.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the live explorer needs ipywidgets: pip install ipywidgets") from exc
    return Explorer(params, traj, dpi, cache_size, max_seconds, background)


def measure_updates(
    params: ExplorerParams | None = None, repeats: int = 5
) -> dict[str, float]:
    """The benchmark's timing hook: median seconds of the live explorer's two updates.

    Builds an explorer at ``params`` (default: ``ExplorerParams()``), then ``repeats``
    times changes the shown step (a redraw) and the flip rate eta (a new simulation and
    a redraw, never cached), exactly as a slider would. Returns ``step_s`` and
    ``param_s`` (medians of ``timings["total_s"]``) and ``param_simulate_s`` (the
    training part of ``param_s``).
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    params = params if params is not None else ExplorerParams()
    explorer = build_explorer(params, traj=run_explorer_setup(params), cache_size=1,
                              max_seconds=math.inf)
    steps = list(explorer.step_slider.options)
    step_s, param_s, sim_s = [], [], []
    for k in range(repeats):
        now = steps.index(explorer.step_slider.value)
        shift = 1 + k % (len(steps) - 1)  # never the step shown now
        explorer.step_slider.value = steps[(now + shift) % len(steps)]
        step_s.append(explorer.timings["total_s"])
        # a flip rate never used before in this loop: always a new simulation
        explorer.controls["eta"].value = round(0.06 + 0.01 * (k % 39), 2)
        param_s.append(explorer.timings["total_s"])
        sim_s.append(explorer.timings["simulate_s"])
    explorer.close()
    return {"step_s": float(np.median(step_s)), "param_s": float(np.median(param_s)),
            "param_simulate_s": float(np.median(sim_s))}
