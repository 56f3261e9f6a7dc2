"""Browser test of the built website (``_build/html``), in headless Chromium.

For every page: no console error, no request leaving the machine, MathJax typeset
without TeX errors (on pages with math), every image loaded, every internal link
(``href``/``src``) pointing to an existing file and every ``#anchor`` to an existing id.
Then what a reader sees, at 1366 px (laptop) and 390 px (phone), in light and dark mode:
the page never scrolls sideways; an equation, code box, output or table wider than the
column scrolls in its own box with a visible scrollbar; at 1366 px no code line of at
most 88 characters scrolls; no raw TeX, ``{term}``, ``{glue`` or other MyST markup in
the text; the text of every figure, measured from the image's recorded text size
(``xorgrok.plotting``) and its displayed size, is at least ``TEXT_FLOOR_PX`` (at 390 px:
or the figure opens at full size, where it is); dark mode keeps its contrast. Page
weights are budgeted and written, with the smallest figure text, to
``_build/screenshots/report.json``; screenshots of every page at both widths and in both
modes are saved under ``_build/screenshots/``. Also: the search page finds a word
(without raw TeX in its snippets), each chapter offers its ``.ipynb``, and the book
opens from ``file://`` (no server) as well. The sources are checked without a build too
(folded cells, launch cell, workflow, years, ...).

Needs the built site (``jupyter-book build . -W -n --keep-going``), Debian's
``chromium`` and ``chromium-driver``, and ``selenium``; the browser tests skip with a
message when one is missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
# XORGROK_SITE: test another build (e.g. a scratch book of a few chapters) instead of
# _build/html.
SITE = Path(os.environ.get("XORGROK_SITE", ROOT / "_build" / "html"))
SHOTS = SITE.parent / "screenshots"
WIDTH, HEIGHT = 1366, 900  # a laptop screen
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static"}


def _pages() -> list[str]:
    if not (SITE / "index.html").is_file():
        return []
    return sorted(
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*.html")
        if not (set(p.relative_to(SITE).parts[:-1]) & SKIP_DIRS)
    )


PAGES = _pages()


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            name if os.path.isabs(name) and os.access(name, os.X_OK) else None
        )
        if found:
            return found
    return None


# --- static checks of the HTML (no browser)
# ---------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is None:
                continue
            if key in ("id", "name"):
                self.ids.add(value)
            if key in ("href", "src") and tag in (
                "a",
                "link",
                "script",
                "img",
                "source",
                "iframe",
            ):
                self.refs.append((tag, key, value))


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _site_missing() -> str:
    return (
        f"no built site at {SITE}: run `jupyter-book build . -W -n --keep-going` first"
    )


@pytest.mark.parametrize("page", PAGES or ["<no site>"])
def test_links_resolve(page: str) -> None:
    if not PAGES:
        pytest.skip(_site_missing())
    path = SITE / page
    problems = []
    for tag, attr, url in _parse(path).refs:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") or url.startswith("//"):
            # a resource loaded from the network: the site must work offline
            if tag != "a":
                problems.append(f"<{tag} {attr}={url}> loads from the network")
            continue
        if parts.scheme in ("mailto", "data", "javascript") or parts.scheme:
            continue
        target = (
            path if not parts.path else (path.parent / unquote(parts.path)).resolve()
        )
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"<{tag} {attr}={url}>: missing file {target}")
            continue
        if parts.fragment and tag == "a" and target.suffix == ".html":
            if unquote(parts.fragment) not in _parse(target).ids:
                problems.append(
                    f"<a href={url}>: no id {parts.fragment!r} in {target.name}"
                )
    assert not problems, "\n".join(problems)


def test_chapters_offer_ipynb() -> None:
    if not PAGES:
        pytest.skip(_site_missing())
    sys_path = str(ROOT / "src")
    import sys

    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from xorgrok.notebooks import chapter_paths

    for chapter in chapter_paths(ROOT / "book"):
        html = (SITE / "book" / f"{chapter.stem}.html").read_text(encoding="utf-8")
        assert f"_sources/book/{chapter.stem}.ipynb" in html, (
            f"{chapter.stem}: no .ipynb download"
        )
        assert (SITE / "_sources" / "book" / f"{chapter.stem}.ipynb").is_file()


# --- the sources: what a reader sees, checked without a build
# -----------------------------------------

BOOK = ROOT / "book"
CELL = re.compile(r"^```\{code-cell\} ipython3\n(.*?)^```$", re.S | re.M)
HIDDEN = {"hide-input", "remove-input", "hide-cell", "remove-cell"}
#: A visible code cell longer than this (non-blank, non-comment lines) is folded behind
#: a toggle.
MAX_VISIBLE_LINES = 25


def _cells(text: str) -> list[tuple[int, str, set[str]]]:
    """(line, source, tags) of every code cell of a MyST notebook."""
    out = []
    for match in CELL.finditer(text):
        body, tags = match.group(1), set()
        if body.startswith("---\n"):
            head, body = body[4:].split("\n---\n", 1)
            found = re.search(r"^tags:\s*\[([^\]]*)\]", head, re.M)
            tags = {t.strip() for t in found.group(1).split(",")} if found else set()
        while body.startswith(":"):
            line, body = body.split("\n", 1)
            if line.startswith(":tags:"):
                tags = {t.strip() for t in line.split("[", 1)[1].rstrip("]").split(",")}
        out.append((text[: match.start()].count("\n") + 1, body, tags))
    return out


def _is_check(statement) -> bool:
    """An ``assert``, a ``glue(...)`` call, or a loop/``if`` made only of those."""
    import ast

    if isinstance(statement, ast.Assert):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        return getattr(func, "id", getattr(func, "attr", None)) == "glue"
    if isinstance(statement, (ast.For, ast.If)) and not statement.orelse:
        return all(_is_check(s) for s in statement.body)
    return False


def _is_check_cell(source: str, later: list[str]) -> bool:
    """True for a cell that only feeds the prose or checks a claim: glue calls and
    asserts, plus
    assignments of names that no later cell of the page reads."""
    import ast

    tree = ast.parse(source)
    read_later = {
        node.id
        for code in later
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    if not any(_is_check(s) for s in tree.body):
        return False
    for statement in tree.body:
        if _is_check(statement):
            continue
        if not isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            return False
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
        )
        if not all(isinstance(t, (ast.Name, ast.Tuple)) for t in targets):
            # sets an attribute or an item: a side effect, not only a check
            return False
        if {
            n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)
        } & read_later:
            return False
    return True


def _chapters() -> list[Path]:
    sys_path = str(ROOT / "src")
    import sys

    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from xorgrok.notebooks import chapter_paths

    return chapter_paths(BOOK)


def test_check_cells_and_long_cells_are_folded() -> None:
    """Cells that only glue numbers or assert are hidden (still executed: nbval and the
    build run them);
    visible code cells longer than MAX_VISIBLE_LINES are folded behind a toggle."""
    problems = []
    for chapter in _chapters():
        cells = _cells(chapter.read_text(encoding="utf-8"))
        assert cells, f"{chapter.name}: no code cell found (parser out of date?)"
        for k, (line, source, tags) in enumerate(cells):
            if tags & HIDDEN:
                continue
            if _is_check_cell(source, [c[1] for c in cells[k + 1 :]]):
                problems.append(
                    f"{chapter.name}:{line}: only glue/assert, tag it hide-input"
                )
            n = sum(
                1
                for s in source.splitlines()
                if s.strip() and not s.strip().startswith("#")
            )
            if n > MAX_VISIBLE_LINES:
                problems.append(
                    f"{chapter.name}:{line}: {n} lines of visible code, tag it "
                    "hide-input"
                )
    assert not problems, "\n".join(problems)


def test_check_cell_rule() -> None:
    """The rule above on small cases, so that it cannot pass by classifying nothing."""
    assert _is_check_cell("x = f(1)\nglue('a', x)\nassert x > 0", [])
    assert not _is_check_cell("x = f(1)\nglue('a', x)", ["print(x)"])
    assert not _is_check_cell("plt.plot(x)\nassert x", [])
    assert not _is_check_cell("x = 1", [])
    assert not _is_check_cell("slider.value = 2\nassert slider.value == 2", [])


def test_no_markdown_line_starts_a_list_inside_inline_math() -> None:
    """A prose line starting with ``+ `` or ``- `` inside an inline ``$...$`` becomes a
    list item
    (chapter 1's Exercise 1 once showed raw LaTeX and a stray bullet). Display math
    is exempt."""
    problems = []
    for page in BOOK.glob("*.md"):
        text = re.sub(
            r"^```(\{code-cell\}[^\n]*|\w*)\n.*?^```$",
            "",
            page.read_text(encoding="utf-8"),
            flags=re.S | re.M,
        )
        text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
        for k, line in enumerate(text.splitlines()):
            if re.match(r"^\s*[-+*] ", line):
                before = "\n".join(text.splitlines()[max(0, k - 3) : k])
                if before.count("$") % 2 == 1 and not before.rstrip().endswith("$$"):
                    problems.append(f"{page.name}: {line.strip()[:60]!r}")
    assert not problems, "\n".join(problems)


def _config() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def test_years_and_repository_agree() -> None:
    """The footer's copyright year is the cite page's year, and every copy of the
    repository's address
    (cite page, CITATION.cff) is the one set in ``_config.yml``."""
    cfg = _config()
    cite = (BOOK / "cite.md").read_text(encoding="utf-8")
    year = re.search(
        r"^\s*year\s*=\s*\{(\d{4})\}", cite.split("## This book", 1)[1], re.M
    ).group(1)
    assert str(cfg["copyright"]).split("-")[-1].strip() == year
    url = cfg["repository"]["url"]
    others = [cite, (ROOT / "CITATION.cff").read_text(encoding="utf-8")]
    for text in others:
        for found in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text):
            assert found == url, (
                f"{found} differs from _config.yml's repository.url {url}"
            )


def test_bibliography_lists_by_author_year() -> None:
    """The text cites author-year, so the bibliography is a list without numbers."""
    sphinx = _config()["sphinx"]["config"]
    assert sphinx["bibtex_reference_style"] == "author_year"
    assert sphinx["bibtex_default_style"] == _site_ext().AUTHOR_YEAR_STYLE
    if PAGES:
        html = (SITE / "book" / "bibliography.html").read_text(encoding="utf-8")
        labels = re.findall(
            r'<span class="label"><span class="fn-bracket">\[</span>(.*?)<', html
        )
        assert labels, "no labelled entry in the bibliography"
        for label in labels:
            assert re.fullmatch(r"[^\d,]+, \d{4}", label), (
                f"label {label!r} is not 'Author(s), year'"
            )


def _site_ext():
    import importlib
    import sys

    if str(ROOT / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "_ext"))
    return importlib.import_module("xorgrok_site")


def test_launch_cell_runs_only_on_colab_or_binder(tmp_path: Path, monkeypatch) -> None:
    """The notebooks' first cell: nothing happens locally (or in the build); on Colab or
    Binder it
    clones the repository named in ``_config.yml`` and installs the package from it."""
    import subprocess
    import sys
    import types

    site = _site_ext()
    url = _config()["repository"]["url"]
    source = site.launch_cell_source(url)
    assert f'REPOSITORY = "{url}"' in source
    assert source.count("github.com") == 1
    calls: list[list[str]] = []

    def run(cmd, **kwargs):
        calls.append(list(cmd))
        if cmd[:2] == ["git", "clone"]:
            (Path(cmd[-1]) / "book").mkdir(parents=True)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.chdir(tmp_path)
    for name in ("BINDER_LAUNCH_HOST",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "launch", "exec"), {})
    assert calls == [] and Path.cwd() == tmp_path

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(compile(source, "launch", "exec"), {})
    assert calls[0][:2] == ["git", "clone"] and url in calls[0]
    assert calls[1][1:5] == ["-m", "pip", "install", "-q"]
    assert Path.cwd() == tmp_path / "xorgrok-book" / "book"
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "xorgrok-book" not in p])


def test_launch_buttons_configured() -> None:
    """Colab and Binder buttons on; the repository's address written once, in
    ``_config.yml``."""
    cfg = _config()
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert cfg["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert cfg["repository"]["url"] not in (
        ROOT / "_ext" / "xorgrok_site.py"
    ).read_text(encoding="utf-8")


def test_launch_buttons_in_built_pages() -> None:
    """Each chapter's Colab and Binder links open its notebook on the notebooks branch,
    and the
    downloadable notebook starts with the launch cell."""
    if not PAGES:
        pytest.skip(_site_missing())
    site = _site_ext()
    url = _config()["repository"]["url"]
    org_repo = url.split("github.com/", 1)[1]
    for chapter in _chapters():
        page = f"book/{chapter.stem}"
        html = (SITE / f"{page}.html").read_text(encoding="utf-8")
        colab = f"https://colab.research.google.com/github/{org_repo}/blob/{site.NOTEBOOKS_BRANCH}/{page}.ipynb"
        binder = f"https://mybinder.org/v2/gh/{org_repo}/{site.NOTEBOOKS_BRANCH}?urlpath=lab/tree/{page}.ipynb"
        assert colab in html, f"{page}: no Colab link {colab}"
        assert binder in html, f"{page}: no Binder link {binder}"
        import json

        nb = json.loads(
            (SITE / "_sources" / f"{page}.ipynb").read_text(encoding="utf-8")
        )
        first = "".join(nb["cells"][0]["source"])
        assert first == site.launch_cell_source(url), (
            f"{page}.ipynb: no launch cell first"
        )
        assert not any(
            c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"
        )


def test_workflow_files_valid() -> None:
    """The CI workflow is a valid GitHub Actions workflow (check-jsonschema's vendored
    schema, offline),
    runs .ci/run and publishes _build/html to GitHub Pages."""
    import subprocess
    import sys

    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows, "no workflow in .github/workflows"
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip(
            "pip install check-jsonschema (requirements.txt) to lint the workflow files"
        )
    proc = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = "\n".join(w.read_text(encoding="utf-8") for w in workflows)
    assert "run: .ci/run" in text
    assert "actions/upload-pages-artifact" in text and "path: _build/html" in text
    assert "actions/deploy-pages" in text


# --- in the browser
# ----------------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    failures: list[str] = []

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base class)
        pass

    def send_error(self, code, message=None, explain=None):  # type: ignore[override]
        _Handler.failures.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def server():
    if not PAGES:
        pytest.skip(_site_missing())
    handler = functools.partial(_Handler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not PAGES:
        pytest.skip(_site_missing())
    chromium = _find(
        "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"
    )
    driver_path = _find("/usr/bin/chromedriver", "chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip(
            "no Chromium/ChromeDriver found: install Debian's chromium "
            "(apt-get install chromium chromium-driver) to enable the browser test"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="pip install selenium to enable the browser test"
    )
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="xorgrok-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--allow-file-access-from-files",
    ):
        options.add_argument(flag)
    options.set_capability(
        "goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"}
    )
    driver = webdriver.Chrome(
        service=Service(executable_path=driver_path), options=options
    )
    driver.execute_cdp_cmd("Network.enable", {})
    # page weights: no cache
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _settle(driver) -> None:
    """Wait for the page, MathJax (if loaded) and every image to finish."""
    driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const hasMath = document.querySelector('.math') !== null;
        const mathjax = () => new Promise(resolve => {  // MathJax loads asynchronously: wait for it
          const start = Date.now();
          const poll = () => {
            const p = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
            if (p) p.then(resolve, resolve);
            else if (!hasMath || Date.now() - start > 30000) resolve();
            else setTimeout(poll, 50);
          };
          poll();
        });
        const images = Array.from(document.images).map(img => {
          img.loading = 'eager';
          return img.decode ? img.decode().catch(() => null) : null;
        });
        Promise.all([mathjax(), ...images]).then(() => done(true), e => done(String(e)));
        """
    )


