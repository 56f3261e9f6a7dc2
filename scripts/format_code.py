"""Format the package, the tests and the chapters' code cells to the page width (88
columns).

    python scripts/format_code.py            # rewrite in place
    python scripts/format_code.py --check    # exit 1 if anything would change

Three passes, each mechanical and checked:

1. **Comments, docstrings and string literals** of ``src/``, ``tests/`` and ``scripts/``
   longer than the page are re-wrapped at word boundaries, paragraph by paragraph (a
   list item continues under its text, an argument four columns deeper; a comment after
   code moves above it). The syntax tree, docstrings aside, must stay the same, or the
   file is left as it was; a docstring stays as it was if re-wrapping would give Sphinx
   (napoleon, docutils) more warnings.
2. **Code**: ``ruff format`` over the same folders (``pyproject.toml`` holds its
   settings).
3. **Chapters**: the code cells of every ``book/*.md`` go through ``ruff format`` via
   jupytext (cell tags and metadata kept; the Markdown between the cells is not
   touched).

``tests/test_style.py`` runs the checks (``ruff format --check`` and ``ruff check``) on
all three.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import io
import re
import subprocess
import sys
import tempfile
import textwrap
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from xorgrok.codetree import code_tree  # noqa: E402 (the package of this repository)

WIDTH = 88
FOLDERS = ("src", "tests", "scripts")
_ITEM = re.compile(r"^(\s*)([-*] |\d+\. |[\w.*]+( \([^)]*\))?: |:\w+[^:]*: )")
_SKIP = re.compile(r"^\s*(>>>|\.\.\.|\||=+\s|[-=]{4,}|https?://)")


def _doc_lines(source: str) -> tuple[set[int], dict[int, int]]:
    """Line numbers (0-based) inside docstrings; line number -> column of a comment
    after code."""
    lines: set[int] = set()
    trailing: dict[int, int] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    starts = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL}
    for k, tok in enumerate(tokens):
        before = tokens[k - 1].type if k else tokenize.NEWLINE
        after = tokens[k + 1].type if k + 1 < len(tokens) else tokenize.NEWLINE
        if (
            tok.type == tokenize.STRING
            and before in starts
            and after == tokenize.NEWLINE
        ):
            if tok.string.lstrip("rRbBuU").startswith(('"""', "'''")):
                lines.update(range(tok.start[0] - 1, tok.end[0]))
        if tok.type == tokenize.COMMENT and tok.line[: tok.start[1]].strip():
            trailing[tok.start[0] - 1] = tok.start[1]
    return lines, trailing


def _wrap(line: str, first: str, rest: str, width: int = WIDTH) -> list[str]:
    text = line.strip()
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [line]


def _docstring_blocks(source: str) -> dict[int, tuple[int, str]]:
    """First line (0-based) of each triple-quoted docstring -> (its last line, the
    indentation of its opening quotes)."""
    blocks: dict[int, tuple[int, str]] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    starts = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL}
    for k, tok in enumerate(tokens):
        before = tokens[k - 1].type if k else tokenize.NEWLINE
        after = tokens[k + 1].type if k + 1 < len(tokens) else tokenize.NEWLINE
        alone = (
            tok.type == tokenize.STRING
            and before in starts
            and after == tokenize.NEWLINE
        )
        if alone and tok.string.startswith('"""'):
            blocks[tok.start[0] - 1] = (tok.end[0] - 1, " " * tok.start[1])
    return blocks


def _wrap_line(line: str, in_doc: bool) -> list[str]:
    """A line longer than the page as several (unchanged when it cannot be split
    safely)."""
    indent = line[: len(line) - len(line.lstrip())]
    body = line.strip()
    divider = re.fullmatch(r"#\s*([-=]){8,}\s*(.*)", body)
    if divider:  # "# ------ name": fewer dashes
        name = f" {divider.group(2)}" if divider.group(2) else ""
        return [
            indent
            + "# "
            + divider.group(1) * (WIDTH - len(indent) - 2 - len(name))
            + name
        ]
    if body.startswith("#"):
        marker = "#: " if body.startswith("#:") else "# "
        text = body.lstrip("#:").strip()
        return _wrap(text, indent + marker, indent + marker)
    if not in_doc:
        return _split_string(line)
    if _SKIP.match(line):
        return [line]
    if body.startswith(('"""', 'r"""')):
        quote = body[: body.index('"""') + 3]
        return _wrap(body[len(quote) :], indent + quote, indent)
    item = _ITEM.match(line)
    rest = indent + " " * 4 if item else indent
    return _wrap(body, indent, rest)


