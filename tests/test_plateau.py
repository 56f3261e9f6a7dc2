"""Tests of xorgrok.plateau (the large-width limit of the plateau) and the plateau-data
command."""

import csv
import math

import numpy as np
import pytest
from scipy import integrate, stats

from xorgrok import plateau as PL
from xorgrok.cli import main
from xorgrok.plateau_data import BASE, cell_setup


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
    # (grow by s if active), half with a y < 0 (shrink by s, clipped at 0), times
    # sqrt(m)/2
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
        assert PL.max_normal_quantile(q, 50) == pytest.approx(
            np.quantile(mx, q), abs=0.03
        )
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
        2 * math.sqrt(2) * big.n * r * z / math.sqrt(big.p), rel=1e-2
    )
    with pytest.raises(ValueError):
        PL.inverse_fit_response(-1.0)


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


def _brute_limit(cluster, y, beta, s_max, ds, g, xi, sign):
    """Neuron by neuron, point by point, the Euler steps of the limit dynamics."""
    clean = [1, 1, -1, -1]
    opp = [1, 0, 3, 2]
    axis_sign = [(0, 1), (0, -1), (1, 1), (1, -1)]
    J, n = xi.shape
    h = np.array(
        [
            [
                math.sqrt(beta)
                * g[j, axis_sign[cluster[i]][0]]
                * axis_sign[cluster[i]][1]
                + xi[j, i]
                for i in range(n)
            ]
            for j in range(J)
        ]
    )
    c = np.array(
        [
            [
                math.sqrt(beta) * g[j, axis_sign[v][0]] * axis_sign[v][1]
                for v in range(4)
            ]
            for j in range(J)
        ]
    )
    for _ in range(int(round(s_max / ds))):
        newh, newc = h.copy(), c.copy()
        for j in range(J):
            d = [
                sum(
                    y[i] * clean[v] for i in range(n) if cluster[i] == v and h[j, i] > 0
                )
                for v in range(4)
            ]
            D = [d[v] - d[opp[v]] for v in range(4)]
            for i in range(n):
                v = cluster[i]
                newh[j, i] += (
                    sign[j] * ds * (y[i] * (h[j, i] > 0) + beta * clean[v] * D[v])
                )
            for v in range(4):
                newc[j, v] += sign[j] * ds * beta * clean[v] * D[v]
        h, c = newh, newc
    M = [
        clean[v]
        * np.mean(
            [
                sign[j] * (c[j, v] * stats.norm.cdf(c[j, v]) + stats.norm.pdf(c[j, v]))
                for j in range(J)
            ]
        )
        for v in range(4)
    ]
    return np.array(M)


def test_limit_dynamics_brute_force():
    rng = np.random.default_rng(5)
    n, J, beta = 9, 6, 0.3
    cluster = rng.integers(0, 4, size=n)
    y = np.where(rng.random(n) < 0.2, -1.0, 1.0) * np.array([1, 1, -1, -1])[cluster]
    s, M, V = PL.limit_dynamics(
        cluster, y, beta, 1.2, ds=0.3, neurons=J, seed=11, every=1
    )
    # the same population: the function draws g then xi from default_rng(seed)
    pop = np.random.default_rng(11)
    g = pop.standard_normal((J, 2))
    root = math.sqrt(beta)
    c0 = root * g[:, [0, 0, 1, 1]] * np.array([1, -1, 1, -1])
    xi = pop.standard_normal((J, n))
    sign = np.where(np.arange(J) % 2 == 0, 1.0, -1.0)
    assert np.allclose(s, [0, 0.3, 0.6, 0.9, 1.2])
    assert np.allclose(
        M[-1], _brute_limit(cluster, y, beta, 1.2, 0.3, g, xi, sign), atol=1e-12
    )
    assert np.allclose(
        M[0],
        np.array([1, 1, -1, -1])
        * (sign[:, None] * (c0 * stats.norm.cdf(c0) + stats.norm.pdf(c0))).mean(0),
    )
    assert np.all(V > 0)


def test_limit_accuracy():
    M = np.array([[0.1, -0.1, 0.0, 0.2]])
    V = np.full((1, 4), 0.25)
    acc = PL.limit_accuracy(M, V, 4)
    assert acc[0] == pytest.approx(np.mean(stats.norm.cdf(2 * M[0] / 0.5)))
    with pytest.raises(ValueError, match="m must"):
        PL.limit_accuracy(M, V, 0)