def _network_urls(driver) -> list[str]:
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


#: The two screens a reader uses: a laptop and a phone (CSS pixels).
VIEWPORTS = {"laptop": (1366, 900), "phone": (390, 844)}
#: Page weight budget: every file a page loads (HTML, CSS, JavaScript, fonts, images),
#: uncompressed.
#: Before issue 15 the median page loaded 4.2 MB (1.5 MB of it Font Awesome's script,
#: 1.3 MB MathJax's
#: full build) and the explorer 7.2 MB; now the median page loads 2.6 MB. The budget
#: leaves room for the
#: heaviest pages: the explorer (two 20-frame animations embedded in its HTML) and
#: chapter 4's figures.
PAGE_BUDGET_BYTES = 4_500_000
#: Smallest text of the pages, in CSS pixels (code blocks, _static/custom.css); figure
#: text must be at
#: least as large where the figure is shown (plotting.MIN_PT at plotting.DPI gives 13.9
#: px).
TEXT_FLOOR_PX = 13.0
#: Raw markup that must never reach a reader: TeX outside MathJax, MyST roles and glue
#: references
#: (a "$" before an environment variable's name, "$XDG_CACHE_HOME", is text).
RAW_MARKUP = re.compile(
    r"\$(?![A-Z][A-Z0-9_]*\b)[^$\s]|\\(frac|lVert|rVert|langle|rangle|alpha|omega|mu|sqrt|tfrac|text)\b"
    r"|\{(term|glue|glue:text|doc|ref|cite|numref|eq)\}"
)
#: The project's longest code line (CONTRIBUTING.md, ruff); code boxes fit it at 1366
#: px.
MAX_CODE_LINE = 88
WEIGHTS: dict[str, int] = {}
FIGURE_TEXT: dict[str, float] = {}


