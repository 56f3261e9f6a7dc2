"""The explorer's three views of a run at one recorded step, as a figure, a PNG or an
animation."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..animation import animation_html
from ..config import Setup
from ..plane import decision_function_on_plane, plane_grid
from ..plotting import COLORS, format_number
from ..simulate import Trajectory
from .fastagg import GlyphCacheCanvas

if TYPE_CHECKING:  # pragma: no cover - IPython is imported lazily at run time
    from IPython.display import HTML


__all__ = [
    "draw_views",
    "new_figure",
    "projection_unit",
    "figure_png",
    "views_png",
    "animation_steps",
    "make_animation",
]

# ------------------------------------------------------------------------------ drawing


def new_figure(figsize: tuple[float, float] = (12.0, 3.7), dpi: float = 100) -> Figure:
    """A pyplot-free matplotlib figure sized for :func:`draw_views` (it is never
    shown automatically), on an Agg canvas that keeps the glyphs it renders
    (``xorgrok.explorer.fastagg.GlyphCacheCanvas``: same pixels, faster
    redraws)."""
    fig = Figure(figsize=figsize, dpi=dpi, facecolor="white")
    GlyphCacheCanvas(fig)
    return fig


def _nearest_recorded(traj: Trajectory, step: int) -> int:
    """Index in ``traj.t`` of the last recorded step <= ``step`` (the first one if
    none)."""
    k = int(np.searchsorted(traj.t, step, side="right")) - 1
    return max(k, 0)


def _describe(traj: Trajectory) -> str:
    s = traj.setup
    return (
        rf"$p = {s.p}$, $n = {s.n}$, $\Vert\mu\Vert = {s.mu_norm:.3g}$, $\eta = "
        rf"{s.eta:g}$, $m = {s.m}$, "
        rf"$\omega_\mathrm{{init}}/\alpha = {s.omega_init / s.alpha:.3g}$, "
        rf"$\alpha = {format_number(s.alpha)}$, seeds: {len(traj.seeds)}"
    )


_PLAIN_LOG_FORMAT = FuncFormatter(lambda v, _: f"{v:g}")
_NO_LABEL = NullFormatter()


def projection_unit(setup: Setup) -> float:
    r""":math:`\alpha \|\mu\|^2 / (2 n \sqrt{m})`: how far one training point moves
    :math:`\langle w_j, \mu_k\rangle` in one step.

    With :math:`g_i` close to 1/2 the update (2.2) changes :math:`\langle w_j,
    \nu\rangle` by about :math:`(\alpha a_j / 2n)\, y_\nu D_{\nu,j} \|\mu\|^2` (the
    paper's Lemma A.4), so in this unit the change per step of a positive neuron is the
    count :math:`D_{\nu,j}` (clean minus noisy points of cluster :math:`\nu` activating
    neuron :math:`j`, minus the same for :math:`-\nu`).
    """
    return setup.alpha * setup.mu_norm**2 / (2 * setup.n * math.sqrt(setup.m))


class _Views:
    """The three panels of a trajectory in one figure: built once, then only the
    step-dependent artists
    (the step marker, the decision regions, the histograms, the titles) are replaced
    by :meth:`show`. Keeping the axes avoids re-creating ticks and labels, most of
    the cost of a frame; another trajectory (:meth:`set_trajectory`) keeps them too,
    and replaces only the curves, points and limits."""

    def __init__(
        self,
        fig: Figure,
        traj: Trajectory,
        seed_index: int,
        grid_num: int,
        bins: int,
        title: bool,
    ):
        self.fig, self.seed_index, self.bins = fig, seed_index, bins
        self.grid_num, self.title = grid_num, title
        self.key = (seed_index, grid_num, bins, title)
        self._layer_boxes: list = []  # see png()
        fig.clear()
        # a portrait figure (the book's column) stacks the panels; a landscape one puts
        # them side by side
        self.stacked = fig.get_figheight() > fig.get_figwidth()
        layout = (
            (3, 1, {"height_ratios": [1.0, 1.3, 1.0]})
            if self.stacked
            else (1, 3, {"width_ratios": [1.25, 1.0, 1.1]})
        )
        self.ax_curves, self.ax_plane, self.ax_hist = fig.subplots(
            layout[0], layout[1], gridspec_kw=layout[2]
        )
        # a grid (the book's style has one) under the decision regions, so that the
        # live redraw, which paints the regions over the kept background, draws the
        # same picture as a full draw
        self.ax_plane.set_axisbelow(True)
        self._draw_curves_frame()
        self._draw_points_frame()
        self._draw_histogram_frame(bins)
        # fixed margins (tight_layout would cost more than drawing the panels)
        if self.stacked:
            fig.subplots_adjust(
                left=0.13,
                right=0.97,
                bottom=0.06,
                top=0.9 if title else 0.95,
                hspace=0.55,
            )
        else:
            fig.subplots_adjust(
                left=0.055,
                right=0.99,
                bottom=0.14,
                top=0.84 if title else 0.9,
                wspace=0.3,
            )
        self.set_trajectory(traj)

    def set_trajectory(self, traj: Trajectory) -> None:
        """Show ``traj`` in the panels built for the last one: new curves, points,
        limits and figure title; the step-dependent artists follow at :meth:`show`."""
        self.traj = traj
        self._background = self._background_canvas = None  # see png()
        self._set_curves(traj)
        self._set_points(traj, self.seed_index, self.grid_num)
        self.unit = projection_unit(traj.setup)
        self.positive = traj.a > 0  # [S, m]
        if self.title:
            self.fig.suptitle(_describe(traj), fontsize=10)

    def _draw_curves_frame(self) -> None:
        """Panel 1: a movable marker of the shown step, the axes of the accuracy curves
        (drawn by :meth:`_set_curves`)."""
        ax = self.ax_curves
        self.bands: list = []
        self.medians = [
            ax.plot([], [], color=COLORS[key], label=label, linewidth=1.8)[0]
            for key, label in (
                ("train", "train (noisy labels)"),
                ("test", "test (clean labels)"),
            )
        ]
        ax.axhline(0.5, color=COLORS["neutral"], linestyle=":", linewidth=1)
        self.marker = ax.axvline(
            1, color=COLORS["black"], linestyle="--", linewidth=1, label="shown step"
        )
        ax.set_xscale("log")
        # plain tick labels (1, 10, 100): the default 10^k labels go through mathtext,
        # which is slow
        ax.xaxis.set_major_formatter(_PLAIN_LOG_FORMAT)
        ax.xaxis.set_minor_formatter(_NO_LABEL)
        ax.set_ylim(0.3, 1.02)
        ax.set_xlabel("t + 1 (gradient-descent steps, log scale)")
        ax.set_ylabel("accuracy (fraction)")
        ax.legend(loc="lower right")

    def _set_curves(self, traj: Trajectory) -> None:
        """Panel 1's accuracy curves of ``traj``: medians and 20-80% bands over the
        seeds."""
        ax = self.ax_curves
        x = traj.t + 1
        for band in self.bands:
            band.remove()
        self.bands = []
        for name, key, median in zip(
            ("train_acc", "test_acc"), ("train", "test"), self.medians
        ):
            lo, med, hi = traj.quantiles(name, (0.2, 0.5, 0.8))
            self.bands.append(
                ax.fill_between(x, lo, hi, color=COLORS[key], alpha=0.2, linewidth=0)
            )
            median.set_data(x, med)
        ax.set_xlim(1, max(traj.t[-1] + 1, 2))

    def _draw_points_frame(self) -> None:
        """Panel 2, the plane: the training points (placed by :meth:`_set_points`) and
        their legend; the decision regions are drawn per step by :meth:`show`."""
        ax = self.ax_plane
        self.points = []  # drawn again over the decision regions by png()
        for key, text in (("positive", "label +1"), ("negative", "label -1")):
            self.points.append(
                ax.scatter(
                    [],
                    [],
                    s=9,
                    color=COLORS[key],
                    label=text,
                    edgecolors="none",
                    zorder=3,
                )
            )
        self.points.append(
            ax.scatter(
                [],
                [],
                s=28,
                marker="X",
                color=COLORS["flipped"],
                edgecolors=COLORS["black"],
                linewidths=0.4,
                label="flipped label",
                zorder=4,
            )
        )
        ax.set_aspect("equal")
        ax.set_xlabel(r"$\langle x, \mu_1\rangle / \Vert\mu\Vert$")
        ax.set_ylabel(r"$\langle x, \mu_2\rangle / \Vert\mu\Vert$")
        self.plane_legend = ax.legend(loc="upper right", framealpha=0.9)
        self.regions: list = []

    def _set_points(self, traj: Trajectory, seed_index: int, grid_num: int) -> None:
        """Panel 2's training points of seed ``seed_index`` (clean labels +1, -1, and
        flipped labels), the limits and the grid of the decision regions."""
        ax = self.ax_plane
        n = traj.setup.n
        pts = traj.plane[seed_index, :n]
        limit = float(np.abs(pts).max()) * 1.05 if pts.size else 1.0
        self.x1, self.x2, self.grid = plane_grid(limit, grid_num)
        y = traj.y[seed_index]
        flipped = y != traj.y_clean[seed_index, :n]
        chosen = ((y == 1) & ~flipped, (y == -1) & ~flipped, flipped)
        for points, sel in zip(self.points, chosen):
            points.set_offsets(pts[sel])
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)

    def _draw_histogram_frame(self, bins: int) -> None:
        """Panel 3: the histograms (their data change per step), with a static
        legend."""
        from matplotlib.patches import Patch

        ax = self.ax_hist
        self.styles = (
            (COLORS["mu1"], COLORS["train"], r"$\langle w_j, \mu_1\rangle$"),
            (COLORS["mu2"], COLORS["flipped"], r"$\langle w_j, \mu_2\rangle$"),
        )
        self.hist_legend = ax.legend(
            handles=[
                Patch(facecolor=fill, edgecolor=edge, alpha=0.7, label=text)
                for fill, edge, text in self.styles
            ],
            loc="upper right",
        )
        ax.set_xlabel(r"projection / $(\alpha\Vert\mu\Vert^2 / (2n\sqrt{m}))$")
        ax.set_ylabel("positive neurons (count, all seeds)")
        # per step only their data change (set_data): filled histograms, their outlines
        empty, edges = np.zeros(bins), np.linspace(-1.0, 1.0, bins + 1)
        self.fills = [
            ax.stairs(empty, edges, fill=True, color=fill, alpha=0.55)
            for fill, _, _ in self.styles
        ]
        self.outlines = [
            ax.stairs(empty, edges, color=edge, linewidth=1.3)
            for _, edge, _ in self.styles
        ]

    def png(self) -> bytes:
        """The figure as PNG bytes, redrawing only what :meth:`show` changes.

        The first call renders the static part once (the accuracy curves, the axes of
        the plane view, the figure title) into a background, and each legend alone on
        a transparent layer; every call restores the background, draws the step
        marker, the decision regions, the plane's frame and points, the titles and the
        histogram panel (its limits follow the step), lays the legends' layers over
        them ("over" compositing, as Agg blends when it draws them there) and encodes
        the pixels (zlib level 1). Same picture as :func:`figure_png` (to a few of 255
        levels on antialiased edges), at a fraction of its cost.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        canvas = self.fig.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = GlyphCacheCanvas(self.fig)
        titles = (self.ax_curves.title, self.ax_plane.title)
        legends = (self.plane_legend, self.hist_legend)
        dynamic = (
            self.marker,
            titles[0],
            *self.regions,
            *self.ax_plane.spines.values(),  # over the regions, as in a full draw
            *self.points,
            self.plane_legend,
            titles[1],
            self.ax_hist,
        )
        if self._background is None or self._background_canvas is not canvas:
            # the titles are left out by emptying them, not by hiding them: the axes
            # would move a hidden title far up (its extent is empty)
            texts = [title.get_text() for title in titles]
            for artist in dynamic:
                artist.set_visible(artist in titles)
            for title in titles:
                title.set_text("")
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._background_canvas = canvas
            for artist in dynamic:
                artist.set_visible(True)
            for title, text in zip(titles, texts):
                title.set_text(text)
            # the legends do not change with the trajectory: their layers are kept
            # while they stay in place
            renderer = canvas.get_renderer()
            boxes = [legend.get_window_extent(renderer).bounds for legend in legends]
            if boxes != self._layer_boxes:
                self._layers = [_layer(canvas, legend) for legend in legends]
                self._layer_boxes = boxes
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        pixels = np.asarray(canvas.buffer_rgba())
        self.hist_legend.set_visible(False)  # laid over the panel after it
        try:
            for artist in dynamic:
                if artist is self.plane_legend:
                    _lay_over(pixels, self._layers[0])
                else:
                    artist.draw(renderer)
        finally:
            self.hist_legend.set_visible(True)
        _lay_over(pixels, self._layers[1])
        width, height = canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="png", compress_level=1)
        return buf.getvalue()

    _REGION_LEVELS = (-1.5, -0.5, 0.5, 1.5)  # sign(f) in {-1, 0, 1}: one band each

    def _show_regions(self, f: np.ndarray) -> None:
        """The decision regions (filled contours of sign(f) on the grid) and the
        boundary f = 0 (a contour line of f, absent when f has one sign).

        The first step makes them with matplotlib's ``contourf``/``contour``; later
        steps give the same contour sets new paths (:func:`_contour_paths`, the paths
        matplotlib would compute), instead of building new sets, most of their cost.
        """
        sign = np.sign(f)
        if self.regions:
            filled, line = self.regions
            filled.set_paths(
                _contour_paths(self.x1, self.x2, sign, self._REGION_LEVELS)
            )
            line.set_paths(_contour_paths(self.x1, self.x2, f, (0.0,), filled=False))
            return
        ax = self.ax_plane
        filled = ax.contourf(
            self.x1,
            self.x2,
            sign,
            levels=list(self._REGION_LEVELS),
            colors=[COLORS["negative"], "white", COLORS["positive"]],
            alpha=0.25,
        )
        # with one sign only, contour would warn that it finds no level: it starts
        # from a field with a boundary and gets the (empty) paths of f
        both = np.any(sign > 0) and np.any(sign < 0)
        line = ax.contour(
            self.x1,
            self.x2,
            f if both else self.x1,
            levels=[0.0],
            colors=COLORS["black"],
            linewidths=1,
        )
        if not both:
            line.set_paths(_contour_paths(self.x1, self.x2, f, (0.0,), filled=False))
        self.regions = [filled, line]

    def show(self, k: int) -> None:
        traj, s, t = self.traj, self.traj.setup, int(self.traj.t[k])
        self.marker.set_xdata([t + 1, t + 1])
        self.ax_curves.set_title(f"accuracy (median, 20-80% band), shown t = {t}")

        f = decision_function_on_plane(
            traj.proj[self.seed_index, k], traj.a[self.seed_index], s.mu_norm, self.grid
        )
        self._show_regions(f)
        self.ax_plane.set_title(
            r"sign of $f$ on span$(\mu_1, \mu_2)$, seed "
            rf"{traj.seeds[self.seed_index]}, $t = "
            rf"{t}$"
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
        # y = 1: where the axes would put it (its ticks are below), without the cost
        # of working it out at every draw
        self.ax_hist.set_title(f"projections of positive neurons, t = {t}", y=1.0)


def _layer(canvas, artist) -> tuple[int, int, np.ndarray]:
    """``artist`` drawn alone on a transparent canvas of the figure's size: the first
    row and column of its pixels and their RGBA values [rows, cols, 4] (float32,
    colours not premultiplied, as Agg stores them)."""
    width, height = canvas.get_width_height(physical=True)
    renderer = type(canvas.get_renderer())(width, height, canvas.figure.dpi)
    artist.draw(renderer)
    rgba = np.asarray(renderer.buffer_rgba())
    rows, cols = np.nonzero(rgba[..., 3])
    if rows.size == 0:
        return 0, 0, np.zeros((0, 0, 4), np.float32)
    r0, c0 = int(rows.min()), int(cols.min())
    return r0, c0, rgba[r0 : rows.max() + 1, c0 : cols.max() + 1].astype(np.float32)


def _lay_over(pixels: np.ndarray, layer: tuple[int, int, np.ndarray]) -> None:
    """Composite ``layer`` (from :func:`_layer`) over the opaque RGBA ``pixels``
    [height, width, 4] in place: c = a c_layer + (1 - a) c_pixels, a = alpha / 255
    (Porter-Duff "over", rounded to 8 bits)."""
    r0, c0, rgba = layer
    rows, cols = rgba.shape[:2]
    below = pixels[r0 : r0 + rows, c0 : c0 + cols, :3]
    alpha = rgba[..., 3:] / 255.0
    below[...] = np.rint(rgba[..., :3] * alpha + below * (1.0 - alpha))


def _contour_paths(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    levels: Sequence[float],
    filled: bool = True,
) -> list[Path]:
    """The paths of matplotlib's ``contourf(x, y, z, levels)`` (one per band between
    consecutive levels) or ``contour(x, y, z, levels)`` (one per level), computed as
    matplotlib does (contourpy with its default algorithm, corner mask and path
    types). x, y, z: [rows, cols]."""
    import contourpy
    from matplotlib import rcParams

    generator = contourpy.contour_generator(
        x,
        y,
        z,
        name=rcParams["contour.algorithm"],
        corner_mask=rcParams["contour.corner_mask"],
        line_type=contourpy.LineType.SeparateCode,
        fill_type=contourpy.FillType.OuterCode,
        chunk_size=0,
    )
    parts = (
        map(generator.create_filled_contour, levels[:-1], levels[1:])
        if filled
        else map(generator.create_contour, levels)
    )
    return [
        Path(np.concatenate(vs), np.concatenate(cs)) if len(vs) else Path(_NO_POINTS)
        for vs, cs in parts
    ]


_NO_POINTS = np.empty((0, 2))


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
    """Draw the three views of ``traj`` at ``step`` into ``fig``. Returns the step
    drawn.

    The first call clears ``fig`` and builds the three panels; later calls with the
    same options only replace what depends on the step, and on the trajectory when it
    is another one (much faster, e.g. for animations and the live explorer).

    Args:
        fig: a matplotlib figure; three axes are created in one row.
        traj: a trajectory recorded with ``neurons=True`` (``proj`` [S, T, m, 2]).
        step: the step to show; the last recorded step <= ``step`` is drawn (default:
            the last one).
        seed_index: which seed's training points and decision function the plane view
            shows.
        grid_num: grid points per axis of the plane view. bins: histogram bins.
        title: add a one-line summary of the setup above the panels.

    Raises:
        ValueError: no neuron projections in ``traj``, ``seed_index`` or ``step`` out of
            range.
    """
    if traj.proj is None:
        raise ValueError("traj must be recorded with neurons=True (traj.proj is None)")
    S = len(traj.seeds)
    if (
        isinstance(seed_index, bool)
        or not isinstance(seed_index, (int, np.integer))
        or not 0 <= seed_index < S
    ):
        raise ValueError(
            f"seed_index must be an integer in [0, {S - 1}], got {seed_index!r}"
        )
    if step is None:
        step = int(traj.t[-1])
    if (
        isinstance(step, bool)
        or not isinstance(step, (int, np.integer))
        or not 0 <= step <= int(traj.t[-1])
    ):
        raise ValueError(
            f"step must be an integer in [0, {int(traj.t[-1])}], got {step!r}"
        )
    k = _nearest_recorded(traj, int(step))
    views = getattr(fig, "_xorgrok_views", None)
    key = (int(seed_index), grid_num, bins, title)
    if (
        views is None
        or views.key != key
        or list(fig.axes) != [views.ax_curves, views.ax_plane, views.ax_hist]
    ):
        views = _Views(fig, traj, int(seed_index), grid_num, bins, title)
        fig._xorgrok_views = views
    elif views.traj is not traj:
        views.set_trajectory(traj)
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
    fig.savefig(
        buf, format="png", dpi=dpi if dpi is not None else fig.dpi, facecolor="white"
    )
    return buf.getvalue()


def animation_steps(traj: Trajectory, frames: int = 25) -> list[int]:
    """About ``frames`` recorded steps spread evenly over the recorded list (first
    and last included)."""
    if (
        isinstance(frames, bool)
        or not isinstance(frames, (int, np.integer))
        or frames < 1
    ):
        raise ValueError(f"frames must be an integer >= 1, got {frames!r}")
    idx = np.unique(
        np.round(np.linspace(0, len(traj.t) - 1, min(int(frames), len(traj.t)))).astype(
            int
        )
    )
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
    """A self-contained HTML/JavaScript animation of :func:`draw_views` over ``steps``
    (works offline).

    Args:
        traj: a trajectory recorded with ``neurons=True``.
        steps: the steps to show, one frame each (default: :func:`animation_steps` with
            ``frames``).
        frames: number of frames when ``steps`` is None. dpi, figsize: size of each
            frame.
        interval_ms: delay between frames when playing.
        palette: re-encode the frames with a 256-colour palette
            (:func:`xorgrok.animation.shrink_frames`), about 3x smaller.
        alt: alternative text of the player's image (default: a generic description of
            the three views).

    Returns:
        ``IPython.display.HTML`` made by
        ``matplotlib.animation.FuncAnimation.to_jshtml``: every frame is an embedded
        PNG, with a slider and play buttons; no network needed
        (:func:`xorgrok.animation.animation_html`).
    """
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

    anim = FuncAnimation(
        fig, frame, frames=len(steps), interval=interval_ms, blit=False, repeat=False
    )
    if alt is None:
        alt = (
            "Animation of the explorer's three views (accuracy curves, decision "
            "boundary on the plane of mu1 "
            "and mu2, histograms of the positive neurons' projections) at steps "
            f"{steps[0]} to "
            f"{steps[-1]}"
        )
    return HTML(
        animation_html(
            anim, alt, fps=max(1, round(1000 / interval_ms)), palette=palette
        )
    )
