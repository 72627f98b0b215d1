"""Bhattamishra et al. 2024, Fig. 3: accuracy vs number of examples per class, Bayes as the ceiling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.boolean import SMOKE_CLASSES, plot_accuracy_curves, run_all
from icl_lab.tasks.boolean import BOOLEAN_CLASSES

SHOWN = ("transformer", "lstm", "gru", "mlp", "cosine_nn", "averaging", "bayes")


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig51_boolean_curves")) -> list[Path]:
    """Per-class accuracy curves of the trained models, the prompt MLP, two baselines and Bayes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = SMOKE_CLASSES if preset == "smoke" else BOOLEAN_CLASSES
    results = run_all(preset, out_dir.parent / "runs", classes)
    cols = 4
    rows = math.ceil(len(classes) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, c in zip(axes.flat, classes):
        plot_accuracy_curves(results[c]["curves"], ax, title=f"{c} ({results[c]['bayes_method']} Bayes)",
                             only=SHOWN)
    for ax in list(axes.flat)[len(classes):]:
        ax.axis("off")
    axes.flat[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig51")
    (out_dir / "fig51.json").write_text(json.dumps({c: r["curves"] for c, r in results.items()}))
    return written + [out_dir / "fig51.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
