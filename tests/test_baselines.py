"""Tests of xorgrok.baselines: linear rules, logistic regression, the Bayes-optimal
rule."""

import math

import numpy as np
import pytest

import xorgrok
from xorgrok import baselines as bl
from xorgrok.data import CLUSTER_LABEL, cluster_means


def _clean_plane_sample(mu_norm, k, seed):
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 4, size=k)
    return cluster_means(mu_norm)[cluster] + rng.standard_normal((k, 2)), CLUSTER_LABEL[
        cluster
    ]


@pytest.mark.parametrize("v", [[1.0, 0.0], [0.3, -2.0], [1.0, 1.0]])
@pytest.mark.parametrize("mu_norm", [0.0, 1.0, 35.0])
def test_homogeneous_linear_is_exactly_half(v, mu_norm):
    assert bl.linear_classifier_accuracy(v, 3.0, mu_norm) == pytest.approx(
        0.5, abs=1e-15
    )


def test_linear_accuracy_matches_monte_carlo():
    X, y = _clean_plane_sample(2.0, 400_000, 1)
    v, b = np.array([1.0, 0.5]), -1.0
    mc = np.mean(np.sign(X @ v + b) == y)
    assert bl.linear_classifier_accuracy(v, np.linalg.norm(v), 2.0, b) == pytest.approx(
        mc, abs=4 * 0.5 / math.sqrt(4e5)
    )


def test_best_affine_tends_to_three_quarters():
    acc_small, _, _ = bl.best_affine_accuracy(0.0)
    acc_large, v, b = bl.best_affine_accuracy(30.0)
    assert acc_small == pytest.approx(0.5, abs=1e-9)
    assert acc_large == pytest.approx(0.75, abs=1e-6)
    assert bl.linear_classifier_accuracy(v, 1.0, 30.0, b) == pytest.approx(acc_large)


def test_logistic_regression_recovers_a_separable_direction():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3))
    y = np.where(X @ np.array([2.0, -1.0, 0.0]) + 0.5 > 0, 1.0, -1.0)
    v, b = bl.fit_logistic_regression(X, y, l2=1e-4)
    assert np.mean(np.sign(X @ v + b) == y) > 0.97
    cos = v @ np.array([2.0, -1.0, 0.0]) / (np.linalg.norm(v) * math.sqrt(5))
    assert cos > 0.98


def test_logistic_regression_on_xor_is_near_trivial():
    X, y = _clean_plane_sample(3.0, 20_000, 2)
    v, b = bl.fit_logistic_regression(X, y.astype(float), l2=0.0)
    # the population minimizer is v = 0, b = 0 (symmetry x -> -x and convexity); the
    # sample one is close
    assert np.linalg.norm(v) < 0.05 and abs(b) < 0.05
    # with an intercept the rule sgn(<v, x> + b) depends on b / ||v||, a ratio of two
    # small numbers: anything up to the best affine accuracy; without intercept it is
    # exactly 1/2
    assert (
        bl.linear_classifier_accuracy(v, np.linalg.norm(v), 3.0, b)
        <= bl.best_affine_accuracy(3.0)[0] + 1e-9
    )
    v0, b0 = bl.fit_logistic_regression(X, y.astype(float), l2=0.0, fit_intercept=False)
    assert b0 == 0.0
    assert np.mean(np.sign(X @ v0) == y) == pytest.approx(
        0.5, abs=4 * 0.5 / math.sqrt(20_000)
    )


def test_bayes_posterior_and_rule():
    pts = np.array([[2.0, 0.1], [0.1, -2.0], [1.0, 1.0], [-3.0, 2.0]])
    post = bl.bayes_posterior(pts, 1.5)
    expected = np.cosh(1.5 * pts[:, 0]) / (
        np.cosh(1.5 * pts[:, 0]) + np.cosh(1.5 * pts[:, 1])
    )
    np.testing.assert_allclose(post, expected, rtol=1e-12)
    np.testing.assert_array_equal(bl.bayes_predict(pts), [1, -1, -1, 1])
    assert np.all(np.isfinite(bl.bayes_posterior(pts * 1e4, 35.0)))


@pytest.mark.parametrize("mu_norm", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_bayes_error_closed_form_matches_monte_carlo(mu_norm):
    est, se = bl.bayes_error_mc(mu_norm, 200_000, seed=3)
    assert bl.bayes_error(mu_norm) == pytest.approx(est, abs=5 * max(se, 1e-4))


def test_bayes_error_limits_and_noise():
    assert bl.bayes_error(0.0) == pytest.approx(0.5)
    assert 0 < bl.bayes_error(xorgrok.PAPER_FIG1_LEFT.mu_norm) < 1e-100
    assert bl.noisy_bayes_error(0.0, 0.1) == pytest.approx(0.5)
    assert bl.noisy_bayes_error(40.0, 0.05) == pytest.approx(0.05)


def test_bayes_beats_every_linear_rule():
    for mu_norm in (0.5, 1.5, 3.0):
        acc, _, _ = bl.best_affine_accuracy(mu_norm)
        assert 1 - bl.bayes_error(mu_norm) >= acc - 1e-9


@pytest.mark.parametrize(
    "call",
    [
        lambda: bl.linear_classifier_accuracy([1.0], 1.0, 1.0),
        lambda: bl.linear_classifier_accuracy([1.0, 1.0], 0.5, 1.0),
        lambda: bl.linear_classifier_accuracy([1.0, 0.0], 1.0, -1.0),
        lambda: bl.bayes_error(float("nan")),
        lambda: bl.bayes_error_mc(1.0, 0),
        lambda: bl.noisy_bayes_error(1.0, 0.5),
        lambda: bl.fit_logistic_regression(np.zeros((3, 2)), np.array([1.0, 0.0, 1.0])),
        lambda: bl.fit_logistic_regression(np.zeros((3, 2)), np.ones(3), l2=-1.0),
        lambda: bl.bayes_predict(np.zeros((3, 3))),
    ],
)
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()
