"""A matplotlib Agg canvas that keeps the glyph bitmaps it renders, for the explorer's
redraws.

Since matplotlib 3.11 the Agg renderer rasterizes text glyph by glyph with FreeType
(``RendererAgg._draw_text_glyphs_and_boxes``); in the explorer's redraws that is most of
a frame's cost, the same glyphs being rendered again and again. FreeType's bitmap of a
glyph depends on the font, size, dpi, rotation, hinting flags, antialiasing and the
fractional part (in 1/64 pixel) of the pen position; moving the pen by whole pixels
moves the bitmap by the same whole pixels. :class:`GlyphCacheCanvas` keeps each bitmap
under that key and pastes it where FreeType would have drawn it; it also keeps the
glyph layout of each plain string and the height metrics of each font, which
matplotlib works out again at every draw. Its pixels equal the plain canvas's exactly
(``tests/test_explorer.py`` compares them). With another matplotlib (no such method)
it is the plain Agg canvas.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import (
    FigureCanvasAgg,
    RendererAgg,
    get_hinting_flag,
)
from matplotlib.font_manager import fontManager, get_font
from matplotlib.ft2font import RenderMode

__all__ = ["GlyphCacheCanvas", "GlyphCacheRenderer", "SUPPORTED"]

SUPPORTED = hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")
_MAX_GLYPHS = 50_000  # about 100 bytes each: the cache is emptied beyond this
_GLYPHS: dict[tuple, tuple[np.ndarray, int, int]] = {}
_LAYOUTS: dict[tuple, tuple[list, float]] = {}
_HEIGHTS: dict[tuple, tuple] = {}


class GlyphCacheRenderer(RendererAgg):
    """``RendererAgg`` whose text glyphs come from a cache of FreeType's bitmaps.

    Only glyphs at angles that are multiples of 90 degrees are cached (the explorer's
    titles, labels, tick labels, legends); other text goes through matplotlib's own
    code, and so do the boxes of mathtext (fraction bars, roots).
    """

    def _get_font_height_metrics(self, prop):
        """(ascent, descent, line gap) in pixels of the font of ``prop`` at this dpi,
        for ``Text._get_layout`` (matplotlib 3.11 reads them from the font's OS/2 or
        hhea table at every layout, here once per font, size and dpi); (None, None,
        None) if the font has neither table (matplotlib then measures "lp")."""
        key = (prop.copy(), self.dpi)
        metrics = _HEIGHTS.get(key)
        if metrics is None:
            font = get_font(fontManager._find_fonts_by_props(prop))
            metrics = (None, None, None)
            for table_name, gap, ascent, descent in (
                ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                ("hhea", "lineGap", "ascent", "descent"),
            ):
                table = font.get_sfnt_table(table_name)
                if table is not None:
                    units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
                    scale = 1 / units_per_em * prop.get_size_in_points() * self.dpi / 72
                    metrics = (
                        table[ascent] * scale,
                        -table[descent] * scale,
                        table[gap] * scale,
                    )
                    break
            _HEIGHTS[key] = metrics
        return metrics

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        """Plain text as matplotlib 3.11 draws it, with the glyph layout of each
        (string, font, size, features, language) kept."""
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        flags = get_hinting_flag()
        key = (s, prop.copy(), self.dpi, features, language, flags)
        try:
            layout = _LAYOUTS.get(key)
        except TypeError:  # unhashable features or language
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        if layout is None:
            if len(_LAYOUTS) > _MAX_GLYPHS // 10:
                _LAYOUTS.clear()
            font = self._prepare_font(prop)
            items = font._layout(s, flags=flags, features=features, language=language)
            layout = (
                [(i.ft_object, i.glyph_index, i.x, i.y) for i in items],
                prop.get_size_in_points(),
            )
            _LAYOUTS[key] = layout
        items, size = layout
        self._draw_text_glyphs_and_boxes(
            gc,
            x,
            y,
            angle,
            ((font, size, index, 0, 1, dx, dy) for font, index, dx, dy in items),
            [],
        )

    def _draw_text_glyphs_and_boxes(self, gc, x, y, angle, glyphs, boxes):
        if angle % 90:
            return super()._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, boxes)
        cos = round(math.cos(math.radians(angle)))
        sin = round(math.sin(math.radians(angle)))
        flags = get_hinting_flag()
        antialiased = bool(gc.get_antialiased())
        height = self.height
        if len(_GLYPHS) > _MAX_GLYPHS:
            _GLYPHS.clear()
        for font, size, glyph_index, slant, extend, dx, dy in glyphs:  # dy upwards
            # the pen position in FreeType's 26.6 fixed point (y upwards), as matplotlib
            # computes it
            px = round(0x40 * (x + dx * cos - dy * sin))
            py = round(0x40 * (height - y + dx * sin + dy * cos))
            key = (
                font.fname,
                font.face_index,
                size,
                self.dpi,
                glyph_index,
                angle,
                slant,
                extend,
                px & 63,
                py & 63,
                antialiased,
                flags,
            )
            cached = _GLYPHS.get(key)
            if cached is None:
                font.set_size(size, self.dpi)
                turn = np.array([[cos, -sin], [sin, cos]])
                font._set_transform(
                    (0x10000 * turn @ [[extend, extend * slant], [0, 1]])
                    .round()
                    .astype(int),
                    [px, py],
                )
                mode = RenderMode.NORMAL if antialiased else RenderMode.MONO
                bitmap = font._render_glyph(glyph_index, flags, mode)
                buffer = np.array(bitmap.buffer)
                if not antialiased:
                    buffer *= 0xFF
                cached = (buffer, bitmap.left - (px >> 6), bitmap.top - (py >> 6))
                _GLYPHS[key] = cached
            buffer, left, top = cached
            # draw_text_image's y is downwards, at the bitmap's bottom side
            self._renderer.draw_text_image(
                buffer,
                (px >> 6) + left,
                int(height) - ((py >> 6) + top) + buffer.shape[0],
                0,
                gc,
            )
        if boxes:  # matplotlib draws them after the glyphs
            super()._draw_text_glyphs_and_boxes(gc, x, y, angle, (), boxes)


class GlyphCacheCanvas(FigureCanvasAgg):
    """``FigureCanvasAgg`` drawing with :class:`GlyphCacheRenderer` (where
    :data:`SUPPORTED`)."""

    def get_renderer(self):
        if not SUPPORTED:
            return super().get_renderer()
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = GlyphCacheRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
