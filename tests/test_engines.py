"""The span engine against the dense reference, and the engines' guards.

The span engine is an exact reformulation (W^(t) = W^(0) + C^(t) X_train), so on the
same problem it must give the same trajectory as the dense engine: identical accuracies
at every step and every recorded real number equal up to rounding. In float64 both
engines round at about 1e-16 relative per operation and the runs below take at most a
few hundred operations per number, so we require 1e-10 relative (relative to the largest
entry of each array, since individual entries may be near zero).
"""

import math

import numpy as np
import pytest
import torch

import xorgrok as xg
from xorgrok.data import sample_dense, sample_reduced
from xorgrok.engines import DivergenceError, Want, run_dense, run_span

RTOL = 1e-10

SETUPS = {
    # p > n: the Gram matrix G is invertible
    "small": xg.Setup(
        p=40, n=12, n_test=10, m=16, mu_norm=4.0, eta=0.1, omega_init=0.05, alpha=0.5
    ),
    # p < n: G is singular; C is then not unique but H = H0 + C G, hence everything
    # recorded, is
    "p<n": xg.Setup(
        p=8, n=20, n_test=10, m=12, mu_norm=3.0, eta=0.1, omega_init=0.1, alpha=0.3
    ),
    # the paper's scalings (mu_norm = 2.5 sqrt(p / n), tiny init): test accuracy climbs
    # from ~0.5
    "paper-like": xg.Setup(
        p=600,
        n=30,
        n_test=25,
        m=40,
        mu_norm=2.5 * math.sqrt(600 / 30),
        eta=0.05,
        omega_init=1e-4,
        alpha=1e-3,
    ),
}
FIELDS = ("loss", "proj", "w_norm", "f_train", "f_test", "preacts")


def _run(setup, engine, steps=25, seeds=range(3), **kw):
    return xg.simulate(
        setup,
        steps,
        seeds,
        engine=engine,
        dtype=torch.float64,
        neurons=True,
        outputs=True,
        preacts=True,
        **kw,
    )


def _assert_same_trajectory(ref, other, rtol=RTOL):
    np.testing.assert_array_equal(ref.train_acc, other.train_acc)
    np.testing.assert_array_equal(ref.test_acc, other.test_acc)
    for name in FIELDS:
        x, y = getattr(ref, name), getattr(other, name)
        np.testing.assert_allclose(
            y, x, rtol=rtol, atol=rtol * np.abs(x).max(), err_msg=name
        )


@pytest.mark.parametrize("name", list(SETUPS))
def test_span_gives_the_dense_trajectory(name):
    setup = SETUPS[name]
    dense, span = _run(setup, "dense"), _run(setup, "span")
    _assert_same_trajectory(dense, span)
    # the runs are not trivial: accuracies move and neurons leave their initialization
    assert np.ptp(dense.train_acc) > 0 and np.ptp(dense.test_acc) > 0
    assert (
        np.abs(dense.proj[:, -1] - dense.proj[:, 0]).max()
        > 10 * np.abs(dense.proj[:, 0]).max() * 1e-3
    )


def test_reduced_is_dense_when_p_minus_2_is_at_most_N():
    """For p - 2 <= N there is nothing to reduce: same seed, same problem, same
    numbers."""
    setup = SETUPS["p<n"]
    assert setup.p - 2 <= setup.n_total
    pd, pr = sample_dense(setup, 7), sample_reduced(setup, 7)
    for field in ("X", "W0", "a", "cluster", "y_clean", "flipped", "w0_residual_sq"):
        np.testing.assert_array_equal(getattr(pd, field), getattr(pr, field))
    _assert_same_trajectory(_run(setup, "dense"), _run(setup, "reduced"))
    # at the boundary p - 2 = N as well
    edge = setup.replace(p=setup.n_total + 2)
    np.testing.assert_array_equal(sample_dense(edge, 3).X, sample_reduced(edge, 3).X)


def test_reduced_has_dimension_2_plus_N_above_the_boundary():
    setup = SETUPS["small"].replace(p=SETUPS["small"].n_total + 3)
    pb = sample_reduced(setup, 0)
    assert pb.X.shape == (setup.n_total, 2 + setup.n_total) and pb.W0.shape == (
        setup.m,
        2 + setup.n_total,
    )
    assert np.all(pb.w0_residual_sq > 0)


