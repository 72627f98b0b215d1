"""Pretraining data mixtures: one transformer selects the function family in context (Yadlowsky et al. 2023).

One panel per family (prompts from that family only, same scaling as in pretraining) and one
for the mixture: the model against each family's specialist (dense: ridge = its Bayes
predictor; sparse: the exact sparse posterior and Lasso; ReLU nets: a 2-layer net trained on
the prompt; sinusoids: 3-nearest neighbours, no closed-form specialist) and the exact
posterior over the linear families (Bayes-optimal when only linear families are mixed).
The last panel summarises: mean error over k ≥ 1, model vs the best specialist per family.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.baselines.bayes_priors import MAX_SUPPORTS, linear_families_posterior
from icl_lab.baselines.registry import make_baselines
from icl_lab.evaluation.regression import eval_batch, evaluate_learners, model_learner
from icl_lab.figures.claims import AtMost
from icl_lab.figures.plotting import plot_error_curves
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, mean_curves, trained_run

PAPER = "Yadlowsky, Doshi, Tripuraneni 2023 (arXiv:2311.00871), the model-selection figures (mixture vs specialists)"
SPECIALISTS = {"linear": ("dense_bayes",), "sparse_linear": ("sparse_bayes", "lasso"),
               "relu_net": ("two_layer_net",), "sinusoid": ("knn",)}
LINEAR_POSTERIOR = "posterior over linear families"


def _excess(results: dict, group: str) -> float:
    """Model's mean error over k ≥ 1 on ``group`` prompts minus the best specialist's."""
    errors = results["mean_error"][group]
    return errors["model"] - min(errors[n] for n in results["specialists"][group])


CLAIMS = (
    AtMost("Selecting the family costs little: on dense- and on sparse-linear prompts the model's mean error over "
           "k ≥ 1 exceeds the best specialist's by ≤ 0.05 (the worse of the two)",
           lambda r: max(_excess(r, "linear"), _excess(r, "sparse_linear")),
           paper_value="near the specialists on each family in the mixture", bound=0.05),
    AtMost("On prompts from the whole mixture the model beats every single-family specialist "
           "(mean error over k ≥ 1, model minus the best specialist ≤ 0)",
           lambda r: _excess(r, "mixture"),
           paper_value="selects the right family in context", bound=0.0),
)


def _learners(cfg, model) -> dict:
    """The model, each family's specialists and the exact posterior over the linear families."""
    t = cfg.task
    sparse_ok = math.comb(t.d, t.sparsity) <= MAX_SUPPORTS  # the exact sparse posterior enumerates supports
    names = tuple(dict.fromkeys(n for f in t.families for n in SPECIALISTS[f] if sparse_ok or n != "sparse_bayes"))
    learners = {"model": model_learner(model), **make_baselines(names, t, cfg.eval)}
    linear = tuple(f for f in t.families if f in ("linear", "sparse_linear"))
    if linear and (sparse_ok or "sparse_linear" not in linear):
        learners[LINEAR_POSTERIOR] = lambda xs, ys: linear_families_posterior(
            xs, ys, linear, t.sparsity, t.noise_std)[0].float()
    return learners


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) the family-mixture run of ``preset``; error curves per family and on the mixture."""
    cfg = experiment_config("data_mixtures", preset)
    run_dir, _ = trained_run(cfg, runs)
    _, model = load_trained_model(run_dir)
    learners = _learners(cfg, model)
    families = list(cfg.task.families)
    out: dict = {"d": cfg.task.d, "families": families, "specialists": {}, "curves": {}, "mean_error": {}}
    for family in families + ["mixture"]:
        task = cfg.task if family == "mixture" else cfg.task.with_values(families=(family,))
        own = SPECIALISTS.get(family) or tuple(n for f in families for n in SPECIALISTS[f])
        keep = ("model", *own) + ((LINEAR_POSTERIOR,) if family in ("linear", "sparse_linear") else ())
        chosen = {n: fn for n, fn in learners.items() if family == "mixture" or n in keep}
        curves = evaluate_learners(chosen, eval_batch(cfg, task), cfg.eval.bootstrap, cfg.eval.seed)
        out["specialists"][family] = [n for n in dict.fromkeys(own) if n in chosen]
        out["curves"][family] = mean_curves(curves)
        out["mean_error"][family] = {n: float(np.mean(c["mean"][1:])) for n, c in curves.items()}
    return out


def draw(results: dict, preset: str) -> plt.Figure:
    groups = results["families"] + ["mixture"]
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    for ax, group in zip(axes.flat, groups):
        plot_error_curves(results["curves"][group], title=f"{group} prompts ({preset})", d=results["d"], ax=ax)
    ax = axes.flat[len(groups)] if len(groups) < axes.size else None
    if ax is not None:
        errors = results["mean_error"]
        model_err = [errors[g]["model"] for g in groups]
        best = [min(errors[g][n] for n in results["specialists"][g]) for g in groups]
        x = np.arange(len(groups))
        ax.bar(x - 0.2, model_err, 0.4, label="model", color="black")
        ax.bar(x + 0.2, best, 0.4, label="best specialist", color="tab:orange")
        ax.set(xticks=x, ylabel="mean error over k ≥ 1", title="selection cost")
        ax.set_xticklabels([g.replace("_", " ") for g in groups], rotation=15)
        ax.legend(frameon=False, fontsize=8)
    for extra in list(axes.flat)[len(groups) + 1:]:
        extra.axis("off")
    fig.tight_layout()
    return fig
