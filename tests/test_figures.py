"""Tests of xorgrok.figures: tidy tables, CSV round trips, plots and make_figure on
tiny setups."""

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import xorgrok
from xorgrok import figures as FG
from xorgrok.animation import animation_html
from xorgrok.plane import decision_function_on_plane

TINY = xorgrok.Setup(
    p=400,
    n=16,
    n_test=16,
    m=12,
    mu_norm=2.5 * math.sqrt(400 / 16),
    eta=0.1,
    omega_init=1e-15,
    alpha=1e-12,
)


@pytest.fixture(scope="module")
def traj():
    return xorgrok.simulate(TINY, 6, range(3), neurons=True)


def test_csv_round_trip_and_atomic(tmp_path):
    table = {
        "t": np.array([0, 1, 2]),
        "x": np.array([0.5, 1e-17, np.pi]),
        "name": np.array(["mu1", "mu2", "mu1"]),
    }
    path = FG.write_csv(tmp_path / "a.csv", table)
    back = FG.read_csv(path)
    assert back["t"].dtype == np.int64 and back["t"].tolist() == [0, 1, 2]
    assert back["x"].tolist() == table["x"].tolist()  # repr() keeps every digit
    assert back["name"].tolist() == ["mu1", "mu2", "mu1"]
    assert os.listdir(tmp_path) == ["a.csv"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask
    with pytest.raises(ValueError, match="equal length"):
        FG.write_csv(tmp_path / "b.csv", {"a": np.zeros(2), "b": np.zeros(3)})
    with pytest.raises(ValueError, match="non-empty"):
        FG.write_csv(tmp_path / "b.csv", {})
    assert not (tmp_path / "b.csv").exists()


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        FG.write_csv(tmp_path / "c.csv", {"t": np.arange(3)})
    assert os.listdir(tmp_path) == []


def test_figure1_table_and_runs_table(traj):
    table = FG.figure1_table(traj)
    assert tuple(table) == FG.FIGURE1_COLUMNS
    assert table["t"].tolist() == list(range(7))
    assert np.allclose(table["test_median"], np.median(traj.test_acc, axis=0))
    assert np.all(table["train_q20"] <= table["train_median"]) and np.all(
        table["train_median"] <= table["train_q80"]
    )
    runs = FG.runs_table(traj)
    assert runs["seed"].size == 3 * 7 and set(runs["seed"].tolist()) == {0, 1, 2}
    assert np.allclose(runs["test_acc"].reshape(3, 7), traj.test_acc)


def test_runs_matrix_inverts_runs_table_in_any_row_order(traj):
    runs = FG.runs_table(traj)
    order = np.random.default_rng(0).permutation(runs["seed"].size)
    shuffled = {k: v[order] for k, v in runs.items()}
    for table in (runs, shuffled):
        t, acc = FG.runs_matrix(table, "test_acc")
        np.testing.assert_array_equal(t, traj.t)
        np.testing.assert_array_equal(acc, traj.test_acc)  # [S, T], seeds in order
    missing = {k: v[1:] for k, v in runs.items()}
    with pytest.raises(ValueError, match="every \\(seed, t\\) pair once"):
        FG.runs_matrix(missing, "test_acc")
    twice = {
        k: np.r_[v[1:], v[1]] for k, v in runs.items()
    }  # one pair twice, one absent
    with pytest.raises(ValueError, match="every \\(seed, t\\) pair once"):
        FG.runs_matrix(twice, "test_acc")
    with pytest.raises(ValueError, match="name must be a column"):
        FG.runs_matrix(runs, "nope")


def test_runs_matrix_reads_a_stored_runs_file_as_the_chapter_did():
    """The reshape chapter 5 used on the stored (seed-major, sorted) runs file."""
    path = (
        Path(__file__).resolve().parents[1] / "book" / "data" / "figure1_left_runs.csv"
    )
    r = FG.read_csv(path)
    seeds, steps = np.unique(r["seed"]), np.unique(r["t"])
    t, acc = FG.runs_matrix(r, "train_acc")
    np.testing.assert_array_equal(t, steps)
    np.testing.assert_array_equal(acc, r["train_acc"].reshape(seeds.size, steps.size))


def test_value_at(traj):
    table = FG.figure1_table(traj)
    assert FG.value_at(table, 3, "test_median") == np.median(traj.test_acc[:, 3])
    with pytest.raises(KeyError, match="step 99"):
        FG.value_at(table, 99, "test_median")


def test_figure1_record():
    assert FG.figure1_record(50).tolist() == list(range(51))
    rec = FG.figure1_record(5000)
    assert rec[0] == 0 and rec[-1] == 5000 and 50 < rec.size < 200
    assert set(FG.FIGURE4_STEPS) <= set(rec.tolist()) and {40, 3000} <= set(
        rec.tolist()
    )


def test_histograms(traj):
    hist = FG.histogram_table(traj, [0, 6], bins=10)
    positive = int((traj.a > 0).sum())
    for step in (0, 6):
        for name in ("mu1", "mu2"):
            sel = (hist["t"] == step) & (hist["direction"] == name)
            assert hist["count"][sel].sum() == positive
    v1, v2 = FG.positive_projections(traj, 6)
    assert v1.size == positive and v2.size == positive
    summary = FG.histogram_summary(traj, [6])
    assert summary["direction"].tolist() == ["mu1", "mu2"]
    assert summary["sd"][0] == pytest.approx(v1.std())
    fig = FG.plot_histograms(hist, [0, 6], title="tiny")
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="bins"):
        FG.histogram_table(traj, [0], bins=0)


