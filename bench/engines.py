"""Benchmark of the gradient-descent engines, side by side in one process (plain Python, no pytest).

Usage (from the repository root)::

    python bench/engines.py                     # engines on the Figure 1-left setup (a few minutes)
    python bench/engines.py --figure1           # + both Figure 1 panels at 100 seeds (minutes)
    python bench/engines.py --theorem           # + the theorem regime p = n^5 in a clean subprocess
    python bench/engines.py --dtype-evidence    # + float32 vs float64 on both Figure 1 panels (long)
    python bench/engines.py --all --out bench/results.json
    python bench/engines.py --no-engines --simulate --quick --figure1-command 10 \
        --out bench/results.json  # what users get: whole simulate calls, explorer, CLI

It compares, on the paper's Figure 1-left setup (p = 40000, n = n_test = 200, m = 1000), per seed and step:

(a) the way a user would write it: explicit weights, ``torch.nn.Linear(p, m, bias=False)`` with a fixed
    second layer, the logistic loss through ``softplus``, autograd and ``torch.optim.SGD(lr=alpha)``;
(b) the dense engine (``xorgrok.engines.run_dense``, the paper's update written out);
(c) the span engine (W = W0 + C X_train) on the same p-dimensional problems;
(d) the dimension-free engine (the span engine on ``xorgrok.sample_reduced``'s problems).

All four run in float32 (the fast engines' default; (a) and (b) in float32 too, so that the ratios measure
the algorithms, not the precision). Each engine is timed in two modes: ``every`` (train and test accuracy
recorded at every step, as a user loop usually does) and ``log`` (only the marginal cost of a step; Figure 1
records about 20 steps per decade, whose cost is negligible). Times are the median over interleaved
repeats (engine after engine, repeat after repeat), so that a busy machine slows all engines alike.
Setup costs (sampling, reduction to small matrices) are excluded from per-step times and reported apart.

``--simulate`` times whole ``xorgrok.simulate`` calls (setup included) at the book's shapes,
the explorer's answer to a parameter change and to a change of the shown step (the live
widget's whole update, drawing and PNG encoding included:
``xorgrok.explorer.widget.measure_updates``), interleaved with (a) and the matrix-product
peak; each call is compared with (a) per seed-step and with its floor (its matrix-product
flops at the peak measured in the same run). ``--quick`` leaves out the 100 seeds x 5000
steps row (minutes). ``--figure1-command RUNS`` times the command
``python -m xorgrok figure1 --runs RUNS`` (both panels, figures written) against its floor.

Achieved GFLOP/s count the matrix products only (the dense step: 4 m n p, plus 2 m n_test p when the test
accuracy is recorded; the span step: 2 m n^2, plus 2 m n n_test), against a peak measured with large
square matrix products in torch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import xorgrok as xg
from xorgrok.figures import figure1_record
from xorgrok.engines import Record, SpanBatch, Want, default_chunk, run_dense, run_in_workers, span_step_flops, span_steps

HERE = Path(__file__).resolve().parent
DTYPE = torch.float32


# ----------------------------------------------------------------------------------------------------
# Machine


def machine() -> dict:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 7) -> float:
    """GFLOP/s of the best of ``repeats`` square products of ``size`` x ``size`` matrices."""
    A = torch.randn(size, size, dtype=dtype)
    B = torch.randn(size, size, dtype=dtype)
    A @ B
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        A @ B
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best / 1e9


# ----------------------------------------------------------------------------------------------------
# (a) the user's loop


class UserLoop:
    """Explicit weights trained with torch.nn, autograd and torch.optim.SGD, as a user would write it."""

    def __init__(self, pb: xg.Problem, dtype: torch.dtype = DTYPE):
        s = pb.setup
        self.layer = torch.nn.Linear(s.p, s.m, bias=False, dtype=dtype)
        with torch.no_grad():
            self.layer.weight.copy_(torch.as_tensor(pb.W0))  # w_j^(0) ~ N(0, omega_init^2 I_p)
        self.a = torch.as_tensor(pb.a, dtype=dtype)  # fixed second layer (not a parameter)
        self.X = torch.as_tensor(pb.X_train, dtype=dtype)
        self.y = torch.as_tensor(pb.y, dtype=dtype)
        self.X_test = torch.as_tensor(pb.X_test, dtype=dtype)
        self.y_test = torch.as_tensor(pb.y_test, dtype=dtype)
        self.opt = torch.optim.SGD(self.layer.parameters(), lr=s.alpha)
        self.history: list[tuple[float, float]] = []

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.layer(X)) @ self.a

    def run(self, steps: int, record: bool) -> None:
        for _ in range(steps):
            self.opt.zero_grad(set_to_none=True)
            f = self.forward(self.X)
            loss = torch.nn.functional.softplus(-self.y * f).mean()  # logistic loss
            loss.backward()
            self.opt.step()
            train_acc = float((self.y * f > 0).float().mean())
            if record:
                with torch.no_grad():
                    test_acc = float((self.y_test * self.forward(self.X_test) > 0).float().mean())
                self.history.append((train_acc, test_acc))


# ----------------------------------------------------------------------------------------------------
# Timing helpers


def _dense_run(setup: xg.Setup, pb: xg.Problem, steps: int, record: np.ndarray) -> None:
    run_dense(setup, [pb.seed], lambda seed: pb, steps, record, Want(), DTYPE, torch.device("cpu"))


def _span_run(setup: xg.Setup, batches: list[tuple[SpanBatch, list[int]]], steps: int, record: np.ndarray, workers: int) -> None:
    """The fast engines' schedule: chunks of seeds, one per worker thread (as ``run_span`` does)."""

    def one(i: int, stop: object = None) -> int:
        batch, seeds = batches[i]
        rec = Record.empty(setup, len(seeds), len(record), Want())
        span_steps(batch, setup, steps, record, Want(), rec, 0, seeds)
        return len(seeds)

    run_in_workers(one, range(len(batches)), workers)


