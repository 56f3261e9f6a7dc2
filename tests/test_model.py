"""The hand-written loss, gradient and update against torch.autograd."""

import math

import pytest
import torch

from xorgrok.model import (
    empirical_risk,
    gd_step,
    gradient,
    logistic_loss,
    loss_derivative_weight,
    network_output,
)


def _random_problem(seed, m=7, n=11, d=5, batch=()):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(*batch, m, d, generator=g, dtype=torch.float64)
    a = (torch.randint(0, 2, (*batch, m), generator=g) * 2 - 1).double() / math.sqrt(m)
    X = torch.randn(*batch, n, d, generator=g, dtype=torch.float64) * 3
    y = (torch.randint(0, 2, (*batch, n), generator=g) * 2 - 1).double()
    return W, a, X, y


@pytest.mark.parametrize("seed", range(5))
def test_gradient_matches_autograd(seed):
    W, a, X, y = _random_problem(seed)
    Wg = W.clone().requires_grad_(True)
    empirical_risk(Wg, a, X, y).backward()
    torch.testing.assert_close(gradient(W, a, X, y), Wg.grad, rtol=1e-12, atol=1e-14)


def test_gradient_matches_autograd_batched():
    W, a, X, y = _random_problem(9, batch=(3,))
    Wg = W.clone().requires_grad_(True)
    empirical_risk(Wg, a, X, y).sum().backward()
    torch.testing.assert_close(gradient(W, a, X, y), Wg.grad, rtol=1e-12, atol=1e-14)


def test_network_output_is_the_sum_over_neurons():
    W, a, X, _ = _random_problem(1)
    direct = torch.stack(
        [sum(a[j] * torch.relu(W[j] @ x) for j in range(W.shape[0])) for x in X]
    )
    torch.testing.assert_close(network_output(W, a, X), direct)


def test_gd_step_is_the_papers_update():
    W, a, X, y = _random_problem(2)
    alpha, n = 0.37, X.shape[0]
    f = network_output(W, a, X)
    g = 1 / (1 + torch.exp(y * f))  # -l'(y f)
    expected = W.clone()
    for j in range(W.shape[0]):
        for i in range(n):
            if W[j] @ X[i] > 0:
                expected[j] += alpha * a[j] / n * g[i] * y[i] * X[i]
    torch.testing.assert_close(gd_step(W, a, X, y, alpha), expected)


def test_loss_is_stable_for_large_margins():
    z = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=torch.float64)
    loss = logistic_loss(z)
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss[0], torch.tensor(1e4, dtype=torch.float64))
    torch.testing.assert_close(loss[2], torch.tensor(math.log(2), dtype=torch.float64))
    assert loss[-1] >= 0 and loss[-1] < 1e-300 + 1e-20
    g = loss_derivative_weight(z)
    assert torch.isfinite(g).all() and g[0] == 1.0 and g[-1] == 0.0 and g[2] == 0.5
    for dtype in (torch.float32, torch.float64):
        assert torch.isfinite(
            logistic_loss(torch.tensor([-1e30, 1e30], dtype=dtype))
        ).all()
