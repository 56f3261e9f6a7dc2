"""Tests of the sweep machinery (cache keys, resume, interruption, executors), its
CLI and xorgrok.beyond."""

from __future__ import annotations

import concurrent.futures as cf
import json

import numpy as np
import pytest
import torch

import xorgrok as xg
from xorgrok import beyond
from xorgrok import sweep as sw
from xorgrok.cli import main as xorgrok_main
from xorgrok.schedule import log_steps
from xorgrok.sweep import Cache, Cell, SweepError, grid, sweep
from xorgrok.theory import mu_norm_range, per_cluster_accuracy

TINY = xg.Setup(
    p=2_000, n=12, n_test=20, m=8, mu_norm=12.0, eta=0.2, omega_init=1e-15, alpha=1e-12
)


# ---------------------------------------------------------------------------- log_steps


def test_log_steps_contains_ends_and_is_sorted():
    t = log_steps(1000, 4)
    assert t[0] == 0 and t[1] == 1 and t[-1] == 1000
    assert np.all(np.diff(t) > 0)
    assert list(log_steps(3, 10)) == [0, 1, 2, 3]
    assert list(log_steps(0)) == [0]


def test_log_steps_short_runs_and_marks():
    # the schedule of the paper's Figure 1: every step up to 100, then 20 a decade and
    # the quoted steps
    assert log_steps(100, 20, every_step_to=100).tolist() == list(range(101))
    t = log_steps(5000, 20, every_step_to=100, marks=(10, 25, 3000, 9000))
    assert {25, 3000} <= set(t.tolist()) and 9000 not in t and t[-1] == 5000
    plain = log_steps(5000, 20)
    assert set(t.tolist()) == set(plain.tolist()) | {25, 3000}


@pytest.mark.parametrize("steps, per_decade", [(-1, 10), (1.5, 10), (10, 0)])
def test_log_steps_rejects_bad_input(steps, per_decade):
    with pytest.raises(ValueError):
        log_steps(steps, per_decade)


# ----------------------------------------------------------------------- cells and keys


def test_cell_normalizes_engine_dtype_and_record():
    cell = Cell.make(TINY, 5, [5, 0, 3, 3])
    assert cell.engine == "reduced" and cell.dtype == "float32"
    assert cell.record == (0, 3, 5)  # deduplicated, sorted
    with pytest.raises(ValueError, match=r"integer steps in \[0, 5\], got 7"):
        Cell.make(TINY, 5, [7, 0])  # a step beyond steps is an error
    assert Cell.make(TINY, 5, engine="dense").dtype == "float64"
    assert Cell.make(TINY, 2).record == (0, 1, 2)
    assert (
        Cell.make(TINY, 5, [0, 3], engine="auto").key()
        == Cell.make(TINY, 5, [0, 3], engine="reduced").key()
    )
    assert (
        Cell.make(TINY, 5, [0, 3], dtype=torch.float32).key()
        == Cell.make(TINY, 5, [0, 3]).key()
    )


def test_cell_key_is_stable_across_sessions():
    """The key hashes the Setup fields, steps, record, engine, dtype, format version and
    engine revision:
    frozen here."""
    cell = Cell.make(TINY, 5, [0, 1, 5])
    payload = {
        "dtype": "float32",
        "engine": "reduced",
        "engine_revision": sw.ENGINE_REVISION,
        "format": sw.FORMAT_VERSION,
        "record": [0, 1, 5],
        "setup": TINY.as_dict(),
        "steps": 5,
    }
    import hashlib

    expected = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert cell.key() == expected
    assert sw.FORMAT_VERSION == 1
    # the literal value: a change here invalidates every user's cache, so it must be
    # deliberate (changed when the engine revision joined the key, and at revisions 2,
    # 3)
    assert (
        cell.key() == "14339f9df52342acb3a10a9d6b2490697b94fb03af6a68296d787dc7cc4f0902"
    )


