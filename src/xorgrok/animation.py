"""Animations on a static page: one helper turns a matplotlib animation into a
self-contained player.

:func:`animation_html` is what every animation of the book goes through (the explorer's
views, the paper's Figure 2): matplotlib's ``to_jshtml`` player with the frames at the
figure's own resolution, button icons that need no network (:func:`offline_controls`),
an alternative text and a width that follows the page (:func:`fit_player`), and frames
re-encoded with a colour palette (:func:`shrink_frames`).
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any

__all__ = ["animation_html", "fit_player", "offline_controls", "shrink_frames"]


def animation_html(
    anim: Any,
    alt: str,
    *,
    fps: int | None = None,
    palette: bool = True,
    default_mode: str | None = None,
) -> str:
    """A self-contained HTML/JavaScript player of a ``matplotlib.animation.Animation``
    (works offline).

    Args:
        anim: the animation; its frames are saved at the figure's own dpi (not
            ``savefig.dpi``).
        alt: alternative text of the player's image (HTML-escaped here).
        fps: frames per second when playing (default: from the animation's interval).
        palette: re-encode the frames with a 256-colour palette (:func:`shrink_frames`),
            about 3x smaller.
        default_mode: what the player does at the last frame (``"once"``, ``"loop"``,
            ``"reflect"``;
            default: ``"loop"`` for a repeating animation, else ``"once"``).
    """
    import matplotlib as mpl

    with mpl.rc_context({"savefig.dpi": "figure"}):
        html = anim.to_jshtml(fps=fps, default_mode=default_mode)
    html = fit_player(offline_controls(html), alt)
    return shrink_frames(html) if palette else html


def fit_player(html: str, alt: str) -> str:
    """Give a ``to_jshtml`` player's image an ``alt`` text and let it shrink to the
    width of the page."""
    alt = (
        alt.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
    html = html.replace(
        '<div class="animation">', '<div class="animation" style="max-width: 100%;">', 1
    )
    return re.sub(
        r'<img id="(_anim_img[0-9a-f]*)">',
        lambda mt: (
            f'<img id="{mt.group(1)}" alt="{alt}" style="max-width: 100%; height: '
            'auto;">'
        ),
        html,
        count=1,
    )


_CDN_LINK = re.compile(r"<link[^>]*font-awesome[^>]*>\s*")
_ICON = re.compile(r'<i class="fa fa-([a-z-]+)( fa-flip-horizontal)?"></i>')
_GLYPHS = {
    "minus": "\u2212",  # slower
    "plus": "+",  # faster
    "fast-backward": "\u23ee",  # first frame
    "step-backward": "\u25c1",  # previous frame
    "play-flipped": "\u25c0",  # play backwards
    "pause": "\u23f8",
    "play": "\u25b6",
    "step-forward": "\u25b7",  # next frame
    "fast-forward": "\u23ed",  # last frame
}


def offline_controls(html: str) -> str:
    """Make a ``to_jshtml`` animation independent of the network.

    matplotlib's player loads its button icons (Font Awesome) from a CDN; without the
    network the buttons would be blank. This drops that stylesheet and writes each icon
    as a Unicode character instead (the buttons keep their ``title`` and
    ``aria-label``).
    """

    def glyph(match: re.Match) -> str:
        name = match.group(1) + ("-flipped" if match.group(2) else "")
        return f'<span aria-hidden="true">{_GLYPHS.get(name, name)}</span>'

    return _ICON.sub(glyph, _CDN_LINK.sub("", html))


_FRAME = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)")


def shrink_frames(html: str, colors: int = 256) -> str:
    """Re-encode every embedded PNG frame of a ``to_jshtml`` animation with a palette of
    ``colors`` colours.

    Figures use few colours, so an adaptive palette (no dithering) keeps them visually
    unchanged while the page gets about three times lighter.
    """
    from PIL import Image

    def repack(match: re.Match) -> str:
        raw = base64.b64decode(match.group(1).replace("\\\n", "").replace("\\", ""))
        image = Image.open(io.BytesIO(raw)).convert("RGB")
        small = image.quantize(
            colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
        buf = io.BytesIO()
        small.save(buf, format="png", optimize=True)
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(
            "ascii"
        )

    return _FRAME.sub(repack, html)
