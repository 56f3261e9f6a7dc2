"""The live explorer: one configuration in, three views of its training run out (chapter
"Explore").

The explorer trains a few networks with the fast ``"reduced"`` engine (cost about 2 m
n^2 flops per seed and step, independent of p) and draws three views of the run at one
recorded step t:

1. train and clean test accuracy against t + 1 (medians over seeds with a 20-80% band,
   the paper's Figure 1);
2. the training points of seed 0 projected onto span(mu1, mu2) with the sign of the
   network's output on that plane, f(x_1 e1 + x_2 e2; W^(t)) (the paper's Figure 2,
   :func:`xorgrok.plane.decision_function_on_plane`);
3. histograms of <w_j, mu1> and <w_j, mu2> over the positive neurons (a_j > 0) of all
   seeds (the paper's Figures 3 and 4), in units of alpha ||mu||^2 / (2 n sqrt(m)), one
   training point's push in one step (:func:`projection_unit`).

The pieces: :class:`ExplorerParams` (the controls, validated) -> :func:`to_setup` ->
:func:`run_explorer_setup` (a :class:`~xorgrok.simulate.Trajectory` recorded at
log-spaced steps) -> :func:`draw_views`. :func:`make_animation` scrubs through the
recorded steps without a kernel (a self-contained HTML/JS animation);
:func:`build_explorer` wires ipywidgets sliders to the same functions and re-simulates
only when a parameter other than the shown step changes.

The parts: ``xorgrok.explorer.params`` (parameters, simulation, costs),
``xorgrok.explorer.views`` (figures and animations), ``xorgrok.explorer.widget`` (the
widget).
"""

from __future__ import annotations

from . import params, views, widget
from .params import *  # noqa: F403 (the names of params.__all__)
from .views import *  # noqa: F403 (the names of views.__all__)
from .widget import *  # noqa: F403 (the names of widget.__all__)

__all__ = params.__all__ + views.__all__ + widget.__all__
