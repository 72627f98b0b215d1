"""DPT on a linear bandit with fixed arm features vs LinUCB and linear TS (Lee et al. 2023)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtMost
from icl_lab.pipelines.bandits import figure_results, plot_online

PAPER = "Lee, Xie, Pacchiano, Chandak, Finn, Nachum, Brunskill 2023 (arXiv:2306.14892), linear-bandit figure"
SETTING = "dpt_linear"
LINUCB = "linucb:1,1"


def _final(results: dict, learner: str) -> float:
    return results["online"][learner]["final_mean"]


CLAIMS = (
    AtMost("Pretrained on structure-blind data, DPT reaches LinUCB-level regret: its regret at H is at most "
           "10% above LinUCB's (ratio DPT / LinUCB ≤ 1.1)",
           lambda r: _final(r, "dpt") / _final(r, LINUCB),
           paper_value="DPT ≈ LinUCB (10 arms, d = 2, H = 200)", bound=1.1),
)


def compute(preset: str, runs: Path) -> dict:
    """Run (or reuse) the ``dpt_linear`` setting under ``runs`` (shared with the other bandit figures)."""
    return figure_results(SETTING, preset, runs)


def draw(results: dict, preset: str) -> plt.Figure:
    env = results["env"]
    fig, ax = plt.subplots(figsize=(9, 5.5))
    plot_online(results, ax, f"linear bandit, {env['n_arms']} fixed arms in d={env['dim']}, "
                f"σ={env['noise_std']} ({preset} preset)")
    fig.tight_layout()
    return fig
