"""Setup validation and the paper's setups."""

import math

import pytest

import xorgrok as xg

GOOD = dict(
    p=100, n=10, n_test=20, m=8, mu_norm=3.0, eta=0.1, omega_init=1e-6, alpha=1e-3
)


def test_valid_setup_is_frozen_and_replaceable():
    s = xg.Setup(**GOOD)
    with pytest.raises(AttributeError):
        s.p = 5  # type: ignore[misc]
    assert s.replace(p=200).p == 200 and s.p == 100
    assert s.n_total == 30
    assert s.as_dict()["alpha"] == 1e-3


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("p", 2, "p must be an integer in [3, 2**53]"),
        ("p", 10.5, "p must be an integer"),
        ("n", 0, "n must be an integer in [1, 2**53]"),
        ("n_test", 0, "n_test must be an integer in [1, 2**53]"),
        ("m", 0, "m must be an integer in [1, 2**53]"),
        ("m", True, "m must be an integer"),
        ("eta", 0.5, "eta must be in [0, 0.5)"),
        ("eta", -0.1, "eta must be in [0, 0.5)"),
        ("mu_norm", 0.0, "mu_norm must be finite and > 0"),
        ("mu_norm", math.inf, "mu_norm must be finite"),
        ("alpha", -1.0, "alpha must be finite and > 0"),
        ("alpha", math.nan, "alpha must be finite"),
        ("omega_init", -1e-9, "omega_init must be finite and >= 0"),
        ("omega_init", "big", "omega_init must be a real number"),
    ],
)
def test_bad_values_name_the_field_and_range(field, value, fragment):
    with pytest.raises(ValueError) as err:
        xg.Setup(**{**GOOD, field: value})
    assert fragment in str(err.value)


def test_zero_initialization_and_zero_noise_are_allowed():
    xg.Setup(**{**GOOD, "omega_init": 0.0, "eta": 0.0})


def test_paper_setups_follow_the_paper():
    left, right = xg.PAPER_FIG1_LEFT, xg.PAPER_FIG1_RIGHT
    assert (left.p, left.n, left.n_test, left.m, left.eta, left.omega_init) == (
        40_000,
        200,
        200,
        1000,
        0.05,
        1e-15,
    )
    assert left.mu_norm == pytest.approx(
        2.5 * math.sqrt(40_000 / 200)
    ) and left.mu_norm == pytest.approx(35.355, abs=1e-3)
    assert left.alpha == 1e-12 and right.alpha == 1e-16
    assert right.replace(alpha=1e-12) == left
