"""In-context learning through the Bayesian prism: the model against the posterior mean (Panwar et al. 2024).

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

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from icl_lab.baselines import regression as r
from icl_lab.baselines.bayes_gaussian import gaussian_linear_predictive
from icl_lab.baselines.bayes_priors import bayes_predictive, fourier_posterior, posterior_weights
from icl_lab.evaluation.probes import probe_predictions, spd
from icl_lab.evaluation.regression import eval_batch, evaluate_learners, model_learner
from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.figures.plotting import plot_error_curves
from icl_lab.pipelines.regression import load_trained_model
from icl_lab.tasks.bayesian import mixture_components
from paper_figs._common import experiment_config, mean_curves, trained_run

PAPER = ("Panwar, Ahuja, Goyal 2024 (arXiv:2306.04891), the Gaussian-mixture regression and Fourier-mixture "
         "(posterior over K, DFT simplicity bias) figures")
SPECTRUM_PROMPTS = 128  # the DFT panel queries a 64-point grid after each k for these prompts
MIXTURE_PME = "mixture PME (Bayes)"


def _pme_vs_rest(results: dict) -> float:
    """Mean SPD/d over k ≥ 1 from the model to the mixture PME, over that to the closest other predictor."""
    dist = {name: float(np.mean(curve[1:])) for name, curve in results["gmm"]["spd_to_model"].items()}
    return dist[MIXTURE_PME] / min(v for name, v in dist.items() if name != MIXTURE_PME)


def _fourier_excess(results: dict) -> float:
    """Mean over k ≥ 1 of the model's error minus the mixture PME's (Fourier series)."""
    curves = results["fourier"]["curves"]
    return float(np.mean(np.subtract(curves["model"]["mean"], curves["bayes"]["mean"])[1:]))


def _low_share_drop(results: dict) -> float:
    """Share of the model's predicted-function energy at frequency ≤ 1, at the first k minus the last k."""
    spec = results["fourier"]["spectrum"]["model"]
    return sum(spec[0][:2]) - sum(spec[-1][:2])


CLAIMS = (
    AtMost("Gaussian mixture: the model is closer to the mixture PME than to any single-component PME or least "
           "squares (mean SPD/d over k ≥ 1, PME over the next closest, ≤ 1)",
           _pme_vs_rest, paper_value="the transformer follows the mixture PME", bound=1.0),
    AtMost("Fourier series with a mixture over K: the model's error exceeds the mixture PME's by ≤ 0.1 "
           "(mean over k ≥ 1)", _fourier_excess, paper_value="on the PME curve (high-capacity transformers)",
           bound=0.1),
    AtLeast("Simplicity bias: the model's predicted function holds a larger share of its DFT energy at "
            "frequency ≤ 1 after 2 examples than after 5 (difference ≥ 0)", _low_share_drop,
            paper_value="low frequencies first at small k (DFT of predictions)", bound=0.0),
)


def _gmm(preset: str, runs: Path) -> dict:
    cfg = experiment_config("bayesian_prism_gmm", preset)
    run_dir, results = trained_run(cfg, runs)
    batch = eval_batch(cfg)
    means, _ = mixture_components(cfg.task)
    t = cfg.task
    extra = {f"PME of component {sign}e_1 only": (lambda xs, ys, m=m: gaussian_linear_predictive(
        xs, ys, t.noise_std, t.prior_std, prior_mean=m)[0].float()) for sign, m in zip("+−", means)}
    curves = {**results["in_distribution"], **evaluate_learners(extra, batch, cfg.eval.bootstrap, cfg.eval.seed)}
    weights = posterior_weights(t, batch.xs, batch.ys)  # [B, N, 2]
    true_w = weights.gather(2, batch.params["component"].view(-1, 1, 1).expand(-1, weights.shape[1], 1))[..., 0]
    # Which predictor does the model follow? SPD / d from the model to each one.
    _, model = load_trained_model(run_dir)
    target = model_learner(model)(batch.xs, batch.ys)
    others = {MIXTURE_PME: lambda xs, ys: bayes_predictive(t)(xs, ys)[0],
              **extra, "least squares": lambda xs, ys: r.least_squares(xs, ys)}
    distances = {name: spd(target, fn(batch.xs, batch.ys), t.d).tolist() for name, fn in others.items()}
    return {"d": t.d, "curves": mean_curves(curves),
            "true_component_weight": {"mean": true_w.mean(0).tolist(), "q10": true_w.quantile(0.1, 0).tolist(),
                                      "q90": true_w.quantile(0.9, 0).tolist()},
            "spd_to_model": distances}


