"""The paper's own figures read as data, and the book's runs measured against them
(chapter 5).

* Figure 1: :func:`read_paper_figure1` reads the paper's medians and quantiles digitized
  from its SVG figure; :func:`time_factor` finds the factor k for which the book's
  median curve at k t best matches the paper's at t, with a bootstrap interval over
  runs; :func:`crossing_interval` gives the first step at which a median curve reaches a
  level, with a bootstrap interval.

* Figures 3 and 4: :func:`paper_histograms` turns the paper's histogram outlines (SVG
  path data and axis transforms stored in ``book/data/paper_histograms_svg.csv``) into
  bin centres and fractions, and :func:`histogram_stats` summarizes a histogram (sd, the
  two modes, median absolute value) the same way for the paper's and the book's
  histograms.

Tables are plain dicts of 1-D numpy columns, as in :mod:`xorgrok.figures`.
"""

from __future__ import annotations

import csv
import math
import os
import re
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "read_commented_csv",
    "read_paper_figure1",
    "paper_curve",
    "log_interp",
    "time_factor_distance",
    "time_factor",
    "median_crossing",
    "crossing_interval",
    "paper_crossing",
    "svg_path_points",
    "outline_heights",
    "paper_histograms",
    "histogram_stats",
]

Table = dict


def _column(values: list[str]) -> np.ndarray:
    for kind in (int, float):
        try:
            return np.array([kind(v) for v in values])
        except ValueError:
            pass
    return np.array(values, dtype=str)


def read_commented_csv(path: str | os.PathLike) -> Table:
    """A CSV whose leading lines starting with ``#`` are comments: columns as int, float
    or str arrays.
    """
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(line for line in fh if not line.startswith("#"))]
    if not rows:
        raise ValueError(f"{os.fspath(path)!r} has no header row")
    header, body = rows[0], rows[1:]
    return {name: _column([r[k] for r in body]) for k, name in enumerate(header)}


def read_paper_figure1(path: str | os.PathLike) -> Table:
    """The paper's Figure 1 digitized: columns panel, curve, t, accuracy (one row per
    point read).
    """
    table = read_commented_csv(path)
    missing = {"panel", "curve", "t", "accuracy"} - set(table)
    if missing:
        raise ValueError(f"{os.fspath(path)!r} lacks the columns {sorted(missing)}")
    return table


def paper_curve(
    paper: Mapping[str, np.ndarray], panel: str, curve: str
) -> tuple[np.ndarray, np.ndarray]:
    """Steps and accuracies of one digitized curve (e.g. ``"right"``,
    ``"test_median"``), sorted by step.
    """
    pick = (np.asarray(paper["panel"]) == panel) & (np.asarray(paper["curve"]) == curve)
    if not pick.any():
        raise ValueError(f"no points for panel {panel!r}, curve {curve!r}")
    t = np.asarray(paper["t"])[pick].astype(float)
    acc = np.asarray(paper["accuracy"])[pick]
    order = np.argsort(t, kind="stable")
    return t[order], acc[order].astype(float)


