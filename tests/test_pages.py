"""Tests of the page plumbing (xorgrok.pages)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xorgrok import pages


def test_html_table_escapes_every_cell():
    table = pages.html_table(["a < b", "c"], [("x & y", 1), ("<i>", 2.5)]).data
    assert "<th>a &lt; b</th>" in table and "<td>x &amp; y</td>" in table
    assert "<td>&lt;i&gt;</td>" in table and "<td>2.5</td>" in table
    assert table.count("<tr>") == 3
    raw = pages.html_table(["c<sub>nu</sub>"], [(1,)], escape=False).data
    assert "<th>c<sub>nu</sub></th>" in raw


def test_put_glues_plain_numbers(monkeypatch):
    seen = {}
    import myst_nb

    monkeypatch.setattr(
        myst_nb, "glue", lambda key, value, display: seen.update({key: value})
    )
    pages.put_all(
        {"a": np.float64(3.0), "b": np.float32(0.25), "c": np.int64(7), "d": "text"}
    )
    assert seen == {"a": 3, "b": 0.25, "c": 7, "d": "text"}
    assert type(seen["a"]) is int and type(seen["b"]) is float


def test_data_dir_and_provenance(monkeypatch, tmp_path):
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root / "book")
    assert pages.data_dir().resolve() == (root / "book" / "data").resolve()
    monkeypatch.chdir(tmp_path)  # elsewhere: next to the package (src layout)
    assert (pages.data_dir() / "regenerate.sh").is_file()
    record = pages.read_provenance(pages.data_dir(), "figure1")
    assert record["command"].startswith("python -m xorgrok figure1")
    assert pages.runs_in(pages.data_dir(), "figure1") == 100


def test_executor_starts_and_stops():
    options = pages.start_executor(1)
    try:
        assert (
            options["workers"] == 1
            and options["executor"].submit(pow, 2, 5).result() == 32
        )
    finally:
        pages.stop_executor(options)
    with pytest.raises(RuntimeError):
        options["executor"].submit(pow, 2, 5)