def test_batching_and_chunks_do_not_change_the_numbers():
    setup = SETUPS["paper-like"]
    seeds = list(range(5))
    make = lambda seed: sample_dense(setup, seed)  # noqa: E731
    record = np.arange(11)
    args = (
        setup,
        seeds,
        make,
        10,
        record,
        Want(neurons=True, outputs=True, preacts=True),
        torch.float64,
        torch.device("cpu"),
    )
    one, all_ = run_span(*args, chunk=1), run_span(*args, chunk=5)
    np.testing.assert_array_equal(one.train_acc, all_.train_acc)
    np.testing.assert_array_equal(one.test_acc, all_.test_acc)
    # a batched product may round differently from a single one: 1e-12 of the scale
    for name in FIELDS:
        x = getattr(one, name)
        np.testing.assert_allclose(
            getattr(all_, name),
            x,
            rtol=1e-12,
            atol=1e-12 * np.abs(x).max(),
            err_msg=name,
        )


@pytest.mark.parametrize("engine", ["dense", "span"])
def test_recording_a_subset_gives_the_same_numbers(engine):
    setup = SETUPS["small"]
    full = _run(setup, engine, steps=12, seeds=[4])
    part = _run(setup, engine, steps=12, seeds=[4], record=[0, 3, 12])
    idx = [0, 3, 12]
    np.testing.assert_array_equal(part.test_acc, full.test_acc[:, idx])
    np.testing.assert_array_equal(part.proj, full.proj[:, idx])
    np.testing.assert_array_equal(part.preacts, full.preacts[:, idx])


def test_float32_follows_float64():
    """The fast engines run in float32 by default: on a small problem the accuracies
    coincide at almost
    every step (a sign may differ where an output is within rounding of 0) and the
    outputs agree to float32 precision accumulated over the run (1e-4 relative)."""
    setup = SETUPS["paper-like"]
    x64 = xg.simulate(
        setup, 25, range(4), engine="span", dtype=torch.float64, outputs=True
    )
    x32 = xg.simulate(
        setup, 25, range(4), engine="span", dtype=torch.float32, outputs=True
    )
    assert x32.dtype == "float32" and x64.dtype == "float64"
    assert np.mean(x32.test_acc != x64.test_acc) <= 0.05
    scale = np.abs(x64.f_train).max()
    np.testing.assert_allclose(x32.f_train, x64.f_train, rtol=0, atol=1e-4 * scale)


def test_tiny_step_size_and_init_do_not_underflow_in_float32():
    """alpha = 1e-30 and omega_init = 1e-32 are representable in float32 but their
    products are not
    (1e-62): the span engine works with C / alpha and H / alpha, so it still follows
    float64."""
    setup = SETUPS["paper-like"].replace(alpha=1e-30, omega_init=1e-31)
    x64 = xg.simulate(
        setup, 15, range(3), engine="span", dtype=torch.float64, outputs=True
    )
    x32 = xg.simulate(
        setup, 15, range(3), engine="span", dtype=torch.float32, outputs=True
    )
    assert np.all(np.isfinite(x32.f_train)) and np.abs(x32.f_train).max() > 0
    np.testing.assert_allclose(
        x32.f_train, x64.f_train, rtol=0, atol=1e-4 * np.abs(x64.f_train).max()
    )
    assert np.mean(x32.test_acc != x64.test_acc) <= 0.05


@pytest.mark.parametrize("engine", ["dense", "span", "reduced"])
def test_divergence_stops_the_run_and_names_the_step(engine):
    """With alpha = 1.7e308 the outputs at t = 1 are about 2 alpha (every margin
    saturates, g -> 0, so they
    would stay there): beyond float64's largest number 1.8e308. simulate refuses such
    a run up front (xorgrok.resources); the engines themselves still detect the
    overflow."""
    setup = SETUPS["small"].replace(alpha=1.7e308)
    with pytest.raises(ValueError, match="alpha"):
        xg.simulate(setup, steps=5, seeds=[2, 3], engine=engine, dtype=torch.float64)
    make = sample_reduced if engine == "reduced" else sample_dense
    run = run_dense if engine == "dense" else run_span
    with pytest.raises(
        DivergenceError, match=r"diverged at step t = 1 \(seed 2\)"
    ) as err:
        run(
            setup,
            [2, 3],
            lambda seed: make(setup, seed),
            5,
            np.arange(6),
            Want(),
            torch.float64,
            torch.device("cpu"),
        )
    assert err.value.step == 1 and err.value.seed == 2
    assert isinstance(err.value, FloatingPointError)