_STRING = re.compile(
    r"""^(?P<lead>\s*(?:\w+=|"[^"]*":\s*)?)(?P<prefix>[rRfF]{0,2})"""
    r"""(?P<q>["'])(?P<text>(?:(?!(?P=q)).)*)(?P=q)(?P<tail>[,)\s]*)$"""
)


def _split_string(line: str) -> list[str]:
    """A line that holds one string literal (maybe after ``name=`` or a dict key) as two
    adjacent
    literals, split after a space outside any ``{...}``; other lines unchanged."""
    match = _STRING.match(line)
    if not match or match["text"].startswith(('""', "''")):
        return [line]
    lead, prefix, q, text, tail = (
        match[k] for k in ("lead", "prefix", "q", "text", "tail")
    )
    room = WIDTH - len(lead) - len(prefix) - 2
    depth, cut = 0, -1
    for k, ch in enumerate(text[:room]):
        depth += (ch == "{") - (ch == "}")
        if (
            ch == " "
            and depth == 0
            and "f" in prefix.lower()
            or ch == " "
            and "f" not in prefix.lower()
        ):
            cut = k + 1
    if cut <= 0 or cut >= len(text):
        return [line]
    indent = " " * (len(lead) - len(lead.lstrip()))
    if lead.strip():
        indent += "    "

    def literal(part: str) -> str:
        pre = (
            prefix
            if "{" in part or "f" not in prefix.lower()
            else prefix.replace("f", "").replace("F", "")
        )
        return f"{pre}{q}{part}{q}"

    first = lead + literal(text[:cut])
    return [first, *_split_string(indent + literal(text[cut:]) + tail)]


def _join_long_comments(lines: list[str], docs: set[int]) -> list[tuple[int, str]]:
    """(line number, line) pairs, where a run of comment lines (same indentation, plain
    ``# ``)
    holding a line longer than the page becomes one long line, to be wrapped as a
    paragraph."""
    out: list[tuple[int, str]] = []
    k = 0
    plain = re.compile(r"^(\s*)# (?![-=]{8}|%%)\S")
    while k < len(lines):
        match = plain.match(lines[k]) if k not in docs else None
        end = k + 1
        while match and end < len(lines) and end not in docs:
            nxt = plain.match(lines[end])
            if not nxt or nxt.group(1) != match.group(1):
                break
            end += 1
        run = lines[k:end]
        if match and len(run) > 1 and any(len(x) > WIDTH for x in run):
            text = " ".join(x.strip()[2:].strip() for x in run)
            out.append((k, f"{match.group(1)}# {text}"))
        else:
            out.extend((j, lines[j]) for j in range(k, end))
        k = end
    return out


_BULLET = re.compile(r"^(\s*)([-*] |\d+\. )")
_FIELD = re.compile(r"^(\s*)([\w.*]+(, [\w.*]+)*( \([^)]*\))?: |:\w+[^:]*: )")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Attributes|Parameters|Returns|Raises|Yields|Keyword Args|"
    r"Other Parameters):\s*$"
)


def _continuation(line: str, in_section: bool) -> str | None:
    """The indentation of the lines that continue ``line`` as one reST paragraph, or
    None
    when ``line`` starts none (blank, a table, a literal line)."""
    if not line.strip() or _SKIP.match(line):
        return None
    bullet = _BULLET.match(line)
    if bullet:
        return bullet.group(1) + " " * len(bullet.group(2))
    field = _FIELD.match(line)
    if field and in_section:
        return field.group(1) + " " * 4
    return line[: len(line) - len(line.lstrip())]


