"""The style rules, checked: code that fits the page, formatted and linted by ruff.

``python scripts/format_code.py`` fixes what these tests find (except lint errors and
long functions). They skip, with a message, where ruff is not installed (``pip install
-r requirements.txt``).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("src", "tests", "scripts")
sys.path.insert(0, str(ROOT / "scripts"))
import format_code  # noqa: E402

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None,
    reason="ruff is not installed: pip install -r requirements.txt",
)
#: Longest function, in lines of code (its docstring aside).
MAX_FUNCTION_LINES = 60


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_package_tests_and_scripts_are_formatted():
    result = ruff("format", "--check", *FOLDERS)
    assert result.returncode == 0, result.stdout + "run: python scripts/format_code.py"


def test_package_tests_and_scripts_pass_the_linter():
    result = ruff("check", *FOLDERS)
    assert result.returncode == 0, result.stdout


def _chapters() -> list[Path]:
    return sorted(
        p for p in (ROOT / "book").glob("*.md") if "code-cell" in p.read_text()
    )


@pytest.mark.parametrize("chapter", _chapters(), ids=lambda p: p.stem)
def test_chapter_code_cells_are_formatted(chapter: Path):
    text = chapter.read_text("utf-8")
    assert format_code.format_chapter(text) == text, (
        "run: python scripts/format_code.py"
    )


#: Longest code cell of a chapter, in non-blank lines: a longer one is split into
#: compute, checks (glue and asserts) and display cells.
MAX_CELL_LINES = 25


@pytest.mark.parametrize("chapter", _chapters(), ids=lambda p: p.stem)
def test_chapter_code_cells_are_short(chapter: Path):
    text = chapter.read_text("utf-8")
    cells = [
        (text[: m.start()].count("\n") + 1, format_code._split_cell(m["body"])[1])
        for m in format_code._CELL.finditer(text)
    ]
    assert cells, f"{chapter.name}: no code cell found (parser out of date?)"
    long = {
        line: n
        for line, code in cells
        if (n := sum(1 for x in code.splitlines() if x.strip())) > MAX_CELL_LINES
    }
    assert not long, f"{chapter.name}: cells over {MAX_CELL_LINES} lines at {long}"


@pytest.mark.parametrize("chapter", _chapters(), ids=lambda p: p.stem)
def test_chapter_code_cells_fit_the_page_metadata_included(chapter: Path):
    """Alt texts and captions in a cell's YAML header are wrapped at 88 columns too."""
    text = chapter.read_text("utf-8")
    wide = [
        text[: m.start()].count("\n") + 1 + k
        for m in format_code._CELL.finditer(text)
        for k, line in enumerate(m.group(0).splitlines())
        if len(line) > 88
    ]
    assert not wide, f"{chapter.name}: code-cell lines over 88 columns at {wide}"


@pytest.mark.parametrize("chapter", _chapters(), ids=lambda p: p.stem)
def test_chapter_code_cells_pass_the_linter(chapter: Path):
    """ruff over the code cells as one script (imports after the first cell and short
    lambdas
    are fine in a notebook)."""
    text = chapter.read_text("utf-8")
    cells = [
        format_code._split_cell(m["body"])[1] for m in format_code._CELL.finditer(text)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"{chapter.stem}.py"
        script.write_text("\n".join(f"# %% cell {k}\n{c}" for k, c in enumerate(cells)))
        config = str(ROOT / "pyproject.toml")
        result = ruff("check", "--config", config, "--ignore", "E402,E731", str(script))
    assert result.returncode == 0, result.stdout


def _function_lengths() -> dict[str, int]:
    """``module.py:Class.function`` -> lines of code, without the docstring."""
    out: dict[str, int] = {}
    for path in sorted((ROOT / "src" / "xorgrok").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for parent in ast.walk(tree):
            for node in ast.iter_child_nodes(parent):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                first = node.body[0]
                doc = isinstance(first, ast.Expr) and isinstance(
                    first.value, ast.Constant
                )
                start = first.end_lineno + 1 if doc else node.lineno
                owner = f"{parent.name}." if isinstance(parent, ast.ClassDef) else ""
                out[f"{path.name}:{owner}{node.name}"] = node.end_lineno - start + 1
    return out


def test_functions_fit_in_mind():
    lengths = _function_lengths()
    assert len(lengths) > 100, "the package's functions were not found"
    too_long = {name: n for name, n in lengths.items() if n > MAX_FUNCTION_LINES}
    message = f"split these functions (at most {MAX_FUNCTION_LINES} lines): {too_long}"
    assert not too_long, message


def test_every_line_of_the_package_fits_the_page():
    long = [
        f"{path.relative_to(ROOT)}:{k}"
        for path in sorted((ROOT / "src").rglob("*.py"))
        for k, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if len(line) > 88 and not re.search(r"https?://", line)
    ]
    assert not long, long[:10]
