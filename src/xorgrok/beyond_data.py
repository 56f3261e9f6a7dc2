"""The stored full-resolution data of "Beyond the theorem": writing, loading, checking.

``python -m xorgrok sweep --all --resolution full --out book/data/beyond`` runs every
paper-size plan of :data:`xorgrok.beyond.EXPERIMENTS` through the sweep cache
(resumable: an interrupted run is continued by the same command) and writes, per plan,
the folder ``book/data/beyond/<plan>/`` (replaced atomically, so a folder is complete
or absent):

* ``<plan>.npz``: the per-seed curves at the recorded steps (:func:`save_result`:
  ``t`` [T], ``seeds`` [S], the curves of :data:`xorgrok.sweep.CURVES` [*G, S, T],
  ``diverged_at`` [*G, S], and ``meta``: the grid shape, the axes and every cell's key
  and fields);
* ``provenance_<plan>.txt``: command, package version, git commit, date, machine,
  cores, wall time (``xorgrok.theorem_data.provenance_text``) and how many runs
  were computed or read from the cache.

A page loads a plan with :func:`load`, prints :func:`provenance`, runs its live check
(:func:`xorgrok.beyond.run` at ``resolution="page"``: stored cells, first seeds) and
compares it with :func:`stored_like`. :func:`missing_cells` lists the cells of a plan
that the stored file lacks or holds from another engine revision (their keys differ).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .config import Setup
from .outputs import atomic_file, staged_folder
from .sweep import CURVES, Cell, SweepResult
from .theorem_data import _commit, provenance_text

__all__ = [
    "FOLDER",
    "save_result",
    "load_result",
    "plan_cells",
    "write_plan_data",
    "data_folder",
    "load",
    "provenance",
    "missing_cells",
    "stored_like",
]

#: The folder of the stored data, relative to ``book/data``.
FOLDER = "beyond"


def save_result(path: str | os.PathLike, res: SweepResult) -> None:
    """Write a sweep's stacked curves to exactly ``path`` (.npz, atomically)."""
    arrays = {name: getattr(res, name) for name in CURVES}
    cells = [res.cells[idx] for idx in np.ndindex(*res.shape)]
    meta = {
        "shape": list(res.shape),
        "axes": {
            k: [
                v if isinstance(v, (int, float, str)) else json.dumps(v, default=str)
                for v in vals
            ]
            for k, vals in res.axes.items()
        },
        "cells": [{"key": c.key(), **c.describe()} for c in cells],
    }
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            t=res.t,
            seeds=res.seeds,
            diverged_at=res.diverged_at,
            meta=np.str_(json.dumps(meta)),
            **arrays,
        )


def _cell(fields: dict[str, Any]) -> Cell:
    """The Cell a stored ``describe()`` record names (as stored, not re-validated)."""
    variant = tuple(sorted(fields.get("variant", {}).items()))
    return Cell(
        Setup(**fields["setup"]),
        int(fields["steps"]),
        tuple(int(t) for t in fields["record"]),
        fields["engine"],
        fields["dtype"],
        variant,
    )


def load_result(path: str | os.PathLike) -> SweepResult:
    """A file of :func:`save_result` as a :class:`~xorgrok.sweep.SweepResult`
    (``n_cached`` = every run, ``n_computed`` = 0).

    ``ValueError`` when a cell was stored under a key that the current code does not
    give it (another engine revision or format: the data are stale).
    """
    with np.load(path, allow_pickle=False) as data:
        stored = {name: np.array(data[name]) for name in data.files}
    meta = json.loads(str(stored["meta"]))
    shape = tuple(meta["shape"])
    cells = np.empty(shape, dtype=object)
    for k, idx in enumerate(np.ndindex(*shape)):
        cells[idx] = _cell(meta["cells"][k])
        if cells[idx].key() != meta["cells"][k]["key"]:
            raise ValueError(
                f"{os.fspath(path)} is stale (cell {k} was stored under engine "
                f"revision {meta['cells'][k]['engine_revision']}): regenerate it"
            )
    S = len(stored["seeds"])
    return SweepResult(
        cells=cells,
        seeds=stored["seeds"],
        t=stored["t"],
        diverged_at=stored["diverged_at"],
        n_cached=int(np.prod(shape, dtype=np.int64)) * S,
        n_computed=0,
        axes=meta["axes"],
        **{name: stored[name] for name in CURVES},
    )


def _stored_keys(path: str | os.PathLike) -> list[str]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    return [c["key"] for c in meta["cells"]]


def plan_cells(pl: Any) -> np.ndarray:
    """The cells :func:`xorgrok.beyond.run_plan` computes for a plan, as an object
    array of the result's grid shape (a last axis per variant for variant plans)."""
    steps = np.broadcast_to(np.asarray(pl.steps), pl.setups.shape)
    variants = pl.variants if pl.variants is not None else [None]
    cells = np.empty(pl.setups.shape + (len(variants),), dtype=object)
    for idx in np.ndindex(*pl.setups.shape):
        record = pl.record[pl.record <= steps[idx]]
        for v, variant in enumerate(variants):
            cells[idx + (v,)] = Cell.make(
                pl.setups[idx], int(steps[idx]), record, variant=variant
            )
    return cells if pl.variants is not None else cells[..., 0]


