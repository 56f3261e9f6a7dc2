"""Tests of the stored data of "Beyond the theorem": writing, loading, completeness and
invalidation."""

from __future__ import annotations

import numpy as np
import pytest

import xorgrok as xg
from xorgrok import beyond, beyond_data
from xorgrok import sweep as sw
from xorgrok.beyond_plans import Plan
from xorgrok.cli import main as cli_main
from xorgrok.grids import as_setup_array
from xorgrok.sweep import CURVES, sweep

TINY = xg.Setup(
    p=2_000, n=12, n_test=20, m=8, mu_norm=12.0, eta=0.2, omega_init=1e-15, alpha=1e-12
)
ALPHAS = [1e-12, 2e-12, 4e-12]


def tiny_plan(alphas=ALPHAS, variants=None) -> Plan:
    setups = as_setup_array([TINY.replace(alpha=a) for a in alphas])
    axes = {"alpha": list(alphas)}
    if variants is not None:
        axes["variant"] = [str(v) for v in variants]
    return Plan("tiny", setups, 6, range(3), np.array([0, 1, 3, 6]), axes, variants)


def test_written_data_load_back_with_provenance(tmp_path):
    cache = tmp_path / "cache"
    folder = beyond_data.write_plan_data(
        "tiny", tmp_path / "out", plan=tiny_plan(), cache_dir=cache, workers=1
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        "provenance_tiny.txt",
        "tiny.npz",
    ]
    stored = beyond_data.load("tiny", tmp_path / "out")
    live = beyond.run_plan(tiny_plan(), workers=1)
    for name in CURVES:
        np.testing.assert_array_equal(getattr(stored, name), getattr(live, name))
    assert [c.key() for c in stored.cells] == [c.key() for c in live.cells]
    record = beyond_data.provenance("tiny", tmp_path / "out")
    for field in ("command", "package", "commit", "date", "machine", "cores"):
        assert record[field]
    assert record["wall time"].endswith(" s")
    assert record["runs"] == "9 computed, 0 from the cache"
    # a rerun resumes from the cache: nothing is computed
    beyond_data.write_plan_data(
        "tiny", tmp_path / "out", plan=tiny_plan(), cache_dir=cache, workers=1
    )
    record = beyond_data.provenance("tiny", tmp_path / "out")
    assert record["runs"] == "0 computed, 9 from the cache"


def test_variant_plans_are_stored_with_their_last_axis(tmp_path):
    pl = tiny_plan(ALPHAS[:2], variants=[{}, {"leaky": 0.1}])
    beyond_data.write_plan_data("tiny", tmp_path, plan=pl, workers=1)
    stored = beyond_data.load("tiny", tmp_path)
    assert stored.shape == (2, 2) and stored.test_acc.shape == (2, 2, 3, 4)
    assert dict(stored.cells[0, 1].variant) == {"leaky": 0.1}
    assert beyond_data.missing_cells("tiny", folder=tmp_path, plan=pl) == []


def test_stored_like_picks_the_live_cells_and_seeds(tmp_path):
    beyond_data.write_plan_data("tiny", tmp_path, plan=tiny_plan(), workers=1)
    stored = beyond_data.load("tiny", tmp_path)
    page = tiny_plan(ALPHAS[1:])
    live = beyond.run_plan(page, seeds=[2, 0], workers=1)
    picked = beyond_data.stored_like(live, stored)
    for name in CURVES:
        np.testing.assert_array_equal(picked[name], getattr(live, name))
    np.testing.assert_array_equal(picked["diverged_at"], live.diverged_at)
    other = beyond.run_plan(tiny_plan([3e-12]), seeds=[0], workers=1)
    with pytest.raises(KeyError, match="not stored"):
        beyond_data.stored_like(other, stored)
    with pytest.raises(KeyError, match="seeds"):
        beyond_data.stored_like(beyond.run_plan(page, seeds=[5], workers=1), stored)


def test_a_changed_setup_invalidates_exactly_its_cell(tmp_path):
    cache = tmp_path / "cache"
    first = sweep(
        as_setup_array([TINY.replace(alpha=a) for a in ALPHAS]),
        6,
        range(3),
        cache_dir=cache,
        workers=1,
    )
    assert first.n_computed == 9
    changed = [ALPHAS[0], 3e-12, ALPHAS[2]]
    again = sweep(
        as_setup_array([TINY.replace(alpha=a) for a in changed]),
        6,
        range(3),
        cache_dir=cache,
        workers=1,
    )
    assert (again.n_cached, again.n_computed) == (6, 3)
    # the stored data: exactly the changed cell is missing
    beyond_data.write_plan_data("tiny", tmp_path / "out", plan=tiny_plan(), workers=1)
    missing = beyond_data.missing_cells(
        "tiny", folder=tmp_path / "out", plan=tiny_plan(changed)
    )
    assert missing == [beyond_data.plan_cells(tiny_plan(changed))[1].key()]
    # a page that needs a seed that is not stored misses every cell
    assert (
        len(
            beyond_data.missing_cells(
                "tiny", folder=tmp_path / "out", plan=tiny_plan(), seeds=range(4)
            )
        )
        == 3
    )


def test_a_new_engine_revision_invalidates_every_cell(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    beyond_data.write_plan_data(
        "tiny", tmp_path / "out", plan=tiny_plan(), cache_dir=cache, workers=1
    )
    monkeypatch.setattr(sw, "ENGINE_REVISION", sw.ENGINE_REVISION + 1)
    assert (
        len(
            beyond_data.missing_cells("tiny", folder=tmp_path / "out", plan=tiny_plan())
        )
        == 3
    )
    with pytest.raises(ValueError, match="stale"):
        beyond_data.load("tiny", tmp_path / "out")
    res = beyond.run_plan(tiny_plan(), cache_dir=cache, workers=1)
    assert (res.n_cached, res.n_computed) == (0, 9)


def test_missing_data_name_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="sweep --all"):
        beyond_data.load("paper-init", tmp_path)
    missing = beyond_data.missing_cells("paper-init", folder=tmp_path)
    assert len(missing) == beyond.plan("paper-init", "page").setups.size


def test_cli_all_writes_every_experiment(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        beyond, "EXPERIMENTS", {"tiny": ("a tiny plan", lambda res: tiny_plan())}
    )
    argv = ["sweep", "--all", "--out", str(tmp_path / "out"), "--workers", "1"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--no-progress"]
    assert cli_main(argv) == 0
    assert "tiny:" in capsys.readouterr().out
    record = beyond_data.provenance("tiny", tmp_path / "out")
    assert record["command"].startswith("python -m xorgrok sweep --all")
    assert (
        beyond_data.missing_cells("tiny", folder=tmp_path / "out", plan=tiny_plan())
        == []
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "--all"],
        ["sweep", "paper-init", "--all", "--out", "x"],
        ["sweep", "--all", "--out", "x", "--seeds", "4"],
        ["sweep"],
    ],
)
def test_cli_all_bad_input_exits_2_with_one_line(argv, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xorgrok sweep: error:") and "\n" not in err


@pytest.mark.parametrize("name", list(beyond.EXPERIMENTS))
def test_every_cell_a_page_needs_is_stored(name):
    """The page's live check and its stored counterpart: every page cell and seed is
    in book/data/beyond (skips until the data are made)."""
    folder = beyond_data.data_folder() / name
    if not folder.is_dir():
        pytest.skip(
            f"{folder} is not made yet: python -m xorgrok sweep --all --resolution "
            "full --out book/data/beyond"
        )
    assert beyond_data.missing_cells(name, "page") == []
    assert beyond_data.missing_cells(name, "full") == []
