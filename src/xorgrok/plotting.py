"""Shared figure style: a colour-blind-safe palette, sizes matched to the book's text
column, opaque backgrounds readable on dark themes, and numbers written as a reader
writes them.

Every chapter calls :func:`use_style` once; colours come from :data:`COLORS` (Okabe and
Ito's palette), so a colour means the same thing on every page.

Legibility. On the website (1366-px-wide window) the text column is :data:`COLUMN_PX`
CSS pixels wide. A figure ``w`` inches wide, saved at :data:`DPI` dots per inch, is
shown at ``min(1, COLUMN_PX / (w * DPI))`` of its pixel size, so a font of ``s`` points
is displayed ``s / 72 * DPI * min(1, COLUMN_PX / (w * DPI))`` pixels tall. With figures
at most :data:`COLUMN_IN` inches wide (:func:`figsize`) and no text below :data:`MIN_PT`
points (:func:`legible`), every figure's text is at least ``MIN_PT / 72 * DPI`` = 13.9
px tall there, as large as the smallest text of the pages (code blocks, 13 px). Figures
shown in a notebook record their smallest text height in their PNG
(:data:`TEXT_PX_KEY`), which the browser test (tests/test_site.py) combines with the
displayed size.
"""

from __future__ import annotations

import io

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = [
    "COLORS",
    "CLUSTER_COLORS",
    "CLUSTER_MATH",
    "COLUMN_IN",
    "COLUMN_PX",
    "DPI",
    "MIN_PT",
    "TEXT_PX_KEY",
    "figsize",
    "format_number",
    "legible",
    "png_bytes",
    "setup_markdown",
    "smallest_text_pt",
    "use_style",
]

#: Okabe-Ito colour-blind-safe palette, by role.
COLORS = {
    "train": "#0072B2",  # blue
    "test": "#D55E00",  # vermillion
    "positive": "#009E73",  # bluish green: label +1, positive neurons
    "negative": "#CC79A7",  # reddish purple: label -1, negative neurons
    "flipped": "#E69F00",  # orange: flipped labels
    "neutral": "#555555",  # grey: reference lines
    "mu1": "#56B4E9",  # sky blue
    "mu2": "#F0E442",  # yellow
    "black": "#000000",
}

#: Colour per cluster index (:math:`+\mu_1, -\mu_1, +\mu_2, -\mu_2`).
CLUSTER_COLORS = ("#009E73", "#56B4E9", "#CC79A7", "#E69F00")

#: Name per cluster index as mathematics (mathtext and MyST ``$...$``) for labels:
#: :data:`xorgrok.data.CLUSTER_NAMES` typeset (its value, TeX source, is not shown).
#:
#: :meta hide-value:
CLUSTER_MATH = (r"$+\mu_1$", r"$-\mu_1$", r"$+\mu_2$", r"$-\mu_2$")

#: Width in CSS pixels of the website's text column in a 1366-px-wide window
#: (sphinx-book-theme,
#: measured by tests/test_site.py).
COLUMN_PX = 729
#: Resolution of the figures (dots per inch): one inch of figure is DPI pixels of PNG.
DPI = 100
#: Widest figure shown at full size in the column, in inches.
COLUMN_IN = COLUMN_PX / DPI
#: Smallest font size in a figure, in points: 10 pt at DPI is 13.9 px, above the
#: smallest text of the
#: website's pages (code blocks, 13 px; inline code 14 px, prose 16 px).
MIN_PT = 10.0
#: PNG text chunk holding the smallest text height of the image, in pixels of the image.
TEXT_PX_KEY = "xorgrok:min-text-px"


def figsize(
    rows: int = 1, cols: int = 1, panel_aspect: float = 0.75
) -> tuple[float, float]:
    """(width, height) in inches of a grid of ``rows`` x ``cols`` panels filling the
    column width.

    Each panel is ``COLUMN_IN / cols`` wide and ``panel_aspect`` times as tall (plus
    room for labels).
    """
    if rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be >= 1, got rows={rows}, cols={cols}")
    if panel_aspect <= 0:
        raise ValueError(f"panel_aspect must be > 0, got {panel_aspect}")
    width = COLUMN_IN
    return width, rows * (width / cols * panel_aspect + 0.35)


def _texts(fig: Figure) -> list[Text]:
    """The visible, non-empty text artists of ``fig`` (titles, labels, tick labels,
    legends). The figure is laid out first: matplotlib creates tick labels only when it
    draws.
    """
    fig.draw_without_rendering()
    return [
        t
        for t in fig.findobj(Text)
        if t.get_visible()
        and t.get_text().strip()
        and (t.axes is None or t.axes.get_visible())
    ]


def smallest_text_pt(fig: Figure) -> float | None:
    """Smallest font size (points) of the visible text of ``fig``; None if it has no
    text.
    """
    sizes = [t.get_fontsize() for t in _texts(fig)]
    return min(sizes) if sizes else None


