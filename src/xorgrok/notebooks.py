"""Export the book's chapters (MyST Markdown notebooks) as Jupyter ``.ipynb`` notebooks.

The chapters in ``book/`` are text files with a jupytext header; JupyterLab opens them
as notebooks when jupytext is installed. This module converts them to plain ``.ipynb``
files for readers who want notebooks without jupytext: ``python -m xorgrok.notebooks
OUT_DIR`` (the whole set is written into a staging folder and swapped in: an interrupted
export leaves the folder as it was). The website uses the same conversion for each
page's ".ipynb" download.

jupytext (a dependency of the book, see requirements.txt) is imported only when
converting.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "is_notebook",
    "chapter_paths",
    "to_notebook",
    "export_notebook",
    "export_notebooks",
    "main",
]


def _front_matter(text: str) -> str:
    """The YAML front matter of a Markdown file (between the leading ``---`` lines),
    or ``""``."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return ""
    for k, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:k])
    return ""


def is_notebook(path: str | Path) -> bool:
    """Whether ``path`` is a MyST Markdown notebook: a ``.md`` file whose front matter
    has a
    ``jupytext:`` or ``kernelspec:`` entry (what myst-nb and jupytext look for)."""
    path = Path(path)
    if path.suffix != ".md" or not path.is_file():
        return False
    front = _front_matter(path.read_text(encoding="utf-8"))
    return any(
        line.startswith(("jupytext:", "kernelspec:")) for line in front.splitlines()
    )


def chapter_paths(book_dir: str | Path) -> list[Path]:
    """The notebook chapters of ``book_dir`` (``*.md`` with a jupytext header), sorted
    by name.

    Raises:
        ValueError: if ``book_dir`` is not an existing folder.
    """
    book_dir = Path(book_dir)
    if not book_dir.is_dir():
        raise ValueError(f"book_dir must be an existing folder, got {str(book_dir)!r}")
    return sorted(p for p in book_dir.glob("*.md") if is_notebook(p))


def to_notebook(path: str | Path) -> Any:
    """Read the MyST notebook ``path`` as an ``nbformat`` notebook, without outputs.

    The jupytext pairing metadata is dropped (the result is a stand-alone notebook); the
    kernelspec is kept.

    Raises:
        ValueError: if ``path`` is not a MyST Markdown notebook.
    """
    if not is_notebook(path):
        raise ValueError(
            "path must be a MyST Markdown notebook (.md with a jupytext header), got "
            f"{str(path)!r}"
        )
    import jupytext

    nb = jupytext.read(Path(path), fmt="md:myst")
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault(
        "kernelspec",
        {"display_name": "Python 3", "language": "python", "name": "python3"},
    )
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def export_notebook(path: str | Path, out: str | Path) -> Path:
    """Write the chapter ``path`` as the ``.ipynb`` file ``out`` (folders created);
    return ``out``."""
    import nbformat

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(to_notebook(path), str(out))
    return out


def export_notebooks(book_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Export every notebook chapter of ``book_dir`` as ``out_dir/<name>.ipynb``.

    Args:
        book_dir: the folder holding the chapters (``book/`` of the repository).
        out_dir: where to write the notebooks; created if missing. Must not be
            ``book_dir`` itself (``.ipynb`` files are never kept next to the chapters).

    Returns:
        The paths written, in chapter order.

    Raises:
        ValueError: if ``book_dir`` is not a folder, holds no notebook chapter, or
            equals ``out_dir``.
    """
    book_dir, out_dir = Path(book_dir), Path(out_dir)
    chapters = chapter_paths(book_dir)
    if not chapters:
        raise ValueError(f"book_dir holds no MyST notebook chapter: {str(book_dir)!r}")
    if out_dir.resolve() == book_dir.resolve():
        raise ValueError(
            "out_dir must differ from book_dir (no .ipynb files next to the chapters)"
        )
    return [export_notebook(p, out_dir / f"{p.stem}.ipynb") for p in chapters]


def _default_book_dir() -> Path:
    """``book/`` of the repository this module lives in (src layout), else
    ``./book``."""
    here = Path(__file__).resolve().parents[2] / "book"
    return here if here.is_dir() else Path("book")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m xorgrok.notebooks OUT_DIR [--book BOOK_DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m xorgrok.notebooks",
        description="Export the book's chapters as Jupyter notebooks (.ipynb, without "
        "outputs).",
    )
    parser.add_argument(
        "out_dir", help="folder to write the .ipynb files into (created if missing)"
    )
    parser.add_argument(
        "--book",
        default=None,
        help="folder of the chapters (default: the repository's book/)",
    )
    args = parser.parse_args(argv)
    from .outputs import OutputError, staged_folder

    book = args.book or _default_book_dir()
    try:
        if not chapter_paths(book):
            raise ValueError(f"book_dir holds no MyST notebook chapter: {str(book)!r}")
        with staged_folder(args.out_dir) as stage:  # all notebooks or none
            paths = export_notebooks(book, stage)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OutputError as err:
        print(f"error: {err.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the output folder is as it was", file=sys.stderr)
        return 130
    for path in paths:
        print(Path(args.out_dir) / path.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
