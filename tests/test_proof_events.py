"""Tests of xorgrok.proof_events and the theorem-data command, against brute force on
small cases."""

import csv
import math

import numpy as np
import pytest
import torch

import xorgrok
from xorgrok import proof_events as PE
from xorgrok.cli import main
from xorgrok.data import sample_dense
from xorgrok.features import EPSILON_MAX, predicted_preact_change
from xorgrok.model import gd_step
from xorgrok.theorem_data import theorem_setup

SMALL = xorgrok.Setup(
    p=600, n=24, n_test=8, m=30, mu_norm=9.0, eta=0.1, omega_init=1e-3, alpha=1e-2
)


def test_window():
    assert PE.theorem_window(100, 1.0) == (2, 10)  # 100^0.01 = 1.047
    assert PE.theorem_window(400, 4.0) == (5, 20)  # 4 * 400^0.01 = 4.24
    lo, hi = PE.theorem_window(16, 8.0)
    assert lo > hi  # empty window
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="n must"):
            PE.theorem_window(bad, 1.0)
    with pytest.raises(ValueError, match="C must"):
        PE.theorem_window(10, 0.5)


def _brute_data_events(problem, eps):
    s = problem.setup
    n, p, mu = s.n, s.p, s.mu_norm
    L = math.log(n)
    nus = [mu * np.eye(p)[0], -mu * np.eye(p)[0], mu * np.eye(p)[1], -mu * np.eye(p)[1]]
    X = problem.X[:n]
    xbar = [nus[c] for c in problem.cluster[:n]]
    b1 = 0.0
    for k in range(n):
        for nu in nus:
            b1 = max(b1, float((X[k] - xbar[k]) @ nu) / (10 * math.sqrt(L) * mu))
        b1 = max(b1, abs(X[k] @ X[k] - p - mu**2) / (10 * math.sqrt(p * L)))
    b2 = max(
        abs(X[i] @ X[k] - xbar[i] @ xbar[k]) / (10 * math.sqrt(p * L))
        for i in range(n)
        for k in range(n)
        if i != k
    )
    c = [
        sum(1 for i in range(n) if problem.cluster[i] == v and not problem.flipped[i])
        for v in range(4)
    ]
    nn = [
        sum(1 for i in range(n) if problem.cluster[i] == v and problem.flipped[i])
        for v in range(4)
    ]
    opp = [1, 0, 3, 2]
    b3 = max(
        max(
            abs(c[v] + nn[v] - n / 4) / math.sqrt(eps * n * L),
            abs(nn[v] - s.eta * (c[v] + nn[v])) / math.sqrt(eps * s.eta * n * L),
        )
        for v in range(4)
    )
    b4 = min(
        min(
            abs(c[v] + nn[v] - c[opp[v]] - nn[opp[v]]) / n ** (0.5 - eps),
            abs(nn[v] - nn[opp[v]]) / (s.eta * n ** (0.5 - eps)),
        )
        for v in range(4)
    )
    return b1, b2, b3, b4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_data_events_brute_force(seed):
    problem = sample_dense(SMALL, seed)
    ev = PE.data_events(problem, EPSILON_MAX)
    b1, b2, b3, b4 = _brute_data_events(problem, EPSILON_MAX)
    assert ev["b1"] == pytest.approx(b1, rel=1e-9)
    assert ev["b2"] == pytest.approx(b2, rel=1e-9)
    assert ev["b3"] == pytest.approx(b3, rel=1e-9)
    assert ev["b4"] == pytest.approx(b4, rel=1e-9, abs=1e-12)
    assert ev["holds_b1"] == (b1 <= 1) and ev["holds_b4"] == (b4 >= 1)


