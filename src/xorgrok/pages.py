"""Page plumbing: what the chapters need around their computations, written once.

* :func:`put` and :func:`put_all` glue numbers for the prose (myst-nb ``glue``) as plain
  Python numbers;
* :func:`html_table` draws a table from a header and rows, escaping every cell;
* :func:`data_dir` finds ``book/data`` (the stored results) from a chapter or the
  repository's root; :func:`read_provenance` and :func:`runs_in` read the record stored
  next to a table;
* :func:`start_executor` and :func:`stop_executor` start and stop the worker processes
  of a page's sweeps.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "put",
    "put_all",
    "html_table",
    "data_dir",
    "read_provenance",
    "runs_in",
    "start_executor",
    "stop_executor",
]


def _plain(value: Any) -> int | float | str:
    """A number as a Python int (when integral) or float; text stays text."""
    if isinstance(value, str):
        return value
    value = float(value)
    return int(value) if value.is_integer() else value


def put(key: str, value: Any) -> None:
    """Glue ``value`` under ``key`` for ``{glue:text}`` in the prose, as a plain Python
    number.

    numpy scalars would not take myst-nb's text formats (``:.3f``) under ``-W``; an
    integral float is glued as an int, so that ``{glue:text}`` shows ``12``, not
    ``12.0``.
    """
    from myst_nb import glue

    glue(key, _plain(value), display=False)


def put_all(values: Mapping[str, Any]) -> None:
    """:func:`put` for every (key, value) of ``values``."""
    for key, value in values.items():
        put(key, value)


def html_table(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, escape: bool = True
) -> Any:
    """An ``IPython.display.HTML`` table: one header row, then ``rows``; every cell is
    ``str(cell)``.

    Cells are HTML-escaped unless ``escape=False`` (for headers written in HTML, such as
    ``c<sub>nu</sub>``).
    """
    from IPython.display import HTML

    def cells(tag: str, row: Sequence[Any]) -> str:
        text = (html.escape(str(c)) if escape else str(c) for c in row)
        return "".join(f"<{tag}>{t}</{tag}>" for t in text)

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    head = f"<thead><tr>{cells('th', header)}</tr></thead>"
    return HTML(f"<table>{head}<tbody>{body}</tbody></table>")


def data_dir() -> Path:
    """The folder of stored results, ``book/data``: found from the working folder (a
    chapter runs in
    ``book/``, the command line in the repository's root), else next to this package
    (src layout)."""
    here = Path(__file__).resolve().parents[2] / "book" / "data"
    for folder in (Path("data"), Path("book") / "data", here):
        if (folder / "regenerate.sh").is_file():
            return folder
    raise FileNotFoundError(
        "book/data not found: run from the repository's root or from book/"
    )


def read_provenance(folder: str | Path, name: str) -> dict[str, str]:
    """The provenance record stored next to a table,
    ``folder/provenance_<name>.txt``: {field: value}."""
    lines = (Path(folder) / f"provenance_{name}.txt").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines)


def runs_in(folder: str | Path, name: str) -> int:
    """The number of runs of a stored table, from the command in its provenance
    record."""
    command = read_provenance(folder, name)["command"]
    return int(command.split("--runs ")[1].split()[0])


def start_executor(workers: int = 2) -> dict[str, Any]:
    """Start ``workers`` local processes for a page's sweeps, once for the whole page.

    Returns the options to pass on (``beyond.run(name, **options)``, ``sweep(...,
    **options)``); hand them to :func:`stop_executor` at the end of the page.
    """
    from .sweep import local_executor

    return dict(executor=local_executor(workers), workers=workers)


def stop_executor(options: Mapping[str, Any]) -> None:
    """Stop the processes that :func:`start_executor` started."""
    options["executor"].shutdown()
