"""Tests of xorgrok.explorer: parameters, drawing, the animation and the widget's
caching."""

import base64
import io
import math
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import xorgrok
from xorgrok import explorer as ex
from xorgrok.animation import offline_controls, shrink_frames
from xorgrok.schedule import log_steps

TINY = ex.ExplorerParams(
    p=300, n=10, m=10, steps=6, seeds=2, n_test=10, init_ratio=1e-2
)


@pytest.fixture(scope="module")
def tiny_traj():
    return ex.run_explorer_setup(TINY)


def test_setup_mapping():
    params = ex.ExplorerParams(
        p=1000, n=50, mu_factor=2.0, eta=0.1, m=30, init_ratio=10.0, alpha=1e-10
    )
    setup = ex.to_setup(params)
    assert isinstance(setup, xorgrok.Setup)
    assert (setup.p, setup.n, setup.m, setup.n_test) == (1000, 50, 30, 200)
    assert setup.mu_norm == pytest.approx(2.0 * math.sqrt(1000 / 50))
    assert setup.omega_init == pytest.approx(1e-9)
    assert setup.alpha == 1e-10 and setup.eta == 0.1
    assert params.mu_norm == setup.mu_norm and params.omega_init == setup.omega_init


def test_default_matches_paper_left_panel_ratio_and_snr():
    params = ex.ExplorerParams()
    left = xorgrok.PAPER_FIG1_LEFT
    assert params.omega_init / params.alpha == pytest.approx(
        left.omega_init / left.alpha
    )
    assert params.mu_norm / math.sqrt(params.p / params.n) == pytest.approx(
        left.mu_norm / math.sqrt(left.p / left.n)
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("p", 99),
        ("p", 2_000_000),
        ("p", 1000.0),
        ("n", 5),
        ("n", 401),
        ("n", True),
        ("mu_factor", 0.0),
        ("mu_factor", float("nan")),
        ("eta", -0.01),
        ("eta", 0.5),
        ("m", 9),
        ("m", 2001),
        ("init_ratio", 0.0),
        ("init_ratio", 1e5),
        ("steps", 0),
        ("steps", 5001),
        ("seeds", 0),
        ("seeds", 17),
        ("n_test", 5),
        ("alpha", 1e-3),
        ("alpha", "1e-12"),
    ],
)
def test_validation_names_the_parameter(field, value):
    with pytest.raises(ValueError, match=field):
        ex.ExplorerParams(**{field: value})


def test_to_setup_rejects_other_types():
    with pytest.raises(ValueError, match="params"):
        ex.to_setup(xorgrok.PAPER_FIG1_LEFT)


def test_run_explorer_setup_records_neurons(tiny_traj):
    assert tiny_traj.setup == ex.to_setup(TINY)
    assert tiny_traj.engine == "reduced"
    assert tiny_traj.seeds.tolist() == [0, 1]
    np.testing.assert_array_equal(tiny_traj.t, log_steps(TINY.steps))
    assert tiny_traj.proj.shape == (2, len(tiny_traj.t), TINY.m, 2)


def test_run_explorer_setup_restores_torch_threads(monkeypatch):
    import torch

    seen = []
    real = ex.params.simulate
    monkeypatch.setattr(
        ex.params,
        "simulate",
        lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k),
    )
    before = torch.get_num_threads()
    ex.run_explorer_setup(TINY)  # tiny: one thread
    ex.run_explorer_setup(TINY, threads=None)  # unchanged
    assert seen == [1, before]
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        ex.run_explorer_setup(TINY, threads=0)


def test_draw_views_draws_three_panels(tiny_traj):
    fig = ex.new_figure()
    shown = ex.draw_views(fig, tiny_traj, 3)
    assert shown == 3
    assert len(fig.axes) >= 3
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "t = 3" in titles
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes[:3])
    png = ex.figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # redrawing replaces the panels rather than adding to them
    ex.draw_views(fig, tiny_traj)
    assert len(fig.axes) == 3


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def other_traj():
    return ex.run_explorer_setup(TINY.replace(eta=0.2, m=20))


@pytest.mark.parametrize("book_style", [False, True])
@pytest.mark.parametrize("dpi", [30, 80])
def test_views_png_after_changes_equals_a_fresh_draw(
    tiny_traj, other_traj, dpi, book_style
):
    """With matplotlib's defaults and with the book's style (which adds a grid: drawn
    over the regions, it made the live picture differ by 21 levels)."""
    import matplotlib as mpl

    from xorgrok.plotting import use_style

    with mpl.rc_context():
        if book_style:
            use_style()
        _check_live_views(tiny_traj, other_traj, dpi)


def _check_live_views(tiny_traj, other_traj, dpi: int) -> None:
    # the live explorer's picture after step and trajectory changes (the axes kept,
    # contours given new paths, only the step's artists redrawn over the kept
    # background, the legends laid over from their layers) ...
    live = ex.new_figure(dpi=dpi)
    for traj, step in (
        (tiny_traj, 0),
        (tiny_traj, 6),
        (other_traj, 0),
        (other_traj, 1),
    ):
        ex.draw_views(live, traj, step)
        pixels = _pixels(ex.views_png(live))
    assert live.axes[1].get_title().endswith("$t = 1$")
    # ... is pixel for pixel the picture of a figure drawn at that step from scratch
    fresh = ex.new_figure(dpi=dpi)
    ex.draw_views(fresh, other_traj, 1)
    assert np.array_equal(pixels, _pixels(ex.views_png(fresh)))
    # and, to a few levels, the full draw of the static site: the edge pixels of the
    # plane's frame (drawn once in the background, once over the regions, so their
    # antialiased edges blend twice) and the legends ("over" compositing of their
    # layers rounds to 8 bits once more) differ by a few of 255 levels; a missing or
    # misplaced title, a legend under the bars or regions over the frame differ by 60
    # levels or more
    full = _pixels(ex.figure_png(fresh))
    assert pixels.shape == full.shape
    assert np.abs(pixels - full).max() <= 4


def test_region_contour_paths_are_matplotlibs():
    from matplotlib.figure import Figure
    from matplotlib.path import Path

    from xorgrok.explorer.views import _contour_paths
    from xorgrok.plane import plane_grid

    x1, x2, _ = plane_grid(2.0, 31)
    f = np.sin(3 * x1) + x2**2 - 1.0  # several regions and boundary pieces
    ax = Figure().subplots()
    for field, levels, filled in (
        (np.sign(f), (-1.5, -0.5, 0.5, 1.5), True),
        (f, (0.0,), False),
        (f - f.min() + 1.0, (0.0,), False),  # one sign: no boundary
    ):
        ours = _contour_paths(x1, x2, field, levels, filled)
        if filled:
            theirs = ax.contourf(x1, x2, field, levels=list(levels)).get_paths()
        elif field.min() < 0 < field.max():
            theirs = ax.contour(x1, x2, field, levels=list(levels)).get_paths()
        else:
            theirs = [Path(np.empty((0, 2)))]
        assert len(ours) == len(theirs) == len(levels) - filled
        for a, b in zip(ours, theirs):
            assert np.array_equal(a.vertices, b.vertices)
            assert np.array_equal(a.codes, b.codes)
        assert filled or field.min() > 0 or len(ours[0].vertices) > 0


def test_glyph_cache_canvas_draws_the_same_pixels():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from xorgrok.explorer.fastagg import GlyphCacheCanvas

    def picture(canvas_class, shown: int) -> np.ndarray:
        fig = Figure(figsize=(4, 3), dpi=72)
        canvas_class(fig)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], label=r"$\langle w_j, \mu_1\rangle$")
        ax.set_title(rf"sign of $f$, $t = {shown}$, $\frac{{1}}{{2}}$")  # a box
        ax.set_xlabel("t + 1 (steps)")
        ax.set_ylabel("accuracy (fraction)")  # rotated 90 degrees
        ax.text(0.5, 0.5, "tilted", rotation=30)  # not cached
        ax.legend()
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()

    for shown in (7, 7, 123):  # the second draw of 7 comes from the cache
        assert np.array_equal(
            picture(GlyphCacheCanvas, shown), picture(FigureCanvasAgg, shown)
        )


