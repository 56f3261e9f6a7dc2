"""Tests of xorgrok.paper: the paper's figures read as data, and the time factor."""

import math
from pathlib import Path

import numpy as np
import pytest

from xorgrok import paper as P

DATA = Path(__file__).resolve().parents[1] / "book" / "data"


def test_svg_path_points_commands_and_implicit_lineto():
    pts = P.svg_path_points("M1-2 3-2.5V-4H5.5L6 .5-1e1-1Z")
    expected = [(1, -2), (3, -2.5), (3, -4), (5.5, -4), (6, 0.5), (-10, -1)]
    assert np.allclose(pts, expected)
    with pytest.raises(ValueError, match="unsupported"):
        P.svg_path_points("M0 0C1 1 2 2 3 3")
    with pytest.raises(ValueError, match="odd"):
        P.svg_path_points("M0 0 1")


def _outline(edges, heights, zero):
    """SVG path (y flipped) of a step histogram drawn upwards from y = zero."""
    parts = [f"M{edges[0]}-{zero}"]
    for x0, x1, h in zip(edges[:-1], edges[1:], heights):
        parts.append(f"V-{zero - h}H{x1}")
    parts.append(f"V-{zero}")
    return "".join(parts)


def test_paper_histograms_round_trip():
    edges = 10 + np.arange(11) * 0.5  # 10 bins of width 0.5 in SVG units
    fractions = np.array([0, 1, 2, 4, 8, 8, 4, 2, 1, 0]) / 30
    zero, tick_y, tick = 60.0, 20.0, 0.2  # y = 20 is the 0.2 tick
    heights = fractions / tick * (zero - tick_y)
    row = {
        "figure": np.array(["figure3"]),
        "t": np.array([2]),
        "direction": np.array(["mu1"]),
        "x_svg_a": np.array([10.0]),
        "value_a": np.array([-1e-12]),
        "x_svg_b": np.array([15.0]),
        "value_b": np.array([1e-12]),
        "y_svg_zero": np.array([zero]),
        "y_svg_tick": np.array([tick_y]),
        "tick_fraction": np.array([tick]),
        "path": np.array([_outline(edges, heights, zero)]),
    }
    out = P.paper_histograms(row)
    assert np.allclose(out["fraction"], fractions, atol=1e-12)
    assert np.allclose(out["value"], np.linspace(-0.9e-12, 0.9e-12, 10))


def test_histogram_stats():
    c = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    w = np.array([1, 5, 1, 1, 5, 1])
    st = P.histogram_stats(c, w)
    assert st["mode_neg"] == -2 and st["mode_pos"] == 2 and st["median_abs"] == 2
    assert st["sd"] == pytest.approx(math.sqrt((2 * 9 + 10 * 4 + 2) / 14))
    with pytest.raises(ValueError):
        P.histogram_stats(c, np.zeros(6))


def test_stored_paper_histograms_sum_to_one():
    """The axis reading is checked by the data: each histogram's fractions sum to 1."""
    hist = P.paper_histograms(P.read_commented_csv(DATA / "paper_histograms_svg.csv"))
    keys = set(zip(hist["figure"], hist["t"].tolist(), hist["direction"]))
    assert len(keys) == 22
    for fig, t, d in keys:
        pick = (hist["figure"] == fig) & (hist["t"] == t) & (hist["direction"] == d)
        assert abs(hist["fraction"][pick].sum() - 1) < 0.02, (fig, t, d)


def test_read_paper_figure1():
    paper = P.read_paper_figure1(DATA / "paper_figure1_digitized.csv")
    t, acc = P.paper_curve(paper, "right", "test_median")
    assert np.all(np.diff(t) > 0) and acc[-1] == 1.0
    assert P.paper_crossing(t, acc, 1.0) == 2950
    with pytest.raises(ValueError, match="no points"):
        P.paper_curve(paper, "middle", "test_median")


def _sigmoid_runs(scale, S=40, seed=1):
    t = np.unique(np.r_[np.arange(101), np.geomspace(100, 5000, 60).round()])
    rng = np.random.default_rng(seed)
    shift = rng.normal(0, 0.1, (S, 1))  # runs differ in their log-time of transition
    runs = 0.5 + 0.5 / (1 + np.exp(-3 * (np.log1p(t / scale) - np.log(1000) + shift)))
    return t, runs


def test_time_factor_recovers_a_known_factor():
    t, runs = _sigmoid_runs(scale=1.0)
    median = np.median(runs, axis=0)
    t_paper = np.array([10, 100, 300, 500, 800, 1000, 1500, 2000], dtype=float)
    # the paper's curve is the book's at 2 t
    acc_paper = P.log_interp(t, median, 2.0 * t_paper)
    res = P.time_factor(t, runs, t_paper, acc_paper, boot=100)
    assert res["k"] == pytest.approx(2.0, rel=0.02)
    assert res["lo"] <= 2.0 <= res["hi"] and res["hi"] - res["lo"] < 0.5
    assert res["d_min"] < 1e-3 < res["d_one"]
    with pytest.raises(ValueError, match="ks"):
        P.time_factor(t, runs, t_paper, acc_paper, ks=[1.5, 3.0])
    with pytest.raises(ValueError, match="runs"):
        P.time_factor(t, runs[:1], t_paper, acc_paper)


def test_crossing_interval():
    t = np.arange(10)
    runs = np.tile((t >= 4).astype(float), (9, 1))
    runs[:4, 4] = 0  # four runs cross at 5: the median still crosses at 4
    step, lo, hi = P.crossing_interval(t, runs, 1.0, boot=200)
    assert step == 4 and lo == 4 and hi == 5
    assert P.median_crossing(t, np.zeros((3, 10)), 0.5) == math.inf
