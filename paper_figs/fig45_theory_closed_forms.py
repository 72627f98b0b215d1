"""Closed forms of in-context linear regression against Monte Carlo (least squares, min-norm, ridge).

Left: excess risk against the number of examples n (d = 20, σ² = 0.25, w ~ N(0, I)):
minimum-norm least squares τ²(d − n) + σ²n/(d − n − 1) below the interpolation threshold,
least squares σ²d/(n − d − 1) above it, and ridge at the Bayes-optimal λ* in the
proportional limit; dots are Monte Carlo means ±2 SE. Right: the proportional-limit ridge
risk against λ at γ = d/n = 0.5 and 2 (Dobriban & Wager) against simulations at d = 100.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.claims import AtMost
from icl_lab.theory import closed_forms as cf
from icl_lab.theory import monte_carlo as mc

PAPER = ("Closed forms, no paper figure: min-norm least squares as in Belkin, Hsu, Xu 2020 (arXiv:1903.07571); "
         "ridge limit of Dobriban, Wager 2018 (arXiv:1507.03003)")
SIZES = {"smoke": (200, 10), "quick": (4000, 60), "paper": (40000, 400)}  # (prompts per n, designs per λ)
D, SIGMA2, TAU2 = 20, 0.25, 1.0
GAMMAS, LAMBDAS = (0.5, 2.0), (0.03, 0.1, 0.3, 1.0, 3.0)


def max_z(rows: list[dict]) -> float:
    """The largest |Monte Carlo mean − closed form| in standard errors over ``rows``."""
    return max(abs(r["mean"] - r["formula"]) / r["se"] for r in rows)


CLAIMS = (
    AtMost("The exact least-squares and min-norm formulas match Monte Carlo: every estimate is within "
           "4 standard errors of its closed form", lambda r: max_z(r["least_squares"]),
           paper_value="exact for Gaussian designs", fmt=".2f", bound=4.0),
    AtMost("The proportional-limit ridge risk matches simulations at d = 100: every estimate is within "
           "4 standard errors of the limit", lambda r: max_z(r["ridge"]),
           paper_value="limit as d, n → ∞ with d/n = γ", fmt=".2f", bound=4.0),
)


def compute(preset: str, runs: Path) -> dict:
    """Monte Carlo estimates next to their closed forms (no training; ``runs`` is not used)."""
    n_prompts, n_designs = SIZES.get(preset, SIZES["quick"])
    rng = np.random.default_rng(0)
    rows = []
    for n in (2, 6, 10, 14, 17):
        est = mc.mc_min_norm_excess_risk(D, n, SIGMA2, TAU2, n_prompts, rng)
        rows.append({"n": n, "learner": "min-norm LS", "formula": cf.min_norm_excess_risk(D, n, SIGMA2, TAU2),
                     **est._asdict()})
    for n in (23, 26, 30, 40, 60, 80):
        est = mc.mc_ls_excess_risk(D, n, SIGMA2, n_prompts, rng)
        rows.append({"n": n, "learner": "LS", "formula": cf.ls_excess_risk(D, n, SIGMA2), **est._asdict()})
    ridge_rows = []
    for gamma in GAMMAS:
        for lam in LAMBDAS:
            est = mc.mc_ridge_risk(100, int(100 / gamma), lam, SIGMA2, 1.0, n_designs, rng)
            ridge_rows.append({"gamma": gamma, "lambda": lam, "formula": cf.ridge_risk_asymptotic(gamma, lam, SIGMA2, 1.0),
                               **est._asdict()})
    return {"d": D, "sigma2": SIGMA2, "tau2": TAU2, "n_prompts": n_prompts, "n_designs": n_designs,
            "least_squares": rows, "ridge": ridge_rows}


def draw(results: dict, preset: str) -> plt.Figure:
    d, s2, t2 = results["d"], results["sigma2"], results["tau2"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
    grid_lo, grid_hi = np.arange(1, d - 1), np.arange(d + 2, 81)
    ax1.plot(grid_lo, [cf.min_norm_excess_risk(d, n, s2, t2) for n in grid_lo], color="C0",
             label="min-norm LS: τ²(d−n) + σ²n/(d−n−1)")
    ax1.plot(grid_hi, [cf.ls_excess_risk(d, n, s2) for n in grid_hi], color="C1", label="LS: σ²d/(n−d−1)")
    grid = np.arange(1, 81)
    alpha2 = t2 * d  # ‖w‖² scale in the normalised parameterisation
    ridge = [cf.ridge_risk_asymptotic(d / n, cf.ridge_optimal_lambda(d / n, s2, alpha2), s2, alpha2) for n in grid]
    ax1.plot(grid, ridge, color="C2", ls="--", label="ridge at λ*, proportional limit")
    for row in results["least_squares"]:
        ax1.errorbar(row["n"], row["mean"], yerr=2 * row["se"], fmt="o", ms=4, color="black")
    ax1.axvline(d, color="grey", ls=":", lw=1)
    ax1.set(yscale="log", xlabel="examples n", ylabel="excess risk",
            title=f"d = {d}, σ² = {s2} (dots: Monte Carlo ±2 SE, {results['n_prompts']} prompts; {preset} preset)")
    ax1.legend(frameon=False, fontsize=9)
    for gamma, color in zip(GAMMAS, ("C0", "C3")):
        lams = np.logspace(-2, 1, 40)
        ax2.plot(lams, [cf.ridge_risk_asymptotic(gamma, lam, s2, 1.0) for lam in lams], color=color,
                 label=f"γ = {gamma} (limit)")
        for row in (r for r in results["ridge"] if r["gamma"] == gamma):
            ax2.errorbar(row["lambda"], row["mean"], yerr=2 * row["se"], fmt="o", ms=4, color=color)
        ax2.axvline(cf.ridge_optimal_lambda(gamma, s2, 1.0), color=color, ls=":", lw=1)
    ax2.set(xscale="log", xlabel="λ (normalised)", ylabel="excess risk",
            title=f"ridge, α² = 1 (dots: d = 100, {results['n_designs']} designs, ±2 SE)")
    ax2.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig
