"""Algorithm distillation of LinUCB: the imitator tracks its source (Lin, Bai, Mei 2023; Laskin et al. 2022)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import Within
from icl_lab.pipelines.bandits import figure_results, plot_online

PAPER = ("Lin, Bai, Mei 2023 (arXiv:2310.08566), linear-bandit experiment; "
         "Laskin et al. 2022 (arXiv:2210.14215)")
SETTING = "ad_linucb"
SOURCE = "linucb:1,2"


def _final(results: dict, learner: str) -> float:
    return results["online"][learner]["final_mean"]


CLAIMS = (
    Within("AD tracks its source: its regret at H is within 10% of LinUCB(λ=1, α=2)'s (ratio AD / LinUCB)",
           lambda r: _final(r, "ad") / _final(r, SOURCE),
           paper_value="AD ≈ LinUCB (d = 5, 10 arms, σ = 1.5, H = 200)", target=1.0, tol=0.1,
           shows_at=("paper",),
           scale_note="quick imitates 10k histories of H = 30 for 2k steps (ratio 1.31); 10k steps on 50k "
                      "histories at 42k, 80k and 207k parameters stay at 1.31-1.32 (argmax agreement 0.68-0.69); "
                      "Lin, Bai and Mei train 8 layers for 1.25M steps at batch 128 (250x the samples)"),
)


def compute(preset: str, runs: Path) -> dict:
    """Run (or reuse) the ``ad_linucb`` setting under ``runs`` (shared with the other bandit figures)."""
    return figure_results(SETTING, preset, runs)


def draw(results: dict, preset: str) -> plt.Figure:
    env = results["env"]
    fig, ax = plt.subplots(figsize=(9, 5.5))
    plot_online(results, ax, f"AD of LinUCB(λ=1, α=2): d={env['dim']}, {env['n_arms']} arms per task, "
                f"σ={env['noise_std']}\nargmax agrees with LinUCB's next action on "
                f"{100 * results['imitation_accuracy']:.0f}% of held-out steps ({preset} preset)")
    fig.tight_layout()
    return fig