def test_data_events_b3_needs_exact_balance():
    # with epsilon = 2.5e-4 and n = 24, sqrt(eps n log n) = 0.14: B3 holds only if every
    # cluster has exactly n/4 points; check the ratio against a hand count
    problem = sample_dense(SMALL, 0)
    tot = np.bincount(problem.cluster[:24], minlength=4)
    ev = PE.data_events(problem)
    assert ev["b3"] >= np.abs(tot - 6).max() / math.sqrt(
        EPSILON_MAX * 24 * math.log(24)
    )


def test_init_events_d1_brute_force():
    problem = sample_dense(SMALL, 3)
    ev = PE.init_events(problem)
    H = problem.W0 @ problem.X[: SMALL.n].T
    worst = min(
        min(
            int(np.sum((H[:, i] > 0) & (problem.a > 0))),
            int(np.sum((H[:, i] > 0) & (problem.a < 0))),
        )
        for i in range(SMALL.n)
    )
    assert ev["d1"] == pytest.approx(worst / SMALL.m)
    assert ev["holds_d1"] == (worst / SMALL.m >= 1 / 7)
    assert ev["d2_bound"] == pytest.approx(SMALL.m * SMALL.n ** (-10 * EPSILON_MAX))


def test_g_deviation_brute_force():
    rng = np.random.default_rng(0)
    f = rng.normal(scale=2.0, size=(3, 7))
    y = rng.choice([-1.0, 1.0], size=7)
    g = 1 / (1 + np.exp(y * f))
    assert np.allclose(PE.g_deviation(f, y), np.abs(g - 0.5).max(-1), rtol=1e-12)
    assert PE.g_deviation(np.full(4, 1e-30), np.ones(4)) == pytest.approx(0.25e-30)
    assert PE.g_deviation_bound(100) == pytest.approx(2e-3)


def test_preact_change_error_brute_force():
    problem = sample_dense(SMALL, 4)
    X = torch.as_tensor(problem.X[: SMALL.n])
    a = torch.as_tensor(problem.a)
    y = torch.as_tensor(problem.y, dtype=torch.float64)
    W = [torch.as_tensor(problem.W0)]
    for _ in range(3):
        W.append(gd_step(W[-1], a, X, y, SMALL.alpha))
    H = np.stack([(w @ X.T).numpy() for w in W])  # [4, m, n]
    err = PE.preact_change_error(H, problem)
    for t in range(3):
        pred = predicted_preact_change(
            H[t], problem.a, problem.y, problem.cluster, problem.flipped, SMALL
        )
        meas = H[t + 1] - H[t]
        assert err[t] == pytest.approx(
            np.linalg.norm(meas - pred) / np.linalg.norm(meas)
        )
    # the approximation is a good one here (g ~ 1/2, near-orthogonal points), not an
    # identity
    assert 0 < err.max() < 0.5
    with pytest.raises(ValueError, match="preacts"):
        PE.preact_change_error(H[:1], problem)


def test_conclusions():
    t = np.arange(12)
    train = np.ones(12)
    train[0] = 0.5
    err = np.linspace(0.5, 0.0, 12)
    out = PE.conclusions(t, train, err, 100, 1.0)  # window 2..10
    assert out["part1"] and out["fit_window"]
    assert out["err1"] == pytest.approx(err[1]) and out["dev1"] == pytest.approx(
        abs(2 * err[1] - 1)
    )
    assert out["err_window"] == pytest.approx(err[2])
    train[7] = 0.99
    assert not PE.conclusions(t, train, err, 100, 1.0)["fit_window"]
    with pytest.raises(ValueError, match="window"):
        PE.conclusions(t[:5], train[:5], err[:5], 100, 1.0)


def test_wilson():
    lo, hi = PE.wilson(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = PE.wilson(np.array([5]), np.array([10]))
    assert lo[0] == pytest.approx(1 - hi[0]) and hi[0] == pytest.approx(
        0.7634, abs=1e-4
    )
    with pytest.raises(ValueError):
        PE.wilson(3, 2)


def test_wilson_at_90_percent_matches_the_formula_chapter_7a_wrote():
    k, total, z = np.arange(17), 16, 1.645
    phat = k / total
    mid = (phat + z**2 / (2 * total)) / (1 + z**2 / total)
    half = z * np.sqrt(phat * (1 - phat) / total + z**2 / (4 * total**2))
    half /= 1 + z**2 / total
    lo, hi = PE.wilson(k, total, z=z)
    np.testing.assert_allclose(lo, mid - half, rtol=0, atol=1e-15)
    np.testing.assert_allclose(hi, mid + half, rtol=0, atol=1e-15)


def test_theorem_setup_satisfies_assumptions():
    for C in (1.0, 2.0):
        s = theorem_setup(50, C)
        assert all(c.holds for c in xorgrok.theory.check_assumptions(s, C))


def test_theorem_data_command(tmp_path):
    out = tmp_path / "td"
    argv = [
        "theorem-data",
        "--out",
        str(out),
        "--n",
        "16",
        "--C",
        "1",
        "--seeds",
        "2",
        "--m",
        "12",
        "--n-test",
        "20",
        "--horizon",
        "1",
    ]
    assert main(argv) == 0
    with open(out / "theorem_runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    trained = [r for r in rows if r["C"] == "1.0"]
    assert (
        len(trained) == 2 and len(rows) == 2 + 2
    )  # plus the paper's setup, events only
    assert {"part1", "b3", "d4", "a10_error", "g_dev"} <= set(rows[0])
    prov = (out / "provenance_theorem.txt").read_text()
    assert (
        "command: python -m xorgrok theorem-data --out" in prov and "wall time:" in prov
    )


@pytest.mark.parametrize("bad", [["--C", "0.5"], ["--n", "2"], ["--seeds", "0"]])
def test_theorem_data_bad_arguments(tmp_path, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["theorem-data", "--out", str(tmp_path / "x"), *bad])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_representable_matches_the_setup_limit():
    from xorgrok.theorem_data import representable

    assert representable(800, 1.0) and not representable(800, 2.0)
    theorem_setup(800, 1.0)  # p below 2**53: builds
    with pytest.raises(ValueError, match="p must be"):
        theorem_setup(800, 2.0)


def test_init_events_d4_brute_force():
    # n = 24, kappa = 0.3: threshold 24^0.2 = 1.9, so some neurons are aligned
    setup = SMALL.replace(m=60)
    for seed in range(4):
        problem = sample_dense(setup, seed)
        ev = PE.init_events(problem, kappa=0.3)
        n, m = setup.n, setup.m
        H = problem.W0 @ problem.X[:n].T
        cl, fl = problem.cluster[:n], problem.flipped
        c = [sum(1 for i in range(n) if cl[i] == v and not fl[i]) for v in range(4)]
        nn = [sum(1 for i in range(n) if cl[i] == v and fl[i]) for v in range(4)]
        opp = [1, 0, 3, 2]

        def d(j, v):
            return sum(
                (1 if not fl[i] else -1) for i in range(n) if cl[i] == v and H[j, i] > 0
            )

        means = []
        for sign in (1, -1):
            for v in range(4):
                ceiling = min(c[v], c[opp[v]]) - 2 * (nn[v] + nn[opp[v]]) - math.sqrt(n)
                J = [
                    j
                    for j in range(m)
                    if np.sign(problem.a[j]) == sign
                    and d(j, v) - d(j, opp[v]) > n ** (0.5 - 0.3)
                    and max(d(j, v), d(j, opp[v])) < ceiling
                ]
                if J:
                    means.append(np.mean([c[v] - nn[v] - d(j, opp[v]) for j in J]))
        assert ev["d4_sets"] == len(means)
        assert ev["holds_d4"] == all(x >= n / 10 for x in means)
        if means:
            assert ev["d4"] == pytest.approx(min(means))
        else:
            assert math.isnan(ev["d4"])
