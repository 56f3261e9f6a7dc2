"""Sweeps: a grid of setups x seeds, trained in parallel, cached on disk, resumable.

A *cell* (:class:`Cell`) is everything that fixes a result except the seed: the :class:`~xorgrok.Setup`,
the number of steps, the recorded steps, the engine, the floating type and, for the model variants of
:mod:`xorgrok.variants`, their switches. :meth:`Cell.key` is a stable hash of these fields and of
:data:`FORMAT_VERSION` (the version of the stored result format), so the cache survives restarts,
machines and package releases that do not change the format.

:func:`sweep` trains every (cell, seed) pair that the cache does not already hold and returns a
:class:`SweepResult` with the per-seed curves stacked as ``[*grid_shape, S, T]`` arrays:

* **cache**: one ``.npz`` file per (cell, seed) under ``cache_dir/<key>/seed-<seed>.npz`` (plus a
  human-readable ``cell.json``). A file is written to a temporary name in the same folder and moved into
  place with :func:`os.replace`, so a half-written file is never read back; stale temporary files of an
  interrupted run are ignored. A file that cannot be read (or whose stored key differs) is recomputed.
* **resume**: cells are saved as soon as they finish, by the calling process, so an interrupted or failed
  sweep keeps every finished cell and the next call computes only the rest.
* **parallel**: tasks (a cell and a chunk of its missing seeds) run on any :mod:`concurrent.futures`
  executor: local processes by default (``workers`` of them), in-process when ``workers=1``, or the
  executor of a ``dask.distributed`` client (``client.get_executor()``) to use a cluster.
* **curves** stored per seed, at the recorded steps ``t`` [T]: ``train_acc`` (against the noisy labels),
  ``test_acc`` (clean labels), ``loss`` (empirical risk L(W^(t))), ``flipped_acc`` (fraction of the
  flipped training points fitted, i.e. sgn f(x_i) = y_i; NaN when a seed has none) and
  ``clean_train_acc`` (the same on the unflipped training points); ``diverged_at`` is the first step with a
  non-finite output (-1 if none; the curves are NaN from there on).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import math
import multiprocessing
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from .config import Setup
from .engines import DivergenceError
from .simulate import DEFAULT_DTYPE, ENGINES, sample, simulate

__all__ = [
    "FORMAT_VERSION",
    "CURVES",
    "Cell",
    "Cache",
    "SweepResult",
    "SweepError",
    "sweep",
    "grid",
    "log_steps",
    "local_executor",
    "first_crossing",
]

#: Version of the stored result format; part of every cache key (bump it when the stored fields change).
FORMAT_VERSION = 1
#: The per-seed curves a sweep stores, each [T] at the recorded steps.
CURVES = ("train_acc", "test_acc", "loss", "flipped_acc", "clean_train_acc")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class SweepError(RuntimeError):
    """A task of a sweep failed; the cells that finished before are saved (when there is a cache)."""


def log_steps(steps: int, per_decade: int = 10) -> np.ndarray:
    """Recorded steps for a long run: every step up to ``per_decade``, then about ``per_decade`` per decade.

    Always contains 0, 1 and ``steps``; sorted, distinct, int64. Example: ``log_steps(1000, 4)`` ->
    0, 1, 2, 3, 4, 6, 10, 18, 32, 56, 100, 178, 316, 562, 1000.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if isinstance(per_decade, bool) or not isinstance(per_decade, (int, np.integer)) or per_decade < 1:
        raise ValueError(f"per_decade must be an integer >= 1, got {per_decade!r}")
    small = np.arange(min(steps, per_decade) + 1)
    if steps <= per_decade:
        return small
    count = int(math.ceil(per_decade * math.log10(steps / per_decade))) + 1
    large = np.rint(np.logspace(math.log10(per_decade), math.log10(steps), count)).astype(np.int64)
    return np.unique(np.concatenate([small, large, [steps]])).astype(np.int64)


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    return int(steps)


