r"""Sweeps: a grid of setups x seeds, trained in parallel, cached on disk, resumable.

A *cell* (:class:`Cell`) is everything that fixes a result except the seed: the
:class:`~xorgrok.Setup`, the number of steps, the recorded steps, the engine, the
floating type and, for the model variants of :mod:`xorgrok.variants`, their switches.
:meth:`Cell.key` is a stable hash of these fields and of :data:`FORMAT_VERSION` (the
version of the stored result format), so the cache survives restarts, machines and
package releases that do not change the format.

:func:`sweep` trains every (cell, seed) pair that the cache does not already hold and
returns a :class:`SweepResult` with the per-seed curves stacked as ``[*grid_shape, S,
T]`` arrays:

* **cache**: one ``.npz`` file per (cell, seed) under
  ``cache_dir/<key>/seed-<seed>.npz`` (plus a human-readable ``cell.json``). A file is
  written to a temporary name in the same folder and moved into place with
  :func:`os.replace`, so a half-written file is never read back; stale temporary files
  of an interrupted run are ignored. A file that cannot be read (or whose stored key
  differs) is recomputed.
* **resume**: cells are saved as soon as they finish, by the calling process, so an
  interrupted or failed sweep keeps every finished cell and the next call computes only
  the rest.
* **parallel**: tasks (a cell and a chunk of its missing seeds) run on any
  :mod:`concurrent.futures` executor: local processes by default (``workers`` of them),
  in-process when ``workers=1``, or the executor of a ``dask.distributed`` client
  (``client.get_executor()``) to use a cluster.
* **curves** stored per seed, at the recorded steps ``t`` [T]: ``train_acc`` (against
  the noisy labels), ``test_acc`` (clean labels), ``loss`` (empirical risk
  :math:`L(W^{(t)})`), ``flipped_acc`` (fraction of the flipped training points fitted,
  i.e. :math:`\operatorname{sgn} f(x_i) = y_i`; NaN when a seed has none) and
  ``clean_train_acc`` (the same on the unflipped training points); ``diverged_at`` is
  the first step with a non-finite output (-1 if none; the curves are NaN from there
  on).
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import json
import math
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
from .executors import local_executor, stop_workers
from .grids import as_setup_array, broadcast_steps, grid
from .resources import float_range_issue
from .schedule import Recorded
from .simulate import DEFAULT_DTYPE, simulate
from .validation import (
    Progress,
    check_dtype,
    check_engine,
    check_int,
    check_progress,
    check_record,
    check_seeds,
)

__all__ = [
    "FORMAT_VERSION",
    "ENGINE_REVISION",
    "ENGINE_MODULES",
    "engine_fingerprint",
    "CURVES",
    "Cell",
    "Cache",
    "CacheWarning",
    "SweepResult",
    "SweepError",
    "sweep",
    "grid",
    "as_setup_array",
    "stack_results",
    "local_executor",
    "stop_workers",
]

#: Version of the stored result format; part of every cache key (bump it when the stored
#: fields change).
FORMAT_VERSION = 1
#: Revision of the code that produces the results (engines, samplers, variants); part of
#: every cache key, so results of an older engine are never served.
#: ``tests/test_robustness.py`` holds the :func:`engine_fingerprint` of each revision
#: and fails when the code changes: bump the revision (and add its fingerprint there;
#: never edit an old one).
ENGINE_REVISION = 3
#: The modules whose arithmetic :data:`ENGINE_REVISION` covers.
ENGINE_MODULES = ("data", "engines", "model", "simulate", "variants")
#: The per-seed curves a sweep stores, each [T] at the recorded steps.
CURVES = ("train_acc", "test_acc", "loss", "flipped_acc", "clean_train_acc")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class SweepError(RuntimeError):
    """A task of a sweep failed; the cells that finished before are saved (when there
    is a cache)."""


def engine_fingerprint() -> str:
    """SHA-256 of the syntax trees of :data:`ENGINE_MODULES`, without docstrings.

    Editing a docstring or a comment, or reformatting the code (line breaks, quotes,
    parentheses, trailing commas), keeps it; any change to the code changes it.
    """
    from importlib import import_module

    from .codetree import code_tree

    sha = hashlib.sha256()
    for name in ENGINE_MODULES:
        path = Path(import_module(f"xorgrok.{name}").__file__)
        sha.update(f"{name}:{code_tree(path.read_text('utf-8'))}\n".encode())
    return sha.hexdigest()


def _dtype_name(dtype: Any, engine: str, variant: bool) -> str:
    default = torch.float64 if (engine == "dense" or variant) else DEFAULT_DTYPE
    return str(check_dtype(dtype, default)).removeprefix("torch.")


@dataclass(frozen=True)
class Cell:
    """Everything that fixes a sweep result except the seed. Build with :meth:`make`
    (validates, normalizes).

    Attributes:
        setup: the configuration.
        steps: number of gradient steps.
        record: the recorded steps (sorted, distinct, within [0, steps]).
        engine: ``"dense"``, ``"span"`` or ``"reduced"`` (``"auto"`` is resolved to
            ``"reduced"``); for a variant, the sampler of the problem (``"dense"`` or
            ``"reduced"``).
        dtype: ``"float32"`` or ``"float64"``.
        variant: sorted ``(name, value)`` switches of
            :func:`xorgrok.variants.train_variants`; empty for the paper's model trained
            by :func:`xorgrok.simulate`.
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
        """A validated cell. ``record=None`` records every step (a step beyond
        ``steps`` is an error)."""
        if not isinstance(setup, Setup):
            raise ValueError(
                f"setup must be an xorgrok.Setup, got {type(setup).__name__}"
            )
        steps = check_int("steps", steps)
        rec = tuple(int(t) for t in check_record(record, steps))
        engine = check_engine(engine)
        options: tuple[tuple[str, Any], ...] = ()
        if variant:
            from .variants import check_options

            options = tuple(sorted(check_options(dict(variant)).items()))
            if engine == "span":
                raise ValueError(
                    "engine must be 'dense' or 'reduced' for a variant (the sampler), "
                    "got "
                    "'span'"
                )
        name = _dtype_name(dtype, engine, bool(options))
        if dtype is None and float_range_issue(setup, steps, _DTYPES[name]) is not None:
            name = "float64"  # float32 cannot represent this run (xorgrok.resources)
        issue = float_range_issue(setup, steps, _DTYPES[name])
        if issue is not None:
            raise ValueError(issue)
        return cls(setup, steps, rec, engine, name, options)

    def describe(self) -> dict[str, Any]:
        """The fields as plain JSON-able values (what the key hashes, with the format
        version)."""
        return {
            "format": FORMAT_VERSION,
            "engine_revision": ENGINE_REVISION,
            "setup": self.setup.as_dict(),
            "steps": self.steps,
            "record": list(self.record),
            "engine": self.engine,
            "dtype": self.dtype,
            "variant": {k: v for k, v in self.variant},
        }

    def key(self) -> str:
        """A stable hash (SHA-256, hex) of :meth:`describe`: equal cells share a key on
        every machine.

        The paper's model (no variant) hashes exactly the Setup fields, steps,
        record, engine, dtype, :data:`FORMAT_VERSION` and :data:`ENGINE_REVISION`; a
        variant adds its switches.
        """
        payload = self.describe()
        if not self.variant:
            del payload["variant"]
        text = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------
