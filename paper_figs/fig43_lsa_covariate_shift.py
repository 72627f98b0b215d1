"""Zhang, Frei & Bartlett 2024: the trained LSA fails under covariate shift.

Trained with x ~ N(0, Λ), tested with x ~ N(0, Λ') (the spectrum reversed): the trained
model's risk (Monte Carlo, ±2 SE) follows the closed form and levels off at a positive
limit as M grows, while least squares on the same prompts reaches 0 once M ≥ d.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.lsa import cached_experiment
from paper_figs.fig42_lsa_gamma import lsa_config


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig43_lsa_covariate_shift")) -> list[Path]:
    """Risk against M under covariate shift: trained LSA, closed form, least squares."""
    out_dir = Path(out_dir)
    cfg = lsa_config(preset)
    res = cached_experiment("gamma", cfg, out_dir.parent / "runs")
    s, r = res["covariate_shift"], res["risk_vs_length"]
    fig, ax = plt.subplots(figsize=(6, 4))
    mean, se = np.array(s["model"]).T
    ax.errorbar(s["M"], mean, yerr=2 * se, fmt="o", color="black", label="trained LSA, shifted Λ' (MC)")
    ax.plot(s["M"], s["formula"], label="closed form, shifted Λ'")
    ax.axhline(s["limit"], color="C0", ls=":", lw=1, label="M → ∞ limit, shifted")
    ax.plot(r["M"], r["formula_gamma"], ls="--", color="C2", label="closed form, in distribution")
    floor = 1.5e-3  # least squares is exact (~1e-14) once M ≥ d: drawn at the axis floor
    ls_mean = np.maximum(np.array(s["least_squares"])[:, 0], floor)
    ax.plot(s["M"], ls_mean, color="C3", marker="v", ms=4, label="least squares, shifted (MC; floor = below 1.5e-3)")
    ax.set(xscale="log", yscale="log", ylim=(1e-3, None), xlabel="test prompt length M",
           ylabel="risk E(ŷ − y)²", title=f"covariate shift (trained at N = {cfg.n_context})")
    ax.legend(frameon=False, fontsize=8)
    written = save_figure(fig, out_dir / "fig43")
    (out_dir / "fig43.json").write_text(json.dumps({"covariate_shift": s, "in_distribution": r}, indent=1))
    return written + [out_dir / "fig43.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
