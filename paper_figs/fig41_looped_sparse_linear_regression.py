"""Looped vs standard transformer on sparse linear regression, with Lasso (Yang et al. 2024, Fig. 4).

Same panels as fig40. The standard model is experiments/linear_regression.toml trained on
the looped experiment's task (its own run directory).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtMost
from paper_figs._common import experiment_config
from paper_figs.fig40_looped_linear_regression import (
    FIXED_POINT_CLAIM,
    SCALE_NOTE,
    at_k,
    compute_comparison,
    draw_comparison,
)

PAPER = "Yang, Lee, Nowak, Papailiopoulos 2024 (arXiv:2311.12424), Fig. 4 (sparse linear regression)"

CLAIMS = (
    AtMost("The looped model beats the standard transformer on sparse linear regression: at k = d/2 its "
           "normalised error is at most half the standard model's",
           lambda r: at_k(r, "looped", r["d"] // 2) / at_k(r, "standard", r["d"] // 2),
           paper_value="0.021 looped vs 0.085 standard (ratio 0.25; k = 10, d = 20, 3 non-zeros; Lasso 0.050)",
           bound=0.5, shows_at=("paper",), scale_note=SCALE_NOTE),
    AtMost("At least as good as the standard transformer at k = d/2 (looped / standard ≤ 1) ...",
           lambda r: at_k(r, "looped", r["d"] // 2) / at_k(r, "standard", r["d"] // 2),
           paper_value="ratio 0.25 (k = 10, d = 20)", bound=1.0),
    AtMost("... with at most a fifth of its parameters (looped / standard parameters)",
           lambda r: r["params_looped"] / r["params_standard"],
           paper_value="about 1/12 (1 looped block vs 12 layers, both 256 wide)", bound=0.2,
           shows_at=("cpu", "paper"), scale_note="quick compares with the 3-layer tiny model; the cpu preset's "
           "standard model has 8 layers"),
    FIXED_POINT_CLAIM,
)


def compute(preset: str, runs: Path) -> dict:
    """The looped sparse-linear run against a standard transformer trained on the same task."""
    task = experiment_config("looped_sparse_linear_regression", preset).task
    standard = ["task.name=sparse_linear_regression", f"task.sparsity={task.sparsity}",
                f"task.d={task.d}", f"task.n_points={task.n_points}",
                'eval.baselines=["least_squares", "lasso", "ridge"]']
    results = compute_comparison("looped_sparse_linear_regression", preset, runs, standard,
                                 "sparse_linear_regression_standard")
    return {**results, "sparsity": task.sparsity}


def draw(results: dict, preset: str) -> plt.Figure:
    return draw_comparison(results, preset, f"Looped vs standard, sparse linear regression, "
                                            f"{results['sparsity']} non-zeros")
