"""Tests of xorgrok.plateau (the large-width limit of the plateau) and the plateau-data command."""

import csv
import math

import numpy as np
import pytest
from scipy import integrate, stats

from xorgrok import plateau as PL
from xorgrok.cli import main
from xorgrok.plateau_data import BASE, cell_setup, first_step


def test_time_scale_and_cells():
    s = cell_setup(100, 5.0)
    r = s.omega_init / s.alpha
    assert PL.ratio(s) == pytest.approx(r)
    assert PL.time_scale(s) == pytest.approx(2 * s.n * 10 * r / math.sqrt(s.p))
    assert PL.time_scale(s) == pytest.approx(5.0)
    assert s.mu_norm**2 * math.sqrt(s.n) / s.p == pytest.approx(0.1)


@pytest.mark.parametrize("s", [0.0, 0.01, 0.3, 1.0, 4.0])
def test_fit_response_against_integral(s):
    # Lambda(s) = s/2 + integral_0^s (1 - Phi(u)) du
    brute = s / 2 + integrate.quad(lambda u: stats.norm.sf(u), 0, s)[0]
    assert float(PL.fit_response(s)) == pytest.approx(brute, abs=1e-12)
    assert PL.inverse_fit_response(brute) == pytest.approx(s, abs=1e-9)


def test_fit_response_is_the_neuron_average():
    # the derivation: drift of y f over m neurons with h ~ N(0, 1), half with a y > 0
    # (grow by s if active), half with a y < 0 (shrink by s, clipped at 0), times sqrt(m)/2
    rng = np.random.default_rng(0)
    h = rng.standard_normal(400_000)
    for s in (0.2, 1.5):
        grow = np.mean((h > 0) * s)
        shrink = np.mean(np.maximum(h, 0) - np.maximum(h - s, 0))
        assert grow + shrink == pytest.approx(float(PL.fit_response(s)), abs=5e-3)


def test_max_normal_quantile_monte_carlo():
    rng = np.random.default_rng(1)
    mx = rng.standard_normal((20_000, 50)).max(1)
    for q in (0.2, 0.5, 0.8):
        assert PL.max_normal_quantile(q, 50) == pytest.approx(np.quantile(mx, q), abs=0.03)
    with pytest.raises(ValueError, match="q must"):
        PL.max_normal_quantile(1.0, 5)
    with pytest.raises(ValueError, match="n must"):
        PL.max_normal_quantile(0.5, 0)


def test_fit_time_quantile():
    s = cell_setup(100, 5.0)
    z = PL.max_normal_quantile(0.5, s.n)
    x = math.sqrt(2) * z / 10
    t = PL.fit_time_quantile(s)
    assert float(PL.fit_response(t / 5.0)) == pytest.approx(x, rel=1e-9)
    # small x: Lambda^-1(x) ~ x, so t ~ 2 sqrt(2) n r z / sqrt(p)
    big = cell_setup(10**6, 5.0)
    r = PL.ratio(big)
    assert PL.fit_time_quantile(big) == pytest.approx(
        2 * math.sqrt(2) * big.n * r * z / math.sqrt(big.p), rel=1e-2)
    with pytest.raises(ValueError):
        PL.inverse_fit_response(-1.0)


def test_first_step():
    t = np.array([0, 1, 2, 5])
    c = np.array([[0.1, 0.5, 0.9, 1.0], [0.1, 0.1, 0.2, 0.3]])
    out = first_step(t, c, 0.9)
    assert out[0] == 2 and np.isnan(out[1])


def test_plateau_data_command(tmp_path, monkeypatch):
    import xorgrok.plateau_data as PD

    monkeypatch.setattr(PD, "CELLS", ((4, 0.5),))
    monkeypatch.setattr(PD, "BASE", BASE.replace(n_test=20))
    out = tmp_path / "pl"
    assert main(["plateau-data", "--out", str(out), "--seeds", "2"]) == 0
    with open(out / "plateau_runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and rows[0]["m"] == "4"
    assert "wall time" in (out / "provenance_plateau.txt").read_text()