def _png_text_px(path: Path) -> float | None:
    """The smallest text height (image pixels) recorded by
    ``xorgrok.plotting.png_bytes``, if any."""
    import struct

    key = b"xorgrok:min-text-px"
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG"):
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and body.startswith(key + b"\x00"):
            return float(body[len(key) + 1 :].decode("latin-1"))
        if kind == b"IEND":
            break
        pos += 12 + length
    return None


def _viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


_MEASURE = r"""
if (document.querySelector('meta[http-equiv="refresh" i]')) return null;  // a redirect stub
const art = document.querySelector('.bd-article') || document.body || document.documentElement;
const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
const overflow = [];
const boxes = 'div.math, mjx-container, div.highlight pre, div.cell_output .output, '
  + 'table, .pst-scrollable-table-container, .table-wrapper, div.cell_output, figure';
art.querySelectorAll(boxes).forEach(e => {
  if (!visible(e) || e.scrollWidth <= e.clientWidth + 1) return;
  const style = getComputedStyle(e);
  const scrolls = ['auto', 'scroll'].includes(style.overflowX);
  const bar = e.offsetHeight - e.clientHeight - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
  const code = e.matches('div.cell_input pre, div.highlight pre') && !e.closest('div.cell_output');
  const longest = Math.max(...e.textContent.split('\n').map(l => l.length));
  overflow.push({what: e.tagName.toLowerCase() + '.' + String(e.className).split(' ')[0],
    text: e.textContent.trim().slice(0, 60), scroll: e.scrollWidth, client: e.clientWidth,
    scrolls: scrolls, bar: bar, code: code, longest: longest});
});
const clone = art.cloneNode(true);
clone.querySelectorAll('pre, code, mjx-container, script, style, .highlight, mjx-assistive-mml, .MathJax')
  .forEach(e => e.remove());
const images = Array.from(art.querySelectorAll('img')).filter(visible).map(i => ({
  src: i.currentSrc || i.src || '', natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
  zoom: !!i.closest('a.xorgrok-zoom')}));
const p = art.querySelector('p');
const inert = Array.from(art.querySelectorAll('.jupyter-widgets input, .jupyter-widgets select, '
  + '.jupyter-widgets button, .jupyter-widgets .slider, .widget-slider')).filter(visible).length;
return {
  inert: inert,
  pageWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
  articleOverflow: art.scrollWidth - art.clientWidth,
  overflow: overflow, text: clone.textContent, images: images,
  colors: [getComputedStyle(document.body).backgroundColor, p ? getComputedStyle(p).color : ''],
  bytes: performance.getEntriesByType('resource').reduce((a, r) => a + (r.encodedBodySize || 0), 0)
    + (performance.getEntriesByType('navigation')[0] || {encodedBodySize: 0}).encodedBodySize,
};
"""


