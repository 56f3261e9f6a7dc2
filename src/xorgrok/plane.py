"""The network's decision function restricted to the plane span(mu1, mu2) (the paper's
Figure 2).

A point of the plane is x = x_1 e1 + x_2 e2 with e1 = mu1/||mu||, e2 = mu2/||mu||. For
such a point <w_j, x> = x_1 <w_j, e1> + x_2 <w_j, e2> = (x_1 <w_j, mu1> + x_2 <w_j,
mu2>) / ||mu||, so

    f(x; W) = sum_j a_j ReLU(x_1 <w_j, e1> + x_2 <w_j, e2>)

needs only the neurons' projections ``proj[j] = (<w_j, mu1>, <w_j, mu2>)``, which
``xorgrok.simulate(..., neurons=True)`` records as ``Trajectory.proj``. The components
of w_j orthogonal to the plane do not meet a point of the plane, so this is the
network's output on the plane exactly (real data points sit off the plane: their
coordinates in the plane are only a projection).
"""

from __future__ import annotations

import numpy as np

__all__ = ["decision_function_on_plane", "plane_grid"]


def _as_float_array(name: str, value, ndim_min: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a real array, got {type(value).__name__}"
        ) from exc
    if arr.ndim < ndim_min:
        raise ValueError(
            f"{name} must have at least {ndim_min} dimension(s), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def decision_function_on_plane(proj, a, mu_norm: float, grid) -> np.ndarray:
    """f(x; W) = sum_j a_j ReLU(x_1 <w_j, e1> + x_2 <w_j, e2>) for points x of span(mu1,
    mu2).

    Args:
        proj: [..., m, 2] the projections (<w_j, mu1>, <w_j, mu2>) (``Trajectory.proj[s,
            k]``); leading batch dimensions (seeds, steps) are allowed.
        a: [..., m] second-layer weights, broadcastable against proj's batch dimensions
            (``Trajectory.a[s]``).
        mu_norm: ||mu|| > 0; ``proj / mu_norm`` are the coordinates (<w_j, e1>, <w_j,
            e2>).
        grid: [..., 2] points in the (mu1/||mu||, mu2/||mu||) coordinates of the plane
            (``Trajectory.plane``).

    Returns:
        [*batch, *grid_shape] the network output at every grid point (batch = proj's
        leading dims).

    Raises:
        ValueError: shapes that do not fit, non-finite input or mu_norm <= 0.
    """
    proj = _as_float_array("proj", proj, 2)
    a = _as_float_array("a", a, 1)
    grid = _as_float_array("grid", grid, 1)
    if isinstance(mu_norm, bool) or not isinstance(
        mu_norm, (int, float, np.floating, np.integer)
    ):
        raise ValueError(f"mu_norm must be a real number > 0, got {mu_norm!r}")
    if not (np.isfinite(mu_norm) and mu_norm > 0):
        raise ValueError(f"mu_norm must be finite and > 0, got {mu_norm}")
    if proj.shape[-1] != 2:
        raise ValueError(f"proj must have shape [..., m, 2], got {proj.shape}")
    if grid.shape[-1] != 2:
        raise ValueError(f"grid must have shape [..., 2], got {grid.shape}")
    m = proj.shape[-2]
    if a.shape[-1] != m:
        raise ValueError(
            f"a must have shape [..., m] with m = {m} (from proj), got {a.shape}"
        )
    batch = np.broadcast_shapes(proj.shape[:-2], a.shape[:-1])
    gshape = grid.shape[:-1]
    pts = grid.reshape(-1, 2)  # [G, 2]
    # <w_j, e1>, <w_j, e2>
    coef = np.broadcast_to(proj / float(mu_norm), batch + (m, 2))
    aa = np.broadcast_to(a, batch + (m,))
    pre = coef @ pts.T  # [*batch, m, G]
    np.maximum(pre, 0.0, out=pre)  # ReLU in place
    out = (aa[..., None, :] @ pre)[..., 0, :]  # a BLAS product: much faster than einsum
    return out.reshape(batch + gshape)


def plane_grid(
    limit: float, num: int = 201
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A square grid [-limit, limit]^2 of the plane for contour plots.

    Returns ``(x1, x2, points)`` with x1, x2 [num, num] (``np.meshgrid``, 'xy' indexing)
    and points [num, num, 2].
    """
    if (
        isinstance(limit, bool)
        or not isinstance(limit, (int, float, np.floating, np.integer))
        or not (np.isfinite(limit) and limit > 0)
    ):
        raise ValueError(f"limit must be a finite real number > 0, got {limit!r}")
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 2:
        raise ValueError(f"num must be an integer >= 2, got {num!r}")
    axis = np.linspace(-float(limit), float(limit), int(num))
    x1, x2 = np.meshgrid(axis, axis)
    return x1, x2, np.stack([x1, x2], axis=-1)
