"""Source code as its syntax tree, docstrings aside: what formatting and comments cannot
change.

:func:`code_tree` is what :func:`xorgrok.sweep.engine_fingerprint` hashes and what
``scripts/format_code.py`` compares before and after it re-wraps a file.
"""

from __future__ import annotations

import ast

__all__ = ["code_tree"]


def code_tree(source: str) -> str:
    """``ast.dump`` of ``source`` without its docstrings (every string alone as a
    statement).

    Comments, line breaks, quotes, parentheses and trailing commas do not show in it;
    any change to
    the code does. Raises ``SyntaxError`` for source that does not parse.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [
                st
                for st in body
                if not (
                    isinstance(st, ast.Expr)
                    and isinstance(st.value, ast.Constant)
                    and isinstance(st.value.value, str)
                )
            ] or [ast.Pass()]
    return ast.dump(tree)