def log_interp(t: np.ndarray, curve: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``curve`` (given at steps ``t``) linearly interpolated in log(t + 1) at steps
    ``at``.

    Figure 1 plots against t + 1 on a log axis, so this is interpolation along the
    plotted curve.
    """
    x = np.log1p(np.asarray(at, float))
    return np.interp(x, np.log1p(np.asarray(t, float)), curve)


def _check_ks(ks: Sequence[float]) -> np.ndarray:
    ks = np.asarray(ks, dtype=float)
    if ks.ndim != 1 or ks.size < 1 or not np.all(np.isfinite(ks)) or np.any(ks <= 0):
        raise ValueError("ks must be a 1-D sequence of finite factors > 0")
    return ks


def time_factor_distance(
    t: np.ndarray,
    median: np.ndarray,
    t_paper: np.ndarray,
    acc_paper: np.ndarray,
    ks: Sequence[float],
    k_max: float | None = None,
) -> np.ndarray:
    """Root-mean-square gap between the book's curve at k t and the paper's at t, for
    each k: [K].

    d(k) = sqrt(mean_i (m(k t_i) - a_i)^2) over the paper's points (t_i, a_i) with t_i
    <= max(t) / k_max (``k_max`` defaults to max(ks)), so that every k is scored on the
    same points and never extrapolates; m is the book's median curve, interpolated in
    log(t + 1) (:func:`log_interp`).
    """
    ks = _check_ks(ks)
    k_max = ks.max() if k_max is None else float(k_max)
    if k_max < ks.max():
        raise ValueError(f"k_max must be >= max(ks) = {ks.max()}, got {k_max}")
    use = np.asarray(t_paper, float) <= np.max(t) / k_max
    if not use.any():
        raise ValueError("no paper point lies within the book's run for the largest k")
    tp, ap = np.asarray(t_paper, float)[use], np.asarray(acc_paper, float)[use]
    gaps = np.stack([log_interp(t, median, k * tp) - ap for k in ks])  # [K, points]
    return np.sqrt(np.mean(gaps**2, axis=1))


def time_factor(
    t: np.ndarray,
    runs: np.ndarray,
    t_paper: np.ndarray,
    acc_paper: np.ndarray,
    ks: Sequence[float] = tuple(np.geomspace(0.5, 3.0, 121)),
    boot: int = 400,
    level: float = 0.9,
    seed: int = 0,
) -> dict:
    """The factor k minimizing :func:`time_factor_distance` for the median over runs,
    with a bootstrap interval.

    ``runs`` is [S, T] (one accuracy curve per run at steps ``t``). The interval is the
    central ``level`` quantile range of the minimizing k over ``boot`` resamplings of
    the runs (with replacement). Returns k, lo, hi, the distance curve d(k) of the full
    median ([K]), its minimum and d(1).
    """
    runs = np.asarray(runs, float)
    if runs.ndim != 2 or runs.shape[1] != np.size(t) or runs.shape[0] < 2:
        raise ValueError(f"runs must be [S >= 2, T = {np.size(t)}], got {runs.shape}")
    if isinstance(boot, bool) or not isinstance(boot, int) or boot < 10:
        raise ValueError(f"boot must be an integer >= 10, got {boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    ks = _check_ks(ks)
    if ks.size < 2 or not ks.min() <= 1 <= ks.max():
        raise ValueError("ks must hold 2 factors or more, with min(ks) <= 1 <= max(ks)")
    median = np.median(runs, axis=0)
    dist = time_factor_distance(t, median, t_paper, acc_paper, ks)
    rng = np.random.default_rng(seed)
    S = runs.shape[0]
    draws = np.empty(boot)
    for b in range(boot):
        med = np.median(runs[rng.integers(0, S, S)], axis=0)
        draws[b] = ks[np.argmin(time_factor_distance(t, med, t_paper, acc_paper, ks))]
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    one = time_factor_distance(t, median, t_paper, acc_paper, [1.0], k_max=ks.max())[0]
    best = float(ks[np.argmin(dist)])
    return {
        "k": best,
        "lo": float(lo),
        "hi": float(hi),
        "ks": ks,
        "distance": dist,
        "d_min": float(dist.min()),
        "d_one": float(one),
        "boot": draws,
    }


def median_crossing(t: np.ndarray, runs: np.ndarray, level: float) -> float:
    """First step in ``t`` at which the median over runs ([S, T]) reaches ``level`` (inf
    if never).
    """
    hits = np.flatnonzero(np.median(runs, axis=0) >= level)
    return float(t[hits[0]]) if hits.size else math.inf


def crossing_interval(
    t: np.ndarray,
    runs: np.ndarray,
    level: float,
    boot: int = 400,
    ci: float = 0.9,
    seed: int = 0,
) -> tuple[float, float, float]:
    """:func:`median_crossing` and its bootstrap interval over runs: (step, lo, hi); inf
    = not reached.
    """
    runs = np.asarray(runs, float)
    rng = np.random.default_rng(seed)
    S = runs.shape[0]
    draws = [
        median_crossing(t, runs[rng.integers(0, S, S)], level) for _ in range(boot)
    ]
    lo, hi = np.quantile(draws, [(1 - ci) / 2, (1 + ci) / 2], method="nearest")
    return median_crossing(t, runs, level), float(lo), float(hi)


def paper_crossing(t_paper: np.ndarray, acc_paper: np.ndarray, level: float) -> float:
    """First digitized step at which the paper's curve is at or above ``level`` (inf if
    none).
    """
    hits = np.flatnonzero(np.asarray(acc_paper) >= level)
    return float(np.asarray(t_paper)[hits[0]]) if hits.size else math.inf


#: Heights of a histogram outline (SVG units) below which a bin is read as empty.
SVG_FLOOR = 0.1

_TOKEN = re.compile(r"[A-DF-Za-df-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def svg_path_points(d: str) -> np.ndarray:
    """The vertices of an SVG path made of absolute M, L, H, V (and Z) commands: [K, 2]
    (x, y).

    Coordinates following M or L without a new letter are further line-to points, as in
    SVG.
    """
    points: list[tuple[float, float]] = []
    cmd, nums = None, []
    x = y = 0.0

    def flush():
        nonlocal x, y
        if cmd in ("M", "L"):
            if len(nums) % 2:
                raise ValueError(f"odd number of coordinates after {cmd}")
            for k in range(0, len(nums), 2):
                x, y = nums[k], nums[k + 1]
                points.append((x, y))
        elif cmd in ("H", "V"):
            for v in nums:
                x, y = (v, y) if cmd == "H" else (x, v)
                points.append((x, y))
        elif cmd not in (None, "Z") or (cmd is None and nums):
            raise ValueError(f"unsupported path command {cmd!r} (only M L H V Z)")

    for tok in _TOKEN.findall(d):
        if tok.isalpha():
            flush()
            cmd, nums = tok, []
        else:
            nums.append(float(tok))
    flush()
    if not points:
        raise ValueError("the path has no vertices")
    return np.array(points)


def outline_heights(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Height of a histogram's outline (a polyline, [K, 2]) at each x in ``centres``:
    [B].

    Vertical segments (bin edges) are skipped; on a sloped segment the height is
    interpolated linearly.
    """
    heights = np.full(len(centres), np.nan)
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        if x1 == x0:
            continue
        lo, hi = min(x0, x1), max(x0, x1)
        inside = (centres > lo) & (centres < hi)
        heights[inside] = y0 + (centres[inside] - x0) * (y1 - y0) / (x1 - x0)
    if np.isnan(heights).any():
        raise ValueError("some centres lie outside the outline or on a bin edge")
    return heights