def _paragraphs(lines: list[str]) -> list[tuple[list[str], str | None]]:
    """A docstring's lines as paragraphs: (lines, the indentation of their
    continuation)."""
    out: list[tuple[list[str], str | None]] = []
    in_section, literal = False, None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if literal is not None and (not line.strip() or indent > literal):
            out.append(([line], None))  # inside a literal block (after "::")
            continue
        literal = None
        if _SECTION.match(line):
            in_section = True
        elif line.strip() and indent == 0:
            in_section = False
        prev = out[-1] if out else None
        starts = _BULLET.match(line) or (_FIELD.match(line) and in_section)
        joins = prev and prev[1] is not None and line.strip() and not starts
        if joins and not _SKIP.match(line) and indent == len(prev[1]):
            prev[0].append(line)
            continue
        out.append(([line], _continuation(line, in_section)))
        if line.rstrip().endswith("::"):
            literal = indent
    return out


def _wrap_docstring(lines: list[str], quote_indent: str) -> list[str]:
    """The lines of one docstring with its long paragraphs re-wrapped (reST-safe
    indentation: a list item continues under its text, an argument four columns
    deeper)."""
    first, last = lines[0], lines[-1]
    head = first[: first.index('"""') + 3]
    closing = last.rstrip().endswith('"""') and (
        len(lines) > 1 or first.count('"""') == 2
    )
    body = [first[len(head) :]] + lines[1:]
    if closing:
        body[-1] = body[-1].rstrip()[:-3]
    out: list[str] = []
    paragraphs = _paragraphs(body)
    for k, (para, rest) in enumerate(paragraphs):
        last_para = closing and k == len(paragraphs) - 1  # room for the closing quotes
        shown = [(head if k == 0 else "") + para[0], *para[1:]]
        if last_para:
            shown[-1] += '"""'
        if rest is None or not any(len(x) > WIDTH for x in shown):
            out.extend(shown[:-1] + [shown[-1][:-3] if last_para else shown[-1]])
            continue
        lead = para[0][: len(para[0]) - len(para[0].lstrip())]
        if k == 0:
            lead, rest = head + lead, quote_indent
        text = " ".join(x.strip() for x in para)
        out.extend(_wrap(text, lead, rest, WIDTH - 3 if last_para else WIDTH))
    if closing:
        if out[-1].strip():
            out[-1] += '"""'
        else:
            out[-1] = quote_indent + '"""'
    return out


def _rst_problems(docstring_source: str) -> int:
    """How many reST warnings a docstring (a string literal's source) gives, as Sphinx's
    napoleon and docutils read it; 0 when they are not installed."""
    try:
        from docutils.core import publish_doctree
        from sphinx.ext.napoleon import Config
        from sphinx.ext.napoleon.docstring import GoogleDocstring, NumpyDocstring
    except ImportError:
        return 0
    config = Config(napoleon_use_rtype=False)
    text = inspect.cleandoc(ast.literal_eval(docstring_source.strip()))
    text = str(NumpyDocstring(str(GoogleDocstring(text, config)), config))
    stream = io.StringIO()
    settings = {"report_level": 2, "warning_stream": stream, "halt_level": 5}
    publish_doctree(text, settings_overrides=settings)
    return stream.getvalue().count("(WARNING") + stream.getvalue().count("(ERROR")


def wrap_source(source: str) -> str:
    """The source with its long comments, docstring lines and string literals
    re-wrapped; the
    source itself when that would change its syntax tree (docstrings aside)."""
    docs, trailing = _doc_lines(source)
    source_lines = source.splitlines()
    blocks = _docstring_blocks(source)
    handled = {j for k, (end, _) in blocks.items() for j in range(k + 1, end + 1)}
    out: list[str] = []
    lines = _join_long_comments(source_lines, docs)
    for k, line in lines:
        if k in handled:
            continue
        if k in blocks:  # a whole docstring, kept if re-wrapping would trouble reST
            end, quote_indent = blocks[k]
            old = source_lines[k : end + 1]
            new = _wrap_docstring(old, quote_indent)
            worse = _rst_problems("\n".join(new)) > _rst_problems("\n".join(old))
            out.extend(old if new == old or worse else new)
            continue
        if line.startswith("# %%"):  # a cell marker
            out.append(line)
            continue
        directive = k in trailing and re.search(
            r"noqa|type:|fmt:|pragma", line[trailing[k] :]
        )
        # the comment goes above
        if len(line) > WIDTH and k in trailing and not directive:
            code, comment = line[: trailing[k]].rstrip(), line[trailing[k] :]
            indent = code[: len(code) - len(code.lstrip())]
            out.extend(_wrap_line(indent + comment, False))
            line = code
        out.extend(_wrap_line(line, k in docs) if len(line) > WIDTH else [line])
    new = "\n".join(out) + "\n"
    try:
        same = code_tree(new) == code_tree(source)
    except SyntaxError:
        same = False
    return new if same else source