def test_cell_key_changes_with_every_field():
    base = Cell.make(TINY, 5, [0, 5])
    others = [
        Cell.make(TINY.replace(n=13), 5, [0, 5]),
        Cell.make(TINY.replace(alpha=2e-12), 5, [0, 5]),
        Cell.make(TINY, 6, [0, 5]),
        Cell.make(TINY, 5, [0, 1, 5]),
        Cell.make(TINY, 5, [0, 5], engine="span"),
        Cell.make(TINY, 5, [0, 5], dtype="float64"),
        Cell.make(TINY, 5, [0, 5], variant={"leaky": 0.1}),
    ]
    keys = {c.key() for c in others}
    assert base.key() not in keys and len(keys) == len(others)
    # equal content, equal key (integers and floats of equal value normalize alike)
    assert Cell.make(TINY.replace(mu_norm=12), 5, [0, 5]).key() == base.key()
    # switches equal to the defaults are the paper's model
    assert Cell.make(TINY, 5, [0, 5], variant={"leaky": 0.0}).key() == base.key()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(steps=-1),
        dict(record=[]),
        dict(record=[9]),
        dict(engine="gpu"),
        dict(dtype="float16"),
        dict(variant={"bogus": 1}),
        dict(variant={"leaky": 0.1}, engine="span"),
    ],
)
def test_cell_rejects_bad_input(kwargs):
    args = dict(setup=TINY, steps=5, record=None)
    args.update(kwargs)
    with pytest.raises(ValueError):
        Cell.make(**args)


# ----------------------------------------------------------------------------- sweeping


def test_sweep_matches_simulate_and_has_grid_shape():
    setups = grid(TINY, alpha=[1e-12, 1e-14], mu_norm=[8.0, 12.0, 20.0])
    res = sweep(setups, 10, range(3), record=[0, 1, 2, 10], workers=1)
    assert (
        res.shape == (2, 3)
        and res.test_acc.shape == (2, 3, 3, 4)
        and res.diverged_at.shape == (2, 3, 3)
    )
    tr = xg.simulate(setups[1, 2], 10, range(3), record=[0, 1, 2, 10], outputs=True)
    np.testing.assert_allclose(res.train_acc[1, 2], tr.train_acc)
    np.testing.assert_allclose(res.test_acc[1, 2], tr.test_acc)
    np.testing.assert_allclose(res.loss[1, 2], tr.loss, rtol=1e-6)
    flipped = tr.y != tr.y_clean[:, : TINY.n]
    fitted = tr.y[:, None, :] * tr.f_train > 0
    for s in range(3):
        if flipped[s].any():
            np.testing.assert_allclose(
                res.flipped_acc[1, 2, s], fitted[s][:, flipped[s]].mean(1)
            )
        np.testing.assert_allclose(
            res.clean_train_acc[1, 2, s], fitted[s][:, ~flipped[s]].mean(1)
        )
    assert (res.diverged_at == -1).all() and res.n_computed == 18 and res.n_cached == 0


def test_sweep_per_cell_steps_pad_with_nan_and_final():
    res = sweep(
        [TINY, TINY.replace(alpha=1e-13)],
        np.array([3, 8]),
        range(2),
        record=[0, 1, 3, 5, 8],
        workers=1,
    )
    assert np.isnan(res.test_acc[0, :, 3:]).all() and np.isfinite(res.test_acc[1]).all()
    np.testing.assert_array_equal(res.final("test_acc")[0], res.test_acc[0, :, 2])
    np.testing.assert_array_equal(res.final("test_acc")[1], res.test_acc[1, :, 4])


def test_result_statistics():
    res = sweep(TINY, 20, range(4), record=[0, 1, 2, 5, 20], workers=1)
    med = res.median("test_acc")
    np.testing.assert_allclose(med, np.median(res.test_acc, axis=-2))
    first = res.first_step("train_acc", 1.0)
    hit = np.flatnonzero(np.median(res.train_acc, 0) >= 1.0)
    assert (np.isnan(first) and hit.size == 0) or first == res.t[hit[0]]
    np.testing.assert_array_equal(res.at("loss", 5), res.loss[..., 3])
    with pytest.raises(KeyError):
        res.index(7)