def paper_histograms(svg_table: Mapping[str, np.ndarray]) -> Table:
    """The paper's histograms in data units, long format: figure, t, direction, value,
    fraction.

    ``svg_table`` is ``book/data/paper_histograms_svg.csv``
    (:func:`read_commented_csv`): per row an SVG path (a step outline drawn with y
    flipped) and its axis transform. The bin width is the most common horizontal step of
    the outline; bins tile [first x, last x] and are evaluated at their centres.
    """
    names = ("figure", "t", "direction", "value", "fraction")
    out: dict[str, list] = {name: [] for name in names}
    for k in range(len(svg_table["path"])):
        row = {name: col[k] for name, col in svg_table.items()}
        pts = svg_path_points(str(row["path"]))
        pts[:, 1] = -pts[:, 1]  # transform="matrix(1,0,0,-1,0,0)"
        steps = np.round(np.diff(pts[:, 0]), 3)
        counts = np.bincount(np.round(steps[steps > 0] * 1000).astype(int))
        width = float(counts.argmax()) / 1000
        x0, x1 = pts[0, 0], pts[-1, 0]
        nbins = int(round((x1 - x0) / width))
        centres = x0 + (np.arange(nbins) + 0.5) * (x1 - x0) / nbins
        y = outline_heights(pts, centres)
        # The SVG writer merged runs of nearly equal bins into sloped segments, to
        # within about 0.05 SVG units: heights below FLOOR are that tolerance, not
        # neurons (far in the tails they would add spurious variance), so they are set
        # to 0.
        y = np.where(np.abs(y - row["y_svg_zero"]) < SVG_FLOOR, row["y_svg_zero"], y)
        scale_x = (row["value_b"] - row["value_a"]) / (row["x_svg_b"] - row["x_svg_a"])
        zero, tick = row["y_svg_zero"], row["y_svg_tick"]
        out["figure"] += [str(row["figure"])] * nbins
        out["t"] += [int(row["t"])] * nbins
        out["direction"] += [str(row["direction"])] * nbins
        out["value"] += list(row["value_a"] + (centres - row["x_svg_a"]) * scale_x)
        out["fraction"] += list((zero - y) / (zero - tick) * row["tick_fraction"])
    return {
        "figure": np.array(out["figure"], dtype=str),
        "t": np.array(out["t"], dtype=np.int64),
        "direction": np.array(out["direction"], dtype=str),
        "value": np.array(out["value"], dtype=float),
        "fraction": np.array(out["fraction"], dtype=float),
    }


def histogram_stats(centres: np.ndarray, weights: np.ndarray) -> dict:
    """Summary of a histogram given by bin centres and weights (counts or fractions, >=
    0).

    sd: the weighted standard deviation; mode_neg, mode_pos: the centres of the heaviest
    bin below and above 0 (the two peaks of a two-peaked histogram); median_abs: the
    weighted median of the absolute value.
    """
    c, w = np.asarray(centres, float), np.clip(np.asarray(weights, float), 0, None)
    if c.shape != w.shape or c.ndim != 1 or w.sum() <= 0:
        raise ValueError(
            "centres and weights must be 1-D of one length, with positive total weight"
        )
    p = w / w.sum()
    mean = float(p @ c)
    sd = math.sqrt(max(float(p @ (c - mean) ** 2), 0.0))
    neg, pos = c < 0, c > 0
    mode_neg = float(c[neg][np.argmax(w[neg])]) if neg.any() else math.nan
    mode_pos = float(c[pos][np.argmax(w[pos])]) if pos.any() else math.nan
    order = np.argsort(np.abs(c))
    cum = np.cumsum(p[order])
    median_abs = float(np.abs(c[order])[np.searchsorted(cum, 0.5)])
    return {
        "sd": sd,
        "mode_neg": mode_neg,
        "mode_pos": mode_pos,
        "median_abs": median_abs,
    }
