"""The two-layer ReLU network, the logistic loss and its gradient (the paper's Section
2.3).

These are the plain reference formulas, written for explicit weights; the engines in
:mod:`xorgrok.engines` apply them, and the tests check them against ``torch.autograd``.
Tensors may carry leading batch dimensions (one per seed).
"""

from __future__ import annotations

import torch

__all__ = [
    "network_output",
    "logistic_loss",
    "loss_derivative_weight",
    "empirical_risk",
    "gradient",
    "gd_step",
]


def network_output(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """f(x; W) = sum_j a_j ReLU(<w_j, x>) for every row x of X.

    Shapes: W [..., m, d], a [..., m], X [..., N, d] -> [..., N].
    """
    return (torch.relu(X @ W.transpose(-1, -2)) @ a.to(W.dtype).unsqueeze(-1)).squeeze(
        -1
    )


def logistic_loss(z: torch.Tensor) -> torch.Tensor:
    """l(z) = log(1 + exp(-z)), computed stably (softplus) for margins of any size."""
    return torch.nn.functional.softplus(-z)


def loss_derivative_weight(z: torch.Tensor) -> torch.Tensor:
    """g = -l'(z) = 1 / (1 + exp(z)) = sigmoid(-z), in (0, 1) for every finite z,
    without overflow."""
    return torch.sigmoid(-z)


def empirical_risk(
    W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """L(W) = (1/n) sum_i l(y_i f(x_i; W)).  Shapes: X [..., n, d], y [..., n] ->
    [...]."""
    return logistic_loss(y * network_output(W, a, X)).mean(-1)


def gradient(
    W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """The gradient of L with respect to W, written out by hand.

    grad_{w_j} L = -(a_j / n) sum_i g_i phi'(<w_j, x_i>) y_i x_i with g_i = -l'(y_i
    f(x_i; W)) and phi'(z) = 1[z > 0].  Shapes: W [..., m, d], a [..., m], X [..., n,
    d], y [..., n] -> [..., m, d].
    """
    n = X.shape[-2]
    H = W @ X.transpose(-1, -2)  # [..., m, n]: <w_j, x_i>
    f = (torch.relu(H) * a.to(W.dtype).unsqueeze(-1)).sum(-2)  # [..., n]
    v = loss_derivative_weight(y * f) * y  # g_i y_i
    active = (H > 0).to(W.dtype)
    return -(a.to(W.dtype).unsqueeze(-1) / n) * ((active * v.unsqueeze(-2)) @ X)


def gd_step(
    W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, y: torch.Tensor, alpha: float
) -> torch.Tensor:
    """One step of the paper's update (2.2): w_j <- w_j + (alpha a_j / n) sum_i g_i
    phi'(<w_j, x_i>) y_i x_i."""
    return W - alpha * gradient(W, a, X, y)