def _what_a_reader_sees(driver, url: str, label: str) -> list[str]:
    """Checks of the rendered page at the current viewport and colour mode (see the
    module docstring)."""
    info = driver.execute_script(_MEASURE)
    problems: list[str] = []
    if info is None:  # the page only redirects: the target page is checked on its own
        return problems
    if info["pageWidth"] > info["innerWidth"] + 1:
        problems.append(
            f"{label}: page scrolls sideways ({info['pageWidth']} px in "
            f"{info['innerWidth']} "
            "px)"
        )
    if info["articleOverflow"] > 1:
        problems.append(
            f"{label}: content pokes {info['articleOverflow']} px out of the text "
            "column"
        )
    for box in info["overflow"]:
        where = f"{label}: {box['what']} {box['text']!r} ({box['scroll']} px in {box['client']} px)"
        if not box["scrolls"] or box["bar"] < 4:
            problems.append(f"{where} overflows without a visible scrollbar")
        elif (
            box["code"]
            and label.startswith("laptop")
            and box["longest"] <= MAX_CODE_LINE
        ):
            problems.append(
                f"{where}: a code line of {box['longest']} characters scrolls sideways"
            )
    if info["inert"]:
        problems.append(
            f"{label}: {info['inert']} widget controls on a static page (no kernel: "
            "inert)"
        )
    raw = sorted({m.group(0) for m in RAW_MARKUP.finditer(info["text"])})
    if raw:
        problems.append(f"{label}: raw markup in the text: {raw[:8]}")
    page = urlsplit(url).path.lstrip("/")
    for image in info["images"]:
        parts = urlsplit(image["src"])
        if parts.scheme not in ("http", "file") or image["natural"] == 0:
            continue
        path = (
            Path(unquote(parts.path))
            if parts.scheme == "file"
            else SITE / unquote(parts.path).lstrip("/")
        )
        intrinsic = (
            _png_text_px(path)
            if path.suffix == ".png" and "_images" in path.parts
            else None
        )
        if intrinsic is None:
            if "_images" in path.parts and path.suffix == ".png":
                problems.append(
                    f"{label}: {path.name} records no text size (draw it with "
                    "xorgrok.plotting)"
                )
            continue
        shown = intrinsic * image["shown"] / image["natural"]
        FIGURE_TEXT[f"{label} {page} {path.name[:12]}"] = shown
        if shown < TEXT_FLOOR_PX and not (image["zoom"] and intrinsic >= TEXT_FLOOR_PX):
            problems.append(
                f"{label}: figure {path.name[:12]} text {shown:.1f} px < "
                f"{TEXT_FLOOR_PX} px "
                f"({'click-to-enlarge' if image['zoom'] else 'not enlargeable'})"
            )
        if label.startswith("laptop") and shown < TEXT_FLOOR_PX:
            problems.append(
                f"{label}: figure {path.name[:12]} text {shown:.1f} px < "
                f"{TEXT_FLOOR_PX} px at 1366 "
                "px"
            )
    if "dark" in label:
        lum = [
            sum(int(v) for v in re.findall(r"\d+", c)[:3]) / 3
            for c in info["colors"]
            if c
        ]
        if len(lum) == 2 and not lum[0] < 100 < lum[1]:
            problems.append(f"{label}: dark mode contrast {info['colors']}")
    WEIGHTS[page] = max(WEIGHTS.get(page, 0), info["bytes"])
    return problems