def _timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_engines(steps_slow: int, steps_fast: int, repeats: int, seeds_fast: int) -> dict:
    setup = xg.PAPER_FIG1_LEFT
    m, n, n_test, p = setup.m, setup.n, setup.n_test, setup.p
    print(f"Figure 1-left setup: p = {p}, n = n_test = {n}, m = {m}; float32; torch threads = {torch.get_num_threads()}")

    t0 = time.perf_counter()
    pb = xg.sample_dense(setup, 0)
    setup_dense_sample = time.perf_counter() - t0
    fast_seeds = list(range(seeds_fast))
    workers = torch.get_num_threads()
    chunk = min(default_chunk(m, n, 4), -(-seeds_fast // workers))  # as run_span chooses
    parts = [fast_seeds[i : i + chunk] for i in range(0, seeds_fast, chunk)]
    cpu = torch.device("cpu")

    def build(sampler: Callable) -> list[tuple[SpanBatch, list[int]]]:
        return [(SpanBatch.build((sampler(setup, s) for s in part), setup.alpha, DTYPE, cpu), part) for part in parts]

    t0 = time.perf_counter()
    batches_span = build(xg.sample_dense)
    setup_span = (time.perf_counter() - t0) / seeds_fast
    t0 = time.perf_counter()
    batches_red = build(xg.sample_reduced)
    setup_reduced = (time.perf_counter() - t0) / seeds_fast
    one_batch = [(SpanBatch.build((xg.sample_reduced(setup, s) for s in fast_seeds), setup.alpha, DTYPE, cpu), fast_seeds)]
    user = UserLoop(pb)
    user.run(1, record=True)  # warm-up (allocations, autograd graph)

    def every(k: int) -> np.ndarray:
        return np.arange(k + 1)

    def ends(k: int) -> np.ndarray:
        return np.array([0, k])

    # Each measurement returns seconds per seed-step. Dense-like engines: one seed; span-like: a batch.
    def m_user(record: bool) -> float:
        return _timed(lambda: user.run(steps_slow, record)) / steps_slow

    def m_dense(record: bool) -> float:
        rec = every if record else ends
        full = _timed(lambda: _dense_run(setup, pb, steps_slow, rec(steps_slow)))
        base = _timed(lambda: _dense_run(setup, pb, 0, np.array([0])))
        return (full - base) / steps_slow

    def m_span(batches: list[tuple[SpanBatch, list[int]]], workers: int) -> Callable[[bool], float]:
        def go(record: bool) -> float:
            rec = every if record else ends
            full = _timed(lambda: _span_run(setup, batches, steps_fast, rec(steps_fast), workers))
            base = _timed(lambda: _span_run(setup, batches, 0, np.array([0]), workers))
            return (full - base) / (steps_fast * seeds_fast)

        return go

    engines = {
        "(a) torch.nn + autograd + SGD": m_user,
        "(b) dense engine": m_dense,
        "(c) span engine": m_span(batches_span, workers),
        "(d) dimension-free engine": m_span(batches_red, workers),
        "(d') as (d), one batch, multi-threaded ops": m_span(one_batch, 1),
    }
    for fn in engines.values():  # warm-up
        fn(False)
    times: dict[str, dict[str, list[float]]] = {mode: {k: [] for k in engines} for mode in ("every", "log")}
    peaks: dict[str, list[float]] = {"float32": [], "float64": []}
    for r in range(repeats):
        for mode in ("every", "log"):
            for name, fn in engines.items():
                times[mode][name].append(fn(mode == "every"))
        for dt in peaks:  # the peak too is measured between the engines, and its best value kept
            peaks[dt].append(matmul_peak(getattr(torch, dt), repeats=3))
        print(f"  repeat {r + 1}/{repeats} done (load average {os.getloadavg()[0]:.1f})", flush=True)

    # executed matrix-product flops: (a) forward + weight gradient; (b) the same plus the forward that
    # xorgrok.model.gradient recomputes (the reference engine is plain, not frugal)
    user_flops = {"every": 4 * m * n * p + 2 * m * n_test * p, "log": 4 * m * n * p}
    dense_flops = {k: v + 2 * m * n * p for k, v in user_flops.items()}
    span_flops = {"every": span_step_flops(m, n) + 2 * m * n * n_test, "log": span_step_flops(m, n)}
    out: dict = {
        "setup": setup.as_dict(),
        "steps_slow": steps_slow,
        "steps_fast": steps_fast,
        "seeds_fast": seeds_fast,
        "repeats": repeats,
        "setup_seconds_per_seed": {
            "dense sampler (p-dimensional)": setup_dense_sample,
            "span: sample in R^p and reduce to small matrices": setup_span,
            "dimension-free: sample and reduce": setup_reduced,
        },
        "modes": {},
        "peak_gflops": {dt: max(v) for dt, v in peaks.items()},
        "peak_gflops_all": peaks,
    }
    for mode in ("every", "log"):
        ref = float(np.median(times[mode]["(a) torch.nn + autograd + SGD"]))
        rows = {}
        for name in engines:
            med = float(np.median(times[mode][name]))
            flops = {"a": user_flops, "b": dense_flops}.get(name[1], span_flops)[mode]
            rows[name] = {
                "seconds_per_seed_step": med,
                "all": [float(x) for x in times[mode][name]],
                "speedup_vs_a": ref / med,
                "gflops": flops / med / 1e9,
            }
        out["modes"][mode] = rows
    return out


# --------------------------------------------------------------------------------------------
# What users get: whole simulate calls (setup included), the explorer, the figure1 command


def reduced_flops(
    setup: xg.Setup, steps: int, record: np.ndarray | None
) -> dict[str, float]:
    """Matrix-product flops of one seed of ``simulate(engine="reduced")``.

    Setup: the products the setup needs, H0 = W0 X^T and [G | K] = X_train X^T with the
    Bartlett factor's zero block skipped, 2 m (n^2 + n n_test + n_test^2) + 2 n^2 N, plus
    the rank-2 parts 4 (m + n) N (``SpanBatch.build`` computes the full products, in
    float64: 2 (m + n) (N + 2) N flops). Steps: the step's product C G (2 m n^2), or C [G | K]
    (2 m n N) at a recorded step; steps + 1 products (the last step is evaluated, not
    updated).
    """
    m, n, n_test, N = setup.m, setup.n, setup.n_test, setup.n_total
    recorded = steps + 1 if record is None else len(record)
    return {
        "setup": 2.0 * m * (n * n + n * n_test + n_test**2) + 2.0 * n * n * N
        + 4.0 * (m + n) * N,
        "steps": 2.0 * m * n * (n * (steps + 1 - recorded) + N * recorded),
    }


def _simulate_rows(
    quick: bool,
) -> dict[str, tuple[xg.Setup, int, int, np.ndarray | None]]:
    left = xg.PAPER_FIG1_LEFT
    rows = {
        "2 seeds x 50 steps, every step": (left, 50, 2, None),
        "20 seeds x 50 steps, every step": (left, 50, 20, None),
        "20 seeds x 50 steps, steps 0 and 50": (left, 50, 20, np.array([0, 50])),
        "20 seeds, setup only (0 steps)": (left, 0, 20, None),
        "100 seeds x 50 steps, every step": (left, 50, 100, None),
    }
    if not quick:
        right = xg.PAPER_FIG1_RIGHT
        log_spaced = figure1_record(5000)
        rows["100 seeds x 5000 steps, log-spaced"] = (right, 5000, 100, log_spaced)
    return rows


def bench_simulate(repeats: int, quick: bool) -> dict:
    """Whole ``xorgrok.simulate`` calls at the book's shapes, interleaved with the user's
    loop (a) and the matrix-product peak, all in this process: per seed-step, against (a)
    and against the floor (the call's matrix-product flops at the peak measured next to
    it)."""
    left = xg.PAPER_FIG1_LEFT
    user = UserLoop(xg.sample_dense(left, 0))
    user.run(1, record=True)
    shapes = _simulate_rows(quick)
    # the explorer as its user feels it: the live widget's whole update (simulation,
    # drawing, PNG encoding), from its own timings, at the default size
    from xorgrok.explorer.widget import measure_updates

    times: dict[str, list[float]] = {k: [] for k in ("(a) per seed-step", *shapes)}
    times["explorer: parameter change"] = []
    times["explorer: shown step change"] = []
    times["explorer: parameter change, simulation part"] = []
    peaks, loads = [], []
    for r in range(repeats):
        times["(a) per seed-step"].append(_timed(lambda: user.run(2, True)) / 2)
        for name, (setup, steps, seeds, record) in shapes.items():
            times[name].append(
                _timed(lambda: xg.simulate(setup, steps, range(seeds), record=record))
            )
        felt = measure_updates(repeats=3)  # medians of 3 changes of each kind
        times["explorer: parameter change"].append(felt["param_s"])
        times["explorer: shown step change"].append(felt["step_s"])
        times["explorer: parameter change, simulation part"].append(
            felt["param_simulate_s"])
        peaks.append(matmul_peak(torch.float32, repeats=3))
        loads.append(os.getloadavg()[0])
        print(f"  repeat {r + 1}/{repeats} (load average {loads[-1]:.1f})", flush=True)
    peak = max(peaks)
    user_step = float(np.median(times["(a) per seed-step"]))
    rows = {}
    for name, (setup, steps, seeds, record) in shapes.items():
        sec = float(np.median(times[name]))
        fl = reduced_flops(setup, steps, record)
        floor = seeds * (fl["setup"] + fl["steps"]) / (peak * 1e9)
        seed_steps = seeds * max(steps, 1)
        rows[name] = {
            "seconds": sec,
            "all": times[name],
            "ms_per_seed_step": 1e3 * sec / seed_steps,
            "speedup_vs_a": user_step * seed_steps / sec,
            "floor_seconds": floor,
            "ratio_to_floor": sec / floor,
        }
    setup_row = rows["20 seeds, setup only (0 steps)"]
    per_seed_setup = setup_row["seconds"] / 20
    every, ends = rows["20 seeds x 50 steps, every step"], rows["20 seeds x 50 steps, steps 0 and 50"]
    m, n, N = left.m, left.n, left.n_total
    # marginal cost of a recorded step: (every step) - (steps 0 and 50), over 49 steps x 20 seeds
    marginal = (every["seconds"] - ends["seconds"]) / (49 * 20)
    # a recorded step is one product, C [G | K] (2 m n N flops), in place of a plain
    # step's C G: its floor is that product alone
    recorded_floor = 2 * m * n * N / (peak * 1e9)
    plain = (ends["seconds"] - setup_row["seconds"]) / (50 * 20)
    out = {
        "peak_gflops_float32": peak,
        "peaks": peaks,
        "loadavg": loads,
        "user_loop_seconds_per_seed_step": user_step,
        "rows": rows,
        "setup_ms_per_seed": 1e3 * per_seed_setup,
        "setup_ms_per_seed_at_180_gflops": 1e3 * per_seed_setup * peak / 180.0,
        "recorded_step_ms_per_seed": 1e3 * (marginal + plain),
        "recorded_step_floor_ms": 1e3 * recorded_floor,
        "plain_step_ms_per_seed": 1e3 * plain,
        "plain_step_floor_ms": 1e3 * 2 * m * n * n / (peak * 1e9),
        "explorer_change_seconds": float(np.median(times["explorer: parameter change"])),
        "explorer_step_seconds": float(np.median(times["explorer: shown step change"])),
        "explorer_change_simulate_seconds": float(
            np.median(times["explorer: parameter change, simulation part"])),
    }
    out["recorded_step_ratio_to_floor"] = (
        out["recorded_step_ms_per_seed"] / out["recorded_step_floor_ms"]
    )
    two = rows["2 seeds x 50 steps, every step"]["ms_per_seed_step"]
    twenty = every["ms_per_seed_step"]
    hundred = rows["100 seeds x 50 steps, every step"]["ms_per_seed_step"]
    out["ms_per_seed_step_2_20_100"] = [two, twenty, hundred]
    return out


def print_simulate(res: dict) -> None:
    sim = res["simulate"]
    print(f"\nwhole simulate calls (setup included), peak {sim['peak_gflops_float32']:.0f} "
          f"GFLOP/s float32, load average {min(sim['loadavg']):.1f}-{max(sim['loadavg']):.1f}")
    print(f"  (a) autograd loop: {sim['user_loop_seconds_per_seed_step'] * 1e3:.1f} ms per seed-step")
    print(f"  {'call':40s} {'s':>8s} {'ms/seed-step':>13s} {'x (a)':>8s} {'/ floor':>8s}")
    for name, row in sim["rows"].items():
        print(f"  {name:40s} {row['seconds']:8.3f} {row['ms_per_seed_step']:13.3f} "
              f"{row['speedup_vs_a']:8.0f} {row['ratio_to_floor']:8.2f}")
    print(f"  setup: {sim['setup_ms_per_seed']:.2f} ms per seed "
          f"({sim['setup_ms_per_seed_at_180_gflops']:.2f} ms scaled to 180 GFLOP/s)")
    print(f"  recorded step: {sim['recorded_step_ms_per_seed']:.3f} ms per seed, floor "
          f"{sim['recorded_step_floor_ms']:.3f} ms (x{sim['recorded_step_ratio_to_floor']:.2f});"
          f" plain step {sim['plain_step_ms_per_seed']:.3f} ms, floor "
          f"{sim['plain_step_floor_ms']:.3f} ms")
    print("  ms per seed-step at 2, 20, 100 seeds: "
          + ", ".join(f"{x:.3f}" for x in sim["ms_per_seed_step_2_20_100"]))
    print(f"  explorer (whole widget update): parameter change "
          f"{sim['explorer_change_seconds']:.3f} s (simulation "
          f"{sim['explorer_change_simulate_seconds']:.3f} s), "
          f"shown step change {sim['explorer_step_seconds']:.3f} s")


def bench_figure1_command(runs: int, peak: float) -> dict:
    """Wall time of ``python -m xorgrok figure1 --runs RUNS`` (both panels, figures written)
    against its floor: the matrix-product flops of both panels at the measured peak."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "xorgrok", "figure1", "--runs", str(runs), "--out", out,
               "--no-progress"]
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        sec = time.perf_counter() - t0
    flops = 0.0
    for setup, steps in PANELS.values():
        fl = reduced_flops(setup, steps, figure1_record(steps))
        flops += runs * (fl["setup"] + fl["steps"])
    floor = flops / (peak * 1e9)
    print(f"  figure1 --runs {runs}: {sec:.1f} s, floor {floor:.1f} s (x{sec / floor:.2f}), "
          f"load average {load:.1f}")
    return {"command": " ".join(cmd[1:3] + cmd[3:6]), "runs": runs, "seconds": sec,
            "floor_seconds": floor, "ratio_to_floor": sec / floor, "loadavg": load,
            "peak_gflops_float32": peak}


# ----------------------------------------------------------------------------------------------------
# Figure 1 at the paper's size, the theorem regime, the dtype evidence


PANELS = {"left": (xg.PAPER_FIG1_LEFT, 50), "right": (xg.PAPER_FIG1_RIGHT, 5000)}


def bench_figure1(seeds: int) -> dict:
    out = {"seeds": seeds, "engine": "reduced", "dtype": str(xg.DEFAULT_DTYPE)}
    total = 0.0
    for name, (setup, steps) in PANELS.items():
        record = figure1_record(steps)
        t0 = time.perf_counter()
        traj = xg.simulate(setup, steps, range(seeds), record=record)
        sec = time.perf_counter() - t0
        total += sec
        out[name] = {
            "steps": steps,
            "recorded_steps": int(len(record)),
            "seconds": sec,
            "seconds_per_seed_step": sec / (seeds * steps),
            "median_test_acc_last": float(np.median(traj.test_acc[:, -1])),
        }
        print(f"  Figure 1 {name}: {seeds} seeds x {steps} steps in {sec:.1f} s ({sec / (seeds * steps) * 1e3:.3f} ms per seed-step)")
    out["total_seconds"] = total
    return out


THEOREM_CODE = r"""
import json, math, resource, sys, time
import numpy as np, torch
import xorgrok as xg

def peak_gib():
    # peak resident memory of this process: VmHWM is reset at exec, unlike ru_maxrss, which a child
    # inherits from the process that forked it
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0**2  # kB -> GiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0**2  # KiB on Linux

n, m = 200, 1000
p = n**5
mu_norm = math.sqrt(p) / n          # A2 with C = 1: p = n^2 ||mu||^2
alpha = 1.0 / (n * p)               # A4 with C = 1
omega = alpha * mu_norm**2 / (n * m**1.5 * p)  # A5 with equality
setup = xg.Setup(p=p, n=n, n_test=200, m=m, mu_norm=mu_norm, eta=0.05, omega_init=omega, alpha=alpha)
base = peak_gib()
t0 = time.perf_counter()
traj = xg.simulate(setup, 50, range(10), record=[0, 1, 2, 5, 10, 14, 50])
sec = time.perf_counter() - t0
peak = peak_gib()
print(json.dumps({"setup": setup.as_dict(), "steps": 50, "seeds": 10, "seconds": sec,
                  "peak_rss_gib": peak, "rss_after_imports_gib": base,
                  "median_train_acc": dict(zip(map(str, traj.t.tolist()), np.median(traj.train_acc, 0).tolist())),
                  "median_test_acc": dict(zip(map(str, traj.t.tolist()), np.median(traj.test_acc, 0).tolist()))}))
"""


def bench_theorem() -> dict:
    """n = 200, p = n^5, m = 1000; 50 steps for 10 seeds, in a fresh interpreter (clean peak memory)."""
    proc = subprocess.run([sys.executable, "-c", THEOREM_CODE], capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"  theorem regime p = 200^5: 50 steps x 10 seeds in {out['seconds']:.2f} s, peak memory "
        f"{out['peak_rss_gib']:.2f} GiB (of which {out['rss_after_imports_gib']:.2f} GiB after the imports)"
    )
    return out


def bench_dtype(seeds: int, panels: tuple[str, ...] = ("left", "right")) -> dict:
    """float32 vs float64, same seeds, same engine: differences of the median accuracy curves."""
    out = {"seeds": seeds, "engine": "reduced"}
    for name in panels:
        setup, steps = PANELS[name]
        record = figure1_record(steps)
        runs = {}
        for dtype in (torch.float32, torch.float64):
            t0 = time.perf_counter()
            runs[dtype] = xg.simulate(setup, steps, range(seeds), record=record, dtype=dtype)
            print(f"  dtype evidence, {name} panel, {dtype}: {time.perf_counter() - t0:.1f} s", flush=True)
        a, b = runs[torch.float32], runs[torch.float64]
        res = {"steps": steps, "t": a.t.tolist()}
        for field in ("train_acc", "test_acc"):
            ma, mb = np.median(getattr(a, field), 0), np.median(getattr(b, field), 0)
            res[field] = {
                "max_abs_diff_of_medians": float(np.abs(ma - mb).max()),
                "max_abs_diff_per_seed": float(np.abs(getattr(a, field) - getattr(b, field)).max()),
                "fraction_of_seed_steps_that_differ": float(np.mean(getattr(a, field) != getattr(b, field))),
                "median_float32": ma.tolist(),
                "median_float64": mb.tolist(),
            }
        out[name] = res
        print(
            f"  {name}: max |median32 - median64| = {res['train_acc']['max_abs_diff_of_medians']:.4f} (train), "
            f"{res['test_acc']['max_abs_diff_of_medians']:.4f} (test)"
        )
    return out


# ----------------------------------------------------------------------------------------------------
# Report


TARGETS = {
    "speedup": 300.0,  # fastest exact engine vs (a), per seed-step
    "figure1_seconds": 300.0,  # both panels at 100 seeds
    "peak_fraction": 0.5,  # achieved / measured matmul peak
    "theorem_seconds": 30.0,
    "theorem_gib": 2.0,
}


def targets(res: dict) -> dict:
    out = {}
    eng = res.get("engines")
    if eng:
        for mode in ("every", "log"):
            rows = eng["modes"][mode]
            best = max(("(c) span engine", "(d) dimension-free engine"), key=lambda k: rows[k]["speedup_vs_a"])
            out[f"speedup_{mode}"] = {"value": rows[best]["speedup_vs_a"], "target": TARGETS["speedup"]}
            frac = rows[best]["gflops"] / eng.get("peak_gflops", res["peak_gflops"])["float32"]
            out[f"peak_fraction_{mode}"] = {"value": frac, "target": TARGETS["peak_fraction"]}
    if "figure1" in res and res["figure1"]["seeds"] == 100:
        out["figure1_seconds"] = {"value": res["figure1"]["total_seconds"], "target": TARGETS["figure1_seconds"], "smaller": True}
    if "theorem" in res:
        out["theorem_seconds"] = {"value": res["theorem"]["seconds"], "target": TARGETS["theorem_seconds"], "smaller": True}
        out["theorem_gib"] = {"value": res["theorem"]["peak_rss_gib"], "target": TARGETS["theorem_gib"], "smaller": True}
    sim = res.get("simulate")
    if sim:
        row = sim["rows"]["20 seeds x 50 steps, every step"]
        out["simulate_20x50_speedup"] = {"value": row["speedup_vs_a"], "target": 300.0}
        out["recorded_step_vs_floor"] = {
            "value": sim["recorded_step_ratio_to_floor"], "target": 1.3, "smaller": True}
        out["setup_ms_at_180_gflops"] = {
            "value": sim["setup_ms_per_seed_at_180_gflops"], "target": 5.0, "smaller": True}
        two, twenty, hundred = sim["ms_per_seed_step_2_20_100"]
        out["more_seeds_not_slower"] = {  # per seed-step, 100 seeds against 2 seeds
            "value": max(twenty, hundred) / two, "target": 1.0, "smaller": True}
        out["explorer_change_s"] = {
            "value": sim["explorer_change_seconds"], "target": 0.3, "smaller": True}
        out["explorer_step_s"] = {
            "value": sim["explorer_step_seconds"], "target": 0.05, "smaller": True}
    if "figure1_command" in res:
        out["figure1_command_vs_floor"] = {
            "value": res["figure1_command"]["ratio_to_floor"], "target": 1.5, "smaller": True}
    for v in out.values():
        v["met"] = bool(v["value"] <= v["target"]) if v.get("smaller") else bool(v["value"] >= v["target"])
    return out


def print_engines(res: dict) -> None:
    eng = res["engines"]
    peak = eng.get("peak_gflops", res["peak_gflops"])
    print(f"\nmeasured matmul peak: {peak['float32']:.1f} GFLOP/s (float32), {peak['float64']:.1f} GFLOP/s (float64)")
    for mode in ("every", "log"):
        title = "recording train and test accuracy every step" if mode == "every" else "step only (log-spaced recording)"
        print(f"\n{title}: median over {eng['repeats']} interleaved repeats")
        print(f"  {'engine':44s} {'ms / seed-step':>15s} {'speed-up vs (a)':>16s} {'GFLOP/s':>9s} {'of peak':>8s}")
        for name, row in eng["modes"][mode].items():
            print(
                f"  {name:44s} {row['seconds_per_seed_step'] * 1e3:15.3f} {row['speedup_vs_a']:16.1f} "
                f"{row['gflops']:9.1f} {row['gflops'] / peak['float32']:8.0%}"
            )
    print("\nsetup per seed (excluded above):")
    for k, v in eng["setup_seconds_per_seed"].items():
        print(f"  {k:50s} {v:8.3f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps-slow", type=int, default=3, help="steps timed for (a) and (b) (default 3)")
    ap.add_argument("--steps-fast", type=int, default=100, help="steps timed for (c) and (d) (default 100)")
    ap.add_argument("--seeds-fast", type=int, default=8, help="seeds of (c) and (d), in chunks over the workers (default 8)")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved repeats (default 5)")
    ap.add_argument("--no-engines", action="store_true", help="skip the side-by-side comparison")
    ap.add_argument("--figure1", action="store_true", help="time both Figure 1 panels (100 seeds: minutes)")
    ap.add_argument("--figure1-seeds", type=int, default=100)
    ap.add_argument("--theorem", action="store_true", help="time the theorem regime p = 200^5 in a subprocess")
    ap.add_argument("--dtype-evidence", action="store_true", help="float32 vs float64 on both Figure 1 panels (long)")
    ap.add_argument("--dtype-seeds", type=int, default=100)
    ap.add_argument("--simulate", action="store_true", help="whole simulate calls, explorer")
    ap.add_argument("--quick", action="store_true", help="--simulate without the 100 x 5000 row")
    ap.add_argument("--figure1-command", type=int, default=0, metavar="RUNS",
                    help="time `python -m xorgrok figure1 --runs RUNS` against its floor")
    ap.add_argument("--all", action="store_true", help="everything")
    ap.add_argument("--out", type=Path, default=None, help="merge the results into this JSON file")
    args = ap.parse_args(argv)
    if args.all:
        args.figure1 = args.theorem = args.dtype_evidence = True

    res: dict = {}
    if args.out is not None and args.out.exists():
        res = json.loads(args.out.read_text())
    res["machine"] = machine()
    res["command"] = "python bench/engines.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores, load average {res['machine']['loadavg_start']}")
    res["peak_gflops"] = {"float32": matmul_peak(torch.float32), "float64": matmul_peak(torch.float64)}

    def stamp(section: str, started: dict) -> None:
        """Each section keeps the machine state and the command it was measured with."""
        res[section]["machine"] = {**started, "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None}
        res[section]["command"] = res["command"]
        best = res[section].get("peak_gflops", res["peak_gflops"])
        res[section]["peak_gflops"] = {dt: max(best[dt], res["peak_gflops"][dt]) for dt in best}

    if not args.no_engines:
        started = machine()
        res["engines"] = bench_engines(args.steps_slow, args.steps_fast, args.repeats, args.seeds_fast)
        stamp("engines", started)
        print_engines(res)
    if args.simulate:
        started = machine()
        res["simulate"] = bench_simulate(args.repeats, args.quick)
        stamp("simulate", started)
        print_simulate(res)
    if args.figure1_command:
        started = machine()
        peak = max(matmul_peak(torch.float32), res["peak_gflops"]["float32"])
        res["figure1_command"] = bench_figure1_command(args.figure1_command, peak)
        stamp("figure1_command", started)
    if args.figure1:
        started = machine()
        res["figure1"] = bench_figure1(args.figure1_seeds)
        stamp("figure1", started)
        print(f"  both panels: {res['figure1']['total_seconds']:.1f} s")
    if args.theorem:
        started = machine()
        res["theorem"] = bench_theorem()
        stamp("theorem", started)
    if args.dtype_evidence:
        started = machine()
        res["dtype_evidence"] = bench_dtype(args.dtype_seeds)
        stamp("dtype_evidence", started)
    res["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    res["targets"] = targets(res)
    print("\ntargets:")
    for k, v in res["targets"].items():
        print(f"  {k:22s} {v['value']:10.3f}  target {'<=' if v.get('smaller') else '>='} {v['target']:<8g} {'met' if v['met'] else 'NOT met'}")
    if args.out is not None:
        args.out.write_text(json.dumps(res, indent=1) + "\n")
        print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
