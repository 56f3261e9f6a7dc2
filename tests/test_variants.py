"""Tests of the model variants: hand-written gradients against autograd, the two
methods against each other, and every switch off against the paper's reference
engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xorgrok as xg
from xorgrok.variants import (
    LOSSES,
    VARIANT_DEFAULTS,
    activation,
    check_options,
    loss_weight,
    train_variants,
    variant_gradients,
    variant_loss,
    variant_output,
)

SMALL = xg.Setup(
    p=300, n=20, n_test=30, m=16, mu_norm=8.0, eta=0.2, omega_init=1e-2, alpha=0.5
)
#: The paper's scales (alpha = 1e-12, omega_init = 1e-15) at a small size.
PAPER_SCALES = xg.Setup(
    p=40_000,
    n=20,
    n_test=30,
    m=16,
    mu_norm=30.0,
    eta=0.1,
    omega_init=1e-15,
    alpha=1e-12,
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
    {"loss": "exponential"},
    {"loss": "hinge"},
    {"loss": "exponential", "train_second_layer": True, "batch_size": 7},
    {"loss": "hinge", "leaky": 0.2, "train_second_layer": True, "alpha_a": 0.1},
]


def setup_for(switches: dict) -> xg.Setup:
    """SMALL, at a 10 times smaller step for the exponential loss (its weights g = e^-z
    make SMALL's step overflow within 3 steps)."""
    return SMALL.replace(alpha=0.05) if switches.get("loss") == "exponential" else SMALL


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("leaky", [0.0, 0.3])
@pytest.mark.parametrize("batched", [False, True])
def test_gradients_match_autograd(leaky, batched, loss):
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
    # the losses written out here, independently of variant_loss
    z = y * f
    risk = {
        "logistic": torch.log1p(torch.exp(-z)),
        "exponential": torch.exp(-z),
        "hinge": torch.clamp(1.0 - z, min=0.0),
    }[loss]
    assert not bool((z == 1.0).any())  # the hinge's kink is never hit
    gW, ga = torch.autograd.grad(risk.mean(-1).sum(), (W, a))
    mine_W, mine_a = variant_gradients(W.detach(), a.detach(), X, y, leaky, loss)
    torch.testing.assert_close(mine_W, gW)
    torch.testing.assert_close(mine_a, ga)


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_weight_is_minus_the_derivative(loss):
    z = torch.linspace(-30, 30, 601, dtype=torch.float64)[1::2]  # odd: avoids z = 1
    z.requires_grad_(True)
    (dl,) = torch.autograd.grad(variant_loss(z, loss).sum(), z)
    torch.testing.assert_close(loss_weight(z.detach(), loss), -dl)
    expected = {
        "logistic": torch.log1p(torch.exp(-z)),
        "exponential": torch.exp(-z),
        "hinge": torch.clamp(1.0 - z, min=0.0),
    }[loss]
    torch.testing.assert_close(variant_loss(z, loss), expected)


def test_losses_agree_while_the_outputs_are_tiny():
    """At alpha = 1e-12 every |f| << 1: g = 1/2 (logistic) or 1 (exponential, hinge),
    so the exponential and hinge runs are the logistic run at twice the step."""
    setup = PAPER_SCALES
    twice = train_variants(setup.replace(alpha=2e-12), 10, [1, 2])
    for loss in ("exponential", "hinge"):
        run = train_variants(setup, 10, [1, 2], loss=loss)
        np.testing.assert_allclose(run.f_train, twice.f_train, rtol=1e-8)
        np.testing.assert_array_equal(run.test_acc, twice.test_acc)
        assert np.allclose(run.loss, 1.0)  # l(0) = 1 for both
    assert np.allclose(twice.loss, np.log(2.0))


def test_losses_part_once_the_margins_leave_zero():
    """Outputs of order 1 (SMALL at alpha = 0.05): the three losses give different
    networks, and the hinge run stops once every margin passes 1 (L = 0, g = 0)."""
    setup = SMALL.replace(alpha=0.05)
    runs = {loss: train_variants(setup, 60, [0], loss=loss) for loss in LOSSES}
    for one, other in [("logistic", "exponential"), ("logistic", "hinge")]:
        assert not np.allclose(runs[one].f_train, runs[other].f_train, rtol=1e-3)
    hinge = runs["hinge"]
    done = int(np.argmax(hinge.loss[0] == 0.0))
    assert 0 < done < 60
    assert (hinge.y[0] * hinge.f_train[0, done] >= 1.0).all()
    for later in hinge.f_train[0, done:]:
        np.testing.assert_array_equal(later, hinge.f_train[0, done])


def test_exponential_loss_overflow_raises():
    huge = SMALL.replace(alpha=1e6)
    with pytest.raises(xg.DivergenceError):
        train_variants(huge, 50, [0], loss="exponential")


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
    setup = PAPER_SCALES
    tr = xg.simulate(setup, 10, [1], dtype=torch.float64, outputs=True)
    run = train_variants(setup, 10, [1])
    np.testing.assert_allclose(run.f_train, tr.f_train, rtol=1e-8)
    np.testing.assert_array_equal(run.test_acc, tr.test_acc)


@pytest.mark.parametrize("switches", SWITCHES)
def test_span_method_equals_explicit_weights(switches):
    record = [0, 1, 7, 30]
    exp = train_variants(
        setup_for(switches),
        30,
        range(3),
        record=record,
        method="explicit",
        neurons=True,
        **switches,
    )
    span = train_variants(
        setup_for(switches),
        30,
        range(3),
        record=record,
        method="span",
        neurons=True,
        **switches,
    )
    for name in ("f_train", "f_test", "a_t", "proj", "loss"):
        np.testing.assert_allclose(
            getattr(span, name), getattr(exp, name), rtol=1e-9, atol=1e-12
        )
    np.testing.assert_array_equal(span.test_acc, exp.test_acc)


@pytest.mark.parametrize("switches", SWITCHES)
def test_a_seed_does_not_depend_on_its_batch_neighbours(switches):
    together = train_variants(setup_for(switches), 15, range(3), **switches)
    alone = train_variants(setup_for(switches), 15, [1], **switches)
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
    assert check_options({"loss": "logistic"}) == {}
    assert check_options({"loss": "hinge"}) == {"loss": "hinge"}
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
        {"loss": "square"},
        {"loss": None},
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
        dict(loss="cross-entropy"),
    ],
)
def test_train_variants_rejects_bad_input(kwargs):
    args = dict(setup=SMALL, steps=10, seeds=[0])
    args.update(kwargs)
    with pytest.raises(ValueError):
        train_variants(**args)


def test_second_layer_movement_at_the_paper_size():
    """The measurement quoted in xorgrok.variants' docstring, at 30 steps and 3 seeds:
    with alpha_a = alpha the second layer stays put; with alpha_a = 1e6 it moves by
    max_j |a_j(t) - a_j(0)| sqrt(m) = 1.7e-11 alpha_a t^2 (within 30 %)."""
    setup, t = xg.PAPER_FIG1_LEFT, 30
    moved = {}
    for alpha_a in (setup.alpha, 1e6):
        run = train_variants(
            setup, t, range(3), record=[0, t], train_second_layer=True, alpha_a=alpha_a
        )
        moved[alpha_a] = np.abs(run.a_t[:, 1] - run.a_t[:, 0]).max(-1) * setup.m**0.5
    assert (moved[setup.alpha] == 0.0).all()
    np.testing.assert_allclose(moved[1e6], 1.7e-11 * 1e6 * t**2, rtol=0.3)