def test_cache_reuses_and_extends(tmp_path):
    first = sweep(TINY, 6, range(3), record=[0, 1, 6], cache_dir=tmp_path, workers=1)
    assert first.n_computed == 3
    again = sweep(TINY, 6, range(3), record=[0, 1, 6], cache_dir=tmp_path, workers=1)
    assert again.n_cached == 3 and again.n_computed == 0
    for name in sw.CURVES:
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    more = sweep(TINY, 6, range(5), record=[0, 1, 6], cache_dir=tmp_path, workers=1)
    assert more.n_cached == 3 and more.n_computed == 2
    folder = tmp_path / Cell.make(TINY, 6, [0, 1, 6]).key()
    assert json.loads((folder / "cell.json").read_text())["setup"]["n"] == TINY.n
    assert sorted(p.name for p in folder.glob("seed-*.npz")) == [
        f"seed-{s}.npz" for s in range(5)
    ]


def test_resume_after_a_crash_mid_sweep(tmp_path, monkeypatch):
    """A failing cell stops the sweep; the cells finished before it are on disk and
    are not recomputed."""
    setups = grid(TINY, mu_norm=[8.0, 12.0, 16.0, 20.0])
    bad = Cell.make(setups[2], 5, [0, 5]).key()
    real = sw._run_cell

    def crashing(cell, seeds):
        if cell.key() == bad:
            raise RuntimeError("simulated crash")
        return real(cell, seeds)

    monkeypatch.setattr(sw, "_run_cell", crashing)
    with pytest.raises(SweepError, match="simulated crash"):
        sweep(
            setups,
            5,
            range(2),
            record=[0, 5],
            cache_dir=tmp_path,
            workers=1,
            seeds_per_task=2,
        )
    done = [c for c in tmp_path.iterdir() if any(c.glob("seed-*.npz"))]
    assert len(done) == 2  # the two cells before the crash

    calls = []

    def counting(cell, seeds):
        calls.append(cell.key())
        return real(cell, seeds)

    monkeypatch.setattr(sw, "_run_cell", counting)
    res = sweep(
        setups,
        5,
        range(2),
        record=[0, 5],
        cache_dir=tmp_path,
        workers=1,
        seeds_per_task=2,
    )
    assert res.n_cached == 4 and res.n_computed == 4
    assert set(calls) == {Cell.make(s, 5, [0, 5]).key() for s in setups[2:]}
    fresh = sweep(setups, 5, range(2), record=[0, 5], workers=1)
    np.testing.assert_array_equal(res.test_acc, fresh.test_acc)


