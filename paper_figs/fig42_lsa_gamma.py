"""A trained linear self-attention layer converges to Γ⁻¹ and its risk follows the closed form (Zhang, Frei, Bartlett 2024).

Left: distance of the learned matrix A = w^{PV}_{22} W^{KQ}_{11} to the predicted Γ⁻¹ during
training — after normalising scale, and raw — next to its distance to Λ⁻¹ (what least squares
would need). Right: risk against the test prompt length M, Monte Carlo on the trained model
(±2 SE) against the closed form.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from icl_lab.core.runs import RunDir
from icl_lab.figures.claims import AtMost
from icl_lab.pipelines import lsa
from icl_lab.pipelines.lsa import LSATheoryConfig, load_lsa_config

PAPER = "Zhang, Frei, Bartlett 2024 (arXiv:2306.09927), main theorem (gradient flow converges to Γ⁻¹) and its risk formula"


def lsa_config(preset: str) -> LSATheoryConfig:
    """The LSA experiment of ``preset`` (smoke: the file's own, seconds, for the tests)."""
    return load_lsa_config("lsa_theory", preset)


def lsa_run(kind: str, preset: str, runs: Path) -> tuple[LSATheoryConfig, dict]:
    """The config and results of the ``kind`` ("gamma" or "gd") LSA experiment of ``preset``, from the
    experiment's run ``runs/lsa_theory-<preset>`` (both kinds, the run `icl-lab run lsa_theory` and the
    notebooks make): trained once, reused by every figure after."""
    cfg = lsa_config(preset)
    run_dir = Path(runs) / f"{cfg.name}-{cfg.preset}"
    results = RunDir(run_dir).cached_results(cfg.to_dict())  # a finished run is read, not rewritten
    if results is None:
        results = lsa.run(cfg, run_dir, resume=True, progress=False)
    return cfg, results[kind]


def columns(rows: list[dict], keys: tuple[str, ...]) -> dict[str, list[float]]:
    """A list of history rows as one list per key."""
    return {k: [row[k] for row in rows] for k in keys}


def max_relative_gap(model: list[float], formula: list[float]) -> float:
    """max over test lengths of |Monte Carlo − closed form| / closed form."""
    return max(abs(m - f) / f for m, f in zip(model, formula, strict=True))


CLAIMS = (
    AtMost("Trained by gradient descent, the LSA's matrix A converges to Γ⁻¹: at the end of training "
           "‖A − Γ⁻¹‖_F / ‖Γ⁻¹‖_F ≤ 0.1", lambda r: r["final"]["rel_err_gamma"],
           paper_value="A → Γ⁻¹ = ((1 + 1/N)Λ + tr(Λ)/N·I)⁻¹ (global convergence of gradient flow)", bound=0.1),
    AtMost("The trained LSA's risk matches the closed form of Γ⁻¹ at every test length M: "
           "|Monte Carlo − formula| / formula ≤ 0.1",
           lambda r: max_relative_gap(r["risk"]["mean"], r["risk"]["formula_gamma"]),
           paper_value="risk in closed form as a function of the test length M", bound=0.1),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) ZFB's LSA (the run shared with fig43); its distance to Γ⁻¹ and risk against M."""
    cfg, res = lsa_run("gamma", preset, runs)
    r = res["risk_vs_length"]
    return {"d": cfg.d, "n_context": cfg.n_context,
            "history": columns(res["history"], ("step", "dist_gamma", "rel_err_gamma", "dist_lambda_inv")),
            "final": res["final"],
            "risk": {"M": r["M"], "mean": [m for m, _ in r["model"]], "se": [s for _, s in r["model"]],
                     "formula_gamma": r["formula_gamma"], "formula_learned": r["formula_learned"]}}


def m_axis(ax: plt.Axes, lengths: list[int]) -> None:
    """A log axis of test lengths labelled at the lengths themselves (no crowded minor labels)."""
    ax.xaxis.set_major_locator(FixedLocator(lengths))
    ax.xaxis.set_major_formatter(FixedFormatter([str(m) for m in lengths]))
    ax.xaxis.set_minor_locator(NullLocator())


def draw(results: dict, preset: str) -> plt.Figure:
    h, r = results["history"], results["risk"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
    ax1.plot(h["step"], h["dist_gamma"], label="to Γ⁻¹, scale-normalised", color="black", lw=2)
    ax1.plot(h["step"], h["rel_err_gamma"], label="to Γ⁻¹, relative ‖A − Γ⁻¹‖/‖Γ⁻¹‖", ls="--")
    ax1.plot(h["step"], h["dist_lambda_inv"], label="to Λ⁻¹, scale-normalised", ls=":")
    ax1.set(yscale="log", xlabel="gradient step", ylabel="Frobenius distance",
            title=f"learned A vs Γ⁻¹ (d = {results['d']}, N = {results['n_context']}, {preset} preset)")
    ax1.legend(frameon=False, fontsize=9)
    ax2.errorbar(r["M"], r["mean"], yerr=[2 * s for s in r["se"]], fmt="o", color="black",
                 label="trained LSA (Monte Carlo, ±2 SE)")
    ax2.plot(r["M"], r["formula_gamma"], label="closed form, A = Γ⁻¹")
    ax2.plot(r["M"], r["formula_learned"], ls="--", label="closed form, learned A")
    ax2.axvline(results["n_context"], color="grey", ls=":", lw=1)
    ax2.set(xscale="log", yscale="log", xlabel="test prompt length M", ylabel="risk E(ŷ − y)²",
            title="risk against test length (dotted: training length N)")
    m_axis(ax2, r["M"])
    ax2.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig
