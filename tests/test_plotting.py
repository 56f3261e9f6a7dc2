"""xorgrok.plotting: figure sizes for the book's column, the text-size floor and its PNG
record,
numbers and setups written as a reader writes them."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import xorgrok  # noqa: E402
from xorgrok import plotting  # noqa: E402


def test_column_geometry() -> None:
    """COLUMN_IN inches at DPI fill COLUMN_PX pixels; MIN_PT at DPI is 13.9 px, above
    the 13-px floor."""
    assert plotting.COLUMN_IN * plotting.DPI == pytest.approx(plotting.COLUMN_PX)
    assert plotting.MIN_PT / 72 * plotting.DPI == pytest.approx(13.89, abs=0.01)
    width, height = plotting.figsize(2, 3, panel_aspect=0.5)
    assert width == pytest.approx(plotting.COLUMN_IN)
    assert height == pytest.approx(2 * (plotting.COLUMN_IN / 3 * 0.5 + 0.35))
    with pytest.raises(ValueError, match="rows and cols"):
        plotting.figsize(0, 1)
    with pytest.raises(ValueError, match="panel_aspect"):
        plotting.figsize(1, 1, panel_aspect=0)


def test_legible_raises_small_text_only() -> None:
    fig, ax = plt.subplots()
    ax.set_title("big", fontsize=14)
    ax.set_xlabel("small", fontsize=6)
    ax.legend(handles=ax.plot([0, 1], label="line"), fontsize=7)
    assert plotting.smallest_text_pt(fig) == 6
    plotting.legible(fig)
    assert plotting.smallest_text_pt(fig) == plotting.MIN_PT
    assert ax.title.get_fontsize() == 14
    plt.close(fig)


def test_png_records_smallest_text_in_image_pixels() -> None:
    """The PNG's text chunk is smallest_text_pt / 72 * dpi, after legible()."""
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlabel("x", fontsize=12)
    ax.tick_params(labelsize=11)
    ax.set_title("t", fontsize=20)
    png = plotting.png_bytes(fig, dpi=150)
    image = Image.open(io.BytesIO(png))
    assert image.size == (600, 450)
    recorded = float(image.text[plotting.TEXT_PX_KEY])
    assert recorded == pytest.approx(11 / 72 * 150, abs=0.01)
    plt.close(fig)
    empty = plt.figure()
    assert (
        plotting.TEXT_PX_KEY
        not in Image.open(io.BytesIO(plotting.png_bytes(empty))).text
    )
    plt.close(empty)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (40000, "40{,}000"),
        (200, "200"),
        (35.35533905932738, "35.36"),
        (0.05, "0.05"),
        (1e-12, "10^{-12}"),
        (2.5e-7, r"2.5 \times 10^{-7}"),
        (3.2e11, r"3.2 \times 10^{11}"),
        (math.nan, r"\text{n/a}"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert plotting.format_number(value) == text


def test_setup_markdown_names_every_field_with_the_papers_symbols() -> None:
    text = plotting.setup_markdown(xorgrok.PAPER_FIG1_LEFT)
    assert text.startswith("$p = 40{,}000$, $n = 200$")
    assert r"$\lVert\mu\rVert = 35.36$" in text and r"$\alpha = 10^{-12}$" in text
    assert text.count("$") == 2 * len(plotting.SETUP_SYMBOLS)
    assert "Setup(" not in text and "mu_norm" not in text


def test_use_style_sets_the_floor() -> None:
    plotting.use_style()
    for key in ("font.size", "xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
        assert float(matplotlib.rcParams[key]) >= plotting.MIN_PT
    assert matplotlib.rcParams["figure.figsize"][0] == pytest.approx(plotting.COLUMN_IN)
    assert matplotlib.rcParams["savefig.dpi"] == plotting.DPI