def _check_page(driver, url: str, shot: Path, viewport: str = "laptop") -> list[str]:
    width, height = VIEWPORTS[viewport]
    _viewport(driver, width, height)
    driver.get_log("browser")
    driver.get_log("performance")
    driver.execute_script(
        "try { localStorage.setItem('mode', 'light'); localStorage.setItem('theme', "
        "'light'); } catch (e) "
        "{}"
    )
    driver.get(url)
    _settle(driver)
    problems: list[str] = []

    for entry in driver.get_log("browser"):
        if entry["level"] in ("SEVERE", "ERROR"):
            problems.append(f"console: {entry['message']}")
    base = urlsplit(url)
    for request in _network_urls(driver):
        parts = urlsplit(request)
        if parts.scheme in ("data", "blob", "about", "chrome"):
            continue
        if parts.scheme == "file" or parts.netloc == base.netloc:
            continue
        problems.append(f"request leaves the site: {request}")

    info = driver.execute_script(
        """
        const math = document.querySelectorAll('.math, div.math, span.math').length;
        return {
          math: math,
          mjx: document.querySelectorAll('mjx-container').length,
          merror: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent),
          badImages: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120)),
          title: document.title,
        };
        """
    )
    if info["math"] and not info["mjx"]:
        problems.append(f"{info['math']} math elements but MathJax typeset nothing")
    if info["merror"]:
        problems.append(f"MathJax errors: {info['merror'][:5]}")
    if info["badImages"]:
        problems.append(f"images not loaded: {info['badImages'][:5]}")

    shot.parent.mkdir(parents=True, exist_ok=True)
    for mode in ("light", "dark"):
        driver.execute_script(f"document.documentElement.dataset.theme = '{mode}';")
        problems += _what_a_reader_sees(driver, url, f"{viewport} {width} px, {mode}")
        full = driver.execute_script(
            "return Math.min(document.documentElement.scrollHeight, 12000)"
        )
        _viewport(driver, width, max(height, int(full)))
        driver.save_screenshot(
            str(shot.with_name(f"{shot.stem}-{viewport}-{mode}.png"))
        )
        _viewport(driver, width, height)
    driver.execute_script("document.documentElement.dataset.theme = 'light';")
    return problems


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("page", PAGES or ["<no site>"])
def test_page_in_browser(page: str, viewport: str, server: str, browser) -> None:
    """Console, network, MathJax, images; then, in light and dark mode: no sideways
    scrolling, nothing
    overflowing without a scrollbar, no code line of at most 88 characters scrolling
    at 1366 px, no raw markup, figure text at least TEXT_FLOOR_PX (at 390 px: or the
    figure opens full size); screenshots."""
    html = (SITE / page).read_text(encoding="utf-8", errors="replace")
    target = re.search(
        r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', html, re.I
    )
    if target:  # a redirect stub (index.html): its target page is checked on its own
        assert (SITE / page).parent.joinpath(target.group(1)).resolve().is_file(), (
            target.group(1)
        )
        return
    _Handler.failures.clear()
    shot = SHOTS / (page.replace("/", "__").removesuffix(".html") + ".png")
    problems = _check_page(browser, f"{server}/{page}", shot, viewport)
    problems += [f"server: {f}" for f in _Handler.failures]
    assert not problems, f"{page}:\n" + "\n".join(problems)


