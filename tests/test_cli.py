"""Tests of the command line (xorgrok.cli, python -m xorgrok): outputs, progress,
one-line errors with status 2."""

import os
import subprocess
import sys

import pytest

from xorgrok import cli
from xorgrok import figures as FG

TINY = ["--p", "300", "--n", "12", "--m", "8", "--steps", "12"]


def _one_line_error(stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert "error" in lines[0]


def test_figure1_command_writes_csv_and_images(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        cli.main(["figure1", "--runs", "2", "--out", str(out), "--no-progress", *TINY])
        == 0
    )
    files = set(os.listdir(out))
    assert {
        "figure1_left.csv",
        "figure1_right.csv",
        "figure1.png",
        "figure1.svg",
    } <= files
    header = (out / "figure1_left.csv").read_text().splitlines()[0]
    assert header == "t,train_median,train_q20,train_q80,test_median,test_q20,test_q80"
    printed = capsys.readouterr().out.split()
    assert str(out / "figure1.png") in printed


def test_progress_bar_reaches_total(tmp_path, capsys):
    assert cli.main(["figure3", "--runs", "3", "--out", str(tmp_path), *TINY]) == 0
    err = capsys.readouterr().err
    assert "3/3" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["figure1", "--runs", "0", "--out", "x"],
        ["figure1", "--runs", "-3", "--out", "x"],
        ["figure1", "--runs", "many", "--out", "x"],
        ["figure2", "--runs", "1"],  # --out missing
        ["figure9", "--out", "x"],
        [],
        ["figure4", "--out", "x", "--first-seed", "-1"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    _one_line_error(capsys.readouterr().err)


def test_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert cli.main(["figure3", "--runs", "1", "--out", str(target), *TINY]) == 2
    _one_line_error(capsys.readouterr().err)


def test_value_error_from_the_library_is_one_line(monkeypatch, tmp_path, capsys):
    def bad(*args, **kwargs):
        raise ValueError("steps must be an integer >= 0, got -1\nsecond line")

    monkeypatch.setattr(FG, "make_figure", bad)
    assert (
        cli.main(["figure1", "--runs", "1", "--out", str(tmp_path), "--no-progress"])
        == 2
    )
    _one_line_error(capsys.readouterr().err)


def test_interrupt_leaves_no_partial_output(monkeypatch, tmp_path, capsys):
    real = FG.write_csv

    def interrupted(path, table):
        real(path, table)
        raise KeyboardInterrupt

    monkeypatch.setattr(FG.commands, "write_csv", interrupted)
    out = tmp_path / "out"
    assert (
        cli.main(["figure3", "--runs", "1", "--out", str(out), "--no-progress", *TINY])
        == 130
    )
    # the output set is all or nothing: the folder did not exist, so it still does not,
    # and the staging folder the file went into is gone (tests/test_robustness.py: an
    # existing folder)
    assert os.listdir(tmp_path) == []
    assert "interrupted" in capsys.readouterr().err


def test_python_dash_m_entry_point_and_error(tmp_path):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "xorgrok",
            "figure2",
            "--runs",
            "1",
            "--out",
            str(tmp_path),
            "--no-progress",
            *TINY,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "figure2.png").exists() and (
        tmp_path / "figure2_points.csv"
    ).exists()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "xorgrok",
            "figure1",
            "--runs",
            "0",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode == 2
    _one_line_error(bad.stderr)


def test_export_notebooks(tmp_path, capsys):
    pytest.importorskip("xorgrok.notebooks")
    book = tmp_path / "book"
    book.mkdir()
    (book / "ch.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: "
        "myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: "
        "python3\n---\n\n# "
        "Title\n\n"
        "```{code-cell} ipython3\n1 + 1\n```\n"
    )
    out = tmp_path / "nb"
    assert cli.main(["export-notebooks", str(out), "--book", str(book)]) == 0
    assert (out / "ch.ipynb").exists()
    assert (
        cli.main(
            [
                "export-notebooks",
                str(tmp_path / "x"),
                "--book",
                str(tmp_path / "missing"),
            ]
        )
        == 2
    )
    _one_line_error(capsys.readouterr().err)


def test_step_and_init_scale_reach_the_setup(tmp_path, monkeypatch):
    seen = {}

    def fake(name, out_dir, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(FG, "make_figure", fake)
    argv = ["figure1", "--out", str(tmp_path), "--no-progress", "--step-scale", "2"]
    assert cli.main([*argv, "--init-scale", "0.5"]) == 0
    assert seen["step_scale"] == 2.0 and seen["init_scale"] == 0.5
    assert (
        "--step-scale"
        in cli.build_parser()
        ._subparsers._group_actions[0]
        .choices["figure4"]
        .format_help()
    )


@pytest.mark.parametrize("value", ["0", "-2", "nan", "inf", "two"])
def test_bad_scale_exits_2_with_one_line(value, capsys):
    for option in ("--step-scale", "--init-scale"):
        with pytest.raises(SystemExit) as exc:
            cli.main(["figure1", "--out", "x", option, value])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        _one_line_error(err)
        assert option in err