def data_folder() -> Path:
    """``book/data/beyond`` (:func:`xorgrok.pages.data_dir`)."""
    from .pages import data_dir

    return data_dir() / FOLDER


def _plan_folder(name: str, folder: str | os.PathLike | None) -> Path:
    return (data_folder() if folder is None else Path(folder)) / name


def write_plan_data(
    name: str,
    out: str | os.PathLike,
    *,
    plan: Any = None,
    command: str = "",
    **sweep_options: Any,
) -> Path:
    """Run a plan (default: :func:`xorgrok.beyond.plan` (name, "full")) through the
    sweep cache and write ``out/<name>/`` (module docstring); returns that folder.

    ``sweep_options`` (``cache_dir``, ``workers``, ``executor``, ``progress``) go to
    :func:`xorgrok.beyond.run_plan`.
    """
    from . import beyond

    pl = beyond.plan(name, "full") if plan is None else plan
    start = time.time()
    commit = _commit()  # the code that computes, not the checkout at the end
    res = beyond.run_plan(pl, **sweep_options)
    wall = time.time() - start
    target = Path(out) / name
    command = command or f"python -m xorgrok sweep --all --resolution full --out {out}"
    with staged_folder(target) as stage:
        save_result(stage / f"{name}.npz", res)
        text = provenance_text(command, commit, wall)
        text += f"runs: {res.n_computed} computed, {res.n_cached} from the cache\n"
        (stage / f"provenance_{name}.txt").write_text(text)
    return target


def load(name: str, folder: str | os.PathLike | None = None) -> SweepResult:
    """The stored full-resolution result of a plan (``folder``: default
    ``book/data/beyond``); ``FileNotFoundError`` names the command that makes it."""
    path = _plan_folder(name, folder) / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run python -m xorgrok sweep --all --resolution full "
            "--out book/data/beyond"
        )
    return load_result(path)


def provenance(name: str, folder: str | os.PathLike | None = None) -> dict[str, str]:
    """The provenance record of a stored plan: {field: value}."""
    from .pages import read_provenance

    return read_provenance(_plan_folder(name, folder), name)


def missing_cells(
    name: str,
    resolution: str = "page",
    folder: str | os.PathLike | None = None,
    seeds: Iterable[int] | None = None,
    plan: Any = None,
) -> list[str]:
    """The keys of the cells of :func:`xorgrok.beyond.plan` (name, resolution) that the
    stored data lack (also when stored under another key: a changed setup, step count,
    engine revision or format), or all of them if the seeds a page needs (default:
    the plan's) are not all stored. Empty: the page has every cell it needs.
    ``plan`` replaces the named plan (the file is still ``<name>/<name>.npz``)."""
    from . import beyond

    pl = beyond.plan(name, resolution) if plan is None else plan
    wanted = [c.key() for c in plan_cells(pl).reshape(-1)]
    path = _plan_folder(name, folder) / f"{name}.npz"
    if not path.is_file():
        return wanted
    with np.load(path, allow_pickle=False) as data:
        stored_seeds = set(int(s) for s in data["seeds"])
    if not set(pl.seeds if seeds is None else seeds) <= stored_seeds:
        return wanted
    have = set(_stored_keys(path))
    return [key for key in wanted if key not in have]


def stored_like(live: SweepResult, stored: SweepResult) -> dict[str, np.ndarray]:
    """The stored curves of the live result's cells and seeds, on its grid and steps:
    each [*G_live, S_live, T_live] (and ``diverged_at`` [*G_live, S_live]).

    Cells are matched by key, seeds by value, steps by value; ``KeyError`` names a cell
    or seed that the stored result lacks.
    """
    where = {stored.cells[idx].key(): idx for idx in np.ndindex(*stored.shape)}
    seed_at = {int(s): k for k, s in enumerate(stored.seeds)}
    missing = [int(s) for s in live.seeds if int(s) not in seed_at]
    if missing:
        raise KeyError(f"seeds {missing} are not stored")
    rows = [seed_at[int(s)] for s in live.seeds]
    cols = np.searchsorted(stored.t, live.t)
    if not np.array_equal(stored.t[np.minimum(cols, len(stored.t) - 1)], live.t):
        raise KeyError("the live result records steps that are not stored")
    out = {name: np.full(getattr(live, name).shape, np.nan) for name in CURVES}
    out["diverged_at"] = np.full(live.diverged_at.shape, -1, dtype=np.int64)
    for idx in np.ndindex(*live.shape):
        key = live.cells[idx].key()
        if key not in where:
            raise KeyError(f"cell {key[:12]} ({live.cells[idx].setup}) is not stored")
        at = where[key]
        for name in CURVES:
            out[name][idx] = getattr(stored, name)[at][rows][:, cols]
        out["diverged_at"][idx] = stored.diverged_at[at][rows]
    return out
