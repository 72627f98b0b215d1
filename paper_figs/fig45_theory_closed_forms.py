"""Closed forms of in-context linear regression against Monte Carlo (icl_lab.theory).

Left: excess risk against the number of examples n (d = 20, σ² = 0.25, w ~ N(0, I)):
minimum-norm least squares τ²(d − n) + σ²n/(d − n − 1) below the interpolation threshold,
least squares σ²d/(n − d − 1) above it, and ridge at the Bayes-optimal λ* in the
proportional limit; dots are Monte Carlo means ±2 SE. Right: the proportional-limit ridge
risk against λ at γ = d/n = 0.5 and 2 (Dobriban & Wager) against simulations at d = 100.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.plotting import save_figure
from icl_lab.theory import closed_forms as cf
from icl_lab.theory import monte_carlo as mc

SIZES = {"smoke": (200, 10), "quick": (4000, 60), "paper": (40000, 400)}  # (prompts per n, designs per λ)


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig45_theory_closed_forms")) -> list[Path]:
    """Draw the closed forms with their Monte Carlo checks; write the numbers to fig45.json."""
    out_dir = Path(out_dir)
    n_prompts, n_designs = SIZES.get(preset, SIZES["quick"])
    rng = np.random.default_rng(0)
    d, s2, t2 = 20, 0.25, 1.0
    below = [n for n in (2, 6, 10, 14, 17) if n < d - 1]
    above = [n for n in (23, 26, 30, 40, 60, 80) if n > d + 1]
    rows = []
    for n in below:
        est = mc.mc_min_norm_excess_risk(d, n, s2, t2, n_prompts, rng)
        rows.append({"n": n, "learner": "min-norm LS", "formula": cf.min_norm_excess_risk(d, n, s2, t2), **est._asdict()})
    for n in above:
        est = mc.mc_ls_excess_risk(d, n, s2, n_prompts, rng)
        rows.append({"n": n, "learner": "LS", "formula": cf.ls_excess_risk(d, n, s2), **est._asdict()})

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    grid_lo, grid_hi = np.arange(1, d - 1), np.arange(d + 2, 81)
    ax1.plot(grid_lo, [cf.min_norm_excess_risk(d, n, s2, t2) for n in grid_lo], color="C0",
             label="min-norm LS: τ²(d−n) + σ²n/(d−n−1)")
    ax1.plot(grid_hi, [cf.ls_excess_risk(d, n, s2) for n in grid_hi], color="C1", label="LS: σ²d/(n−d−1)")
    grid = np.arange(1, 81)
    alpha2 = t2 * d  # ‖w‖² scale in the normalised parameterisation
    ridge = [cf.ridge_risk_asymptotic(d / n, cf.ridge_optimal_lambda(d / n, s2, alpha2), s2, alpha2) for n in grid]
    ax1.plot(grid, ridge, color="C2", ls="--", label="ridge at λ*, proportional limit")
    for row in rows:
        ax1.errorbar(row["n"], row["mean"], yerr=2 * row["se"], fmt="o", ms=3, color="black")
    ax1.axvline(d, color="grey", ls=":", lw=1)
    ax1.set(yscale="log", xlabel="examples n", ylabel="excess risk", title=f"d = {d}, σ² = {s2} (dots: Monte Carlo)")
    ax1.legend(frameon=False, fontsize=8)

    ridge_rows = []
    for gamma, color in ((0.5, "C0"), (2.0, "C3")):
        lams = np.logspace(-2, 1, 40)
        ax2.plot(lams, [cf.ridge_risk_asymptotic(gamma, lam, s2, 1.0) for lam in lams], color=color,
                 label=f"γ = {gamma} (limit)")
        for lam in (0.03, 0.1, 0.3, 1.0, 3.0):
            est = mc.mc_ridge_risk(100, int(100 / gamma), lam, s2, 1.0, n_designs, rng)
            ridge_rows.append({"gamma": gamma, "lambda": lam, "formula": cf.ridge_risk_asymptotic(gamma, lam, s2, 1.0),
                               **est._asdict()})
            ax2.errorbar(lam, est.mean, yerr=2 * est.se, fmt="o", ms=3, color=color)
        ax2.axvline(cf.ridge_optimal_lambda(gamma, s2, 1.0), color=color, ls=":", lw=1)
    ax2.set(xscale="log", xlabel="λ (normalised)", ylabel="excess risk", title="ridge, α² = 1 (dots: d = 100)")
    ax2.legend(frameon=False, fontsize=8)
    written = save_figure(fig, out_dir / "fig45")
    (out_dir / "fig45.json").write_text(json.dumps({"least_squares": rows, "ridge": ridge_rows}, indent=1))
    return written + [out_dir / "fig45.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