def test_page_weight_and_figure_text_report(server: str, browser) -> None:
    """Every page within PAGE_BUDGET_BYTES; writes _build/screenshots/report.json
    (weights, figure text)."""
    import json

    for page in PAGES:
        if page not in WEIGHTS:
            _check_page(
                browser,
                f"{server}/{page}",
                SHOTS / "weight" / page.replace("/", "__"),
                "laptop",
            )
    report = {
        "page_bytes": dict(sorted(WEIGHTS.items())),
        "smallest_figure_text_px": {
            viewport: min(
                (v for k, v in FIGURE_TEXT.items() if k.startswith(viewport)),
                default=None,
            )
            for viewport in VIEWPORTS
        },
    }
    (SHOTS / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    heavy = {page: size for page, size in WEIGHTS.items() if size > PAGE_BUDGET_BYTES}
    assert not heavy, f"pages over the {PAGE_BUDGET_BYTES:,}-byte budget: {heavy}"


def test_search_finds_words(server: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/search.html?q=grokking")
    WebDriverWait(browser, 60).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#search-results ul.search li")
            or "did not match" in d.find_element(By.ID, "search-results").text
        )
    )
    hits = browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li")
    assert hits, "the search page found nothing for 'grokking'"
    # snippets quote pages with mathematics: plain text, no TeX (_static/search-math.js)
    browser.get(f"{server}/search.html?q=lemma")
    WebDriverWait(browser, 60).until(
        lambda d: (
            len(
                d.find_elements(
                    By.CSS_SELECTOR, "#search-results ul.search li p.context"
                )
            )
            >= 3
        )
    )
    snippets = " ".join(
        e.text
        for e in browser.find_elements(By.CSS_SELECTOR, "#search-results p.context")
    )
    raw = sorted(
        {m.group(0) for m in RAW_MARKUP.finditer(snippets)}
        | set(re.findall(r"\\[()\[\]]", snippets))
    )
    assert not raw, f"raw TeX in search snippets: {raw[:8]}"


