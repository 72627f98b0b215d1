"""von Oswald et al. 2023: a trained 1-layer LSA becomes one step of gradient descent.

A randomly initialised single LSA layer trained on isotropic linear regression, compared
during training with the hand-set GD construction at the optimal step η* = N/(N + d + 1):
squared prediction difference (normalised by Var(y)) and the cosine between the two
predictors' sensitivities ∂ŷ/∂x_q, plus both losses.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.lsa import cached_experiment
from paper_figs.fig42_lsa_gamma import lsa_config


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig44_lsa_vs_gd")) -> list[Path]:
    """Trained LSA vs the GD construction over training."""
    out_dir = Path(out_dir)
    cfg = lsa_config(preset)
    res = cached_experiment("gd", cfg, out_dir.parent / "runs")
    hist = res["history"]
    steps = [h["step"] for h in hist]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 3.8))
    ax1.plot(steps, [h["loss"] for h in hist], color="black", label="trained LSA")
    ax1.axhline(hist[-1]["gd_loss"], color="C1", ls="--", label=f"GD, η* = {res['eta_star']:.3f}")
    ax1.set(yscale="log", xlabel="gradient step", ylabel="risk", title="loss")
    ax2.plot(steps, [max(h["pred_diff"], 1e-12) for h in hist], color="black")
    ax2.set(yscale="log", xlabel="gradient step", ylabel="E(ŷ_LSA − ŷ_GD)² / Var(y)", title="prediction difference")
    ax3.plot(steps, [h["sensitivity_cos"] for h in hist], color="black")
    ax3.set(ylim=(-0.05, 1.05), xlabel="gradient step", ylabel="cos(∂ŷ_LSA/∂x_q, ∂ŷ_GD/∂x_q)",
            title="sensitivity cosine")
    ax1.legend(frameon=False, fontsize=8)
    fig.suptitle(f"1-layer LSA vs one GD step (d = {cfg.d}, N = {cfg.n_context})")
    written = save_figure(fig, out_dir / "fig44")
    (out_dir / "fig44.json").write_text(json.dumps({"eta_star": res["eta_star"], "final": res["final"],
                                                    "history": hist}, indent=1))
    return written + [out_dir / "fig44.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
