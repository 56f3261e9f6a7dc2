"""Tests of xorgrok.plane: the decision function on span(mu1, mu2) equals the
network's output there."""

import numpy as np
import pytest
import torch

import xorgrok
from xorgrok.model import network_output
from xorgrok.plane import decision_function_on_plane, plane_grid


def _explicit(setup, seed, steps):
    prob = xorgrok.sample_dense(setup, seed)
    W = torch.tensor(prob.W0)
    a = torch.tensor(prob.a)
    X = torch.tensor(prob.X_train)
    y = torch.tensor(prob.y, dtype=torch.float64)
    for _ in range(steps):
        W = xorgrok.model.gd_step(W, a, X, y, setup.alpha)
    return prob, W.numpy(), prob.a


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_matches_network_output_on_plane_points(steps):
    setup = xorgrok.Setup(
        p=60, n=20, n_test=10, m=30, mu_norm=4.0, eta=0.1, omega_init=0.01, alpha=0.05
    )
    prob, W, a = _explicit(setup, seed=3, steps=steps)
    mu_norm = setup.mu_norm
    # <w_j, mu1>, <w_j, mu2> with mu_k = ||mu|| e_k
    proj = np.stack([W[:, 0] * mu_norm, W[:, 1] * mu_norm], axis=1)
    rng = np.random.default_rng(0)
    pts = rng.normal(scale=6.0, size=(50, 2))
    X = np.zeros((50, setup.p))
    X[:, :2] = pts  # explicit points lying in the plane
    expected = network_output(torch.tensor(W), torch.tensor(a), torch.tensor(X)).numpy()
    got = decision_function_on_plane(proj, a, mu_norm, pts)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_matches_trajectory_proj_and_batches():
    setup = xorgrok.Setup(
        p=50, n=16, n_test=8, m=12, mu_norm=3.0, eta=0.0, omega_init=0.05, alpha=0.1
    )
    traj = xorgrok.simulate(setup, 2, seeds=[0, 1], engine="dense", neurons=True)
    _, _, pts = plane_grid(5.0, 7)
    batch = decision_function_on_plane(
        traj.proj, traj.a[:, None, :], setup.mu_norm, pts
    )
    assert batch.shape == (2, 3, 7, 7)
    for s, seed in enumerate([0, 1]):
        _, W, a = _explicit(setup, seed, 2)
        X = np.zeros((49, setup.p))
        X[:, :2] = pts.reshape(-1, 2)
        expected = (
            network_output(torch.tensor(W), torch.tensor(a), torch.tensor(X))
            .numpy()
            .reshape(7, 7)
        )
        np.testing.assert_allclose(batch[s, 2], expected, rtol=1e-9, atol=1e-12)


def test_positive_homogeneous_and_odd_part():
    rng = np.random.default_rng(1)
    proj, a = rng.normal(size=(40, 2)), rng.choice([-1.0, 1.0], 40)
    pts = rng.normal(size=(10, 2))
    f = decision_function_on_plane(proj, a, 2.0, pts)
    np.testing.assert_allclose(decision_function_on_plane(proj, a, 2.0, 3 * pts), 3 * f)
    # phi(z) - phi(-z) = z: f(x) - f(-x) is linear in x
    lin = (a[:, None] * (proj / 2.0)).sum(0)
    np.testing.assert_allclose(
        f - decision_function_on_plane(proj, a, 2.0, -pts), pts @ lin, atol=1e-12
    )


def test_plane_grid_shapes():
    x1, x2, pts = plane_grid(2.0, 5)
    assert x1.shape == x2.shape == (5, 5) and pts.shape == (5, 5, 2)
    assert pts[0, 0, 0] == -2.0 and pts[-1, -1, 1] == 2.0


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(proj=np.zeros((3, 3))), "proj"),
        (dict(a=np.zeros(4)), "a must"),
        (dict(mu_norm=0.0), "mu_norm"),
        (dict(mu_norm=float("nan")), "mu_norm"),
        (dict(grid=np.zeros((4, 3))), "grid"),
        (dict(proj=np.full((3, 2), np.inf)), "proj"),
    ],
)
def test_bad_input(kw, match):
    args = dict(
        proj=np.zeros((3, 2)), a=np.zeros(3), mu_norm=1.0, grid=np.zeros((4, 2))
    )
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        decision_function_on_plane(**args)


@pytest.mark.parametrize("limit, num", [(0.0, 5), (-1.0, 5), (1.0, 1), (1.0, 2.5)])
def test_plane_grid_bad_input(limit, num):
    with pytest.raises(ValueError):
        plane_grid(limit, num)
