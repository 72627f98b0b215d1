"""A trained one-layer linear self-attention becomes one step of gradient descent (von Oswald et al. 2023, Fig. 2).

A randomly initialised single LSA layer trained on isotropic linear regression, compared
during training with the hand-set GD construction at the optimal step η* = N/(N + d + 1):
squared prediction difference (normalised by Var(y)) and the cosine between the two
predictors' sensitivities ∂ŷ/∂x_q, plus both losses.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast, AtMost
from paper_figs.fig42_lsa_gamma import columns, lsa_run

PAPER = "von Oswald et al. 2023 (arXiv:2212.07677), Fig. 2"

CLAIMS = (
    AtMost("After training, the LSA layer predicts as one GD step of size η*: squared prediction "
           "difference ≤ 0.01·Var(y)", lambda r: r["final"]["pred_diff"],
           paper_value="prediction difference → ≈ 0 (trained LSA and GD losses coincide)", bound=0.01),
    AtLeast("The two predictors' sensitivities ∂ŷ/∂x_q align: cosine ≥ 0.99 after training",
            lambda r: r["final"]["sensitivity_cos"], paper_value="cosine → ≈ 1", bound=0.99),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) the 1-layer LSA against the GD construction; its comparison over training."""
    cfg, res = lsa_run("gd", preset, runs)
    return {"d": cfg.d, "n_context": cfg.n_context, "eta_star": res["eta_star"], "final": res["final"],
            "history": columns(res["history"], ("step", "loss", "pred_diff", "sensitivity_cos"))}


def draw(results: dict, preset: str) -> plt.Figure:
    h = results["history"]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.6))
    ax1.plot(h["step"], h["loss"], color="black", label="trained LSA")
    ax1.axhline(results["final"]["gd_loss"], color="C1", ls="--", label=f"GD, η* = {results['eta_star']:.3f}")
    ax1.set(yscale="log", xlabel="gradient step", ylabel="risk", title="loss")
    ax1.legend(frameon=False, fontsize=9)
    ax2.plot(h["step"], [max(x, 1e-12) for x in h["pred_diff"]], color="black")
    ax2.set(yscale="log", xlabel="gradient step", ylabel="E(ŷ_LSA − ŷ_GD)² / Var(y)", title="prediction difference")
    ax3.plot(h["step"], h["sensitivity_cos"], color="black")
    ax3.set(ylim=(-0.05, 1.05), xlabel="gradient step", ylabel="cos(∂ŷ_LSA/∂x_q, ∂ŷ_GD/∂x_q)",
            title="sensitivity cosine")
    fig.suptitle(f"1-layer LSA vs one GD step (d = {results['d']}, N = {results['n_context']}, {preset} preset)")
    fig.tight_layout()
    return fig
