"""Linear regression in context: the transformer's error follows least squares (Garg et al. 2022, Fig. 2)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtMost, Within
from icl_lab.figures.plotting import plot_error_curves
from paper_figs._common import experiment_config, mean_curves, trained_run

PAPER = "Garg, Tsipras, Liang, Valiant 2022 (arXiv:2208.01066), Fig. 2"


def _at(results: dict, learner: str, k: int) -> float:
    return results["curves"][learner]["mean"][k]


CLAIMS = (
    AtMost("With k = 2d examples the transformer's normalised error is ≤ 0.05",
           lambda r: _at(r, "model", 2 * r["d"]), paper_value="≈ 0 for k ≥ d (d = 20, 12 layers)", bound=0.05),
    Within("At k = 2d the transformer is within 0.03 of least squares",
           lambda r: _at(r, "model", 2 * r["d"]) - _at(r, "least_squares", 2 * r["d"]),
           paper_value="on the least-squares curve", target=0.0, tol=0.03),
    Within("At k = d/2 the transformer is within 0.1 of least squares (the under-determined regime)",
           lambda r: _at(r, "model", r["d"] // 2) - _at(r, "least_squares", r["d"] // 2),
           paper_value="0.5 vs 0.5 at k = 10 (d = 20)", target=0.0, tol=0.1),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) the linear-regression run of ``preset``; its in-distribution error curves."""
    cfg = experiment_config("linear_regression", preset)
    _, results = trained_run(cfg, runs)
    return {"d": cfg.task.d, "curves": mean_curves(results["in_distribution"])}


def draw(results: dict, preset: str) -> plt.Figure:
    return plot_error_curves(results["curves"], d=results["d"],
                             title=f"Linear regression in context (d = {results['d']}, {preset} preset)")
