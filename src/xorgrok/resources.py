"""Resource and range checks made before a run allocates or computes anything.

* :func:`available_bytes`: the memory this process may still use: the smaller of the
  machine's available memory (``MemAvailable`` of ``/proc/meminfo``) and what the
  container's cgroup (v2 ``memory.max``, v1 ``memory.limit_in_bytes``) leaves above its
  current use.
* :func:`run_bytes`: an estimate of the peak memory of :func:`xorgrok.simulate` with the
  span and reduced engines (recorded arrays, allocated up front, plus every seed in
  flight); :func:`check_memory` refuses with :class:`ResourceError` (a ``MemoryError``)
  naming the estimate and the limit.
* :func:`output_bound`: an upper bound on the magnitude of f(x; W^(t)) over a run.
  The logistic loss has -1 < l' < 0, so gradient descent moves each w_j by at most
  alpha R / sqrt(m) a step (R = max ||x_i||): the weights grow at most linearly and the
  output stays below (||w_j^(0)|| + t alpha R / sqrt(m)) R sqrt(m).
  :func:`float_range_issue` compares it (and the span engine's scaled pre-activations
  <w_j, x_i> / alpha) with the range of a floating type, so an overflow is predicted
  before it happens instead of being reported as a divergence, and :func:`check_run`
  picks float64 or refuses, naming the parameter.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from .config import Setup

__all__ = [
    "ResourceError",
    "available_bytes",
    "cgroup_free_bytes",
    "run_bytes",
    "check_memory",
    "output_bound",
    "float_range_issue",
    "check_run",
    "check_resources",
    "MEMORY_SHARE",
    "RANGE_MARGIN",
]

#: Fraction of the available memory a run may plan to use.
MEMORY_SHARE = 0.8
#: Safety factor between a predicted magnitude and the largest finite number of a
#: floating type (and, for the step size, above its smallest normal number): Gaussian
#: tails and sums over n terms stay inside it.
RANGE_MARGIN = 1e4


class ResourceError(MemoryError):
    """A run would need more memory than the machine or the container leaves it."""


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _machine_available_bytes() -> int:
    text = _read(Path("/proc/meminfo"))
    if text:
        for line in text.splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - no sysconf
        return 2**62


def cgroup_free_bytes(root: str | os.PathLike = "/sys/fs/cgroup") -> int | None:
    """Memory the process's cgroup leaves: limit minus use, smallest over its ancestors.

    Reads cgroup v2 (``memory.max`` and ``memory.current`` along the path named in
    ``/proc/self/cgroup``, up to the root) and v1 (``memory/memory.limit_in_bytes``,
    ``memory.usage_in_bytes``); None when unlimited or unknown.
    """
    root = Path(root)
    free: list[int] = []
    own = _read(Path("/proc/self/cgroup")) or ""
    lines = own.splitlines()
    rel = next((x.split(":", 2)[2] for x in lines if x.startswith("0::")), None)
    if rel is not None:
        folder = root / rel.lstrip("/")
        while True:
            limit, used = _read(folder / "memory.max"), _read(folder / "memory.current")
            if limit and limit != "max" and limit.isdigit():
                free.append(int(limit) - int(used or 0))
            if folder == root or root not in folder.parents:
                break
            folder = folder.parent
    v1 = root / "memory"
    limit = _read(v1 / "memory.limit_in_bytes")
    used = _read(v1 / "memory.usage_in_bytes")
    if limit and limit.isdigit() and int(limit) < 2**60:
        free.append(int(limit) - int(used or 0))
    return max(0, min(free)) if free else None


def available_bytes(device: torch.device | str = "cpu") -> int:
    """Bytes this process may still allocate on ``device`` (for the CPU: the smaller of
    the machine's available memory and the cgroup's free memory)."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    machine = _machine_available_bytes()
    group = cgroup_free_bytes()
    return machine if group is None else min(machine, group)


def _seeds_in_flight(S: int) -> int:
    return min(S, max(2, 2 * (os.cpu_count() or 1)))


def run_bytes(
    setup: Setup,
    seeds: int,
    recorded: int,
    itemsize: int,
    neurons: bool = False,
    outputs: bool = False,
    preacts: bool = False,
) -> int:
    """Estimated peak bytes of a span or reduced run of S = ``seeds`` seeds recording
    T = ``recorded`` steps.

    The recorded float64 arrays, S T (3 + 3 m [neurons] + N [outputs] + m n [preacts])
    values, plus for every seed in flight (at most two per core) the float64 sample
    (N x N and m x N, three copies) and the engine's matrices in the working dtype
    (``itemsize`` bytes: five m x n, two m x N, one n x N).
    """
    m, n, N = setup.m, setup.n, setup.n_total
    per_step = 3 + (3 * m if neurons else 0) + (N if outputs else 0)
    per_step += m * n if preacts else 0
    recorded_bytes = 8 * seeds * recorded * per_step
    working = 8 * 3 * (N * N + m * N) + itemsize * (5 * m * n + 2 * m * N + n * N)
    return recorded_bytes + _seeds_in_flight(seeds) * working