def prediction_spectrum(learner, xs: torch.Tensor, ys: torch.Tensor, positions: list[int], half_period: float,
                        n_grid: int = 64) -> torch.Tensor:
    """Mean share of DFT energy per frequency [K, n_grid // 2 + 1] of the function a learner
    predicts after k examples (queried on an even grid over one period [−L, L))."""
    grid = (torch.arange(n_grid) * (2 * half_period / n_grid) - half_period).view(1, -1, 1).expand(xs.shape[0], -1, 1)
    preds = probe_predictions(learner, xs, ys, grid, positions)  # [B, K, G]
    energy = torch.fft.rfft(preds, dim=-1).abs() ** 2  # bin f = f cycles per period 2L: frequency f
    return (energy / energy.sum(-1, keepdim=True).clamp(min=1e-300)).mean(0)


def _fourier(preset: str, runs: Path) -> dict:
    cfg = experiment_config("bayesian_prism_fourier", preset)
    run_dir, results = trained_run(cfg, runs)
    batch = eval_batch(cfg)
    t = cfg.task
    extra = {f"PME with fixed K = {k}": (lambda xs, ys, k=k: fourier_posterior(
        xs, ys, k, t.fourier_half_period, t.noise_std, t.prior_std)[0].float()) for k in sorted({1, t.fourier_freq})}
    curves = {**results["in_distribution"], **evaluate_learners(extra, batch, cfg.eval.bootstrap, cfg.eval.seed)}
    weights = posterior_weights(t, batch.xs, batch.ys).mean(0)  # [N, K_max]
    _, model = load_trained_model(run_dir)
    xs, ys = batch.xs[:SPECTRUM_PROMPTS], batch.ys[:SPECTRUM_PROMPTS]
    ks = sorted({min(k, xs.shape[1] - 1) for k in (2, 5)})
    top = t.fourier_freq + 3
    spectra = {"model": prediction_spectrum(model_learner(model), xs, ys, ks, t.fourier_half_period)[:, :top],
               "Bayes": prediction_spectrum(lambda a, b: bayes_predictive(t)(a, b)[0], xs, ys, ks,
                                            t.fourier_half_period)[:, :top]}
    return {"max_freq": t.fourier_freq, "curves": mean_curves(curves), "posterior_over_K": weights.tolist(),
            "spectrum_positions": ks, "spectrum": {n: sp.tolist() for n, sp in spectra.items()}}


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) the mixture-regression and Fourier runs of ``preset``; curves, posteriors, SPDs, spectra."""
    return {"gmm": _gmm(preset, runs), "fourier": _fourier(preset, runs)}


def draw(results: dict, preset: str) -> plt.Figure:
    fig, axes = plt.subplots(2, 3, figsize=(17, 9))
    g, f = results["gmm"], results["fourier"]
    plot_error_curves(g["curves"], title=f"Gaussian mixture regression (d = {g['d']}, {preset})", d=g["d"],
                      ax=axes[0, 0])
    w = g["true_component_weight"]
    ks = range(len(w["mean"]))
    ax = axes[0, 1]
    ax.plot(ks, w["mean"], marker="o", ms=3, label="posterior of the true component")
    ax.fill_between(ks, w["q10"], w["q90"], alpha=0.2, label="10–90% of prompts")
    ax.set(xlabel="in-context examples k", ylabel="posterior weight", ylim=(0, 1.02), title="mixture PME: component weights")
    ax.legend(frameon=False, fontsize=8)
    ax = axes[0, 2]
    for name, curve in g["spd_to_model"].items():
        ax.plot(range(len(curve)), curve, marker="o", ms=3, label=name)
    ax.set(yscale="log", xlabel="in-context examples k", ylabel="SPD / d to the model", title="distance to the model")
    ax.legend(frameon=False, fontsize=8)
    plot_error_curves(f["curves"], title=f"Fourier series, K ~ U{{1..{f['max_freq']}}} ({preset})", d=None, ax=axes[1, 0])
    ax = axes[1, 1]
    post = np.array(f["posterior_over_K"])  # [N, K_max]
    for k in range(post.shape[1]):
        ax.plot(range(post.shape[0]), post[:, k], label=f"K = {k + 1}")
    ax.set(xlabel="in-context examples k", ylabel="mean posterior P(K | prompt)", title="posterior over max frequency")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    ax = axes[1, 2]
    for name, spec in f["spectrum"].items():
        for i, k in enumerate(f["spectrum_positions"]):
            ax.plot(range(len(spec[i])), spec[i], marker="o", ms=3, ls="-" if name == "model" else "--",
                    color=f"C{i}", label=f"{name}, k = {k}")
    ax.set(xlabel="frequency", ylabel="share of DFT energy", title="spectrum of the predicted function")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