def test_figure2_tables_and_plots(traj):
    tables = FG.figure2_tables(traj, (0, 1, 6), grid_num=11)
    pts, neu, bnd = tables["points"], tables["neurons"], tables["boundary"]
    assert pts["u1"].size == TINY.n_total and pts["train"].sum() == TINY.n
    assert neu["t"].size == 3 * TINY.m
    sel = bnd["t"] == 6
    assert sel.sum() == 121
    grid = np.c_[bnd["u1"][sel], bnd["u2"][sel]]
    expected = decision_function_on_plane(
        traj.proj[0, traj.index(6)], traj.a[0], TINY.mu_norm, grid
    )
    assert np.allclose(bnd["f"][sel], expected)
    fig = FG.plot_figure2(tables, (0, 1, 6), (1, 6))
    assert len(fig.axes) == 6
    summary = FG.figure2_summary(traj, (0, 1, 6))
    assert summary["seed"].size == 9
    anim = FG.animate_figure2(traj, steps=[0, 1, 2], grid_num=11, dpi=30)
    html = animation_html(anim, 'Figure 2 "animated"')
    assert "data:image/png;base64" in html and len(html) < 200_000
    assert 'alt="Figure 2 &quot;animated&quot;"' in html and "http" not in html
    with pytest.raises(ValueError, match="grid_num"):
        FG.figure2_tables(traj, (0,), grid_num=1)


def test_plot_figure1(traj):
    table = FG.figure1_table(traj)
    fig = FG.plot_figure1(table, table, runs=3)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_xscale() == "log"


def test_scaled_setup():
    s = FG.scaled_setup(xorgrok.PAPER_FIG1_LEFT, p=1000, n=10, m=5)
    assert (s.p, s.n, s.n_test, s.m) == (1000, 10, 10, 5)
    assert s.mu_norm == pytest.approx(2.5 * math.sqrt(100))
    assert s.alpha == xorgrok.PAPER_FIG1_LEFT.alpha
    with pytest.raises(ValueError, match="m must"):
        FG.scaled_setup(xorgrok.PAPER_FIG1_LEFT, m=0)


@pytest.mark.parametrize("name", FG.FIGURES)
def test_make_figure_writes_everything(tmp_path, name):
    done = []
    paths = FG.make_figure(
        name, tmp_path, runs=2, progress=done.append, p=300, n=12, m=8, steps=20
    )
    names = sorted(p.name for p in paths)
    assert sorted(os.listdir(tmp_path)) == names  # nothing else (no temporary files)
    assert f"{name}.png" in names and f"{name}.svg" in names
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sum(done) == (4 if name == "figure1" else 2)
    if name == "figure1":
        for panel in ("left", "right"):
            table = FG.read_csv(tmp_path / f"figure1_{panel}.csv")
            assert tuple(table) == FG.FIGURE1_COLUMNS
            assert table["t"][-1] == 20


def test_make_figure_errors(tmp_path):
    with pytest.raises(ValueError, match="runs"):
        FG.make_figure("figure1", tmp_path, runs=0)
    with pytest.raises(ValueError, match="name"):
        FG.make_figure("figure7", tmp_path, runs=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="folder"):
        FG.make_figure("figure3", tmp_path / "file", runs=1)


def test_convention_setup_scales_alpha_and_omega_init():
    base = xorgrok.PAPER_FIG1_RIGHT
    s = FG.convention_setup(base, step_scale=2, init_scale=0.5)
    assert s.alpha == 2 * base.alpha and s.omega_init == 0.5 * base.omega_init
    assert FG.convention_setup(base) == base
    for bad in (0, -1.0, float("nan"), float("inf"), True, "2"):
        with pytest.raises(ValueError, match="step_scale"):
            FG.convention_setup(base, step_scale=bad)
        with pytest.raises(ValueError, match="init_scale"):
            FG.convention_setup(base, init_scale=bad)


def test_the_two_conventions_same_accuracy_weights_differ_by_two(tmp_path):
    """Step 2 alpha and omega_init / 2 share omega_init / alpha: the same accuracy
    curves
    (outputs are tiny), and the weights of the first are twice those of the second."""
    out = {}
    for key, scales in (("step", {"step_scale": 2.0}), ("init", {"init_scale": 0.5})):
        out[key] = tmp_path / key
        for name in ("figure1", "figure4"):
            FG.make_figure(name, out[key], runs=3, p=300, n=12, m=8, steps=40, **scales)
    for panel in ("left", "right"):
        a = FG.read_csv(out["step"] / f"figure1_{panel}_runs.csv")
        b = FG.read_csv(out["init"] / f"figure1_{panel}_runs.csv")
        for col in ("train_acc", "test_acc"):
            assert np.array_equal(a[col], b[col])
    a = FG.read_csv(out["step"] / "figure4_summary.csv")
    b = FG.read_csv(out["init"] / "figure4_summary.csv")
    assert np.allclose(a["sd"], 2 * b["sd"], rtol=1e-4)
    assert np.allclose(a["q95"], 2 * b["q95"], rtol=1e-4)
