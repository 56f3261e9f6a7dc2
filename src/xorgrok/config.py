"""One configuration of the paper's experiment: :class:`Setup` and the paper's own
setups.

The field names are the paper's symbols (the paper's Sections 2-3 and Appendix A.7):

====================  =====================================================
``p``                 input dimension
``n``                 number of training points (noisy labels)
``n_test``            number of test points (clean labels)
``m``                 number of hidden neurons
``mu_norm``           ``||mu||``, the norm of both cluster means mu1, mu2
``eta``               label-flip probability of the training labels
``omega_init``        standard deviation of every first-layer weight at t = 0
``alpha``             the constant gradient-descent step size
====================  =====================================================
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

__all__ = ["Setup", "PAPER_FIG1_LEFT", "PAPER_FIG1_RIGHT"]


#: Largest integer field: 2**53 (float64 holds every integer up to it exactly).
MAX_INT = 2**53


def _check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as a Python int: ints and numpy integers only (no bool, no float,
    however round)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        message = f"{name} must be an integer in [{minimum}, 2**53], got {value!r}"
        raise ValueError(message)
    if not minimum <= value <= MAX_INT:
        raise ValueError(
            f"{name} must be an integer in [{minimum}, 2**53], got {value}"
        )
    return int(value)


def _check_real(name: str, value: Any) -> float:
    """``value`` as a finite Python float: ints, floats and numpy numbers (no bool)."""
    real = (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {value}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class Setup:
    """An immutable, validated configuration of data, network and gradient descent.

    Raises ``ValueError`` naming the field and its allowed range when a value is out of
    range: ``p >= 3`` (two mean directions plus noise), ``n, n_test, m >= 1`` (integers,
    at most 2**53; numpy integers are accepted, floats are not, however round),
    ``mu_norm > 0`` and ``alpha > 0`` (finite), ``0 <= eta < 0.5``, ``omega_init >= 0``
    (finite, with omega_init^2 p finite); numpy floating scalars are accepted and stored
    as Python floats.
    """

    p: int
    n: int
    n_test: int
    m: int
    mu_norm: float
    eta: float
    omega_init: float
    alpha: float

    def __post_init__(self) -> None:
        for name, low in (("p", 3), ("n", 1), ("n_test", 1), ("m", 1)):
            object.__setattr__(self, name, _check_int(name, getattr(self, name), low))
        for name, low, low_open in (
            ("mu_norm", 0.0, True),
            ("alpha", 0.0, True),
            ("omega_init", 0.0, False),
        ):
            value = _check_real(name, getattr(self, name))
            if value < low or (low_open and value == low):
                bound = "> 0" if low_open else ">= 0"
                raise ValueError(f"{name} must be finite and {bound}, got {value}")
            object.__setattr__(self, name, value)
        eta = _check_real("eta", self.eta)
        if not 0.0 <= eta < 0.5:
            raise ValueError(f"eta must be in [0, 0.5), got {eta}")
        object.__setattr__(self, "eta", eta)
        # The sampler squares these: ||w_j^(0)||^2 and ||mu||^2 must be finite.
        if not math.isfinite(self.omega_init * self.omega_init * self.p):
            raise ValueError(
                f"omega_init must make omega_init^2 p finite, got {self.omega_init:g}"
            )
        if not math.isfinite(self.mu_norm * self.mu_norm * 4.0):
            raise ValueError(f"mu_norm must make ||mu||^2 finite, got {self.mu_norm:g}")

    def replace(self, **changes: Any) -> "Setup":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dictionary (for tables, CSV headers and cache keys)."""
        return asdict(self)

    @property
    def n_total(self) -> int:
        """N = n + n_test, the number of points sampled per run."""
        return self.n + self.n_test


_PAPER_P = 40_000
_PAPER_N = 200

#: Figure 1, left panel (the paper's Appendix A.7): alpha = 1e-12, about 50 steps.
PAPER_FIG1_LEFT = Setup(
    p=_PAPER_P,
    n=_PAPER_N,
    n_test=200,
    m=1000,
    mu_norm=2.5 * math.sqrt(_PAPER_P / _PAPER_N),
    eta=0.05,
    omega_init=1e-15,
    alpha=1e-12,
)

#: Figure 1, right panel (the paper's Appendix A.7): alpha = 1e-16, about 5000 steps.
PAPER_FIG1_RIGHT = PAPER_FIG1_LEFT.replace(alpha=1e-16)
