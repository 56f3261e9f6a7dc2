"""Unit tests of the book's infrastructure: citation metadata, the API page, the
table of contents, the bibliography and the export of chapters as notebooks
(:mod:`xorgrok.notebooks`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import xorgrok
from xorgrok.notebooks import (
    chapter_paths,
    export_notebooks,
    is_notebook,
    main,
    to_notebook,
)

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


# --- citation
# --------------------------------------------------------------------------------------


def test_citation_cff_version_matches_package() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(cff["version"]) == xorgrok.__version__
    assert cff["cff-version"] == "1.2.0"
    assert cff["preferred-citation"]["year"] == 2024


def test_cite_page_version_matches_package() -> None:
    text = (BOOK / "cite.md").read_text(encoding="utf-8")
    versions = re.findall(r"version\s*=\s*\{([^}]*)\}", text)
    assert versions == [xorgrok.__version__]


def test_pyproject_version_matches_package() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert (
        re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)
        == xorgrok.__version__
    )


# --- configuration, table of contents, references
# ---------------------------------------------------


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    files += [c["file"] for c in toc.get("chapters", [])]
    return files


def test_toc_files_exist_and_every_page_is_listed() -> None:
    files = _toc_files()
    assert len(files) == len(set(files))
    for f in files:
        assert (ROOT / f"{f}.md").is_file(), f
    pages = {f"book/{p.stem}" for p in BOOK.glob("*.md")}
    assert pages == set(files), (
        "every book/*.md page must be in _toc.yml and vice versa"
    )


def test_config_builds_offline_and_strict() -> None:
    cfg = _config()
    assert cfg["execute"]["execute_notebooks"] == "force"
    assert cfg["execute"]["raise_on_error"] is True
    assert cfg["repository"]["url"] == "https://github.com/xorgrok/xorgrok"
    sphinx = cfg["sphinx"]["config"]
    assert sphinx["nitpicky"] is True
    assert "://" not in sphinx["mathjax_path"]
    assert "html_static_path" not in sphinx, (
        "Jupyter Book would load every .js file of it on every page"
    )
    for path in sphinx["nb_ipywidgets_js"]:
        assert "://" not in path
    static = [ROOT / "_vendor"]  # added to html_static_path by _ext/xorgrok_site.py
    assert any((d / sphinx["mathjax_path"]).is_file() for d in static), (
        "vendored MathJax is missing"
    )
    for path in sphinx["nb_ipywidgets_js"]:
        assert any((d / path).is_file() for d in static), f"vendored {path} is missing"
    # The repository address is written once.
    assert (ROOT / "_config.yml").read_text(encoding="utf-8").count(
        "github.com/xorgrok/xorgrok"
    ) == 1


def test_cited_keys_exist_in_references() -> None:
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, re.M))
    for key in (
        "xu2024benign",
        "frei2022benign",
        "frei2023random",
        "meng2024benign",
        "power2022grokking",
        "lyu2024dichotomy",
        "kumar2024grokking",
        "karhadkar2024benign",
        "xu2025grok",
    ):
        assert key in keys
    for page in BOOK.glob("*.md"):
        for group in re.findall(
            r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text(encoding="utf-8")
        ):
            for key in group.split(","):
                assert key.strip() in keys, (
                    f"{page.name} cites unknown key {key.strip()!r}"
                )


def test_api_page_documents_every_module() -> None:
    pages = [BOOK / "api.md", *sorted((BOOK / "api").glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    documented = set(re.findall(r"automodule::\s*(xorgrok[\w.]*)", text))
    package = ROOT / "src" / "xorgrok"
    modules = (
        {"xorgrok"}
        | {
            f"xorgrok.{p.stem}"
            for p in package.glob("*.py")
            if not p.stem.startswith("_")
            # subpackages
        }
        | {f"xorgrok.{p.parent.name}" for p in package.glob("*/__init__.py")}
    )
    assert modules - documented == set(), "add these modules to a page of book/api/"
    assert documented - modules == set(), "book/api/ names modules that do not exist"


# --- xorgrok.notebooks
# -------------------------------------------------------------------------------


def _book(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    book.mkdir()
    (book / "b_chapter.md").write_text(
        HEADER + "\n# B\n\nText.\n\n```{code-cell} ipython3\nx = 1\n```\n"
    )
    (book / "a_chapter.md").write_text(
        HEADER + "\n# A\n\n```{code-cell} ipython3\nprint('a')\n```\n"
    )
    (book / "plain.md").write_text("# Plain page\n\nNo header.\n")
    return book


def test_is_notebook_and_chapter_paths(tmp_path: Path) -> None:
    book = _book(tmp_path)
    assert is_notebook(book / "a_chapter.md")
    assert not is_notebook(book / "plain.md")
    assert not is_notebook(book / "missing.md")
    assert [p.name for p in chapter_paths(book)] == ["a_chapter.md", "b_chapter.md"]


def test_book_chapters_are_notebooks() -> None:
    names = [p.stem for p in chapter_paths(BOOK)]
    assert "intro" in names
    assert all(
        n in names
        for n in (
            "01_data",
            "02_network",
            "03_one_step",
            "04_feature_learning",
            "05_grokking",
            "06_engines",
            "07_beyond",
            "08_explorer",
        )
    )


def test_to_notebook_has_cells_and_kernel(tmp_path: Path) -> None:
    nb = to_notebook(_book(tmp_path) / "b_chapter.md")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "jupytext" not in nb.metadata
    kinds = [c.cell_type for c in nb.cells]
    assert kinds.count("code") == 1 and "markdown" in kinds
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_export_notebooks_writes_valid_ipynb(tmp_path: Path) -> None:
    import nbformat

    out = tmp_path / "out" / "nested"
    paths = export_notebooks(_book(tmp_path), out)
    assert [p.name for p in paths] == ["a_chapter.ipynb", "b_chapter.ipynb"]
    for p in paths:
        nbformat.validate(nbformat.read(str(p), as_version=4))
        assert json.loads(p.read_text())["nbformat"] == 4


@pytest.mark.parametrize("bad", ["missing_dir", "empty_dir", "same_dir", "plain_file"])
def test_export_notebooks_rejects_bad_input(tmp_path: Path, bad: str) -> None:
    book = _book(tmp_path)
    with pytest.raises(ValueError, match="book_dir|out_dir|path"):
        if bad == "missing_dir":
            export_notebooks(tmp_path / "nope", tmp_path / "out")
        elif bad == "empty_dir":
            (tmp_path / "empty").mkdir()
            export_notebooks(tmp_path / "empty", tmp_path / "out")
        elif bad == "same_dir":
            export_notebooks(book, book)
        else:
            to_notebook(book / "plain.md")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = _book(tmp_path)
    assert main([str(tmp_path / "nb"), "--book", str(book)]) == 0
    assert (tmp_path / "nb" / "a_chapter.ipynb").is_file()
    assert main([str(tmp_path / "nb"), "--book", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: book_dir") and "Traceback" not in err