# Computing one task: a cell and some of its seeds (runs in a worker)
# --------------------------------------------------------------------------------------


def _curves_from(
    train_acc, test_acc, loss, f_train, y, flipped
) -> dict[str, np.ndarray]:
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


def _train(
    cell: Cell, seeds: list[int], steps: int, record: Sequence[int]
) -> list[dict[str, np.ndarray]]:
    """Train the seeds for ``steps`` steps; may raise DivergenceError."""
    if cell.variant:
        from .variants import train_variants

        train = functools.partial(train_variants, **dict(cell.variant))
    else:
        train = functools.partial(simulate, outputs=True)
    dtype = _DTYPES[cell.dtype]
    tr = train(cell.setup, steps, seeds, record=record, engine=cell.engine, dtype=dtype)
    flipped = tr.y != tr.y_clean[:, : cell.setup.n]
    return [
        _curves_from(
            tr.train_acc[s],
            tr.test_acc[s],
            tr.loss[s],
            tr.f_train[s],
            tr.y[s],
            flipped[s],
        )
        for s in range(len(seeds))
    ]


def _run_cell(cell: Cell, seeds: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """Curves of each seed of a cell. A seed whose output diverges keeps its curves
    up to the step before."""
    try:
        runs = _train(cell, seeds, cell.steps, cell.record)
        return {
            seed: {**run, "diverged_at": np.int64(-1)} for seed, run in zip(seeds, runs)
        }
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


#: Most cell locks one sweep holds at a time (file descriptors); further cells are
#: computed without a lock.
_MAX_LOCKS = 256


# --------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------


class CacheWarning(UserWarning):
    """A cache file failed its checks and is recomputed."""


class Cache:
    """Per-(cell, seed) ``.npz`` files under ``root/<cell key>/seed-<seed>.npz``,
    written atomically.

    :meth:`load` checks a file against its key before trusting it (:meth:`check`);
    :meth:`lock` takes a per-cell lock file (``fcntl.flock``: the system releases it
    when its process dies, even by kill -9) so that concurrent sweeps on one cache do
    not compute the same cell twice.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()

    def folder(self, cell: Cell) -> Path:
        return self.root / cell.key()

    def path(self, cell: Cell, seed: int) -> Path:
        return self.folder(cell) / f"seed-{seed}.npz"

    def load(
        self, cell: Cell, seed: int, warn: bool = True
    ) -> dict[str, np.ndarray] | None:
        """The stored run, or None when it is missing. A file that cannot be read or
        fails :meth:`check` gives None too, with a one-line :class:`CacheWarning` naming
        it (the caller recomputes it) unless ``warn`` is False."""
        path = self.path(cell, seed)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = {name: np.array(data[name]) for name in data.files}
            problem = self.check(cell, seed, stored)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            problem = f"unreadable ({type(err).__name__})"
        if problem is not None:
            if warn:
                message = f"cache file {path} ignored and recomputed: {problem}"
                warnings.warn(message, CacheWarning, stacklevel=2)
            return None
        run = {name: stored[name].astype(float) for name in CURVES}
        run["diverged_at"] = np.int64(stored["diverged_at"])
        return run

    @staticmethod
    def check(cell: Cell, seed: int, stored: Mapping[str, np.ndarray]) -> str | None:
        """What is wrong with a stored record for (cell, seed), or None: key, format,
        seed, recorded steps, shapes and dtypes of the curves, accuracies in [0, 1],
        loss >= 0, ``diverged_at`` -1 or in [0, steps] with NaN exactly from there."""
        fields = ("key", "format", "seed", "t", "diverged_at", *CURVES)
        missing = [k for k in fields if k not in stored]
        if missing:
            return f"fields {missing} are missing"
        if stored["key"].shape != () or str(stored["key"]) != cell.key():
            return "it was stored under another cell's key"
        if stored["format"].shape != () or int(stored["format"]) != FORMAT_VERSION:
            return f"format {stored['format']} is not {FORMAT_VERSION}"
        if stored["seed"].shape != () or int(stored["seed"]) != seed:
            return f"it holds seed {stored['seed']}, not seed {seed}"
        if not np.array_equal(stored["t"], np.asarray(cell.record)):
            return "its recorded steps differ from the cell's"
        T = len(cell.record)
        for name in CURVES:
            values = stored[name]
            if values.shape != (T,) or values.dtype.kind != "f":
                return (
                    f"{name} has shape {values.shape} and dtype {values.dtype}, "
                    f"not ({T},) float"
                )
        div = stored["diverged_at"]
        if div.shape != () or div.dtype.kind not in "iu" or not -1 <= div <= cell.steps:
            return f"diverged_at = {div} is not -1 or a step in [0, {cell.steps}]"
        after = np.asarray(cell.record) >= int(div)
        if int(div) < 0:
            after[:] = False
        for name in CURVES:
            values = stored[name]
            if not np.isnan(values[after]).all():
                return f"{name} is not NaN after the divergence at step {int(div)}"
            kept = values[~after]
            if name in ("train_acc", "test_acc", "loss") and np.isnan(kept).any():
                return f"{name} is NaN before any divergence"
            low, high = (0.0, math.inf) if name == "loss" else (0.0, 1.0)
            if ((kept < low) | (kept > high)).any() or np.isinf(kept).any():
                return f"{name} has values outside [{low:g}, {high:g}]"
        return None

    def lock(self, cell: Cell, wait: bool) -> int | None:
        """Take the cell's lock file; return its descriptor (give it to :meth:`unlock`),
        or None when ``wait`` is False and another process holds it. Without ``fcntl``
        (Windows): no lock (-1)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - platforms without flock
            return -1
        folder = self.folder(cell)
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def unlock(fd: int) -> None:
        """Release a lock taken by :meth:`lock`."""
        if fd >= 0:
            os.close(fd)  # closing the descriptor releases the flock

    def save(self, cell: Cell, seed: int, run: Mapping[str, np.ndarray]) -> Path:
        """Write one run atomically (temporary file in the same folder, then
        :func:`os.replace`)."""
        folder = self.folder(cell)
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "cell.json"
        if not meta.is_file():
            _atomic_write(
                meta, json.dumps(cell.describe(), indent=1, sort_keys=True).encode()
            )
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


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepResult(Recorded):
    """Curves of a sweep, stacked over the grid and the seeds.

    Attributes:
        cells: object array of :class:`Cell`, shape G (the shape of the ``setups``
            passed to :func:`sweep`).
        seeds: [S] seeds. t: [T] recorded steps (a cell with fewer steps has NaN beyond
            its last step).
        train_acc, test_acc, loss, flipped_acc, clean_train_acc: ``[*G, S, T]`` (see the
            module docstring).
        diverged_at: ``[*G, S]`` first non-finite step, -1 if none.
        n_cached, n_computed: how many (cell, seed) runs came from the cache and how
            many were computed.
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

    def quantiles(self, name: str, q: Iterable[float] = (0.2, 0.5, 0.8)) -> np.ndarray:
        """Quantiles over seeds (NaN-aware) of a curve: shape ``[len(q), *G, T]``."""
        values = getattr(self, name)
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", RuntimeWarning
            )  # all-NaN columns (steps a cell did not reach)
            return np.nanquantile(values, list(q), axis=-2)

    def median(self, name: str) -> np.ndarray:
        """Median over seeds of a curve, ``[*G, T]``."""
        return self.quantiles(name, (0.5,))[0]

    def at(self, name: str, step: int) -> np.ndarray:
        """A curve at one recorded step, ``[*G, S]``."""
        return getattr(self, name)[..., self.index(step)]

    def final(self, name: str) -> np.ndarray:
        """A curve at each cell's last recorded step (cells may have different
        ``steps``): ``[*G, S]``."""
        values = getattr(self, name)
        last = np.empty(self.shape, dtype=np.int64)
        for idx in np.ndindex(*self.shape):
            last[idx] = np.searchsorted(self.t, self.cells[idx].record[-1])
        return np.take_along_axis(
            values, last[..., None, None].repeat(values.shape[-2], -2), -1
        )[..., 0]


# --------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------


def _check_optional_count(name: str, value: int | None) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value < 1
    ):
        raise ValueError(f"{name} must be an integer >= 1 or None, got {value!r}")


def sweep(
    setups: Setup | Sequence[Any] | np.ndarray,
    steps: int | Sequence[Any] | np.ndarray,
    seeds: Iterable[int],
    *,
    record: Iterable[int] | None = None,
    engine: str = "auto",
    dtype: Any = None,
    progress: Progress = None,
    variant: Mapping[str, Any] | None = None,
    cache_dir: str | os.PathLike | None = None,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    seeds_per_task: int | None = None,
    axes: Mapping[str, Sequence[Any]] | None = None,
) -> SweepResult:
    """Train every setup of a grid for every seed; reuse what the cache holds. Returns a
    :class:`SweepResult`.

    Args:
        setups: a Setup, a (nested) sequence of Setups or an object array (e.g. from
            :func:`grid`); its shape G is the grid shape of the result.
        steps: number of GD steps, one for all or an integer array of shape G.
        seeds: distinct non-negative integers, the same for every cell.
        record: the steps to record (default: every step up to the largest ``steps``; a
            step beyond it is an error); each cell keeps those within its own ``steps``.
        engine, dtype: as in :func:`xorgrok.simulate` (for a variant, ``engine`` is the
            sampler).
        progress: called with the number of (cell, seed) runs just computed or read from
            a cache another sweep filled (:data:`xorgrok.validation.Progress`).
        variant: switches of :func:`xorgrok.variants.train_variants` (e.g. ``{"leaky":
            0.1}``); None: the paper's model.
        cache_dir: folder of the on-disk cache; None keeps nothing on disk.
        executor: any :class:`concurrent.futures.Executor` (e.g.
            ``dask.distributed.Client.get_executor()``); it is not shut down. None:
            ``workers`` local processes.
        workers: local worker processes when no executor is given (default: the number
            of CPU cores); ``1`` runs everything in this process. With an executor, only
            used to size the tasks.
        seeds_per_task: seeds per task (default: balance the runs over about two tasks
            per worker).
        axes: names and values of the grid axes, stored in the result (filled by the
            caller of :func:`grid`).
    """
    grid_setups = as_setup_array(setups)
    shape = grid_setups.shape
    steps_arr = broadcast_steps(steps, shape)
    seeds = check_seeds(seeds)
    record_all = check_record(record, int(steps_arr.max()))
    _check_optional_count("workers", workers)
    _check_optional_count("seeds_per_task", seeds_per_task)
    cells = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        cell_record = record_all[record_all <= steps_arr[idx]]
        cells[idx] = Cell.make(
            grid_setups[idx], int(steps_arr[idx]), cell_record, engine, dtype, variant
        )
    run = _SweepRun(
        list(cells.reshape(-1)),
        Cache(cache_dir) if cache_dir is not None else None,
        executor,
        workers or os.cpu_count() or 1,
        check_progress(progress),
    )
    run.execute(seeds, seeds_per_task)
    arrays, diverged = _stack_runs(run.runs, run.cells, shape, seeds, record_all)
    return SweepResult(
        cells=cells,
        seeds=np.asarray(seeds),
        t=record_all,
        diverged_at=diverged,
        n_cached=run.n_cached,
        n_computed=run.n_computed,
        axes={k: list(v) for k, v in (axes or {}).items()},
        **arrays,
    )


class _SweepRun:
    """The runs of one :func:`sweep`: which the cache holds, computing the rest, saving
    them as they come.

    ``runs`` maps (flat cell index, seed) -> the run's curves; ``n_cached`` and
    ``n_computed`` count them.
    """

    def __init__(
        self,
        cells: list[Cell],
        cache: Cache | None,
        executor: cf.Executor | None,
        workers: int,
        progress: Callable[[int], Any],
    ):
        self.cells, self.cache, self.executor = cells, cache, executor
        self.workers, self.progress = workers, progress
        self.runs: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        self.n_cached = self.n_computed = 0
        self.per_task = 1

    def still_missing(
        self, ci: int, todo: Sequence[int], warn: bool = True
    ) -> list[int]:
        """The seeds of ``todo`` the cache lacks (the others go into ``runs``)."""
        left = []
        for seed in todo:
            run = (
                self.cache.load(self.cells[ci], seed, warn)
                if self.cache is not None
                else None
            )
            if run is None:
                left.append(seed)
            else:
                self.runs[ci, seed] = run
        return left

    def execute(self, seeds: list[int], seeds_per_task: int | None) -> None:
        """Read what the cache holds, compute the rest (under per-cell locks with a
        cache)."""
        missing = [
            (ci, todo)
            for ci in range(len(self.cells))
            if (todo := self.still_missing(ci, seeds))
        ]
        self.n_cached = len(self.runs)
        total = sum(len(todo) for _, todo in missing)
        self.per_task = seeds_per_task or max(1, math.ceil(total / (2 * self.workers)))
        todo_cells = {ci for ci, _ in missing}
        _check_fits(
            todo_cells, self.cells, min(self.per_task, len(seeds)), self.workers
        )
        if self.cache is None:
            self.compute(missing)
        else:
            self.compute_locked(missing)
        self.n_computed = len(self.runs) - self.n_cached

    def compute_locked(self, missing: list[tuple[int, list[int]]]) -> None:
        """Compute under per-cell locks; a cell another sweep computes is waited for,
        then read."""
        locks: list[int] = []
        try:
            mine, theirs = [], []
            for ci, todo in missing:
                fd = (
                    self.cache.lock(self.cells[ci], wait=False)
                    if len(locks) < _MAX_LOCKS
                    else -1
                )
                if fd is None:
                    theirs.append((ci, todo))
                    continue
                locks.append(fd)
                before = len(self.runs)
                mine.append((ci, self.still_missing(ci, todo, warn=False)))
                self.n_cached += len(self.runs) - before
            self.compute(mine)
            for ci, todo in theirs:
                locks.append(self.cache.lock(self.cells[ci], wait=True))
                left = self.still_missing(ci, todo, warn=False)
                self.n_cached += len(todo) - len(left)
                self.progress(len(todo) - len(left))
                self.compute([(ci, left)])
        finally:
            for fd in locks:
                Cache.unlock(fd)

    def finish(self, ci: int, out: dict[int, dict[str, np.ndarray]]) -> None:
        for seed, run in out.items():
            if self.cache is not None:
                self.cache.save(self.cells[ci], seed, run)
            self.runs[ci, seed] = run
        self.progress(len(out))

    def fail(self, ci: int, chunk: list[int], err: BaseException) -> SweepError:
        cell = self.cells[ci]
        return SweepError(
            f"sweep cell {cell.key()[:12]} ({cell.setup}, steps={cell.steps}) failed "
            f"for seeds {chunk}: "
            f"{err!r}"
        )

    def compute(self, todo: list[tuple[int, list[int]]]) -> None:
        per_task = self.per_task
        tasks = [
            (ci, chunk[i : i + per_task])
            for ci, chunk in todo
            for i in range(0, len(chunk), per_task)
        ]
        if tasks and self.executor is None and self.workers == 1:
            for ci, chunk in tasks:
                try:
                    out = _run_cell(self.cells[ci], chunk)
                except Exception as err:
                    raise self.fail(ci, chunk, err) from err
                self.finish(ci, out)
        elif tasks:
            _run_parallel(
                tasks, self.cells, self.executor, self.workers, self.finish, self.fail
            )


def _stack_runs(
    runs: Mapping[tuple[int, int], Mapping[str, np.ndarray]],
    cells: list[Cell],
    shape: tuple[int, ...],
    seeds: list[int],
    record_all: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The curves as ``[*G, S, T]`` arrays (NaN beyond a cell's steps) and
    ``diverged_at`` ``[*G, S]``."""
    S, T = len(seeds), len(record_all)
    arrays = {name: np.full(shape + (S, T), np.nan) for name in CURVES}
    diverged = np.full(shape + (S,), -1, dtype=np.int64)
    for ci, cell in enumerate(cells):
        idx = np.unravel_index(ci, shape) if shape else ()
        cols = np.searchsorted(record_all, np.asarray(cell.record))
        for s, seed in enumerate(seeds):
            run = runs[ci, seed]
            for name in CURVES:
                arrays[name][idx + (s, cols)] = run[name]
            diverged[idx + (s,)] = int(run["diverged_at"])
    return arrays, diverged


