"""DPT on 5-armed Gaussian bandits (Lee et al. 2023): online regret and offline simple regret."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.bandits import figure_results, plot_offline, plot_online

SETTING = "dpt_gaussian"


def main(preset: str, out_dir: Path) -> list[Path]:
    """Run (or reuse) the ``dpt_gaussian`` setting of experiments/bandits.toml at ``preset``
    (quick | paper | smoke) and write the figure as PNG + PDF."""
    result = figure_results(SETTING, preset, out_dir)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    env = result["env"]
    plot_online(result, axes[0], f"online, K={env['n_arms']}, σ={env['noise_std']} ({result['n_eval_tasks']} tasks)")
    plot_offline(result, axes[1], "offline: arm chosen from a random-policy dataset")
    fig.suptitle(f"DPT vs classical learners, Gaussian bandit ({preset} preset)")
    fig.tight_layout()
    return save_figure(fig, Path(out_dir) / "fig60_dpt_gaussian_bandit")


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig60_dpt_gaussian_bandit")))
