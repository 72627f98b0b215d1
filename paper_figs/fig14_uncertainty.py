"""Liu et al. 2024: in-context uncertainty quantification.

A transformer with a mean-and-variance head (model.head = "gaussian", trained by Gaussian
NLL) on noisy linear regression, against the Bayes predictive N(ridge mean,
σ²(1 + x_qᵀ(XᵀX + λI)⁻¹x_q)). (a) Predicted variance against k (mean over prompts) with the
realised squared error. (b) Calibration in distribution: realised squared error against
predicted variance in equal-count bins. (c) The same under a task shift (weights drawn with
twice the prior std): the Bayes predictive of the training prior and the model both become
overconfident — neither is Bayesian for the shifted prior.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.baselines.bayes_priors import bayes_predictive
from icl_lab.evaluation.regression import eval_batch
from icl_lab.evaluation.uncertainty import calibration_bins, calibration_summary, model_predictive, plot_calibration
from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

SHIFT = 2.0  # prior_std multiplier of the shifted evaluation tasks


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig14_uncertainty")) -> list[Path]:
    """Train (or reuse) the Gaussian-head run of ``preset``; variance curves and calibration plots."""
    out_dir = Path(out_dir)
    cfg = experiment_config("uncertainty", preset)
    run_dir, _ = trained_run(cfg, out_dir)
    _, model = load_trained_model(run_dir)
    predictives = {"model": model_predictive(model), "Bayes": bayes_predictive(cfg.task)}
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.3))
    summary: dict = {}
    for where, task, ax in (("in distribution", cfg.task, ax2),
                            (f"task shift (prior std ×{SHIFT:g})", cfg.task.with_values(prior_std=SHIFT * cfg.task.prior_std), ax3)):
        batch = eval_batch(cfg, task)
        bins, summary[where] = {}, {}
        for name, predict in predictives.items():
            mean, var = predict(batch.xs, batch.ys)
            sq = (mean.double() - batch.ys.double()) ** 2
            bins[name] = calibration_bins(var[:, 1:], sq[:, 1:], n_bins=8)
            summary[where][name] = {**calibration_summary(mean[:, 1:], var[:, 1:], batch.ys[:, 1:]),
                                    "var_by_k": var.double().mean(0).tolist(), "sq_err_by_k": sq.mean(0).tolist()}
            if where == "in distribution":
                color = "black" if name == "model" else "tab:orange"
                ax1.plot(summary[where][name]["var_by_k"], color=color, label=f"{name}: predicted variance")
                ax1.plot(summary[where][name]["sq_err_by_k"], color=color, ls=":", marker="o", ms=3,
                         label=f"{name}: squared error")
        plot_calibration(bins, ax=ax, title=f"calibration, {where}")
        summary[where]["bins"] = bins
    ax1.set(yscale="log", xlabel="in-context examples k", ylabel="variance / squared error",
            title=f"noisy linear regression (d = {cfg.task.d}, σ = {cfg.task.noise_std}, {preset})")
    ax1.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig14")
    (out_dir / "fig14.json").write_text(json.dumps(summary, indent=1))
    return written + [out_dir / "fig14.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