def check_memory(need: int, what: str, device: torch.device | str = "cpu") -> None:
    """Raise :class:`ResourceError` when ``need`` bytes exceed :data:`MEMORY_SHARE` of
    :func:`available_bytes`; the message names ``what``, the estimate and the limit."""
    have = available_bytes(device)
    if need > MEMORY_SHARE * have:
        raise ResourceError(
            f"{what} needs about {need / 2**30:.3g} GiB but only "
            f"{have / 2**30:.3g} GiB are available (machine and container limits); use "
            "fewer seeds, recorded steps or neurons"
        )


def _radius(setup: Setup) -> float:
    """A high-probability bound on max ||x_i||: a chi with p degrees of freedom (with
    margin), shifted by ||mu||."""
    return math.sqrt(setup.p) * 1.5 + 6.0 + setup.mu_norm


def _init_norm(setup: Setup) -> float:
    """A high-probability bound on max_j ||w_j^(0)||: omega_init times a chi with p
    degrees of freedom (with margin)."""
    return setup.omega_init * (math.sqrt(setup.p) * 1.5 + 6.0)


def output_bound(setup: Setup, steps: int) -> float:
    """Upper bound on the magnitude of f(x_i; W^(t)) for t <= steps (module
    docstring)."""
    R = _radius(setup)
    w = _init_norm(setup) + steps * setup.alpha * R / math.sqrt(setup.m)  # >= ||w_j||
    return w * R * math.sqrt(setup.m)


def float_range_issue(setup: Setup, steps: int, dtype: torch.dtype) -> str | None:
    """Why ``dtype`` cannot represent this run, naming the parameter to change; None if
    it can. Checks alpha, :func:`output_bound` and the span engine's <w_j, x_i> / alpha
    against the type's range shrunk by :data:`RANGE_MARGIN`."""
    info = torch.finfo(dtype)
    top, bottom = info.max / RANGE_MARGIN, info.tiny * RANGE_MARGIN
    name = str(dtype).removeprefix("torch.")
    if not bottom <= setup.alpha <= top:
        return (
            f"alpha = {setup.alpha:g} is outside the range {name} represents safely "
            f"[{bottom:.0e}, {top:.0e}]"
        )
    R, w0 = _radius(setup), _init_norm(setup)
    bound = output_bound(setup, steps)
    if bound > top:
        drift = steps * setup.alpha * R / math.sqrt(setup.m)
        cause = "alpha" if drift > w0 else "omega_init"
        if setup.mu_norm > math.sqrt(setup.p):
            cause += " or mu_norm"
        return (
            f"the network output may reach {bound:.2g} within {steps} steps, beyond "
            f"{name}'s range ({info.max:.2g}): reduce {cause}"
        )
    # |<w_j, x_i>| / alpha, what the span engine stores
    scaled = w0 * R / setup.alpha + steps * R * R / math.sqrt(setup.m)
    if scaled > top:
        return (
            f"omega_init / alpha = {setup.omega_init / setup.alpha:.3g} makes the "
            f"scaled pre-activations <w_j, x_i> / alpha overflow {name}: reduce "
            "omega_init or raise alpha"
        )
    return None


def check_run(
    setup: Setup, steps: int, dtype: torch.dtype, explicit: bool
) -> torch.dtype:
    """The dtype to run in: ``dtype``, or float64 when float32 cannot represent the run
    and the caller did not ask for float32 explicitly. ``ValueError`` naming the
    parameter when no allowed type can."""
    issue = float_range_issue(setup, steps, dtype)
    if issue is None:
        return dtype
    if dtype == torch.float32 and not explicit:
        wide = float_range_issue(setup, steps, torch.float64)
        if wide is None:
            return torch.float64
        issue = wide
    raise ValueError(issue)


def check_resources(
    setup: Setup,
    engine: str,
    steps: int,
    seeds: int,
    recorded: int,
    want,
    dtype: torch.dtype,
    device: torch.device | str = "cpu",
    explicit: bool = True,
) -> torch.dtype:
    """What :func:`xorgrok.simulate` checks before allocating: the floating range
    (:func:`check_run`; returns the dtype to use) and, for the span and reduced engines,
    the memory (:func:`run_bytes`; the dense engine has its own check,
    :func:`xorgrok.engines.check_dense_fits`). ``want`` is the engines' ``Want``."""
    dtype = check_run(setup, int(steps), dtype, explicit)
    if engine != "dense":
        itemsize = torch.empty((), dtype=dtype).element_size()
        need = run_bytes(
            setup, seeds, recorded, itemsize, want.neurons, want.outputs, want.preacts
        )
        where = "" if torch.device(device).type == "cpu" else f" on {device}"
        check_memory(
            need,
            f"simulating {seeds} seeds x {recorded} recorded steps at m = {setup.m}, "
            f"n = {setup.n}{where}",
            device,
        )
    return dtype


def set_torch_threads(threads: int | None) -> int:
    """Set torch's thread count (no change for None); return the previous count.

    The one place that sets it: :func:`torch_threads` for a block, a worker process for
    its life.
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    return before


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (no change for None), then
    restore the setting."""
    before = set_torch_threads(threads)
    try:
        yield
    finally:
        set_torch_threads(before)