def test_ctrl_c_keeps_the_finished_cells(tmp_path, monkeypatch):
    setups = grid(TINY, mu_norm=[8.0, 12.0, 16.0])
    stop = Cell.make(setups[1], 5, [0, 5]).key()
    real = sw._run_cell

    def interrupted(cell, seeds):
        if cell.key() == stop:
            raise KeyboardInterrupt
        return real(cell, seeds)

    monkeypatch.setattr(sw, "_run_cell", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep(
            setups,
            5,
            range(2),
            record=[0, 5],
            cache_dir=tmp_path,
            workers=1,
            seeds_per_task=2,
        )
    monkeypatch.setattr(sw, "_run_cell", real)
    res = sweep(setups, 5, range(2), record=[0, 5], cache_dir=tmp_path, workers=1)
    assert res.n_cached == 2 and res.n_computed == 4


def test_stale_temp_and_corrupt_files_are_ignored(tmp_path):
    cell = Cell.make(TINY, 4, [0, 4])
    sweep(TINY, 4, range(2), record=[0, 4], cache_dir=tmp_path, workers=1)
    folder = tmp_path / cell.key()
    # an interrupted writer leaves a temporary file; a broken disk leaves a truncated
    # one
    (folder / ".seed-2.npz.abcd.tmp").write_bytes(b"half a file")
    (folder / "seed-1.npz").write_bytes((folder / "seed-1.npz").read_bytes()[:40])
    cache = Cache(tmp_path)
    assert (
        cache.load(cell, 0) is not None
        and cache.load(cell, 1) is None
        and cache.load(cell, 2) is None
    )
    res = sweep(TINY, 4, range(3), record=[0, 4], cache_dir=tmp_path, workers=1)
    assert res.n_cached == 1 and res.n_computed == 2
    assert cache.load(cell, 1) is not None and cache.load(cell, 2) is not None


def test_cache_rejects_a_file_of_another_cell(tmp_path):
    a, b = Cell.make(TINY, 4, [0, 4]), Cell.make(TINY, 5, [0, 5])
    run = sw._run_cell(a, [0])[0]
    Cache(tmp_path).save(a, 0, run)
    (tmp_path / b.key()).mkdir()
    (tmp_path / b.key() / "seed-0.npz").write_bytes(
        (tmp_path / a.key() / "seed-0.npz").read_bytes()
    )
    assert Cache(tmp_path).load(b, 0) is None


def test_divergence_is_recorded_not_raised(monkeypatch):
    """A seed whose outputs blow up at step 3 keeps its curves before that step and
    NaN after."""
    real = sw._train

    def blowing_up(cell, seeds, steps, record):
        if 1 in seeds and steps >= 3:
            raise xg.DivergenceError(3, 1)
        return real(cell, seeds, steps, record)

    reference = sweep(TINY, 5, range(3), record=[0, 1, 5], workers=1)
    monkeypatch.setattr(sw, "_train", blowing_up)
    res = sweep(TINY, 5, range(3), record=[0, 1, 5], workers=1)
    assert list(res.diverged_at) == [-1, 3, -1]
    np.testing.assert_array_equal(res.test_acc[[0, 2]], reference.test_acc[[0, 2]])
    np.testing.assert_array_equal(res.test_acc[1, :2], reference.test_acc[1, :2])
    assert np.isnan(res.test_acc[1, 2]) and np.isnan(res.loss[1, 2])


def test_local_processes_give_the_same_numbers():
    setups = grid(TINY, mu_norm=[8.0, 16.0])
    serial = sweep(setups, 5, range(2), record=[0, 5], workers=1)
    parallel = sweep(setups, 5, range(2), record=[0, 5], workers=2)
    for name in sw.CURVES:
        np.testing.assert_array_equal(getattr(serial, name), getattr(parallel, name))


def test_any_concurrent_futures_executor_works():
    setups = grid(TINY, mu_norm=[8.0, 16.0])
    serial = sweep(setups, 5, range(3), record=[0, 5], workers=1)
    with cf.ThreadPoolExecutor(2) as ex:
        threaded = sweep(
            setups, 5, range(3), record=[0, 5], executor=ex, workers=2, seeds_per_task=1
        )
    np.testing.assert_array_equal(serial.test_acc, threaded.test_acc)


def test_dask_executor_and_a_failing_cell(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    setups = grid(TINY, mu_norm=[8.0, 12.0, 16.0])
    bad = Cell.make(setups[1], 5, [0, 5]).key()
    real = sw._run_cell

    def crashing(cell, seeds):
        if cell.key() == bad:
            raise RuntimeError("worker lost")
        return real(cell, seeds)

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = client.get_executor()
        ok = sweep(
            setups, 5, range(2), record=[0, 5], executor=ex, cache_dir=tmp_path / "a"
        )
        np.testing.assert_array_equal(
            ok.test_acc, sweep(setups, 5, range(2), record=[0, 5], workers=1).test_acc
        )
        monkeypatch.setattr(
            sw, "_run_cell", crashing
        )  # the in-process workers see the patch
        with pytest.raises(SweepError, match="worker lost"):
            sweep(
                setups,
                5,
                range(2),
                record=[0, 5],
                executor=ex,
                cache_dir=tmp_path / "b",
                seeds_per_task=2,
            )
    monkeypatch.setattr(sw, "_run_cell", real)
    again = sweep(
        setups, 5, range(2), record=[0, 5], cache_dir=tmp_path / "b", workers=1
    )
    assert again.n_computed + again.n_cached == 6 and again.n_computed >= 2


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(workers=0),
        dict(seeds=[]),
        dict(seeds=[1, 1]),
        dict(seeds=[-1]),
        dict(steps=np.array([1, 2, 3])),
        dict(setups=[]),
        dict(setups=["not a setup"]),
        dict(seeds_per_task=0),
        dict(record=[0, 4]),
    ],
)
def test_sweep_rejects_bad_input(kwargs):
    args = dict(setups=[TINY, TINY.replace(n=10)], steps=3, seeds=range(2), workers=1)
    args.update(kwargs)
    with pytest.raises(ValueError):
        sweep(**args)


