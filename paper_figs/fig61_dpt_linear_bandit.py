"""DPT on a linear bandit with fixed arm features (Lee et al. 2023) vs LinUCB / linear TS."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.bandits import figure_results, plot_online

SETTING = "dpt_linear"


def main(preset: str, out_dir: Path) -> list[Path]:
    """Run (or reuse) the ``dpt_linear`` setting at ``preset`` (quick | paper | smoke);
    write the online regret figure as PNG + PDF."""
    result = figure_results(SETTING, preset, out_dir)
    env = result["env"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    plot_online(result, ax, f"linear bandit, {env['n_arms']} fixed arms in d={env['dim']}, "
                f"σ={env['noise_std']} ({preset} preset)")
    return save_figure(fig, Path(out_dir) / "fig61_dpt_linear_bandit")


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig61_dpt_linear_bandit")))
