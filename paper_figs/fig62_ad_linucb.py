"""Algorithm distillation of LinUCB (Lin, Bai & Mei 2023): the imitator tracks its source."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.bandits import figure_results, plot_online

SETTING = "ad_linucb"


def main(preset: str, out_dir: Path) -> list[Path]:
    """Run (or reuse) the ``ad_linucb`` setting at ``preset`` (quick | paper | smoke); write
    the online regret figure, with the imitation accuracy in the title, as PNG + PDF."""
    result = figure_results(SETTING, preset, out_dir)
    env = result["env"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    plot_online(result, ax, f"AD of LinUCB(λ=1, α=2): d={env['dim']}, {env['n_arms']} arms per task, "
                f"σ={env['noise_std']}\nargmax agrees with LinUCB's next action on "
                f"{100 * result['imitation_accuracy']:.0f}% of held-out steps ({preset} preset)")
    return save_figure(fig, Path(out_dir) / "fig62_ad_linucb")


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig62_ad_linucb")))
