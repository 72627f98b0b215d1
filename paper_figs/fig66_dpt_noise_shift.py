"""DPT trained at reward noise σ = 0.3, tested at other σ: robustness to a test-time noise shift (Lee et al. 2023)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtMost
from icl_lab.pipelines.bandits import figure_results, pretty

PAPER = "Lee, Xie, Pacchiano, Chandak, Finn, Nachum, Brunskill 2023 (arXiv:2306.14892), robustness to reward-noise shift"
SETTING = "dpt_gaussian"
SHOWN = ("dpt", "dpt_greedy", "thompson", "ucb:1", "greedy")


def _worst_ratio(results: dict) -> float:
    """The largest DPT / Thompson regret ratio over the test noise levels."""
    return max(row["dpt"]["final_mean"] / row["thompson"]["final_mean"] for row in results["noise_shift"].values())


CLAIMS = (
    AtMost("Under a test-time noise shift DPT stays close to Thompson sampling (which is told the true σ'): "
           "the largest DPT / TS regret ratio over the test σ' is ≤ 1.2", _worst_ratio,
           paper_value="DPT robust to reward-noise shift (qualitative)", bound=1.2),
)


def compute(preset: str, runs: Path) -> dict:
    """Run (or reuse) ``dpt_gaussian`` under ``runs`` (shared with fig60 and fig64); keep the noise-shift table."""
    result = figure_results(SETTING, preset, runs)
    return {"env": result["env"], "noise_shift": result["noise_shift"], "n_eval_tasks": result["n_eval_tasks"]}


def draw(results: dict, preset: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    sigmas = sorted(results["noise_shift"], key=float)
    x = [float(s) for s in sigmas]
    for name in SHOWN:
        rows = [results["noise_shift"][s][name] for s in sigmas]
        is_model = name.startswith("dpt")
        ax.errorbar(x, [r["final_mean"] for r in rows], yerr=[r["final_se"] for r in rows], capsize=3, marker="o",
                    lw=2.2 if is_model else 1.2, ls="-" if is_model else "--", label=pretty(name),
                    color="black" if name == "dpt" else ("0.5" if is_model else None))
    env = results["env"]
    ax.axvline(env["noise_std"], color="grey", lw=0.8, ls=":", label=f"training σ = {env['noise_std']}")
    ax.set(xlabel="test-time reward noise σ'", ylabel="regret at H (mean ± s.e.)",
           title=f"DPT trained at σ = {env['noise_std']}, K={env['n_arms']}, H={env['horizon']} "
                 f"({results['n_eval_tasks']} tasks per σ'; {preset} preset)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
