"""Run every chapter of the book as a notebook under nbval: every cell must execute
without error.

The chapters are MyST Markdown notebooks (``book/*.md`` with a jupytext header) and have
no stored outputs, so nbval runs in ``--nbval-lax`` mode: it executes each cell and
fails on any exception (the chapters' own ``assert`` statements included); it does not
compare outputs.

One pytest item per chapter. Each one converts the chapter with jupytext into a
temporary folder (no ``.ipynb`` is ever written into the repository), prepends a cell
that makes ``book/`` the working directory (as in the site build), and runs ``python -m
pytest --nbval-lax`` on it in a subprocess with this interpreter's kernel
(``--nbval-current-env``). On failure the message shows nbval's report: which cell
failed and its traceback.

Select chapters with ``-k``: ``pytest tests/test_notebooks.py -k intro``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
sys.path.insert(0, str(ROOT / "src"))

from xorgrok.notebooks import chapter_paths, to_notebook  # noqa: E402

CHAPTERS = chapter_paths(BOOK)
# Per-cell limit; the slowest chapter's cells take well under this on 2 cores.
CELL_TIMEOUT_S = 900


def test_chapters_found() -> None:
    """The harness sees the book: at least the introduction is a notebook chapter."""
    assert BOOK / "intro.md" in CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs(chapter: Path, tmp_path: Path) -> None:
    pytest.importorskip("nbval")
    import nbformat

    nb = to_notebook(chapter)
    setup = nbformat.v4.new_code_cell(f"import os\nos.chdir({str(chapter.parent)!r})")
    setup.metadata["tags"] = ["nbval-ignore-output"]
    nb.cells.insert(0, setup)
    ipynb = tmp_path / f"{chapter.stem}.ipynb"
    nbformat.write(nb, str(ipynb))
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts =\n")

    env = dict(
        os.environ,
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-c",
        str(tmp_path / "pytest.ini"),
        "--rootdir",
        str(tmp_path),
        "--nbval-lax",
        "--nbval-current-env",
        "--nbval-cell-timeout",
        str(CELL_TIMEOUT_S),
        str(ipynb),
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    report = (proc.stdout + proc.stderr)[-20000:]
    name = chapter.relative_to(ROOT) if chapter.is_relative_to(ROOT) else chapter
    assert proc.returncode == 0, f"{name} failed under nbval:\n{report}"
    assert " passed" in proc.stdout, f"nbval ran no cell of {name}:\n{report}"