def _check_seeds(seeds: Iterable[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be integers >= 0, got {s!r}")
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError("seeds must be distinct")
    return seeds


def _dtype_name(dtype: Any, engine: str, variant: bool) -> str:
    if dtype is None:
        return "float64" if (engine == "dense" or variant) else str(DEFAULT_DTYPE).removeprefix("torch.")
    if isinstance(dtype, torch.dtype):
        dtype = str(dtype).removeprefix("torch.")
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dtype


@dataclass(frozen=True)
class Cell:
    """Everything that fixes a sweep result except the seed. Build with :meth:`make` (validates, normalizes).

    Attributes:
        setup: the configuration.
        steps: number of gradient steps.
        record: the recorded steps (sorted, distinct, within [0, steps]).
        engine: ``"dense"``, ``"span"`` or ``"reduced"`` (``"auto"`` is resolved to ``"reduced"``); for a
            variant, the sampler of the problem (``"dense"`` or ``"reduced"``).
        dtype: ``"float32"`` or ``"float64"``.
        variant: sorted ``(name, value)`` switches of :func:`xorgrok.variants.train_variant`; empty for the
            paper's model trained by :func:`xorgrok.simulate`.
    """

    setup: Setup
    steps: int
    record: tuple[int, ...]
    engine: str
    dtype: str
    variant: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(
        cls,
        setup: Setup,
        steps: int,
        record: Iterable[int] | None = None,
        engine: str = "auto",
        dtype: Any = None,
        variant: Mapping[str, Any] | None = None,
    ) -> "Cell":
        """A validated cell. ``record=None`` records every step; steps beyond ``steps`` are dropped."""
        if not isinstance(setup, Setup):
            raise ValueError(f"setup must be an xorgrok.Setup, got {type(setup).__name__}")
        steps = _check_steps(steps)
        if record is None:
            rec = tuple(range(steps + 1))
        else:
            arr = np.unique(np.asarray(list(record), dtype=np.int64))
            if arr.size == 0 or arr[0] < 0:
                raise ValueError(f"record must be a non-empty set of steps >= 0, got {list(record)!r}")
            rec = tuple(int(t) for t in arr if t <= steps)
            if not rec:
                raise ValueError(f"record must contain a step in [0, {steps}], got {list(record)!r}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        engine = "reduced" if engine == "auto" else engine
        options: tuple[tuple[str, Any], ...] = ()
        if variant:
            from .variants import check_options

            options = tuple(sorted(check_options(dict(variant)).items()))
            if engine == "span":
                raise ValueError("engine must be 'dense' or 'reduced' for a variant (the sampler), got 'span'")
        return cls(setup, steps, rec, engine, _dtype_name(dtype, engine, bool(options)), options)

    def describe(self) -> dict[str, Any]:
        """The fields as plain JSON-able values (what the key hashes, with the format version)."""
        return {
            "format": FORMAT_VERSION,
            "setup": self.setup.as_dict(),
            "steps": self.steps,
            "record": list(self.record),
            "engine": self.engine,
            "dtype": self.dtype,
            "variant": {k: v for k, v in self.variant},
        }

    def key(self) -> str:
        """A stable hash (SHA-256, hex) of :meth:`describe`: equal cells share a key on every machine.

        The paper's model (no variant) hashes exactly the Setup fields, steps, record, engine, dtype
        and :data:`FORMAT_VERSION`; a variant adds its switches.
        """
        payload = self.describe()
        if not self.variant:
            del payload["variant"]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# Computing one task: a cell and some of its seeds (runs in a worker)
# ---------------------------------------------------------------------------------------------------------


def _curves_from(train_acc, test_acc, loss, f_train, y, flipped) -> dict[str, np.ndarray]:
    """Per-seed curves from [T] accuracies and loss and [T, n] training outputs."""
    fitted = (y[None, :] * f_train) > 0  # [T, n]
    nan = np.full(len(train_acc), np.nan)
    return {
        "train_acc": np.asarray(train_acc, float),
        "test_acc": np.asarray(test_acc, float),
        "loss": np.asarray(loss, float),
        "flipped_acc": fitted[:, flipped].mean(1) if flipped.any() else nan,
        "clean_train_acc": fitted[:, ~flipped].mean(1) if (~flipped).any() else nan,
    }


def _train(cell: Cell, seeds: list[int], steps: int, record: Sequence[int]) -> list[dict[str, np.ndarray]]:
    """Train the seeds for ``steps`` steps; may raise DivergenceError."""
    if cell.variant:
        from .variants import train_variants

        problems = [sample(cell.setup, seed, cell.engine) for seed in seeds]
        res = train_variants(problems, steps, record, dtype=_DTYPES[cell.dtype], **dict(cell.variant))
        return [
            _curves_from(res.train_acc[s], res.test_acc[s], res.loss[s], res.f_train[s], pb.y, pb.flipped)
            for s, pb in enumerate(problems)
        ]
    tr = simulate(cell.setup, steps, seeds, record, cell.engine, _DTYPES[cell.dtype], outputs=True)
    flipped = tr.y != tr.y_clean[:, : cell.setup.n]
    return [
        _curves_from(tr.train_acc[s], tr.test_acc[s], tr.loss[s], tr.f_train[s], tr.y[s], flipped[s])
        for s in range(len(seeds))
    ]


def _run_cell(cell: Cell, seeds: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """Curves of each seed of a cell. A seed whose output diverges keeps its curves up to the step before."""
    try:
        runs = _train(cell, seeds, cell.steps, cell.record)
        return {seed: {**run, "diverged_at": np.int64(-1)} for seed, run in zip(seeds, runs)}
    except DivergenceError as err:
        step = err.step
    if len(seeds) > 1:  # find which seeds diverge
        out: dict[int, dict[str, np.ndarray]] = {}
        for seed in seeds:
            out.update(_run_cell(cell, [seed]))
        return out
    run = {name: np.full(len(cell.record), np.nan) for name in CURVES}
    kept = [t for t in cell.record if t < step]
    if kept:  # rerun up to the last recorded step before the divergence
        part = _train(cell, seeds, kept[-1], kept)[0]
        for name in CURVES:
            run[name][: len(kept)] = part[name]
    return {seeds[0]: {**run, "diverged_at": np.int64(step)}}


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def local_executor(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` local processes (default: one per CPU core) set up for sweeps.

    Processes are started with ``spawn`` (safe with torch's thread pools; in a script, call :func:`sweep`
    under ``if __name__ == "__main__":``) and share the cores: each uses cores // workers torch threads.
    Reuse one pool for several sweeps to pay the start-up (importing torch) once; shut it down after.
    """
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    threads = max(1, (os.cpu_count() or 1) // workers)
    executor = cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads,),
    )
    # Start every worker now, with BLAS thread pools sized like torch's (numpy reads these variables when it
    # is imported, before any initializer runs); spawned processes inherit the environment at start.
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    os.environ.update({k: str(threads) for k in _THREAD_VARIABLES})
    try:
        for _ in range(workers):
            executor.submit(_init_worker, threads)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return executor


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------------------------------------


class Cache:
    """Per-(cell, seed) ``.npz`` files under ``root/<cell key>/seed-<seed>.npz``, written atomically."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()

    def folder(self, cell: Cell) -> Path:
        return self.root / cell.key()

    def path(self, cell: Cell, seed: int) -> Path:
        return self.folder(cell) / f"seed-{seed}.npz"

    def load(self, cell: Cell, seed: int) -> dict[str, np.ndarray] | None:
        """The stored run, or None when it is missing, unreadable or stored under another key/format."""
        path = self.path(cell, seed)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["key"]) != cell.key() or int(data["format"]) != FORMAT_VERSION:
                    return None
                if not np.array_equal(data["t"], np.asarray(cell.record)):
                    return None
                run = {name: np.array(data[name], dtype=float) for name in CURVES}
                run["diverged_at"] = np.int64(data["diverged_at"])
                return run
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None

    def save(self, cell: Cell, seed: int, run: Mapping[str, np.ndarray]) -> Path:
        """Write one run atomically (temporary file in the same folder, then :func:`os.replace`)."""
        folder = self.folder(cell)
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "cell.json"
        if not meta.is_file():
            _atomic_write(meta, json.dumps(cell.describe(), indent=1, sort_keys=True).encode())
        arrays = {name: np.asarray(run[name], dtype=float) for name in CURVES}
        arrays.update(
            t=np.asarray(cell.record, dtype=np.int64),
            diverged_at=np.int64(run["diverged_at"]),
            key=np.str_(cell.key()),
            format=np.int64(FORMAT_VERSION),
            seed=np.int64(seed),
        )
        path = self.path(cell, seed)
        _atomic_write(path, arrays)
        return path


def _atomic_write(path: Path, content: bytes | Mapping[str, np.ndarray]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, bytes):
                fh.write(content)
            else:
                np.savez(fh, **content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Curves of a sweep, stacked over the grid and the seeds.

    Attributes:
        cells: object array of :class:`Cell`, shape G (the shape of the ``setups`` passed to :func:`sweep`).
        seeds: [S] seeds. t: [T] recorded steps (a cell with fewer steps has NaN beyond its last step).
        train_acc, test_acc, loss, flipped_acc, clean_train_acc: [*G, S, T] (see the module docstring).
        diverged_at: [*G, S] first non-finite step, -1 if none.
        n_cached, n_computed: how many (cell, seed) runs came from the cache and how many were computed.
        axes: the named axes of a grid made by :func:`grid` (name -> values), if known.
    """

    cells: np.ndarray
    seeds: np.ndarray
    t: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    loss: np.ndarray
    flipped_acc: np.ndarray
    clean_train_acc: np.ndarray
    diverged_at: np.ndarray
    n_cached: int
    n_computed: int
    axes: dict[str, list] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """G, the grid shape."""
        return self.cells.shape

    def index(self, step: int) -> int:
        """Position of a recorded step in ``t``; ``KeyError`` if it was not recorded."""
        hits = np.flatnonzero(self.t == step)
        if hits.size == 0:
            raise KeyError(f"step {step} was not recorded")
        return int(hits[0])

    def quantiles(self, name: str, q: Iterable[float] = (0.2, 0.5, 0.8)) -> np.ndarray:
        """Quantiles over seeds (NaN-aware) of a curve: shape [len(q), *G, T]."""
        values = getattr(self, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (steps a cell did not reach)
            return np.nanquantile(values, list(q), axis=-2)

    def median(self, name: str) -> np.ndarray:
        """Median over seeds of a curve, [*G, T]."""
        return self.quantiles(name, (0.5,))[0]

    def at(self, name: str, step: int) -> np.ndarray:
        """A curve at one recorded step, [*G, S]."""
        return getattr(self, name)[..., self.index(step)]

    def final(self, name: str) -> np.ndarray:
        """A curve at each cell's last recorded step (cells may have different ``steps``): [*G, S]."""
        values = getattr(self, name)
        last = np.empty(self.shape, dtype=np.int64)
        for idx in np.ndindex(*self.shape):
            last[idx] = np.searchsorted(self.t, self.cells[idx].record[-1])
        return np.take_along_axis(values, last[..., None, None].repeat(values.shape[-2], -2), -1)[..., 0]

    def first_step(self, name: str, threshold: float, q: float = 0.5) -> np.ndarray:
        """First recorded step where the q-quantile over seeds reaches ``threshold``: [*G] float, NaN if never."""
        curve = self.quantiles(name, (q,))[0]  # [*G, T]
        return first_crossing(self.t, curve, threshold)


def first_crossing(t: np.ndarray, curves: np.ndarray, threshold: float) -> np.ndarray:
    """First ``t`` where each curve (last axis, aligned with t) is >= threshold; NaN where it never is."""
    hit = np.nan_to_num(curves, nan=-np.inf) >= threshold
    first = np.argmax(hit, axis=-1)
    return np.where(hit.any(-1), np.asarray(t, dtype=float)[first], np.nan)


# ---------------------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------------------


def grid(base: Setup, **axes: Sequence[Any]) -> np.ndarray:
    """Setups on the product of the axes (Setup fields): object array of shape (len(axis1), len(axis2), ...).

    Example: ``grid(PAPER_FIG1_LEFT, alpha=[1e-12, 1e-14], m=[100, 1000])`` has shape (2, 2).
    """
    if not isinstance(base, Setup):
        raise ValueError(f"base must be an xorgrok.Setup, got {type(base).__name__}")
    fields = set(base.as_dict())
    for name, values in axes.items():
        if name not in fields:
            raise ValueError(f"grid axis must be a Setup field ({', '.join(sorted(fields))}), got {name!r}")
        if len(values) == 0:
            raise ValueError(f"grid axis {name} must have at least one value")
    shape = tuple(len(v) for v in axes.values())
    out = np.empty(shape, dtype=object)
    names = list(axes)
    for idx in np.ndindex(*shape):
        out[idx] = base.replace(**{name: axes[name][i] for name, i in zip(names, idx)})
    return out


def _as_object_array(setups: Any) -> np.ndarray:
    if isinstance(setups, Setup):
        arr = np.empty((), dtype=object)
        arr[()] = setups
        return arr
    arr = np.empty(np.shape(np.array(setups, dtype=object)), dtype=object)
    flat = np.array(setups, dtype=object).reshape(-1)
    arr.reshape(-1)[:] = flat
    if arr.size == 0:
        raise ValueError("setups must contain at least one Setup")
    for s in arr.reshape(-1):
        if not isinstance(s, Setup):
            raise ValueError(f"setups must contain xorgrok.Setup objects, got {type(s).__name__}")
    return arr


def _broadcast_steps(steps: Any, shape: tuple[int, ...]) -> np.ndarray:
    if np.ndim(steps) == 0:
        return np.full(shape, _check_steps(steps), dtype=np.int64)
    arr = np.asarray(steps)
    if arr.shape != shape:
        raise ValueError(f"steps must be an integer or an array of the grid's shape {shape}, got shape {arr.shape}")
    return np.vectorize(_check_steps, otypes=[np.int64])(arr)


def sweep(
    setups: Setup | Sequence[Any] | np.ndarray,
    steps: int | Sequence[Any] | np.ndarray,
    seeds: Iterable[int],
    record: Iterable[int] | None = None,
    engine: str = "auto",
    dtype: Any = None,
    variant: Mapping[str, Any] | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    progress: bool = False,
    seeds_per_task: int | None = None,
    axes: Mapping[str, Sequence[Any]] | None = None,
) -> SweepResult:
    """Train every setup of a grid for every seed; reuse what the cache holds. Returns a :class:`SweepResult`.

    Args:
        setups: a Setup, a (nested) sequence of Setups or an object array (e.g. from :func:`grid`); its shape
            G is the grid shape of the result.
        steps: number of GD steps, one for all or an integer array of shape G.
        seeds: distinct non-negative integers, the same for every cell.
        record: the steps to record (default: every step up to the largest ``steps``); each cell keeps those
            within its own ``steps``.
        engine, dtype: as in :func:`xorgrok.simulate` (for a variant, ``engine`` is the sampler).
        variant: switches of :func:`xorgrok.variants.train_variant` (e.g. ``{"leaky": 0.1}``); None: the
            paper's model.
        cache_dir: folder of the on-disk cache; None keeps nothing on disk.
        executor: any :class:`concurrent.futures.Executor` (e.g. ``dask.distributed.Client.get_executor()``);
            it is not shut down. None: ``workers`` local processes.
        workers: local worker processes when no executor is given (default: the number of CPU cores);
            ``1`` runs everything in this process. With an executor, only used to size the tasks.
        progress: show a progress bar (tqdm) over the (cell, seed) runs to compute.
        seeds_per_task: seeds per task (default: balance the runs over about two tasks per worker).
        axes: names and values of the grid axes, stored in the result (filled by the caller of :func:`grid`).
    """
    grid_setups = _as_object_array(setups)
    shape = grid_setups.shape
    steps_arr = _broadcast_steps(steps, shape)
    seeds = _check_seeds(seeds)
    if record is None:
        record_all = np.arange(int(steps_arr.max()) + 1)
    else:
        record_all = np.unique(np.asarray(list(record), dtype=np.int64))
        if record_all.size == 0 or record_all[0] < 0:
            raise ValueError(f"record must be a non-empty set of steps >= 0, got {list(record)!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1 or None, got {workers!r}")
    if seeds_per_task is not None and (
        isinstance(seeds_per_task, bool) or not isinstance(seeds_per_task, int) or seeds_per_task < 1
    ):
        raise ValueError(f"seeds_per_task must be an integer >= 1 or None, got {seeds_per_task!r}")
    n_workers = workers or os.cpu_count() or 1

    cells = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        cells[idx] = Cell.make(grid_setups[idx], int(steps_arr[idx]), record_all, engine, dtype, variant)
    flat_cells = list(cells.reshape(-1))
    cache = Cache(cache_dir) if cache_dir is not None else None

    runs: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    missing: list[tuple[int, list[int]]] = []
    for ci, cell in enumerate(flat_cells):
        todo = []
        for seed in seeds:
            run = cache.load(cell, seed) if cache is not None else None
            if run is None:
                todo.append(seed)
            else:
                runs[ci, seed] = run
        if todo:
            missing.append((ci, todo))
    n_cached = len(runs)
    total = sum(len(todo) for _, todo in missing)
    per_task = seeds_per_task or max(1, math.ceil(total / (2 * n_workers)))
    tasks = [(ci, todo[i : i + per_task]) for ci, todo in missing for i in range(0, len(todo), per_task)]

    bar = None
    if progress and tasks:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="sweep", unit="run", postfix={"cached": n_cached})

    def finish(ci: int, out: dict[int, dict[str, np.ndarray]]) -> None:
        for seed, run in out.items():
            if cache is not None:
                cache.save(flat_cells[ci], seed, run)
            runs[ci, seed] = run
        if bar is not None:
            bar.update(len(out))

    def fail(ci: int, chunk: list[int], err: BaseException) -> SweepError:
        cell = flat_cells[ci]
        return SweepError(
            f"sweep cell {cell.key()[:12]} ({cell.setup}, steps={cell.steps}) failed for seeds {chunk}: {err!r}"
        )

    try:
        if tasks and executor is None and n_workers == 1:
            for ci, chunk in tasks:
                try:
                    out = _run_cell(flat_cells[ci], chunk)
                except Exception as err:
                    raise fail(ci, chunk, err) from err
                finish(ci, out)
        elif tasks:
            _run_parallel(tasks, flat_cells, executor, n_workers, finish, fail)
    finally:
        if bar is not None:
            bar.close()

    S, T = len(seeds), len(record_all)
    arrays = {name: np.full(shape + (S, T), np.nan) for name in CURVES}
    diverged = np.full(shape + (S,), -1, dtype=np.int64)
    for ci, cell in enumerate(flat_cells):
        idx = np.unravel_index(ci, shape) if shape else ()
        cols = np.searchsorted(record_all, np.asarray(cell.record))
        for s, seed in enumerate(seeds):
            run = runs[ci, seed]
            for name in CURVES:
                arrays[name][idx + (s, cols)] = run[name]
            diverged[idx + (s,)] = int(run["diverged_at"])
    return SweepResult(
        cells=cells,
        seeds=np.asarray(seeds),
        t=record_all,
        diverged_at=diverged,
        n_cached=n_cached,
        n_computed=total,
        axes={k: list(v) for k, v in (axes or {}).items()},
        **arrays,
    )


def _run_parallel(
    tasks: list[tuple[int, list[int]]],
    cells: list[Cell],
    executor: cf.Executor | None,
    n_workers: int,
    finish: Callable[[int, dict], None],
    fail: Callable[[int, list[int], BaseException], SweepError],
) -> None:
    """Submit every task, save each as it completes; on a failure cancel what has not started, keep the rest."""
    own = executor is None
    if own:
        executor = local_executor(min(n_workers, len(tasks)))
    futures = {executor.submit(_run_cell, cells[ci], chunk): (ci, chunk) for ci, chunk in tasks}
    error: SweepError | None = None
    try:
        for fut in cf.as_completed(futures):
            ci, chunk = futures[fut]
            if fut.cancelled():
                continue
            exc = fut.exception()
            if exc is not None:
                if error is None:
                    error = fail(ci, chunk, exc)
                    error.__cause__ = exc
                    for other in futures:
                        other.cancel()
                continue
            finish(ci, fut.result())
    except BaseException:
        for other in futures:
            other.cancel()
        if own:
            executor.shutdown(wait=False, cancel_futures=True)
            own = False
        raise
    finally:
        if own:
            executor.shutdown(wait=True)
    if error is not None:
        raise error
