"""Out-of-distribution prompts: the trained model against least squares (Garg et al. 2022, Fig. 3)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.evaluation.regression import evaluate_experiment, model_learner
from icl_lab.figures.claims import AtLeast, Within
from icl_lab.figures.plotting import plot_error_curves
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, mean_curves, trained_run

PAPER = "Garg, Tsipras, Liang, Valiant 2022 (arXiv:2208.01066), Fig. 3"
VARIANTS = ("skewed", "orthant", "half_subspace", "orthogonal_query", "repeated_query", "noisy_labels",
            "x_scale_2", "y_scale_2")


def _gap(results: dict, variant: str, k: int) -> float:
    curves = results["ood"][variant]
    return curves["model"]["mean"][k] - curves["least_squares"]["mean"][k]


CLAIMS = (
    Within("Prompts in one random orthant: at k = 2d the model is within 0.1 of least squares",
           lambda r: _gap(r, "orthant", 2 * r["d"]), paper_value="robust (curve on least squares)",
           target=0.0, tol=0.1),
    AtLeast("Skewed covariance: at k = 2d the model stays above least squares by ≥ 0.02 (it plateaus)",
            lambda r: _gap(r, "skewed", 2 * r["d"]), paper_value="model ≈ 0.12, least squares 0 (d = 20)",
            bound=0.02),
)


def compute(preset: str, runs: Path) -> dict:
    """Evaluate the linear-regression run of ``preset`` (shared with fig01) on each OOD variant."""
    cfg = experiment_config("linear_regression", preset)
    run_dir, _ = trained_run(cfg, runs)
    cfg, model = load_trained_model(run_dir)
    cfg = replace(cfg, eval=replace(cfg.eval, ood=VARIANTS, baselines=("least_squares", "averaging", "knn")))
    ood = evaluate_experiment(cfg, model_learner(model, cfg.eval.batch_size))["ood"]
    return {"d": cfg.task.d, "ood": {name: mean_curves(ood[name]) for name in VARIANTS}}


def draw(results: dict, preset: str) -> plt.Figure:
    fig, axes = plt.subplots(2, 4, figsize=(16, 6.5), sharey=True)
    for ax, name in zip(axes.flat, VARIANTS):
        plot_error_curves(results["ood"][name], ax=ax, title=name.replace("_", " "), d=results["d"], ymax=1.5)
        if ax is not axes.flat[0]:
            ax.get_legend().remove()
    fig.suptitle(f"Out-of-distribution prompts (d = {results['d']}, {preset} preset)")
    fig.tight_layout()
    return fig
