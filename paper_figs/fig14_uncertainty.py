"""In-context uncertainty: a mean-and-variance transformer against the Bayes predictive (Liu et al. 2024).

A transformer with a mean-and-variance head (model.head = "gaussian", trained by Gaussian
NLL) on noisy linear regression, against the Bayes predictive N(ridge mean,
σ²(1 + x_qᵀ(XᵀX + λI)⁻¹x_q)). (a) Predicted variance against k (mean over prompts) with the
realised squared error. (b) Calibration in distribution: realised squared error against
predicted variance in equal-count bins. (c) The same under a task shift (weights drawn with
twice the prior std): the Bayes predictive of the training prior and the model both become
overconfident — neither is Bayesian for the shifted prior.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.baselines.bayes_priors import bayes_predictive
from icl_lab.evaluation.regression import eval_batch
from icl_lab.evaluation.uncertainty import calibration_bins, calibration_summary, model_predictive, plot_calibration
from icl_lab.figures.claims import AtMost, Within
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

PAPER = "Liu et al. 2024 (arXiv:2405.15115), in-context uncertainty: calibration in distribution and under task shift"
SHIFT = 2.0  # prior_std multiplier of the shifted evaluation tasks
IN, SHIFTED = "in_distribution", "task_shift"

CLAIMS = (
    Within("In distribution the model's 90% predictive interval covers 0.9 ± 0.05 of the labels (k ≥ 1)",
           lambda r: r[IN]["model"]["coverage_90"], paper_value="near the Bayes predictive in distribution",
           target=0.9, tol=0.05),
    AtMost("In distribution the model's mean NLL exceeds the Bayes predictive's by ≤ 0.1 nats (k ≥ 1)",
           lambda r: r[IN]["model"]["nll"] - r[IN]["Bayes"]["nll"], paper_value="near Bayes in distribution",
           bound=0.1),
    AtMost(f"Under a task shift (prior std ×{SHIFT:g}) the model is overconfident: its 90% interval covers ≤ 0.85",
           lambda r: r[SHIFTED]["model"]["coverage_90"], paper_value="not Bayesian under task shift", bound=0.85),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) the Gaussian-head run of ``preset``; variance curves, calibration bins and summaries."""
    cfg = experiment_config("uncertainty", preset)
    run_dir, _ = trained_run(cfg, runs)
    _, model = load_trained_model(run_dir)
    predictives = {"model": model_predictive(model), "Bayes": bayes_predictive(cfg.task)}
    out: dict = {"d": cfg.task.d, "noise_std": cfg.task.noise_std, "shift": SHIFT}
    for where, task in ((IN, cfg.task), (SHIFTED, cfg.task.with_values(prior_std=SHIFT * cfg.task.prior_std))):
        batch = eval_batch(cfg, task)
        out[where] = {}
        for name, predict in predictives.items():
            mean, var = predict(batch.xs, batch.ys)
            sq = (mean.double() - batch.ys.double()) ** 2
            out[where][name] = {**calibration_summary(mean[:, 1:], var[:, 1:], batch.ys[:, 1:]),
                                "var_by_k": var.double().mean(0).tolist(), "sq_err_by_k": sq.mean(0).tolist(),
                                "bins": calibration_bins(var[:, 1:], sq[:, 1:], n_bins=8)}
    return out


def draw(results: dict, preset: str) -> plt.Figure:
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 5))
    for name, color in (("model", "black"), ("Bayes", "tab:orange")):
        s = results[IN][name]
        ax1.plot(s["var_by_k"], color=color, label=f"{name}: predicted variance")
        ax1.plot(s["sq_err_by_k"], color=color, ls=":", marker="o", ms=3, label=f"{name}: squared error")
    ax1.set(yscale="log", xlabel="in-context examples k", ylabel="variance / squared error",
            title=f"noisy linear regression (d = {results['d']}, σ = {results['noise_std']}, {preset})")
    ax1.legend(frameon=False, fontsize=8)
    for where, ax, label in ((IN, ax2, "in distribution"), (SHIFTED, ax3, f"task shift (prior std ×{results['shift']:g})")):
        plot_calibration({name: s["bins"] for name, s in results[where].items()}, ax=ax, title=f"calibration, {label}")
    fig.tight_layout()
    return fig