def test_draw_views_shows_last_recorded_step_before_request():
    traj = ex.run_explorer_setup(TINY.replace(steps=40))
    assert 14 not in traj.t
    fig = ex.new_figure()
    assert ex.draw_views(fig, traj, 14) == 12  # recorded: 0..10, 12, 15, ...


def test_draw_views_errors(tiny_traj):
    fig = ex.new_figure()
    with pytest.raises(ValueError, match="step"):
        ex.draw_views(fig, tiny_traj, TINY.steps + 1)
    with pytest.raises(ValueError, match="seed_index"):
        ex.draw_views(fig, tiny_traj, 0, seed_index=2)
    plain = xorgrok.simulate(ex.to_setup(TINY), 2, seeds=[0])
    with pytest.raises(ValueError, match="neurons=True"):
        ex.draw_views(fig, plain, 0)


def test_projection_unit_counts_points_at_first_step():
    # with W^(0) negligible (init_ratio tiny), <w_j, mu1>^(1) is close to D_{+mu1, j} -
    # in projection_unit, a signed count of training points: values near integers, at
    # most n in size
    params = TINY.replace(init_ratio=1e-4, n=40, n_test=10, p=100_000, steps=1, seeds=1)
    traj = ex.run_explorer_setup(params)
    v = traj.proj[0, 1, :, 0] / ex.projection_unit(traj.setup)
    assert np.max(np.abs(v)) <= params.n
    assert np.median(np.abs(v - np.round(v))) < 0.25


def test_make_animation_returns_html_with_frames(tiny_traj):
    html = ex.make_animation(tiny_traj, frames=4, dpi=30)
    from IPython.display import HTML

    assert isinstance(html, HTML)
    frames = re.findall(r"frames\[\d+\] = \"data:image/png;base64,", html.data)
    assert len(frames) == 4
    assert "<script" in html.data
    # self-contained: no stylesheet or script from the network (matplotlib's icons come
    # from a CDN)
    assert "http" not in html.data and "font-awesome" not in html.data
    assert 'title="Play"' in html.data and "\u25b6" in html.data
    # the player's image has an alt text and shrinks to the page width
    assert re.search(
        r'<img id="_anim_img[0-9a-f]*" alt="Animation of the explorer', html.data
    )
    assert "max-width: 100%" in html.data


def test_make_animation_custom_alt_is_escaped(tiny_traj):
    html = ex.make_animation(tiny_traj, steps=[0], dpi=30, alt='views "a" < b').data
    assert 'alt="views &quot;a&quot; &lt; b"' in html


def test_offline_controls_replaces_cdn_icons():
    html = '<link rel="stylesheet"\nhref="https://cdn.example/font-awesome.min.css">\n'
    html += '<button><i class="fa fa-play"></i></button>'
    html += '<button><i class="fa fa-play fa-flip-horizontal"></i></button>'
    out = offline_controls(html)
    assert "http" not in out and "fa-play" not in out
    assert "\u25b6" in out and "\u25c0" in out


def test_make_animation_explicit_steps(tiny_traj):
    html = ex.make_animation(tiny_traj, steps=[0, 6], dpi=30, palette=False)
    assert len(re.findall(r"frames\[\d+\] = ", html.data)) == 2
    assert ex.animation_steps(tiny_traj, 3) == [0, 3, 6]
    with pytest.raises(ValueError, match="frames"):
        ex.animation_steps(tiny_traj, 0)


def test_shrink_frames_keeps_decodable_frames(tiny_traj):
    raw = ex.make_animation(tiny_traj, steps=[0, 1], dpi=30, palette=False).data
    small = shrink_frames(raw)
    assert len(small) < len(raw)
    datas = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)\"", small)
    assert len(datas) == 2
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(datas[0])))
    image.load()
    assert image.size[0] > 0


def test_sweep_rows():
    rows = ex.sweep(TINY, "eta", [0.0, 0.2])
    assert [r["value"] for r in rows] == [0.0, 0.2]
    assert all(
        0.0 <= r["test_acc_final"] <= 1.0 and r["train_acc_1"] is not None for r in rows
    )
    with pytest.raises(ValueError, match="name"):
        ex.sweep(TINY, "omega", [1.0])


def _count_simulate(monkeypatch):
    calls = []
    real = ex.params.simulate

    def counting(*args, **kwargs):
        calls.append(kwargs.get("seeds"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ex.params, "simulate", counting)
    return calls


def test_explorer_builds_and_caches_the_trajectory(monkeypatch):
    pytest.importorskip("ipywidgets")
    calls = _count_simulate(monkeypatch)
    explorer = ex.build_explorer(TINY, dpi=30)
    assert len(calls) == 1
    assert explorer.step_slider.options == tuple(int(t) for t in log_steps(TINY.steps))
    assert explorer.step_slider.value == TINY.steps
    first = explorer.image.value
    assert first[:4] == b"\x89PNG"

    # only the shown step changes: redraw from the cached trajectory, no new simulation
    explorer.step_slider.value = 1
    assert len(calls) == 1
    assert explorer.timings["simulate_s"] == 0.0
    assert explorer.image.value != first
    assert "t = 1" in " ".join(ax.get_title() for ax in explorer.figure.axes)

    # a parameter changes: one new simulation, the shown step is kept
    explorer.controls["m"].value = 20
    assert len(calls) == 2
    assert explorer.traj.setup.m == 20
    assert explorer.step_slider.value == 1
    assert explorer.timings["simulate_s"] > 0

    # back to the step slider: still no simulation
    explorer.step_slider.value = 0
    assert len(calls) == 2

    # back to the first parameters: their trajectory is still cached
    explorer.controls["m"].value = TINY.m
    assert len(calls) == 2 and explorer.traj.setup.m == TINY.m
    assert explorer.simulations == 2


def test_explorer_cache_is_bounded(monkeypatch):
    pytest.importorskip("ipywidgets")
    calls = _count_simulate(monkeypatch)
    explorer = ex.build_explorer(TINY, dpi=30, cache_size=1)
    explorer.controls["m"].value = 20
    explorer.controls["m"].value = TINY.m  # evicted: simulated again
    assert len(calls) == 3
    with pytest.raises(ValueError, match="cache_size"):
        ex.build_explorer(TINY, dpi=30, cache_size=0)


def test_explorer_rejects_invalid_slider_values_without_simulating(monkeypatch):
    pytest.importorskip("ipywidgets")
    explorer = ex.build_explorer(TINY, dpi=30)
    calls = _count_simulate(monkeypatch)
    # a front end cannot do this, but code can
    explorer.controls["p"].options = (50, 300)
    explorer.controls["p"].value = 50
    assert (
        calls == []
        and "invalid" in explorer.status.value
        and "p" in explorer.status.value
    )


def test_explorer_reuses_a_given_trajectory(monkeypatch, tiny_traj):
    pytest.importorskip("ipywidgets")
    calls = _count_simulate(monkeypatch)
    explorer = ex.build_explorer(TINY, traj=tiny_traj, dpi=30)
    assert calls == []
    assert explorer.traj is tiny_traj
    with pytest.raises(ValueError, match="traj"):
        ex.build_explorer(TINY.replace(m=20), traj=tiny_traj, dpi=30)


def test_slider_ranges_match_validation():
    pytest.importorskip("ipywidgets")
    explorer = ex.build_explorer(TINY, traj=ex.run_explorer_setup(TINY), dpi=30)
    for name, control in explorer.controls.items():
        low, high = ex.RANGES[name]
        if hasattr(control, "options"):
            values = [float(o) for o in control.options]
            assert low <= min(values) and max(values) <= high, name
        elif hasattr(control, "base"):
            assert control.base**control.min == pytest.approx(
                low
            ) and control.base**control.max == pytest.approx(high)
        else:
            assert (control.min, control.max) == (low, high), name


# ---------------------------------------------------------------- robustness (issue 16)


def test_a_failed_simulation_keeps_the_last_picture_and_parameters(monkeypatch):
    pytest.importorskip("ipywidgets")
    explorer = ex.build_explorer(TINY, dpi=30)
    picture, shown = explorer.image.value, explorer.traj

    def broken(*args, **kwargs):
        raise RuntimeError("out of luck\nsecond line")

    monkeypatch.setattr(ex.widget, "run_explorer_setup", broken)
    explorer.controls["m"].value = 20  # must not raise out of the slider
    assert (
        "simulation failed" in explorer.status.value
        and "out of luck" in explorer.status.value
    )
    assert (
        "second line" not in explorer.status.value
        and "simulating" not in explorer.status.value
    )
    assert explorer.controls["m"].value == TINY.m and explorer.params == TINY
    assert explorer.traj is shown and explorer.image.value == picture


def test_a_setting_predicted_too_slow_is_refused_without_simulating(monkeypatch):
    pytest.importorskip("ipywidgets")
    explorer = ex.build_explorer(TINY, dpi=30, max_seconds=1.0)
    calls = _count_simulate(monkeypatch)
    slow = TINY.replace(m=2000, n=400, seeds=16, steps=5000)
    assert explorer.predict_seconds(slow) > 1.0  # 2 m n^2 S T = 5e13 flops
    explorer.controls["seeds"].value = 16
    # each change is checked; these may still be fast enough
    explorer.controls["m"].value = 2000
    before = len(calls)
    explorer.controls["n"].value = 400
    assert len(calls) == before  # refused: nothing simulated
    assert (
        "not run" in explorer.status.value and "limit of 1 s" in explorer.status.value
    )
    assert explorer.controls["n"].value == explorer.params.n == explorer.traj.setup.n
    assert explorer.predict_seconds(explorer.params) <= 1.0


def test_the_flop_rate_is_measured_by_each_simulation():
    pytest.importorskip("ipywidgets")
    explorer = ex.build_explorer(TINY, dpi=30)
    assert explorer.simulations == 1 and explorer.flop_rate != ex.DEFAULT_FLOP_RATE
    assert ex.explorer_flops(TINY) == TINY.seeds * (
        2 * TINY.m * TINY.n**2 * TINY.steps
        + TINY.m * TINY.n_test * TINY.n * len(log_steps(TINY.steps))
    )


def test_a_kernel_interrupt_cancels_a_synchronous_simulation(monkeypatch):
    pytest.importorskip("ipywidgets")
    explorer = ex.build_explorer(TINY, dpi=30)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ex.widget, "run_explorer_setup", interrupted)
    explorer.controls["eta"].value = 0.1
    assert (
        "cancelled" in explorer.status.value
        and explorer.controls["eta"].value == TINY.eta
    )


