"""Yadlowsky et al. 2023: a transformer pretrained on a mixture of function families.

One panel per family (prompts from that family only, same scaling as in pretraining) and one
for the mixture: the model against each family's specialist (dense: ridge = its Bayes
predictor; sparse: the exact sparse posterior and Lasso; ReLU nets: a 2-layer net trained on
the prompt; sinusoids: 3-nearest neighbours, no closed-form specialist) and the exact
posterior over the linear families (Bayes-optimal when only linear families are mixed).
The last panel summarises: mean error over k ≥ 1, model vs the best specialist per family.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.baselines.bayes_priors import MAX_SUPPORTS, linear_families_posterior
from icl_lab.baselines.registry import make_baselines
from icl_lab.evaluation.regression import eval_batch, evaluate_learners, model_learner
from icl_lab.figures.plotting import plot_error_curves, save_figure
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

SPECIALISTS = {"linear": ("dense_bayes",), "sparse_linear": ("sparse_bayes", "lasso"),
               "relu_net": ("two_layer_net",), "sinusoid": ("knn",)}
LINEAR_POSTERIOR = "posterior over linear families"


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


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig12_data_mixtures")) -> list[Path]:
    """Train (or reuse) the family-mixture run of ``preset``; evaluate per family and on the mixture."""
    out_dir = Path(out_dir)
    cfg = experiment_config("data_mixtures", preset)
    run_dir, _ = trained_run(cfg, out_dir)
    _, model = load_trained_model(run_dir)
    learners = _learners(cfg, model)
    families = list(cfg.task.families)
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    summary: dict = {"curves": {}, "mean_error": {}}
    for ax, family in zip(axes.flat, families + ["mixture"]):
        task = cfg.task if family == "mixture" else cfg.task.with_values(families=(family,))
        batch = eval_batch(cfg, task)
        keep = ("model", *SPECIALISTS.get(family, ())) + ((LINEAR_POSTERIOR,) if family in ("linear", "sparse_linear") else ())
        chosen = {n: fn for n, fn in learners.items() if family == "mixture" or n in keep}
        curves = evaluate_learners(chosen, batch, cfg.eval.bootstrap, cfg.eval.seed)
        plot_error_curves(curves, title=f"{family} prompts ({preset})", d=cfg.task.d, ax=ax)
        summary["curves"][family] = {n: c["mean"] for n, c in curves.items()}
        summary["mean_error"][family] = {n: float(np.mean(c["mean"][1:])) for n, c in curves.items()}
    ax = axes.flat[len(families) + 1] if len(families) + 1 < axes.size else None
    if ax is not None:
        groups = list(summary["mean_error"])
        model_err = [summary["mean_error"][g]["model"] for g in groups]
        best = [min(v for n, v in summary["mean_error"][g].items() if n != "model") for g in groups]
        x = np.arange(len(groups))
        ax.bar(x - 0.2, model_err, 0.4, label="model", color="black")
        ax.bar(x + 0.2, best, 0.4, label="best specialist", color="tab:orange")
        ax.set(xticks=x, xticklabels=groups, ylabel="mean error over k ≥ 1", title="selection cost")
        ax.legend(frameon=False, fontsize=8)
    for extra in list(axes.flat)[len(families) + 2:]:
        extra.axis("off")
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig12")
    (out_dir / "fig12.json").write_text(json.dumps(summary, indent=1))
    return written + [out_dir / "fig12.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
