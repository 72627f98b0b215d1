"""Bhattamishra et al. 2024, Fig. 5: transformers stay at chance on parity; GF(2) elimination and Bayes solve it."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.boolean import plot_accuracy_curves, run_all

SHOWN = ("transformer", "lstm", "gru", "mlp", "knn", "gf2", "bayes")


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig53_boolean_parity")) -> list[Path]:
    """Parity and sparse parity: trained models, the prompt MLP, k-NN, GF(2) elimination and Bayes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = ("parity",) if preset == "smoke" else ("parity", "sparse_parity")
    results = run_all(preset, out_dir.parent / "runs", classes)
    fig, axes = plt.subplots(1, len(classes), figsize=(5 * len(classes), 3.6), squeeze=False)
    for ax, c in zip(axes.flat, classes):
        plot_accuracy_curves(results[c]["curves"], ax, title=f"{c}, n = {results[c]['n']}", only=SHOWN)
        ax.axvline(results[c]["n"], color="grey", lw=0.8, ls=":")  # n examples: GF(2) generically determined
    axes.flat[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig53")
    (out_dir / "fig53.json").write_text(json.dumps({c: results[c]["curves"] for c in classes}))
    return written + [out_dir / "fig53.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)