def test_grid_rejects_bad_axes():
    with pytest.raises(ValueError, match="grid axis"):
        grid(TINY, width=[1, 2])
    with pytest.raises(ValueError):
        grid(TINY, m=[])
    with pytest.raises(ValueError):
        grid("setup", m=[1])


def test_sweep_runs_variants():
    plain = sweep(TINY, 5, range(2), record=[0, 5], workers=1)
    off = sweep(
        TINY,
        5,
        range(2),
        record=[0, 5],
        variant={"train_second_layer": False},
        workers=1,
    )
    np.testing.assert_array_equal(
        plain.test_acc, off.test_acc
    )  # switches off: the same cell
    leaky = sweep(TINY, 5, range(2), record=[0, 5], variant={"leaky": 0.2}, workers=1)
    assert leaky.cells[()].variant == (("leaky", 0.2),)
    assert np.isfinite(leaky.test_acc).all()


# ------------------------------------------------------------------------- command line


def cli_main(argv: list[str]) -> int:
    """``python -m xorgrok sweep ARGV`` in this process."""
    return xorgrok_main(["sweep", *argv])


def test_cli_list_and_custom_grid(tmp_path, capsys):
    assert cli_main(["list"]) == 0
    assert "phase" in capsys.readouterr().out
    out = tmp_path / "res.npz"
    code = cli_main(
        [
            "custom",
            "--set",
            "m=8",
            "--set",
            "n=12",
            "--set",
            "n_test=20",
            "--set",
            "p=2000",
            "--axis",
            "alpha=1e-12,1e-14",
            "--steps",
            "5",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    with np.load(out) as data:
        assert data["test_acc"].shape == (2, 2, len(log_steps(5, 20)))
        assert json.loads(str(data["meta"]))["shape"] == [2]
    assert "2 cells x 2 seeds" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["nope"],
        ["custom", "--set", "m=0"],
        ["custom", "--set", "width=3"],
        ["custom", "--axis", "alpha"],
        ["custom", "--seeds", "3:1"],
        ["custom", "--set", "alpha=abc"],
        ["init", "--workers", "0"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xorgrok sweep: error:") and "\n" not in err


# ----------------------------------------------------------------------- xorgrok.beyond


@pytest.mark.parametrize("name", list(beyond.EXPERIMENTS))
@pytest.mark.parametrize("resolution", beyond.RESOLUTIONS)
def test_every_plan_is_valid(name, resolution):
    pl = beyond.plan(name, resolution)
    steps = np.broadcast_to(np.asarray(pl.steps), pl.setups.shape)
    assert pl.record.max() == steps.max()  # the record ends where the longest cell does
    for idx in np.ndindex(*pl.setups.shape):
        Cell.make(pl.setups[idx], int(steps[idx]), pl.record[pl.record <= steps[idx]])
    assert len(pl.seeds) >= 8
    if resolution == "full":
        assert len(pl.seeds) >= len(beyond.plan(name, "page").seeds)


def test_plan_rejects_unknown_names():
    with pytest.raises(ValueError, match="experiment"):
        beyond.plan("nope")
    with pytest.raises(ValueError, match="resolution"):
        beyond.plan("init", "huge")


def test_the_window_of_the_experiments_is_mu_norm_range():
    low, high = mu_norm_range(10**12, 50)
    assert low == pytest.approx((50**0.51 * 1e6) ** 0.5) and high == pytest.approx(
        (1e12 / 2500) ** 0.5
    )
    low, high = mu_norm_range(10**12, 200, C=2.0)
    assert low > high  # empty window
    with pytest.raises(ValueError):
        mu_norm_range(10**4, 0)


def test_crossing_interpolates_in_log_x():
    x = np.array([1.0, 10.0, 100.0])
    assert beyond.crossing(x, np.array([0.0, 0.5, 1.0]), 0.75) == pytest.approx(10**1.5)
    assert beyond.crossing(x, np.array([1.0, 0.0, 0.0]), 0.5) == pytest.approx(10**0.5)
    assert np.isnan(beyond.crossing(x, np.array([0.0, 0.1, 0.2]), 0.5))


def test_fit_power_law_recovers_exponents():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 10, 20), rng.uniform(1, 10, 20)
    y = 3.0 * a**1.5 * b**-0.5
    y[0] = np.nan
    fit = beyond.fit_power_law({"a": a, "b": b}, y)
    assert (
        fit["c"] == pytest.approx(3.0)
        and fit["a"] == pytest.approx(1.5)
        and fit["b"] == pytest.approx(-0.5)
    )
    with pytest.raises(ValueError):
        beyond.fit_power_law({"a": a[:2], "b": b[:2]}, y[:2])


def test_bootstrap_first_steps():
    t = np.array([0, 1, 2, 3])
    curves = np.array(
        [[[0.0, 0.5, 1.0, 1.0]] * 5, [[0.0, 0.0, 0.0, 0.0]] * 5]
    )  # [K=2, S=5, T=4]
    boot = beyond.bootstrap_first_steps(t, curves, 0.9, n_boot=10)
    assert (
        boot.shape == (10, 2) and (boot[:, 0] == 2).all() and np.isnan(boot[:, 1]).all()
    )


def test_memorization_split_sums_to_the_signed_output():
    setup = TINY.replace(eta=0.3)
    tr = xg.simulate(
        setup, 10, [0], record=[10], neurons=True, outputs=True, preacts=True
    )
    y = tr.y[0]
    parts = beyond.memorization_split(
        tr.preacts[0, 0], tr.proj[0, 0], tr.a[0], tr.cluster[0, : setup.n], y
    )
    total = sum(parts[g] for g in beyond.SPLIT_GROUPS)
    np.testing.assert_allclose(total, y * tr.f_train[0, 0], rtol=1e-4, atol=1e-30)
    assert (parts["label_aligned"] >= 0).all() and (parts["opposite_other"] <= 0).all()
    assert sum(parts["active_" + g] for g in beyond.SPLIT_GROUPS).max() <= setup.m
    share = parts["noise_share"][np.isfinite(parts["noise_share"])]
    assert ((share >= 0) & (share <= 1)).all()


def test_memorization_split_runs_stacks_the_per_seed_split():
    """The per-seed loop chapter 7d wrote, stacked over seeds."""
    setup = TINY.replace(eta=0.3)
    tr = xg.simulate(
        setup, 4, [0, 1, 2], record=[1, 4], neurons=True, outputs=True, preacts=True
    )
    stacked = beyond.memorization_split_runs(tr, 1)
    for s in range(3):
        one = beyond.memorization_split(
            tr.preacts[s, 1], tr.proj[s, 1], tr.a[s], tr.cluster[s, : setup.n], tr.y[s]
        )
        assert set(one) == set(stacked)
        for key, value in one.items():
            np.testing.assert_array_equal(stacked[key][s], value)
    assert stacked["label_aligned"].shape == (3, setup.n)
    with pytest.raises(ValueError, match="preacts=True"):
        beyond.memorization_split_runs(xg.simulate(setup, 2, [0]), 0)


def test_per_cluster_accuracy_counts_zero_outputs_as_errors():
    f = np.array([[1.0, -1.0, 2.0, -2.0, 0.0, 1.0]])
    cluster = np.array([[0, 0, 1, 2, 2, 3]])
    y_clean = np.array([[1, 1, 1, -1, -1, -1]])
    acc = per_cluster_accuracy(f, y_clean, cluster)
    np.testing.assert_allclose(acc, [[0.5, 1.0, 0.5, 0.0]])
    assert np.isnan(
        per_cluster_accuracy(f[:, :2], y_clean[:, :2], cluster[:, :2])[0, 1]
    )