def test_the_stop_button_cancels_a_background_simulation(monkeypatch):
    pytest.importorskip("ipywidgets")
    import threading

    explorer = ex.build_explorer(
        TINY, traj=ex.run_explorer_setup(TINY), dpi=30, background=True
    )
    started = threading.Event()

    # reports a finished seed until it is told to stop
    def slow(params, progress=None, **kwargs):
        started.set()
        for _ in range(10_000):
            progress(1)
            threading.Event().wait(0.01)
        raise AssertionError("never cancelled")

    monkeypatch.setattr(ex.widget, "run_explorer_setup", slow)
    # returns at once: the simulation runs in a thread
    explorer.controls["eta"].value = 0.1
    assert started.wait(30) and not explorer.cancel_button.disabled
    explorer.cancel_button.click()
    explorer._thread.join(30)
    assert not explorer._thread.is_alive()
    assert "cancelled" in explorer.status.value and explorer.params == TINY
    assert explorer.cancel_button.disabled


def test_a_background_simulation_shows_its_result(monkeypatch):
    pytest.importorskip("ipywidgets")
    explorer = ex.build_explorer(
        TINY, traj=ex.run_explorer_setup(TINY), dpi=30, background=True
    )
    explorer.controls["m"].value = 20
    explorer._thread.join(120)
    assert (
        explorer.traj.setup.m == 20
        and explorer.simulations == 1
        and "t = " in explorer.status.value
    )


def test_measure_updates_is_the_benchmarks_hook():
    pytest.importorskip("ipywidgets")
    times = ex.measure_updates(TINY, repeats=2)
    assert set(times) == {"step_s", "param_s", "param_simulate_s"}
    assert 0 < times["param_simulate_s"] < times["param_s"] and times["step_s"] > 0
    with pytest.raises(ValueError, match="repeats"):
        ex.measure_updates(TINY, repeats=0)