def test_divergence_is_found_in_float32_at_the_same_step():
    setup = SETUPS["small"].replace(alpha=3e38)  # float32 overflows at 3.4e38
    for engine in ("dense", "span"):
        run = run_dense if engine == "dense" else run_span
        with pytest.raises(DivergenceError) as err:
            run(
                setup,
                [2],
                lambda seed: sample_dense(setup, seed),
                5,
                np.arange(6),
                Want(),
                torch.float32,
                torch.device("cpu"),
            )
        assert err.value.step == 1


@pytest.mark.parametrize(
    "engine, hint", [("dense", "engine='span'"), ("span", "engine='reduced'")]
)
def test_engines_in_R_p_refuse_a_p_that_does_not_fit(engine, hint):
    """p = 10^12: one weight matrix alone would take 8 PB. The refusal comes before
    any allocation."""
    huge = xg.PAPER_FIG1_LEFT.replace(p=10**12)
    with pytest.raises(MemoryError) as err:
        xg.simulate(huge, steps=1, seeds=[0], engine=engine)
    assert hint in str(err.value) and "GiB" in str(err.value)
    if engine == "dense":
        assert "engine='reduced'" in str(err.value)


def test_devices_are_accepted_by_name_or_object():
    setup = SETUPS["small"]
    a = xg.simulate(setup, 3, [0], engine="span", device="cpu")
    b = xg.simulate(setup, 3, [0], engine="span", device=torch.device("cpu"))
    np.testing.assert_array_equal(a.test_acc, b.test_acc)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_span_on_cuda_matches_cpu():  # pragma: no cover (GPU only)
    setup = SETUPS["paper-like"]
    cpu = _run(setup, "span")
    gpu = _run(setup, "span", device="cuda")
    _assert_same_trajectory(cpu, gpu, rtol=1e-9)


def test_worker_threads_give_the_same_numbers_and_restore_the_thread_count():
    """On the CPU, chunks of seeds run in worker threads with single-threaded torch
    operations."""
    setup = SETUPS["paper-like"]
    seeds = list(range(6))
    make = lambda seed: sample_dense(setup, seed)  # noqa: E731
    args = (
        setup,
        seeds,
        make,
        10,
        np.arange(11),
        Want(neurons=True, outputs=True, preacts=True),
        torch.float64,
        torch.device("cpu"),
    )
    before = torch.get_num_threads()
    serial, threaded = (
        run_span(*args, chunk=2, workers=1),
        run_span(*args, chunk=2, workers=3),
    )
    assert torch.get_num_threads() == before
    np.testing.assert_array_equal(serial.train_acc, threaded.train_acc)
    np.testing.assert_array_equal(serial.test_acc, threaded.test_acc)
    np.testing.assert_array_equal(serial.a, threaded.a)
    for name in FIELDS:
        x = getattr(serial, name)
        np.testing.assert_allclose(
            getattr(threaded, name),
            x,
            rtol=1e-12,
            atol=1e-12 * np.abs(x).max(),
            err_msg=name,
        )


def test_divergence_in_worker_threads_names_the_first_seed_and_restores_threads():
    setup = SETUPS["small"].replace(alpha=1.7e308)
    before = torch.get_num_threads()
    make = lambda seed: sample_dense(setup, seed)  # noqa: E731
    with pytest.raises(DivergenceError) as err:
        run_span(
            setup,
            [5, 6, 7, 8],
            make,
            4,
            np.arange(5),
            Want(),
            torch.float64,
            torch.device("cpu"),
            chunk=1,
            workers=2,
        )
    assert err.value.seed == 5 and err.value.step == 1
    assert torch.get_num_threads() == before