def legible(fig: Figure, min_pt: float = MIN_PT) -> Figure:
    """Raise every text of ``fig`` smaller than ``min_pt`` points to ``min_pt``. Returns
    ``fig``.
    """
    for text in _texts(fig):
        if text.get_fontsize() < min_pt:
            text.set_fontsize(min_pt)
    return fig


def png_bytes(fig: Figure, dpi: float = DPI, **savefig_kwargs) -> bytes:
    """``fig`` as PNG bytes after :func:`legible`, recording its smallest text height in
    image pixels (``smallest_text_pt / 72 * dpi``) in the PNG text chunk
    :data:`TEXT_PX_KEY`.
    """
    legible(fig)
    smallest = smallest_text_pt(fig)
    metadata = (
        {TEXT_PX_KEY: f"{smallest / 72 * dpi:.2f}"} if smallest is not None else {}
    )
    buf = io.BytesIO()
    savefig_kwargs.setdefault("facecolor", "white")
    fig.savefig(buf, format="png", dpi=dpi, metadata=metadata, **savefig_kwargs)
    return buf.getvalue()


def _inline_png(fig: Figure) -> bytes | None:
    """IPython's PNG formatter for figures (replaces matplotlib-inline's):
    :func:`png_bytes`, cropped.
    """
    if not fig.axes and not fig.lines and not fig.texts:
        return None
    return png_bytes(fig, bbox_inches="tight")


#: The paper's symbol of each field of :class:`xorgrok.config.Setup`, as MyST/LaTeX
#: math.
SETUP_SYMBOLS = {
    "p": "p",
    "n": "n",
    "n_test": r"n_{\text{test}}",
    "m": "m",
    "mu_norm": r"\lVert\mu\rVert",
    "eta": r"\eta",
    "omega_init": r"\omega_{\text{init}}",
    "alpha": r"\alpha",
}


def format_number(value: float) -> str:
    """A number as a reader writes it, in LaTeX: ``40{,}000``, ``35.36``, ``10^{-12}``,
    ``2.5 \\times 10^{-7}``.

    Integers get thousands separators; powers of ten and numbers below :math:`10^{-3}`
    or from :math:`10^6` on use scientific notation; others keep 4 significant digits.
    ``nan`` is "n/a" (callers say what it means).
    """
    import math

    value = float(value)
    if math.isnan(value):
        return r"\text{n/a}"
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value):,}".replace(",", "{,}")
    exponent = math.floor(math.log10(abs(value))) if value else 0
    if value and (abs(value) < 1e-3 or abs(value) >= 1e6):
        mantissa = value / 10.0**exponent
        if abs(mantissa - round(mantissa)) < 1e-9 and round(mantissa) == 1:
            return f"10^{{{exponent}}}"
        return f"{mantissa:.3g} \\times 10^{{{exponent}}}"
    return f"{value:.4g}"


def setup_markdown(setup) -> str:
    """One line of MyST Markdown naming every parameter of ``setup`` with the paper's
    symbols, e.g. ``$p = 40{,}000$, $n = 200$, ...`` (instead of the dataclass's repr).
    """
    from dataclasses import fields

    return ", ".join(
        f"${SETUP_SYMBOLS.get(name, name)} = {format_number(getattr(setup, name))}$"
        for name in (f.name for f in fields(setup))
    )


def use_style() -> None:
    """Set matplotlib defaults (opaque white figures, the palette, column-width figures,
    fonts of at least :data:`MIN_PT`) and, in IPython, show figures through
    :func:`png_bytes`.

    Call it after ``import matplotlib.pyplot``, which installs the inline backend's own
    formatter.
    """
    mpl.rcParams.update(
        {
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "savefig.transparent": False,
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "figure.figsize": figsize(),
            "font.size": MIN_PT,
            "axes.titlesize": MIN_PT,
            "axes.labelsize": MIN_PT,
            "xtick.labelsize": MIN_PT,
            "ytick.labelsize": MIN_PT,
            "legend.fontsize": MIN_PT,
            "legend.title_fontsize": MIN_PT,
            "figure.titlesize": 11,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.prop_cycle": mpl.cycler(
                color=[
                    COLORS[k]
                    for k in ("train", "test", "positive", "negative", "flipped", "mu1")
                ]
            ),
        }
    )
    try:
        from IPython import get_ipython
    except (
        ImportError
    ):  # pragma: no cover - IPython is a dependency of the book, not of the package
        return
    shell = get_ipython()
    if shell is not None:
        import matplotlib.pyplot as plt

        # pyplot loads its backend on first use, and matplotlib-inline then installs its
        # own PNG
        # formatter: load it now, so that the formatter below stays in place.
        plt.switch_backend(mpl.get_backend())
        shell.display_formatter.formatters["image/png"].for_type(Figure, _inline_png)