def wrap_file(path: Path) -> bool:
    """Re-wrap one file (:func:`wrap_source`); True if it changed."""
    source = path.read_text("utf-8")
    new = wrap_source(source)
    if new == source:
        return False
    path.write_text(new, "utf-8")
    return True


def ruff(*args: str) -> int:
    return subprocess.call([sys.executable, "-m", "ruff", *args], cwd=ROOT)


_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_MARK = "# %% xorgrok-format cell {}"


def _split_cell(body: str) -> tuple[str, str]:
    """A code cell's body as (metadata lines, code): ``:key: value`` lines or a
    ``---`` block."""
    lines = body.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        end = next(k for k in range(1, len(lines)) if lines[k].strip() == "---")
        return "".join(lines[: end + 1]), "".join(lines[end + 1 :])
    k = 0
    while k < len(lines) and re.match(r"^:\w[\w-]*:", lines[k]):
        k += 1
    return "".join(lines[:k]), "".join(lines[k:])


def format_chapter(text: str) -> str:
    """The chapter with its code cells wrapped and ruff-formatted; the Markdown, the
    cell markers
    and the cells' metadata stay as they are, byte for byte."""
    cells = [_split_cell(m["body"]) for m in _CELL.finditer(text)]
    if not cells:
        return text
    script = "\n".join(
        f"{_MARK.format(k)}\n{code}" for k, (_, code) in enumerate(cells)
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chapter.py"
        path.write_text(script, "utf-8")
        config = ("--config", str(ROOT / "pyproject.toml"))
        # import order
        ruff("check", "--fix", "--quiet", "--select", "I", *config, str(path))
        for _ in range(2):  # strings split best once the formatter has placed them
            path.write_text(wrap_source(path.read_text("utf-8")), "utf-8")
            if ruff("format", "--quiet", *config, str(path)):
                raise RuntimeError("ruff could not format the chapter's code")
        parts = re.split(
            r"^# %% xorgrok-format cell \d+\n", path.read_text("utf-8"), flags=re.M
        )
    codes = [part.strip("\n") + "\n" if part.strip() else "" for part in parts[1:]]
    if len(codes) != len(cells):
        raise RuntimeError("the cells could not be told apart after formatting")
    out, last = [], 0
    for m, (meta, _), code in zip(_CELL.finditer(text), cells, codes):
        start = m.start("body")
        out.append(text[last:start] + meta + code)
        last = m.end("body")
    return "".join(out) + text[last:]


def format_chapters(check: bool) -> int:
    """:func:`format_chapter` over ``book/*.md``; with ``check``, change nothing and
    report the
    chapters that would change (status 1)."""
    status = 0
    for chapter in sorted((ROOT / "book").glob("*.md")):
        text = chapter.read_text("utf-8")
        new = format_chapter(text)
        if new == text:
            continue
        if check:
            print(f"would reformat {chapter.relative_to(ROOT)}")
            status = 1
        else:
            chapter.write_text(new, "utf-8")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if needed"
    )
    args = parser.parse_args(argv)
    folders = [f for f in FOLDERS if (ROOT / f).is_dir()]
    status = 0
    if not args.check:
        for _ in range(2):  # strings are split best once the formatter has placed them
            for folder in folders:
                for path in sorted((ROOT / folder).rglob("*.py")):
                    wrap_file(path)
            ruff("format", "--quiet", *folders)
        ruff("check", "--fix", "--quiet", "--select", "I", *folders)  # import order
    status |= ruff("format", *(["--check"] if args.check else []), *folders)
    status |= format_chapters(args.check)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