def test_dark_mode_screenshot(server: str, browser) -> None:
    """The introduction in dark mode: readable text, figures on their white
    background (see the screenshot)."""
    browser.get(f"{server}/book/intro.html")
    browser.execute_script(
        "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"
    )
    browser.get(f"{server}/book/intro.html")
    _settle(browser)
    theme = browser.execute_script("return document.documentElement.dataset.theme")
    assert theme == "dark"
    colors = browser.execute_script(
        """
        const body = getComputedStyle(document.body);
        const p = document.querySelector('.bd-article p');
        return [body.backgroundColor, p ? getComputedStyle(p).color : body.color];
        """
    )
    lum = [sum(int(v) for v in re.findall(r"\d+", c)[:3]) / 3 for c in colors]
    assert lum[0] < 100 < lum[1], (
        f"dark mode contrast: background {colors[0]}, text {colors[1]}"
    )
    browser.save_screenshot(str(SHOTS / "book__intro-dark.png"))
    browser.execute_script(
        "localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');"
    )


def test_headline_figure_above_the_fold(server: str, browser) -> None:
    """The introduction's headline figure starts within the first screen of a 1366 x
    900 laptop."""
    _viewport(browser, *VIEWPORTS["laptop"])
    browser.get(f"{server}/book/intro.html")
    _settle(browser)
    top = browser.execute_script(
        "const f = document.getElementById('fig-intro-headline') || "
        "document.querySelector('.bd-article "
        "img');"
        "return f ? f.getBoundingClientRect().top : null;"
    )
    assert top is not None and top < VIEWPORTS["laptop"][1] - 200, (
        f"headline figure starts at {top} px"
    )


def test_opens_from_file_url(browser) -> None:
    """No server: the book opened from disk still typesets its math and loads its
    images."""
    problems = _check_page(
        browser, (SITE / "book" / "intro.html").as_uri(), SHOTS / "book__intro-file.png"
    )
    assert not problems, "\n".join(problems)


def test_docstring_sanitizer_keeps_a_role_over_a_line_break() -> None:
    """The book's extension escapes ``|`` and a lone ``*`` in plain docstring text (for
    reST) but not in roles, literals, literal blocks or doctests: a ``:math:`` role that
    runs over a line break keeps its ``|`` (escaped, ``\\|`` would show a norm)."""
    site = _site_ext()
    lines = [
        r"Step :math:`a_j + \frac{1}{|B|} +",
        r"\|w_j\|` with ||mu|| of [*G, S] and ``x|y",
        r"|z``.",
        "",
        "* an item with **bold**",
        "",
        "Example::",
        "",
        "    a || b *",
        ">>> 1 | 2",
    ]
    out = list(lines)
    site._sanitize_docstring(None, "function", "xorgrok.f", None, None, out)
    assert out == [
        lines[0],
        r"\|w_j\|` with \|\|mu\|\| of [\*G, S] and ``x|y",
        *lines[2:],
    ]
