"""Garg et al. 2022, Fig. 3: the trained model against least squares on out-of-distribution prompts."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.evaluation.regression import evaluate_experiment, model_learner
from icl_lab.figures.plotting import plot_error_curves, save_figure
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

VARIANTS = ("skewed", "orthant", "half_subspace", "orthogonal_query", "repeated_query", "noisy_labels",
            "x_scale_2", "y_scale_2")


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig02_garg_out_of_distribution")) -> list[Path]:
    """Evaluate the linear-regression run of ``preset`` on each OOD variant, one panel each."""
    from dataclasses import replace

    out_dir = Path(out_dir)
    cfg = experiment_config("linear_regression", preset)
    run_dir, _ = trained_run(cfg, out_dir)  # shares the run of fig01
    cfg, model = load_trained_model(run_dir)
    cfg = replace(cfg, eval=replace(cfg.eval, ood=VARIANTS, baselines=("least_squares", "averaging", "knn")))
    results = evaluate_experiment(cfg, model_learner(model, cfg.eval.batch_size))["ood"]
    fig, axes = plt.subplots(2, 4, figsize=(18, 7), sharey=True)
    for ax, name in zip(axes.flat, VARIANTS):
        plot_error_curves(results[name], ax=ax, title=name.replace("_", " "), d=cfg.task.d, ymax=1.5)
        if ax is not axes.flat[0]:
            ax.get_legend().remove()
    fig.suptitle(f"Out-of-distribution prompts (d = {cfg.task.d}, {preset} preset)")
    return save_figure(fig, out_dir / "fig02")


if __name__ == "__main__":
    import typer

    typer.run(main)
