"""Sphinx extension of the xorgrok book: each chapter page offers its notebook as ``.ipynb``.

sphinx-book-theme's download menu offers the page's source (``.md``) and ``.pdf`` (print). For a
MyST Markdown notebook this extension also writes ``_sources/<page>.ipynb`` (the chapter converted
by jupytext, without outputs: the same file as ``python -m xorgrok.notebooks``) and sets
``ipynb_source`` so that the theme adds an ".ipynb" entry to the menu. It also adds a line to the
page's ``<head>`` advertising the notebook for scripts (``<link rel="alternate" type="application/x-ipynb+json">``).

It also serves the offline web assets (``_vendor/``: MathJax, the widget manager) and checks they are
present, removes scripts that would need the network (sphinx-thebe) or that are repeated, and lets
plain-text docstrings (``||mu||``, ``[*G, S, T]``) pass through autodoc (see below).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
# Use the package from this checkout even if it is not installed (it is, with `pip install -e .`).
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from xorgrok.notebooks import export_notebook, is_notebook  # noqa: E402


VENDOR = "_vendor"  # third-party JavaScript served by the site (see _vendor/NOTICE.txt)


def _add_vendor_static(app: Sphinx, config: Any) -> None:
    """Serve ``_vendor/`` from ``_static/``. Added here, after Jupyter Book read its configuration,
    because Jupyter Book would otherwise load every ``.js`` file of a static folder on every page."""
    if VENDOR not in config.html_static_path:
        config.html_static_path = [*config.html_static_path, VENDOR]


def _clean_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Drop repeated ``<script>`` entries, the widget manager on pages that show no widget, and
    sphinx-thebe's (it would load thebe from a CDN; the book has no live-code button). sphinx-thebe adds its scripts once per page, so without this the
    second page on declares ``const THEBE_JS_URL`` twice: a console error."""
    scripts = context.get("script_files")
    if not scripts:
        return
    # Saved widget state without a widget on the page (the explorer's controls are not shown on the
    # website): neither the state nor the 1.9 MB widget manager is needed.
    no_widget_view = "application/vnd.jupyter.widget-view+json" not in str(context.get("body", ""))
    kept, seen = [], set()
    for js in scripts:
        filename = str(getattr(js, "filename", js) or "")
        attributes = getattr(js, "attributes", {}) or {}
        body = str(attributes.get("body", "") or "")
        if "thebe" in filename or "THEBE_JS_URL" in body:
            continue
        if no_widget_view and ("jupyter-widgets/embed.js" in filename or "widget-state" in str(attributes.get("type", ""))):
            continue
        key = (filename, body)
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def _check_assets(app: Sphinx) -> None:
    """Warn (an error under -W) if the site's own MathJax or widget manager is missing."""
    if app.builder.format != "html":
        return
    mathjax = app.config.mathjax_path
    if "://" in mathjax:
        logger.warning("mathjax_path %r loads MathJax from the network; the site must work offline", mathjax)
        return
    for static in app.config.html_static_path:
        if (Path(app.confdir) / static / mathjax).is_file():
            return
    logger.warning(
        "MathJax file %r not found in html_static_path %r; run `python scripts/vendor_web_assets.py`",
        mathjax,
        app.config.html_static_path,
    )


# --- Launch on Colab or Binder -------------------------------------------------------------------
# CI (.github/workflows/book.yml) pushes the site's notebooks (``_sources/book/*.ipynb``, written below)
# to the branch NOTEBOOKS_BRANCH; the theme's Colab and Binder buttons are pointed there, since neither
# service opens a MyST Markdown chapter. Each notebook starts with LAUNCH_CELL: on Colab or Binder only,
# it clones the repository (package and data) and installs the package; elsewhere it does nothing.
NOTEBOOKS_BRANCH = "notebooks"
LAUNCH_TAG = "xorgrok-launch"
LAUNCH_CELL = """\
# Runs only on Colab or Binder: fetch the book (package and data) and install the package.
# Anywhere else (your computer, the website's build) this cell does nothing.
import os, subprocess, sys

REPOSITORY = "{url}"
if "google.colab" in sys.modules or "BINDER_LAUNCH_HOST" in os.environ:
    if not os.path.isdir("xorgrok-book"):
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "xorgrok-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "xorgrok-book"], check=True)
    sys.path.insert(0, os.path.abspath("xorgrok-book/src"))
    os.chdir("xorgrok-book/book")"""


