"""The trained linear self-attention layer fails under covariate shift (Zhang, Frei, Bartlett 2024).

Trained with x ~ N(0, Λ), tested with x ~ N(0, Λ') (the spectrum reversed): the trained
model's risk (Monte Carlo, ±2 SE) follows the closed form and levels off at a positive
limit as M grows, while least squares on the same prompts reaches 0 once M ≥ d.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.pipelines.lsa import covariance
from paper_figs.fig42_lsa_gamma import lsa_run, m_axis, max_relative_gap

PAPER = "Zhang, Frei, Bartlett 2024 (arXiv:2306.09927), covariate-shift result"
FLOOR = 1.5e-3  # least squares is exact (~1e-14) once M ≥ d: drawn at the axis floor


def excess_over_least_squares(results: dict) -> float:
    """(LSA risk − least-squares risk) / Var(y) under the shift, at the largest test length."""
    s = results["shift"]
    return (s["mean"][-1] - s["least_squares"][-1]) / results["var_y_shift"]


CLAIMS = (
    AtLeast("Under covariate shift the trained LSA fails: at the largest test length M its risk stays "
            "≥ 0.1·Var(y) above that of least squares (which reaches 0 once M ≥ d)", excess_over_least_squares,
            paper_value="error does not vanish as M → ∞ under covariate shift; least squares' does", bound=0.1),
    AtMost("Under the shift the trained LSA's risk follows the closed form of Γ⁻¹ at every M: "
           "|Monte Carlo − formula| / formula ≤ 0.1",
           lambda r: max_relative_gap(r["shift"]["mean"], r["shift"]["formula"]),
           paper_value="closed-form covariate-shift error", bound=0.1),
)


def compute(preset: str, runs: Path) -> dict:
    """Reuse (or train) the LSA run of fig42 and read its covariate-shift risks."""
    cfg, res = lsa_run("gamma", preset, runs)
    s, r = res["covariate_shift"], res["risk_vs_length"]
    return {"d": cfg.d, "n_context": cfg.n_context, "var_y_shift": float(np.trace(covariance(cfg.shift_spectrum))),
            "shift": {"M": s["M"], "mean": [m for m, _ in s["model"]], "se": [e for _, e in s["model"]],
                      "formula": s["formula"], "limit": s["limit"],
                      "least_squares": [m for m, _ in s["least_squares"]]},
            "in_distribution": {"M": r["M"], "formula_gamma": r["formula_gamma"]}}


def draw(results: dict, preset: str) -> plt.Figure:
    s, r = results["shift"], results["in_distribution"]
    fig, ax = plt.subplots(figsize=(13, 5))
    ax.errorbar(s["M"], s["mean"], yerr=[2 * e for e in s["se"]], fmt="o", color="black",
                label="trained LSA, shifted Λ' (Monte Carlo, ±2 SE)")
    ax.plot(s["M"], s["formula"], label="closed form, shifted Λ'")
    ax.axhline(s["limit"], color="C0", ls=":", lw=1, label="M → ∞ limit, shifted")
    ax.plot(r["M"], r["formula_gamma"], ls="--", color="C2", label="closed form, in distribution")
    ls_mean = np.maximum(np.array(s["least_squares"]), FLOOR)
    ax.plot(s["M"], ls_mean, color="C3", marker="v", ms=5, label=f"least squares, shifted (floor = below {FLOOR:g})")
    ax.axvline(results["d"], color="grey", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", ylim=(1e-3, None), xlabel="test prompt length M", ylabel="risk E(ŷ − y)²",
           title=f"covariate shift (d = {results['d']}, trained at N = {results['n_context']}, {preset} preset; "
                 f"Var(y) = {results['var_y_shift']:.3g})")
    m_axis(ax, s["M"])
    ax.legend(frameon=False, fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig
