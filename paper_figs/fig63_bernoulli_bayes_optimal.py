"""The exact Bayes-optimal policy (DP over posterior counts) on Bernoulli bandits vs TS, UCB and DPT."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.bandits import figure_results, plot_online

SETTINGS = ("bernoulli_k2", "bernoulli_k3", "dpt_bernoulli")


def main(preset: str, out_dir: Path) -> list[Path]:
    """Run (or reuse) the Bernoulli settings at ``preset`` (quick | paper | smoke); one panel
    per setting (K = 2, K = 3, DPT pretrained on K = 2) with Monte-Carlo regret and the DP's
    exact Bayes regret; PNG + PDF."""
    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(16, 4.2))
    for ax, setting in zip(axes, SETTINGS):
        result = figure_results(setting, preset, out_dir)
        env, dp = result["env"], result["bayes_optimal"]
        who = "DPT vs the DP" if result["method"] == "dpt" else "classical learners"
        plot_online(result, ax, f"{who}: K={env['n_arms']}, Beta(1,1) prior, H={env['horizon']}\n"
                    f"DP: {dp['states']:,} states solved in {dp['solve_s']:.2f}s")
    fig.suptitle(f"Bernoulli bandits: the Bayes-optimal DP vs Thompson, UCB and DPT ({preset} preset)")
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "fig63_bernoulli_bayes_optimal")


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig63_bernoulli_bayes_optimal")))
