"""Tests of the model variants: hand-written gradients against autograd, the two
methods against each other, and every switch off against the paper's reference
engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xorgrok as xg
from xorgrok.variants import (
    VARIANT_DEFAULTS,
    activation,
    check_options,
    train_variants,
    variant_gradients,
    variant_output,
)

SMALL = xg.Setup(
    p=300, n=20, n_test=30, m=16, mu_norm=8.0, eta=0.2, omega_init=1e-2, alpha=0.5
)
SWITCHES = [
    {},
    {"leaky": 0.1},
    {"leaky": 0.5},
    {"train_second_layer": True},
    {"train_second_layer": True, "alpha_a": 0.1},
    {"batch_size": 5},
    {"batch_size": 7, "batch_seed": 3},
    {"leaky": 0.2, "train_second_layer": True, "alpha_a": 0.1, "batch_size": 7},
]


@pytest.mark.parametrize("leaky", [0.0, 0.3])
@pytest.mark.parametrize("batched", [False, True])
def test_gradients_match_autograd(leaky, batched):
    gen = torch.Generator().manual_seed(0)
    shape = (3,) if batched else ()
    W = torch.randn(
        *shape, 7, 11, generator=gen, dtype=torch.float64, requires_grad=True
    )
    a = torch.randn(*shape, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    X = torch.randn(*shape, 9, 11, generator=gen, dtype=torch.float64)
    y = torch.where(torch.rand(*shape, 9, generator=gen) > 0.5, 1.0, -1.0).to(
        torch.float64
    )
    f = variant_output(W, a, X, leaky)
    loss = torch.nn.functional.softplus(-y * f).mean(-1).sum()
    gW, ga = torch.autograd.grad(loss, (W, a))
    mine_W, mine_a = variant_gradients(W.detach(), a.detach(), X, y, leaky)
    torch.testing.assert_close(mine_W, gW)
    torch.testing.assert_close(mine_a, ga)


def test_activation_is_relu_or_leaky_relu():
    z = torch.linspace(-2, 2, 9, dtype=torch.float64)
    torch.testing.assert_close(activation(z), torch.relu(z))
    torch.testing.assert_close(
        activation(z, 0.2), torch.nn.functional.leaky_relu(z, 0.2)
    )


@pytest.mark.parametrize("engine", ["dense", "reduced"])
def test_switches_off_reproduce_the_reference_engine(engine):
    """All switches off: the numbers of xorgrok.simulate on the same problems
    (float64)."""
    seeds = [0, 4]
    tr = xg.simulate(SMALL, 25, seeds, engine=engine, dtype=torch.float64, outputs=True)
    for method in ("explicit", "span"):
        run = train_variants(SMALL, 25, seeds, engine=engine, method=method)
        np.testing.assert_allclose(run.f_train, tr.f_train, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(run.loss, tr.loss, rtol=1e-9)
        np.testing.assert_array_equal(run.train_acc, tr.train_acc)
        np.testing.assert_array_equal(run.test_acc, tr.test_acc)
        np.testing.assert_array_equal(run.a_t, np.repeat(tr.a[:, None, :], 26, axis=1))
        np.testing.assert_allclose(run.f_test, tr.f_test, rtol=1e-9, atol=1e-12)


def test_switches_off_match_the_tiny_step_regime():
    """The paper's scales (alpha = 1e-12, omega_init = 1e-15) in the reduced
    coordinates."""
    setup = xg.Setup(
        p=40_000,
        n=20,
        n_test=30,
        m=16,
        mu_norm=30.0,
        eta=0.1,
        omega_init=1e-15,
        alpha=1e-12,
    )
    tr = xg.simulate(setup, 10, [1], dtype=torch.float64, outputs=True)
    run = train_variants(setup, 10, [1])
    np.testing.assert_allclose(run.f_train, tr.f_train, rtol=1e-8)
    np.testing.assert_array_equal(run.test_acc, tr.test_acc)


@pytest.mark.parametrize("switches", SWITCHES)
def test_span_method_equals_explicit_weights(switches):
    record = [0, 1, 7, 30]
    exp = train_variants(
        SMALL, 30, range(3), record=record, method="explicit", neurons=True, **switches
    )
    span = train_variants(
        SMALL, 30, range(3), record=record, method="span", neurons=True, **switches
    )
    for name in ("f_train", "f_test", "a_t", "proj", "loss"):
        np.testing.assert_allclose(
            getattr(span, name), getattr(exp, name), rtol=1e-9, atol=1e-12
        )
    np.testing.assert_array_equal(span.test_acc, exp.test_acc)


@pytest.mark.parametrize("switches", SWITCHES)
def test_a_seed_does_not_depend_on_its_batch_neighbours(switches):
    together = train_variants(SMALL, 15, range(3), **switches)
    alone = train_variants(SMALL, 15, [1], **switches)
    np.testing.assert_allclose(
        together.f_train[1], alone.f_train[0], rtol=1e-10, atol=1e-13
    )
    np.testing.assert_allclose(together.a_t[1], alone.a_t[0], rtol=1e-10, atol=1e-13)


def test_full_size_batches_are_gradient_descent():
    full = train_variants(SMALL, 20, [2])
    # every point every step, in a random order
    sgd = train_variants(SMALL, 20, [2], batch_size=SMALL.n)
    np.testing.assert_allclose(sgd.f_train, full.f_train, rtol=1e-10, atol=1e-12)


def test_mini_batches_are_seeded():
    one = train_variants(SMALL, 10, [2], batch_size=4, batch_seed=1)
    same = train_variants(SMALL, 10, [2], batch_size=4, batch_seed=1)
    other = train_variants(SMALL, 10, [2], batch_size=4, batch_seed=2)
    np.testing.assert_array_equal(one.f_train, same.f_train)
    assert not np.allclose(one.f_train, other.f_train)


def test_second_layer_moves_only_when_trained():
    pb = xg.sample(SMALL, 0)
    fixed = train_variants(SMALL, 10, [0]).a_t[0]
    trained = train_variants(SMALL, 10, [0], train_second_layer=True).a_t[0]
    assert (fixed == pb.a).all()
    assert np.abs(trained[-1] - pb.a).max() > 1e-3
    # one step by hand: a_j <- a_j + (alpha / n) sum_i g_i y_i relu(<w_j, x_i>) with g_i
    # = 1 / (1 + e^{y_i f_i})
    H = pb.W0 @ pb.X_train.T
    f = np.maximum(H, 0).T @ pb.a
    g = 1 / (1 + np.exp(pb.y * f))
    expected = pb.a + SMALL.alpha / SMALL.n * (np.maximum(H, 0) * (g * pb.y)).sum(1)
    np.testing.assert_allclose(trained[1], expected, rtol=1e-10)


@pytest.mark.parametrize("method", ["span", "explicit"])
def test_divergence_raises(method):
    huge = SMALL.replace(alpha=1e38)  # float32 outputs overflow after one step
    with pytest.raises(xg.DivergenceError) as err:
        train_variants(huge, 5, [0], dtype=torch.float32, method=method)
    assert err.value.step == 1


def test_check_options_drops_defaults_and_validates():
    assert check_options(dict(VARIANT_DEFAULTS)) == {}
    # no batches: no batch seed
    assert check_options({"leaky": 0.1, "batch_seed": 4}) == {"leaky": 0.1}
    assert check_options({"batch_size": 5, "batch_seed": 4}) == {
        "batch_size": 5,
        "batch_seed": 4,
    }
    for bad in [
        {"leaky": 1.0},
        {"leaky": -0.1},
        {"leaky": True},
        {"train_second_layer": 1},
        {"alpha_a": 0.0},
        {"alpha_a": 0.1},
        {"batch_size": 0},
        {"batch_size": 2.5},
        {"batch_seed": -1},
        {"momentum": 0.9},
    ]:
        with pytest.raises(ValueError):
            check_options(bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(steps=-1),
        dict(record=[11]),
        dict(batch_size=21),
        dict(dtype=torch.float16),
        dict(method="magic"),
        dict(seeds=[]),
        dict(engine="span"),
        dict(setup="paper"),
        dict(momentum=0.9),
    ],
)
def test_train_variants_rejects_bad_input(kwargs):
    args = dict(setup=SMALL, steps=10, seeds=[0])
    args.update(kwargs)
    with pytest.raises(ValueError):
        train_variants(**args)
