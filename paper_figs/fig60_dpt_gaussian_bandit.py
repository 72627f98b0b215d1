"""DPT on 5-armed Gaussian bandits: online regret and offline simple regret (Lee et al. 2023)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtMost, Within
from icl_lab.pipelines.bandits import figure_results, plot_offline, plot_online

PAPER = "Lee, Xie, Pacchiano, Chandak, Finn, Nachum, Brunskill 2023 (arXiv:2306.14892), Gaussian-bandit figure (online and offline)"
SETTING = "dpt_gaussian"


def _final(results: dict, learner: str) -> float:
    return results["online"][learner]["final_mean"]


def _best_ucb(results: dict) -> float:
    return min(s["final_mean"] for name, s in results["online"].items() if name.startswith("ucb"))


CLAIMS = (
    Within("Online, DPT's regret at the horizon H is within 10% of Thompson sampling's (ratio DPT / TS)",
           lambda r: _final(r, "dpt") / _final(r, "thompson"), paper_value="DPT ≈ Thompson sampling (K = 5, H = 500)",
           target=1.0, tol=0.1, shows_at=("cpu", "paper"),
           scale_note="quick pretrains 2.5k steps on 20k tasks (ratio 1.11); the cpu preset 10k steps on 100k "
                      "tasks (1.05 when measured); the paper 500k steps at H = 500"),
    AtMost("Online, DPT beats UCB: its regret at H over the best UCB variant's is ≤ 1",
           lambda r: _final(r, "dpt") / _best_ucb(r), paper_value="DPT below UCB (K = 5, H = 500)", bound=1.0),
    AtMost("Offline, DPT-greedy is no worse than LCB: its simple regret over LCB's at the largest dataset is ≤ 1",
           lambda r: r["offline"]["model_greedy"]["mean"][-1] / r["offline"]["lcb"]["mean"][-1],
           paper_value="DPT-greedy offline at least as good as LCB", bound=1.0),
)


def compute(preset: str, runs: Path) -> dict:
    """Run (or reuse) the ``dpt_gaussian`` setting of experiments/bandits.toml under ``runs``
    (shared with ``icl-lab run bandits`` and the other bandit figures)."""
    return figure_results(SETTING, preset, runs)


def draw(results: dict, preset: str) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    env = results["env"]
    plot_online(results, axes[0], f"online, K={env['n_arms']}, σ={env['noise_std']} "
                f"({results['n_eval_tasks']} tasks)")
    plot_offline(results, axes[1], "offline: arm chosen from a random-policy dataset")
    fig.suptitle(f"DPT vs classical learners, Gaussian bandit ({preset} preset)")
    fig.tight_layout()
    return fig
