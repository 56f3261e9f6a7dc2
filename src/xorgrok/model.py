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
    r""":math:`f(x; W) = \sum_j a_j \mathrm{ReLU}(\langle w_j, x\rangle)` for every row
    :math:`x` of :math:`X`.

    Shapes: W [..., m, d], a [..., m], X [..., N, d] -> [..., N].
    """
    return (torch.relu(X @ W.transpose(-1, -2)) @ a.to(W.dtype).unsqueeze(-1)).squeeze(
        -1
    )


def logistic_loss(z: torch.Tensor) -> torch.Tensor:
    r""":math:`\ell(z) = \log(1 + e^{-z})`, computed stably (softplus) for margins of
    any size."""
    return torch.nn.functional.softplus(-z)


def loss_derivative_weight(z: torch.Tensor) -> torch.Tensor:
    r""":math:`g = -\ell'(z) = 1 / (1 + e^{z}) = \sigma(-z)`, in :math:`(0, 1)` for
    every finite :math:`z`, without overflow."""
    return torch.sigmoid(-z)


def empirical_risk(
    W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    r""":math:`L(W) = \frac{1}{n} \sum_i \ell(y_i f(x_i; W))`.  Shapes: X [..., n, d], y
    [..., n] -> [...]."""
    return logistic_loss(y * network_output(W, a, X)).mean(-1)


def gradient(
    W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    r"""The gradient of :math:`L` with respect to :math:`W`, written out by hand.

    .. math::

        \nabla_{w_j} L = -\frac{a_j}{n} \sum_i g_i \phi'(\langle w_j, x_i\rangle)\, y_i
        x_i

    with :math:`g_i = -\ell'(y_i f(x_i; W))` and :math:`\phi'(z) = \mathbb{1}[z > 0]`.
    Shapes: W [..., m, d], a [..., m], X [..., n,
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
    r"""One step of the paper's update (2.2): :math:`w_j \leftarrow w_j + \frac{\alpha
    a_j}{n} \sum_i g_i \phi'(\langle w_j, x_i\rangle)\, y_i x_i`."""
    return W - alpha * gradient(W, a, X, y)
