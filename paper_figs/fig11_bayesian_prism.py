"""Panwar et al. 2024: in-context learning through the Bayesian prism.

(a) Gaussian mixture of linear regressions: the trained model against the mixture posterior
mean (PME), each single-component PME and least squares. (b) The mixture PME's posterior
weight on the prompt's true component against k: from the prior 1/2 toward 1. (c) SPD from
the model to each of these predictors: a model that is "Bayesian" sits closest to the PME. (d) Fourier
series with a mixture over the max frequency K: the model against the mixture PME, the
fixed-K PMEs (K = 1 and K_max) and least squares in the Fourier basis. (e) The posterior
over K against k, averaged over prompts: low frequencies first (Bayesian Occam razor).
(f) The simplicity bias in a DFT: the share of each frequency in the energy of the predicted
function (model and PME queried on a grid over one period) after few examples.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from icl_lab.baselines import regression as r
from icl_lab.baselines.bayes_gaussian import gaussian_linear_predictive
from icl_lab.baselines.bayes_priors import bayes_predictive, fourier_posterior, posterior_weights
from icl_lab.evaluation.probes import probe_predictions, spd
from icl_lab.evaluation.regression import eval_batch, evaluate_learners, model_learner
from icl_lab.figures.plotting import plot_error_curves, save_figure
from icl_lab.pipelines.regression import load_trained_model
from icl_lab.tasks.bayesian import mixture_components
from paper_figs._common import experiment_config, trained_run

SPECTRUM_PROMPTS = 128  # the DFT panel queries a 64-point grid after each k for these prompts


def _gmm(preset: str, out_dir: Path, ax_err, ax_w, ax_spd) -> dict:
    cfg = experiment_config("bayesian_prism_gmm", preset)
    run_dir, results = trained_run(cfg, out_dir)
    batch = eval_batch(cfg)
    means, _ = mixture_components(cfg.task)
    t = cfg.task
    extra = {f"PME of component {sign}e_1 only": (lambda xs, ys, m=m: gaussian_linear_predictive(
        xs, ys, t.noise_std, t.prior_std, prior_mean=m)[0].float()) for sign, m in zip("+−", means)}
    curves = {**results["in_distribution"], **evaluate_learners(extra, batch, cfg.eval.bootstrap, cfg.eval.seed)}
    plot_error_curves(curves, title=f"Gaussian mixture regression (d = {t.d}, {preset})", d=t.d, ax=ax_err)
    weights = posterior_weights(t, batch.xs, batch.ys)  # [B, N, 2]
    true_w = weights.gather(2, batch.params["component"].view(-1, 1, 1).expand(-1, weights.shape[1], 1))[..., 0]
    ax_w.plot(range(weights.shape[1]), true_w.mean(0).numpy(), marker="o", ms=3, label="posterior of the true component")
    ax_w.fill_between(range(weights.shape[1]), true_w.quantile(0.1, 0).numpy(), true_w.quantile(0.9, 0).numpy(),
                      alpha=0.2, label="10–90% of prompts")
    ax_w.set(xlabel="in-context examples k", ylabel="posterior weight", ylim=(0, 1.02),
             title="mixture PME: component weights")
    ax_w.legend(frameon=False, fontsize=8)
    # Which predictor does the model follow? SPD / d from the model to each one.
    _, model = load_trained_model(run_dir)
    target = model_learner(model)(batch.xs, batch.ys)
    others = {"mixture PME (Bayes)": lambda xs, ys: bayes_predictive(t)(xs, ys)[0],
              **extra, "least squares": lambda xs, ys: r.least_squares(xs, ys)}
    distances = {name: spd(target, fn(batch.xs, batch.ys), t.d).tolist() for name, fn in others.items()}
    for name, curve in distances.items():
        ax_spd.plot(range(len(curve)), curve, marker="o", ms=3, label=name)
    ax_spd.set(yscale="log", xlabel="in-context examples k", ylabel="SPD / d to the model", title="distance to the model")
    ax_spd.legend(frameon=False, fontsize=8)
    return {"curves": {k: v["mean"] for k, v in curves.items()}, "true_component_weight": true_w.mean(0).tolist(),
            "spd_to_model": distances}


def prediction_spectrum(learner, xs: torch.Tensor, ys: torch.Tensor, positions: list[int], half_period: float,
                        n_grid: int = 64) -> torch.Tensor:
    """Mean share of DFT energy per frequency [K, n_grid // 2 + 1] of the function a learner
    predicts after k examples (queried on an even grid over one period [−L, L))."""
    grid = (torch.arange(n_grid) * (2 * half_period / n_grid) - half_period).view(1, -1, 1).expand(xs.shape[0], -1, 1)
    preds = probe_predictions(learner, xs, ys, grid, positions)  # [B, K, G]
    energy = torch.fft.rfft(preds, dim=-1).abs() ** 2  # bin f = f cycles per period 2L: frequency f
    return (energy / energy.sum(-1, keepdim=True).clamp(min=1e-300)).mean(0)


def _fourier(preset: str, out_dir: Path, ax_err, ax_k, ax_dft) -> dict:
    cfg = experiment_config("bayesian_prism_fourier", preset)
    run_dir, results = trained_run(cfg, out_dir)
    batch = eval_batch(cfg)
    t = cfg.task
    extra = {f"PME with fixed K = {k}": (lambda xs, ys, k=k: fourier_posterior(
        xs, ys, k, t.fourier_half_period, t.noise_std, t.prior_std)[0].float()) for k in sorted({1, t.fourier_freq})}
    curves = {**results["in_distribution"], **evaluate_learners(extra, batch, cfg.eval.bootstrap, cfg.eval.seed)}
    plot_error_curves(curves, title=f"Fourier series, K ~ U{{1..{t.fourier_freq}}} ({preset})", d=None, ax=ax_err)
    weights = posterior_weights(t, batch.xs, batch.ys).mean(0)  # [N, K_max]
    for k in range(weights.shape[1]):
        ax_k.plot(range(weights.shape[0]), weights[:, k].numpy(), label=f"K = {k + 1}")
    ax_k.set(xlabel="in-context examples k", ylabel="mean posterior P(K | prompt)", title="posterior over max frequency")
    ax_k.legend(frameon=False, fontsize=7, ncol=2)
    _, model = load_trained_model(run_dir)
    xs, ys = batch.xs[:SPECTRUM_PROMPTS], batch.ys[:SPECTRUM_PROMPTS]
    ks = sorted({min(k, xs.shape[1] - 1) for k in (2, 5)})
    top = t.fourier_freq + 3
    spectra = {"model": prediction_spectrum(model_learner(model), xs, ys, ks, t.fourier_half_period)[:, :top],
               "Bayes": prediction_spectrum(lambda a, b: bayes_predictive(t)(a, b)[0], xs, ys, ks,
                                            t.fourier_half_period)[:, :top]}
    for name, spec in spectra.items():
        for i, k in enumerate(ks):
            ax_dft.plot(range(top), spec[i].numpy(), marker="o", ms=3, ls="-" if name == "model" else "--",
                        color=f"C{i}", label=f"{name}, k = {k}")
    ax_dft.set(xlabel="frequency", ylabel="share of DFT energy", title="spectrum of the predicted function")
    ax_dft.legend(frameon=False, fontsize=7)
    return {"curves": {k: v["mean"] for k, v in curves.items()}, "posterior_over_K": weights.tolist(),
            "spectrum_positions": ks, "spectrum": {n: sp.tolist() for n, sp in spectra.items()}}


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig11_bayesian_prism")) -> list[Path]:
    """Train (or reuse) the mixture-regression and Fourier runs of ``preset``; draw the four panels."""
    out_dir = Path(out_dir)
    fig, axes = plt.subplots(2, 3, figsize=(17, 8.5))
    summary = {"gmm": _gmm(preset, out_dir, axes[0, 0], axes[0, 1], axes[0, 2]),
               "fourier": _fourier(preset, out_dir, axes[1, 0], axes[1, 1], axes[1, 2])}
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig11")
    (out_dir / "fig11.json").write_text(json.dumps(summary, indent=1))
    return written + [out_dir / "fig11.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
