"""Depth moves the in-context algorithm from GD toward ridge and OLS (Akyürek et al. 2023; von Oswald et al. 2023).

Models of depth 1, 2, 4 and 8 are trained on the same noisy linear regression
(``experiments/which_algorithm.toml``); for each, the squared prediction difference (SPD / d)
to the best member of each candidate family — one GD step from w = 0 (step tuned per k),
ridge (λ tuned per k), OLS, and the Bayes posterior mean (ridge with λ = σ²/τ²) — is drawn
against k, and the median over k ≥ 1 against depth. The claims compare GD, Bayes and OLS at
k = 2d; the tuned-λ ridge grid spans GD-like (large λ) and OLS-like (small λ) members, so it
is drawn but left out of the comparison.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.evaluation.probes import candidate_predictions, closest_algorithm_table
from icl_lab.evaluation.regression import eval_batch, model_learner
from icl_lab.figures.claims import AtLeast
from icl_lab.pipelines.regression import load_trained_model
from paper_figs._common import experiment_config, trained_run

PAPER = ("Akyürek, Schuurmans, Andreas, Ma, Zhou 2023 (arXiv:2211.15661); von Oswald et al. 2023 "
         "(arXiv:2212.07677): the closest algorithm against model depth")
DEPTHS = (1, 2, 4, 8)
SMOKE_DEPTHS = (1, 2, 8)  # the plumbing of every claim, in seconds
FAMILIES = ("gd", "ridge", "least_squares", "bayes")
COMPARED = ("gd", "bayes", "least_squares")  # the claims' candidates (the tuned ridge grid spans all three)
LABELS = {"gd": "GD, 1 step (tuned η)", "ridge": "ridge (tuned λ)", "least_squares": "OLS", "bayes": "Bayes (ridge λ=σ²/τ²)"}


def margin(results: dict, depth: int, expected: str) -> float:
    """At k = 2d, for the depth-``depth`` model: SPD/d to the closest other compared family minus SPD/d to
    ``expected`` (> 0: ``expected`` is the closest)."""
    k, fam = 2 * results["d"], results["per_depth"][str(depth)]
    return min(fam[f][k] for f in COMPARED if f != expected) - fam[expected][k]


CLAIMS = (
    AtLeast("At k = 2d the 1-layer model is closest to one GD step: SPD/d to the closer of Bayes and OLS minus "
            "SPD/d to GD ≥ 0", lambda r: margin(r, 1, "gd"),
            paper_value="1 layer ≈ one step of GD (von Oswald: exact for linear self-attention)", bound=0.0),
    AtLeast("At k = 2d the 2- and 4-layer models are closest to Bayes (ridge, λ = σ²/τ²): SPD/d to the closer of "
            "GD and OLS minus SPD/d to Bayes ≥ 0 (the worse of the two depths)",
            lambda r: min(margin(r, depth, "bayes") for depth in (2, 4) if str(depth) in r["per_depth"]),
            paper_value="ridge at 2–4 layers (d = 8)", bound=0.0),
    AtLeast("At k = 2d the 8-layer model is closest to OLS: SPD/d to the closer of GD and Bayes minus SPD/d to "
            "OLS ≥ 0", lambda r: margin(r, 8, "least_squares"),
            paper_value="OLS at ≥ 8 layers (d = 8)", bound=0.0),
)


def depth_distances(preset: str, runs: Path, depth: int) -> dict:
    """Train (or reuse) the depth-``depth`` model; per-k SPD / d of each family's best member."""
    cfg = experiment_config("which_algorithm", preset, [f"model.n_layer={depth}"])
    run_dir, _ = trained_run(cfg, runs, tag=f"L{depth}")
    _, model = load_trained_model(run_dir)
    batch = eval_batch(cfg)
    target = model_learner(model.cpu())(batch.xs, batch.ys)
    cands = candidate_predictions(batch.xs, batch.ys, noise_std=cfg.task.noise_std, prior_std=cfg.task.prior_std)
    rows = closest_algorithm_table(target, cands, normalizer=cfg.task.d)
    return {f: [row["families"][f]["spd"] for row in rows] for f in FAMILIES}


def compute(preset: str, runs: Path) -> dict:
    """Train the depths of ``preset`` (each its own run, reused when trained); SPD / d to each family per k."""
    depths = SMOKE_DEPTHS if preset == "smoke" else DEPTHS
    cfg = experiment_config("which_algorithm", preset)
    return {"d": cfg.task.d, "noise_std": cfg.task.noise_std, "depths": list(depths),
            "per_depth": {str(depth): depth_distances(preset, runs, depth) for depth in depths}}


def draw(results: dict, preset: str) -> plt.Figure:
    depths, d = results["depths"], results["d"]
    fig, axes = plt.subplots(1, len(depths) + 1, figsize=(3.4 * (len(depths) + 1), 4.2))
    for ax, depth in zip(axes, depths):
        fam = results["per_depth"][str(depth)]
        for f in FAMILIES:
            ax.plot(range(1, len(fam[f])), fam[f][1:], marker="o", ms=3, label=LABELS[f])
        ax.set(yscale="log", xlabel="in-context examples k", title=f"{depth} layer{'s' if depth > 1 else ''}")
        ax.axvline(d, color="grey", lw=0.8, ls=":")
        ax.axvline(2 * d, color="grey", lw=0.8, ls="--")
        ax.set_ylim(top=10.0)  # OLS spikes to ~1e5 at k = d (noisy labels, an ill-posed fit): cut there
    axes[0].set_ylabel("SPD / d to the model")
    axes[0].legend(frameon=False, fontsize=7)
    # median over k: OLS is erratic near k = d (SPD ~1e4 there), which would swamp a mean
    for f in FAMILIES:
        axes[-1].plot(depths, [float(np.median(results["per_depth"][str(depth)][f][1:])) for depth in depths],
                      marker="o", label=LABELS[f])
    axes[-1].set(xscale="log", yscale="log", xticks=depths, xticklabels=[str(x) for x in depths],
                 xlabel="model depth (layers)", ylabel="median SPD / d over k ≥ 1", title=f"which algorithm? ({preset})")
    axes[-1].minorticks_off()
    fig.tight_layout()
    return fig
