"""The paper's Figures 1-4 (its Appendix A.7): run, tabulate, draw and write them.

A *table* here is a plain ``dict`` of equal-length 1-D numpy columns (no pandas needed);
:func:`write_csv` writes one atomically and :func:`read_csv` reads it back.

* Figure 1 (:func:`run_figure1`, :func:`figure1_table`, :func:`plot_figure1`): train and
  test accuracy, medians with a 20-80 % band over seeds, against t + 1 on a log axis;
  left panel alpha = 1e-12, right panel alpha = 1e-16.
* Figure 2 (:func:`run_figure2`, :func:`figure2_tables`, :func:`plot_figure2`,
  :func:`animate_figure2`): data and decision function on span(mu1, mu2), neurons
  projected on that plane.
* Figures 3 and 4 (:func:`run_histograms`, :func:`histogram_table`,
  :func:`histogram_summary`, :func:`plot_histograms`): histograms of <w_j, mu1> and
  <w_j, mu2> over positive neurons, runs pooled.

:func:`make_figure` does everything the command line ``python -m xorgrok figureN`` does.

The parts: ``xorgrok.figures.tables`` (tables and CSV), ``xorgrok.figures.plots``
(drawing), ``xorgrok.figures.commands`` (the runs and the figure commands).
"""

from __future__ import annotations

from . import commands, plots, tables
from .commands import *  # noqa: F403 (the names of commands.__all__)
from .plots import *  # noqa: F403 (the names of plots.__all__)
from .tables import *  # noqa: F403 (the names of tables.__all__)

__all__ = tables.__all__ + plots.__all__ + commands.__all__
