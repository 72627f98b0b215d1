"""Bhattamishra et al. 2024, Fig. 4: teaching sequences vs random examples (same function prior)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.boolean import TEACHING_PAIRS, plot_accuracy_curves, run_all

SHOWN = ("transformer", "lstm", "signed_elimination", "elimination", "bayes")


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig52_boolean_teaching")) -> list[Path]:
    """Transformer, LSTM, elimination and Bayes on random-example prompts vs teaching-sequence prompts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = TEACHING_PAIRS[:1] if preset == "smoke" else TEACHING_PAIRS
    classes = tuple(c for pair in pairs for c in pair)
    results = run_all(preset, out_dir.parent / "runs", classes)
    fig, axes = plt.subplots(len(pairs), 2, figsize=(9, 3.4 * len(pairs)), squeeze=False)
    for row, (random_cls, teach_cls) in enumerate(pairs):
        for ax, c, label in ((axes[row, 0], random_cls, "random examples"), (axes[row, 1], teach_cls, "teaching sequence first")):
            plot_accuracy_curves(results[c]["curves"], ax, title=f"{c}: {label}", only=SHOWN)
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig52")
    (out_dir / "fig52.json").write_text(json.dumps({c: results[c]["curves"] for c in classes}))
    return written + [out_dir / "fig52.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
