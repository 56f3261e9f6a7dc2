"""No plain-text mathematics on the API pages or in the chapters' figure captions.

The API reference (``book/api/*.md``) is rendered from the package's docstrings by
Sphinx autodoc and napoleon, next to typeset prose: a formula written as ``||mu||`` or
``sqrt(p/n)`` there shows as code-like text. Mathematics in a docstring is written with
the ``:math:`` role or a ``.. math::`` block; a code name stays a double-backtick
literal. These tests look, outside those (and outside other roles, literals, literal
blocks and doctests), for what only plain-text mathematics writes: ``||``, ``sqrt(``,
an inner product ``<w_j, x>``, a caret (``mu^2``), ``sum_``/``exp(``/``log(`` and
numbers such as ``1e-12``; in a caption (MyST, maths in ``$...$``) also the name of a
Greek letter (``kappa = 20 epsilon``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml
from sphinx.pycode import ModuleAnalyzer

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

#: Plain-text mathematics: pattern name -> regular expression.
PLAIN_MATH = {
    "norm ||": r"\|\|",
    "sqrt(": r"\bsqrt\(",
    "inner product <a, b>": r"<\s*[A-Za-z]\w*\s*,",
    "caret ^": r"\^",
    "sum_ / exp( / log(": r"\b(sum|prod|exp|log)\s*[_(]",
    "number like 1e-12": r"\b\d+(\.\d+)?e[-+]?\d+\b",
}
#: What is not prose, removed before the search: ``.. math::`` blocks, roles
#: (``:math:`...```, ``:func:`...```), literals, default-role text, doctests.
_NOT_PROSE = [
    re.compile(r"^([ \t]*)\.\. math::.*\n(?:\1[ \t]+.*\n|[ \t]*\n)*", re.M),
    re.compile(r":[\w:]+:`[^`]*`"),
    re.compile(r"``.+?``", re.S),
    re.compile(r"`[^`]*`_?"),
    re.compile(r"^\s*>>>.*$", re.M),
    # a literal block: a paragraph ending in "::", then indented lines
    re.compile(r"::\n\n(?:[ \t]+.*\n|[ \t]*\n)+"),
]


def plain_math(text: str) -> list[tuple[str, str]]:
    """The plain-text mathematics in reST ``text``: (pattern name, snippet) pairs."""
    for pattern in _NOT_PROSE:
        text = pattern.sub(" ", text + "\n")
    return [
        (name, text[max(0, m.start() - 20) : m.end() + 20].replace("\n", " "))
        for name, regex in PLAIN_MATH.items()
        for m in re.finditer(regex, text)
    ]


def _documented_modules() -> list[str]:
    """The modules that ``book/api/*.md`` document, with the submodules of a package
    below ``xorgrok`` (whose ``__all__`` re-exports their names)."""
    names = sorted(
        {
            m[1]
            for page in (BOOK / "api").glob("*.md")
            for m in re.finditer(r"automodule:: ([\w.]+)", page.read_text("utf-8"))
        }
    )
    subs = [
        f"{name}.{path.stem}"
        for name in names
        if "." in name
        and (ROOT / "src" / name.replace(".", "/") / "__init__.py").exists()
        for path in sorted((ROOT / "src" / name.replace(".", "/")).glob("[!_]*.py"))
    ]
    return names + subs


def _source(module: str) -> Path:
    path = ROOT / "src" / module.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def public_docstrings(module: str) -> dict[str, str]:
    """Name -> docstring for what autodoc shows: the module, public classes, functions
    and methods (``__init__`` too), and ``#:`` comments of public names."""
    source = _source(module).read_text("utf-8")
    tree = ast.parse(source)
    out = {"<module>": ast.get_docstring(tree, clean=False) or ""}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in node.body:
            kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            if not isinstance(child, kinds):
                continue
            if not child.name.startswith("_") or child.name == "__init__":
                out[prefix + child.name] = ast.get_docstring(child, clean=False) or ""
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    analyzer = ModuleAnalyzer.for_string(source, module)
    for (owner, name), lines in analyzer.find_attr_docs().items():
        if not name.startswith("_"):
            out[f"#: {owner + '.' if owner else ''}{name}"] = "\n".join(lines)
    return out


def test_the_search_finds_plain_math_and_spares_typeset_math():
    found = plain_math("norm ||mu|| = sqrt(p/n) of <w_j, mu1>, mu^2, exp(-z), 1e-12")
    assert {name for name, _ in found} == set(PLAIN_MATH), found
    typeset = r"""Norm :math:`\|\mu\|^2`, code ``W ** 2`` and ``x^T``, :func:`f`.

    .. math::

       \|\mu\| = \sqrt{p/n}

    Example::

        1e-12 ** 2

    >>> np.sqrt(2)
    """
    assert plain_math(typeset) == []
    assert re.findall(GREEK_NAMES, "kappa = 20 epsilon, alphabet") == [
        "kappa",
        "epsilon",
    ]


def test_the_api_pages_document_the_package():
    modules = _documented_modules()
    assert {"xorgrok.theory", "xorgrok.features", "xorgrok.figures.plots"} <= set(
        modules
    )
    assert all(_source(m).exists() for m in modules), modules


@pytest.mark.parametrize("module", _documented_modules())
def test_docstrings_typeset_their_mathematics(module: str):
    bad = {
        name: found
        for name, doc in public_docstrings(module).items()
        if (found := plain_math(doc))
    }
    assert not bad, f"{module}: plain-text maths (use :math:`...`): {bad}"


def _captions(chapter: Path) -> list[str]:
    """The figure captions of a chapter: ``caption:`` in code-cell headers and the
    text of ``{figure}`` / ``{glue:figure}`` directives."""
    text = chapter.read_text("utf-8")
    out = []
    for header in re.finditer(r"```\{code-cell\}[^\n]*\n---\n(.*?)\n---\n", text, re.S):
        meta = yaml.safe_load(header[1]) or {}
        caps = [meta.get("caption"), (meta.get("mystnb") or {}).get("figure", {})]
        out += [c if isinstance(c, str) else c.get("caption") for c in caps if c]
    for fig in re.finditer(r"```\{(?:glue:)?figure\}.*?\n(.*?)```", text, re.S):
        out.append(re.sub(r"^:\w+:.*$", "", fig[1], flags=re.M))
    return [c for c in out if c]


def _chapters() -> list[Path]:
    return sorted(p for p in BOOK.glob("*.md") if "code-cell" in p.read_text("utf-8"))


#: In a caption (not in a docstring, where they name parameters) a Greek letter's name
#: is plain-text mathematics too.
GREEK_NAMES = r"\b(alpha|eta|kappa|epsilon|omega_init|mu[12]?|nu|sigma|tau|lambda)\b"


@pytest.mark.parametrize("chapter", _chapters(), ids=lambda p: p.stem)
def test_captions_typeset_their_mathematics(chapter: Path):
    def prose(caption: str) -> str:  # MyST: $...$ maths and `code` are not prose
        return re.sub(r"\$[^$]*\$|`[^`]*`", " ", caption)

    bad = [
        found
        for c in _captions(chapter)
        if (found := plain_math(prose(c)) + re.findall(GREEK_NAMES, prose(c)))
    ]
    assert not bad, f"{chapter.name}: plain-text maths in captions: {bad}"


def test_captions_are_found():
    assert sum(len(_captions(c)) for c in _chapters()) >= 20
