"""xorgrok: benign overfitting and grokking in ReLU networks on XOR cluster data.

The helper package of the executable book reproducing Xu, Wang, Frei, Vardi and Hu (ICLR 2024).
Start with :class:`Setup` and :func:`simulate`.
"""

from .config import PAPER_FIG1_LEFT, PAPER_FIG1_RIGHT, Setup
from .data import CLUSTER_NAMES, Problem, sample_dense, sample_reduced
from .engines import DivergenceError
from .simulate import DEFAULT_DTYPE, ENGINES, Trajectory, sample, simulate

__version__ = "0.1.0"

__all__ = [
    "Setup",
    "PAPER_FIG1_LEFT",
    "PAPER_FIG1_RIGHT",
    "simulate",
    "Trajectory",
    "sample",
    "sample_dense",
    "sample_reduced",
    "Problem",
    "CLUSTER_NAMES",
    "DivergenceError",
    "ENGINES",
    "DEFAULT_DTYPE",
    "__version__",
]
