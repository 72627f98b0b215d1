"""The exact Bayes-optimal policy (DP over posterior counts) on Bernoulli bandits vs TS, UCB and DPT (Lee et al. 2023)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.pipelines.bandits import figure_results, plot_online

PAPER = ("Lee, Xie, Pacchiano, Chandak, Finn, Nachum, Brunskill 2023 (arXiv:2306.14892): DPT as posterior "
         "sampling; the lab adds the exact Bayes-optimal baseline (no paper figure)")
SETTINGS = ("bernoulli_k2", "bernoulli_k3", "dpt_bernoulli")


def _margin(results: dict) -> float:
    """The smallest (learner's Monte-Carlo regret at H − the DP's exact Bayes regret) / its s.e.,
    over every other learner of every panel: below 0 when some learner looks better than optimal."""
    zs = []
    for panel in results["panels"].values():
        exact = panel["bayes_optimal"]["exact_bayes_regret"]
        zs += [(s["final_mean"] - exact) / s["final_se"] for name, s in panel["online"].items()
               if name != "bayes_optimal"]
    return min(zs)


def _dp_consistency(results: dict) -> float:
    """The largest |Monte-Carlo regret of the DP policy − its exact Bayes regret| in standard errors."""
    return max(abs(p["online"]["bayes_optimal"]["final_mean"] - p["bayes_optimal"]["exact_bayes_regret"])
               / p["online"]["bayes_optimal"]["final_se"] for p in results["panels"].values())


CLAIMS = (
    AtLeast("The exact Bayes-optimal DP has the lowest Bayes regret at H: no learner (UCB, Thompson, greedy, "
            "DPT) comes out below the DP's exact value by more than 2 standard errors (smallest z ≥ −2)",
            _margin, paper_value="", bound=-2.0),
    AtMost("The DP policy's Monte-Carlo regret agrees with its exact Bayes regret (|z| ≤ 3 in every panel)",
           _dp_consistency, paper_value="", bound=3.0),
)


def compute(preset: str, runs: Path) -> dict:
    """Run (or reuse) the three Bernoulli settings under ``runs`` (shared with the other bandit figures)."""
    return {"panels": {setting: figure_results(setting, preset, runs) for setting in SETTINGS}}


def draw(results: dict, preset: str) -> plt.Figure:
    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(17, 5))
    for ax, setting in zip(axes, SETTINGS):
        panel = results["panels"][setting]
        env, dp = panel["env"], panel["bayes_optimal"]
        who = "DPT vs the DP" if panel["method"] == "dpt" else "classical learners"
        plot_online(panel, ax, f"{who}: K={env['n_arms']}, Beta(1,1) prior, H={env['horizon']}\n"
                    f"DP: {dp['states']:,} states solved in {dp['solve_s']:.2f}s")
    fig.suptitle(f"Bernoulli bandits: the Bayes-optimal DP vs Thompson, UCB and DPT ({preset} preset)")
    fig.tight_layout()
    return fig
