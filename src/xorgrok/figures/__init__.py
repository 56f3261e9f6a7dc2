"""The paper's Figures 1-4 (its Appendix A.7): run, tabulate, draw and write them.

A *table* here is a plain ``dict`` of equal-length 1-D numpy columns (no pandas needed); :func:`write_csv`
writes one atomically and :func:`read_csv` reads it back.

* Figure 1 (:func:`run_figure1`, :func:`figure1_table`, :func:`plot_figure1`): train and test accuracy,
  medians with a 20-80 % band over seeds, against t + 1 on a log axis; left panel alpha = 1e-12, right
  panel alpha = 1e-16.
* Figure 2 (:func:`run_figure2`, :func:`figure2_tables`, :func:`plot_figure2`, :func:`animate_figure2`):
  data and decision function on span(mu1, mu2), neurons projected on that plane.
* Figures 3 and 4 (:func:`run_histograms`, :func:`histogram_table`, :func:`histogram_summary`,
  :func:`plot_histograms`): histograms of <w_j, mu1> and <w_j, mu2> over positive neurons, runs pooled.

:func:`make_figure` does everything the command line ``python -m xorgrok figureN`` does.

The parts: ``xorgrok.figures.tables`` (tables and CSV), ``xorgrok.figures.plots`` (drawing),
``xorgrok.figures.commands`` (the runs and the figure commands).
"""

from __future__ import annotations

from .commands import (
    FIGURE1_MARKS,
    convention_setup,
    figure1_record,
    make_figure,
    run_figure1,
    run_figure2,
    run_histograms,
    scaled_setup,
)
from .plots import (
    animate_figure2,
    plot_figure1,
    plot_figure1_panel,
    plot_figure2,
    plot_histograms,
    save_figure,
)
from .tables import (
    FIGURE1_COLUMNS,
    FIGURE1_STEPS,
    FIGURE2_STEPS,
    FIGURE3_STEPS,
    FIGURE4_STEPS,
    FIGURES,
    figure1_table,
    figure2_summary,
    figure2_tables,
    histogram_summary,
    histogram_table,
    positive_projections,
    read_csv,
    runs_table,
    write_csv,
)

__all__ = [
    "FIGURE1_COLUMNS",
    "FIGURE1_STEPS",
    "FIGURE1_MARKS",
    "FIGURE2_STEPS",
    "FIGURE3_STEPS",
    "FIGURE4_STEPS",
    "FIGURES",
    "figure1_record",
    "run_figure1",
    "figure1_table",
    "runs_table",
    "plot_figure1",
    "plot_figure1_panel",
    "run_histograms",
    "positive_projections",
    "histogram_table",
    "histogram_summary",
    "plot_histograms",
    "run_figure2",
    "figure2_tables",
    "figure2_summary",
    "plot_figure2",
    "animate_figure2",
    "write_csv",
    "read_csv",
    "save_figure",
    "make_figure",
    "scaled_setup",
    "convention_setup",
]