def repository_url(app: Sphinx) -> str:
    """The repository's address, as set once in ``_config.yml`` (``repository.url``)."""
    return str(app.config.html_theme_options.get("repository_url", "")).rstrip("/")


def launch_cell_source(url: str) -> str:
    """The first cell of a chapter's notebook: installs the package on Colab or Binder only."""
    return LAUNCH_CELL.format(url=url)


def _write_ipynb(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Write ``_sources/<pagename>.ipynb`` (no outputs, the launch cell first). After the theme
    (priority 501), whose launch buttons copy the executed notebook to the same path."""
    if app.builder.format != "html" or doctree is None or pagename not in app.env.all_docs:
        return
    source = Path(app.env.doc2path(pagename))
    if not is_notebook(source):
        return
    import nbformat

    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    export_notebook(source, target)
    nb = nbformat.read(str(target), as_version=4)
    cell = nbformat.v4.new_code_cell(launch_cell_source(repository_url(app)))
    cell.metadata["tags"] = [LAUNCH_TAG]
    nb.cells.insert(0, cell)
    nbformat.write(nb, str(target))


def _point_launch_buttons(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Point the theme's Colab and Binder buttons at the page's notebook on NOTEBOOKS_BRANCH."""
    url = repository_url(app)
    if "github.com/" not in url:
        return
    org_repo = url.split("github.com/", 1)[1]
    path = f"{pagename}.ipynb"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("text") == "Colab":
                button["url"] = (
                    f"https://colab.research.google.com/github/{org_repo}/blob/{NOTEBOOKS_BRANCH}/{path}"
                )
            elif button.get("text") == "Binder":
                button["url"] = f"https://mybinder.org/v2/gh/{org_repo}/{NOTEBOOKS_BRANCH}?urlpath=lab/tree/{path}"


def _add_ipynb(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Offer ``_sources/<pagename>.ipynb`` (written by :func:`_write_ipynb`) in the download menu."""
    if app.builder.format != "html" or doctree is None or pagename not in app.env.all_docs:
        return
    source = Path(app.env.doc2path(pagename))
    if not is_notebook(source):
        return
    context["ipynb_source"] = f"{pagename}.ipynb"
    href = context["pathto"]("_sources", 1) + f"/{pagename}.ipynb"
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" type="application/x-ipynb+json" href="{href}" title="Jupyter notebook" />'
    )


def _resolve_package_name(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a short Python reference of the package (``:class:`Setup```) to its documented object.

    Docstrings say ``:class:`Setup``` or ``:func:`xorgrok.simulate```, but the API page documents
    objects where they are defined (``xorgrok.config.Setup``). When a ``py`` reference is missing and
    exactly one documented ``xorgrok.*`` object ends with the same dotted name (or with its last
    part, for ``xorgrok.X`` re-exports), link to it. Anything else stays a nitpicky warning.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip(".~")
    if not target:
        return None
    domain = env.get_domain("py")
    objects = domain.objects
    wanted = [target]
    if target.startswith("xorgrok.") and target.count(".") == 1:
        wanted.append(target.split(".", 1)[1])  # xorgrok.Setup -> Setup
    types = set(domain.objtypes_for_role(node.get("reftype", "obj")) or [])
    for name in wanted:
        hits = [
            full
            for full, entry in objects.items()
            if full.startswith("xorgrok.")
            and (full == name or full.endswith("." + name))
            and (not types or entry.objtype in types)
        ]
        if len(hits) == 1:
            from sphinx.util.nodes import make_refnode

            obj = objects[hits[0]]
            return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, hits[0])
    return None


# --- Docstrings written as plain text -------------------------------------------------------------
# The package's docstrings are meant to read well in ``help()``: they write norms as ``||mu||`` or
# ``|<x_i, x_k>|`` and shapes as ``[*G, S, T]``. In reStructuredText a ``|`` starts a substitution and a
# lone ``*`` an emphasis, so autodoc would fail on them. Escape those two characters outside code,
# roles and literal blocks; leave paired emphasis (``*word*``) and bullets (``* item``) alone.

# A paragraph is sanitized as one text, not line by line: a role may run over a line break
# (``:math:`a +`` on one line, ``\|b\|``` on the next), and its second line is no plain text.
# Bullets (``* item``) are kept at the start of a line; an emphasis stays within one line.
_CODE = re.compile(r"(``.+?``|:[\w:+.-]+:`[^`]*`|`[^`]*`_{0,2}|^[ \t]*[*+-] )", re.S | re.M)
_EMPHASIS = re.compile(
    r"(?<![\w*\\])\*{1,2}[^\s*](?:[^*\n]*?[^\s*\\])?\*{1,2}(?=[\s.,;:!?)\]}'\"-]|$)", re.M
)


def _escape_plain(text: str) -> str:
    """Escape ``|`` and unpaired ``*`` in a piece of docstring text that holds no code or role."""
    text = text.replace("|", "\\|")
    out, last = [], 0
    for match in _EMPHASIS.finditer(text):
        out.append(text[last : match.start()].replace("*", "\\*"))
        out.append(match.group(0))
        last = match.end()
    out.append(text[last:].replace("*", "\\*"))
    return "".join(out)


def _sanitize_text(text: str) -> str:
    """Escape the plain parts of ``text`` (lines of prose, joined by newlines)."""
    parts = _CODE.split(text)
    return "".join(part if k % 2 else _escape_plain(part) for k, part in enumerate(parts))


def _sanitize_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    if not name.startswith("xorgrok"):
        return
    prose: list[int] = []  # the current run of prose lines, by index

    def flush() -> None:
        text = _sanitize_text("\n".join(lines[k] for k in prose))
        for k, line in zip(prose, text.split("\n")):
            lines[k] = line
        prose.clear()

    literal_indent: int | None = None
    for k, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not line.strip() or indent > literal_indent:
                continue
            literal_indent = None
        if line.lstrip().startswith((">>>", "...")) or not line.strip():  # doctest, blank
            flush()
            continue
        prose.append(k)
        if line.rstrip().endswith("::"):  # a literal block or a directive (.. math::) follows
            literal_indent = indent
            flush()
    flush()


# Napoleon reads the first line of a data or attribute docstring as ``type: description``: for
# ``#: Figure 1, left panel: alpha = 1e-12`` it makes "Figure 1, left panel" a type and a broken
# cross-reference. The package's attribute comments are plain sentences: keep them as written.
_SAVED: dict[str, list[str]] = {}


def _save_attribute_doc(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    if what in ("data", "attribute", "property") and name.startswith("xorgrok"):
        _SAVED[name] = list(lines)


def _restore_attribute_doc(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    if what in ("data", "attribute", "property") and name in _SAVED:
        lines[:] = _SAVED.pop(name)


# --- Bibliography labels: author-year, as the text cites -----------------------------------------
# The text cites "Xu et al. (2024)" (bibtex_reference_style: author_year); pybtex's own label styles
# number the entries ([1]) or abbreviate them ([XWF+24]). This style labels them "Xu et al., 2024".


def _register_author_year_style() -> str:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                people = entry.persons.get("author") or entry.persons.get("editor") or []
                names = [" ".join(p.last_names) for p in people] or [entry.key]
                who = names[0] if len(names) == 1 else (
                    f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al."
                )
                yield f"{who}, {entry.fields.get('year', 'n.d.')}".replace("{", "").replace("}", "")

    class AuthorYearStyle(PlainStyle):
        default_label_style = AuthorYearLabels

    name = "xorgrok_author_year"
    register_plugin("pybtex.style.formatting", name, AuthorYearStyle, force=True)
    return name


AUTHOR_YEAR_STYLE = _register_author_year_style()


# The theme's template loads Font Awesome's script (1.5 MB of SVG icons) on every page; its CSS draws the
# same icons from its web fonts, so the script only adds weight. It is not in ``script_files``: remove
# its tag from the written pages.
_FONTAWESOME_JS = re.compile(r'<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>\n?')


def _drop_fontawesome_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = _FONTAWESOME_JS.sub("", text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _add_vendor_static)
    app.connect("html-page-context", _clean_scripts, priority=950)
    # Before napoleon (priority 500): escape, then remember attribute docs; after it: restore them.
    app.connect("autodoc-process-docstring", _sanitize_docstring, priority=300)
    app.connect("autodoc-process-docstring", _save_attribute_doc, priority=400)
    app.connect("autodoc-process-docstring", _restore_attribute_doc, priority=900)
    app.connect("builder-inited", _check_assets)
    app.connect("build-finished", _drop_fontawesome_js)
    app.connect("missing-reference", _resolve_package_name)
    # Before sphinx-book-theme builds its header buttons (priority 501).
    app.connect("html-page-context", _add_ipynb, priority=400)
    # After sphinx-book-theme's launch buttons (priority 501).
    app.connect("html-page-context", _write_ipynb, priority=600)
    app.connect("html-page-context", _point_launch_buttons, priority=600)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