def stack_results(
    parts: Sequence[SweepResult], axes: Mapping[str, Sequence[Any]]
) -> SweepResult:
    """Sweeps of one grid (one per model variant, say) as one result with a last grid
    axis, one entry per part.

    Every part has the same grid shape G, seeds and recorded steps; the result has the
    grid shape ``[*G, len(parts)]`` and the named ``axes``.
    """
    G = len(parts[0].shape)
    cells = np.empty(parts[0].shape + (len(parts),), dtype=object)
    for k, part in enumerate(parts):
        cells[..., k] = part.cells
    return SweepResult(
        cells=cells,
        seeds=parts[0].seeds,
        t=parts[0].t,
        diverged_at=np.stack([p.diverged_at for p in parts], axis=G),
        n_cached=sum(p.n_cached for p in parts),
        n_computed=sum(p.n_computed for p in parts),
        axes={k: list(v) for k, v in axes.items()},
        **{f: np.stack([getattr(p, f) for p in parts], axis=G) for f in CURVES},
    )


def _check_fits(todo: set[int], cells: list[Cell], per_task: int, workers: int) -> None:
    """Refuse (``MemoryError`` with the estimate and the limit) before computing when
    the tasks of a cell, ``workers`` at a time, would not fit in memory
    (:mod:`xorgrok.resources`)."""
    from .engines import check_dense_fits
    from .resources import check_memory, run_bytes

    for ci in sorted(todo):
        cell = cells[ci]
        dtype = _DTYPES[cell.dtype]
        if cell.engine in ("dense", "span"):
            check_dense_fits(cell.setup, cell.engine, dtype)
        itemsize = torch.empty((), dtype=dtype).element_size()
        T = len(cell.record)
        need = workers * run_bytes(cell.setup, per_task, T, itemsize, outputs=True)
        what = f"sweep cell {cell.key()[:12]} ({workers} tasks of {per_task} seeds)"
        check_memory(need, what)


def _run_parallel(
    tasks: list[tuple[int, list[int]]],
    cells: list[Cell],
    executor: cf.Executor | None,
    n_workers: int,
    finish: Callable[[int, dict], None],
    fail: Callable[[int, list[int], BaseException], SweepError],
) -> None:
    """Submit every task, save each as it completes; on a failure cancel what has not
    started, keep the rest."""
    own = executor is None
    if own:
        executor = local_executor(min(n_workers, len(tasks)))
    futures = {
        executor.submit(_run_cell, cells[ci], chunk): (ci, chunk) for ci, chunk in tasks
    }
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
            stop_workers(executor)
            own = False
        raise
    finally:
        if own:
            executor.shutdown(wait=True)
    if error is not None:
        raise error
