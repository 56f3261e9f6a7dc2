"""Static checks of the book's honesty rules.

* No page, docstring, comment or README mentions "the digest": readers have the paper,
  and the book cites it by the paper's own section, lemma, equation and figure numbers.
* No chapter asserts a condition that is constant, or ``np.all`` / ``.all()`` of a
  boolean-masked array that may be empty (``np.all`` of an empty array is True) without
  also checking that it is non-empty, as far as a static look at the code can tell.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)
WORD = re.compile(r"\bdigest", re.I)  # not hashlib's hexdigest

# The files cleaned by the branch of issue 11; their owners clean the others.
OWNED = [
    *(
        f"book/{name}.md"
        for name in (
            "01_data",
            "02_network",
            "03_one_step",
            "04_feature_learning",
            "06_engines",
            "07_beyond",
            "07a_signal_dimension",
            "07b_time",
            "07c_variants",
            "07d_memorization",
            "08_explorer",
            "notation",
            "glossary",
            "api",
            "cite",
            "preface",
        )
    ),
    "README.md",
    *(
        f"src/xorgrok/{name}.py"
        for name in (
            "theory",
            "features",
            "beyond",
            "baselines",
            "model",
            "config",
            "variants",
        )
    ),
]


def _text_files() -> list[Path]:
    sources = sorted((ROOT / "src").rglob("*.py"))
    files = [ROOT / "README.md", *sorted(BOOK.glob("*.md")), *sources]
    return [f for f in files if f.is_file()]


def _digest_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(ROOT)
    numbered = enumerate(lines, 1)
    return [f"{rel}:{k}: {line.strip()}" for k, line in numbered if WORD.search(line)]


@pytest.mark.parametrize("name", OWNED)
def test_owned_files_do_not_mention_a_digest(name: str) -> None:
    assert _digest_lines(ROOT / name) == []


def test_no_file_mentions_a_digest() -> None:
    offenders = [line for path in _text_files() for line in _digest_lines(path)]
    assert not offenders, "cite the paper, not a digest:\n" + "\n".join(offenders)


# --- asserts that cannot fail ---------------------------------------------------------


def _cells(path: Path) -> list[str]:
    """The code of each code cell, without its YAML options block."""
    cells = [m.group(1) for m in CODE_CELL.finditer(path.read_text(encoding="utf-8"))]
    cells = [re.sub(r"\A---\n.*?^---\n", "", cell, flags=re.S | re.M) for cell in cells]
    return [re.sub(r"\A(:\w[^\n]*\n)+", "", cell) for cell in cells]


def _is_constant(node: ast.AST) -> bool:
    """True when the expression uses no name: its value cannot depend on the run."""
    return not any(isinstance(sub, ast.Name) for sub in ast.walk(node))


def _all_calls(node: ast.AST) -> list[ast.Call]:
    """``np.all(x)``, ``all(x)`` and ``x.all()`` calls inside an expression."""
    out = []
    for sub in ast.walk(node):
        callable_ = (ast.Attribute, ast.Name)
        if isinstance(sub, ast.Call) and isinstance(sub.func, callable_):
            name = sub.func.attr if isinstance(sub.func, ast.Attribute) else sub.func.id
            if name == "all":
                out.append(sub)
    return out


def _is_mask_expr(node: ast.AST) -> bool:
    """A comparison, boolean combination or negation computed from names: a mask."""
    if _is_constant(node):
        return False
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        return True
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.Not, ast.Invert))
    logical = (ast.BitAnd, ast.BitOr, ast.BitXor)
    return isinstance(node, ast.BinOp) and isinstance(node.op, logical)


def mask_names(sources: list[str]) -> set[str]:
    """Names assigned a boolean mask in a chapter's code cells (``keep = x > 0``)."""
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assign) and _is_mask_expr(node.value):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _masked(node: ast.AST, masks: set[str]) -> bool:
    """Whether an expression indexes with a computed, possibly all-False, mask."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript):
            index = sub.slice
            for part in index.elts if isinstance(index, ast.Tuple) else [index]:
                known = isinstance(part, ast.Name) and part.id in masks
                if _is_mask_expr(part) or known:
                    return True
    return False


def _guarded(test: ast.AST) -> bool:
    """Whether the asserted condition itself also requires something to be non-empty."""
    source = ast.unparse(test)
    tokens = (".any()", "np.any(", ".size", "len(", ".sum()")
    return any(token in source for token in tokens)


def assert_problems(source: str, masks: frozenset[str] = frozenset()) -> list[str]:
    """Asserts in one code cell that cannot fail, as far as a static check can tell.

    ``masks``: names known to hold boolean masks (:func:`mask_names` of the chapter).
    """
    tree = ast.parse(source)
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        text = ast.unparse(node.test)
        if _is_constant(node.test):
            problems.append(f"constant condition: assert {text}")
            continue
        for call in _all_calls(node.test):
            target = call.args[0] if call.args else call.func
            masked = _masked(target, masks | mask_names([source]))
            if masked and not _guarded(node.test):
                problems.append(f"all() over a possibly empty selection: assert {text}")
    return problems


def test_the_static_check_catches_what_it_should() -> None:
    assert assert_problems("assert 1 < 2") == ["constant condition: assert 1 < 2"]
    assert assert_problems("assert True") != []
    masks = frozenset({"mask"})
    assert len(assert_problems("assert np.all(x[mask] < 0.05)", masks)) == 1
    assert len(assert_problems("assert (x[x > 0] < 1).all()")) == 1
    assert assert_problems("assert mask.any() and np.all(x[mask] < 0.05)") == []
    assert assert_problems("assert np.all(x < 1) and y > 0") == []
    assert assert_problems("assert np.all(x[1:] <= y[1:])") == []
    assert assert_problems("assert np.all(x[-1] > 0)") == []
    # k an integer index
    assert assert_problems("assert np.all(np.diff(x[k]) > 0)") == []
    assert len(assert_problems("keep = x > 0\nassert np.all(y[keep] < 1)")) == 1
    assert len(assert_problems("assert np.all(y[keep] < 1)", frozenset({"keep"}))) == 1


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.md")), ids=lambda p: p.stem)
def test_chapter_asserts_can_fail(path: Path) -> None:
    cells = _cells(path)
    masks = frozenset(mask_names(cells))
    problems = [problem for cell in cells for problem in assert_problems(cell, masks)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
