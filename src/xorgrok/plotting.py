"""Shared figure style: a colour-blind-safe palette and opaque backgrounds readable on dark themes.

Every chapter calls :func:`use_style` once; colours come from :data:`COLORS` (Okabe and Ito's palette),
so a colour means the same thing on every page.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["COLORS", "CLUSTER_COLORS", "use_style"]

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

#: Colour per cluster index (+mu1, -mu1, +mu2, -mu2).
CLUSTER_COLORS = ("#009E73", "#56B4E9", "#CC79A7", "#E69F00")


def use_style() -> None:
    """Set matplotlib defaults: opaque white figures (legible on dark themes), the palette, readable sizes."""
    mpl.rcParams.update(
        {
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "savefig.transparent": False,
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.prop_cycle": mpl.cycler(color=[COLORS[k] for k in ("train", "test", "positive", "negative", "flipped", "mu1")]),
        }
    )
