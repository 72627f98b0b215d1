"""Zhang, Frei & Bartlett 2024: a trained linear self-attention layer converges to Γ⁻¹.

Left: distance of the learned matrix A = w^{PV}_{22} W^{KQ}_{11} to the predicted Γ⁻¹ during
training — after normalising scale, and raw — next to its distance to Λ⁻¹ (what least squares
would need). Right: risk against the test prompt length M, Monte Carlo on the trained model
(±2 SE) against the closed form.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.lsa import cached_experiment, load_lsa_config


def lsa_config(preset: str):
    """The LSA experiment of ``preset`` (smoke: the file's own, seconds, for the tests)."""
    return load_lsa_config("lsa_theory", preset)


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig42_lsa_gamma")) -> list[Path]:
    """Train (or reuse) ZFB's LSA and draw its convergence to Γ⁻¹ and its risk against M."""
    out_dir = Path(out_dir)
    cfg = lsa_config(preset)
    res = cached_experiment("gamma", cfg, out_dir.parent / "runs")
    hist = res["history"]
    steps = [h["step"] for h in hist]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    fig.subplots_adjust(wspace=0.35)  # room for the log axis' minor tick labels
    ax1.plot(steps, [h["dist_gamma"] for h in hist], label="to Γ⁻¹, scale-normalised", color="black", lw=2)
    ax1.plot(steps, [h["rel_err_gamma"] for h in hist], label="to Γ⁻¹, relative ‖A − Γ⁻¹‖/‖Γ⁻¹‖", ls="--")
    ax1.plot(steps, [h["dist_lambda_inv"] for h in hist], label="to Λ⁻¹, scale-normalised", ls=":")
    ax1.set(yscale="log", xlabel="gradient step", ylabel="Frobenius distance",
            title=f"learned A vs Γ⁻¹ (d = {cfg.d}, N = {cfg.n_context})")
    ax1.legend(frameon=False, fontsize=8)
    r = res["risk_vs_length"]
    mean, se = np.array(r["model"]).T
    ax2.errorbar(r["M"], mean, yerr=2 * se, fmt="o", color="black", label="trained LSA (Monte Carlo)")
    ax2.plot(r["M"], r["formula_gamma"], label="closed form, A = Γ⁻¹")
    ax2.plot(r["M"], r["formula_learned"], ls="--", label="closed form, learned A")
    ax2.axvline(cfg.n_context, color="grey", ls=":", lw=1)
    ax2.set(xscale="log", yscale="log", xlabel="test prompt length M", ylabel="risk E(ŷ − y)²",
            title="risk against test length")
    ax2.legend(frameon=False, fontsize=8)
    written = save_figure(fig, out_dir / "fig42")
    summary = {"final": res["final"], "gamma_inv": res["gamma_inv"], "learned": res["learned"],
               "risk_vs_length": r}
    (out_dir / "fig42.json").write_text(json.dumps(summary, indent=1))
    return written + [out_dir / "fig42.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
