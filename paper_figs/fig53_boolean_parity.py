"""Parity: the transformer stays at chance while learning on the prompt solves it (Bhattamishra et al. 2024, Fig. 5)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.pipelines.boolean import boolean_config, plot_accuracy_curves, run_all
from icl_lab.tasks.boolean import sparse_k

PAPER = "Bhattamishra, Patel, Blunsom, Kanade 2024 (arXiv:2310.03016), Fig. 5"
SHOWN = ("transformer", "lstm", "gru", "mlp", "knn", "gf2", "bayes")
CLASSES = ("parity", "sparse_parity")


def _final(results: dict, cls: str, learner: str) -> float:
    return results["curves"][cls][learner][-1]


CLAIMS = (
    AtMost("The transformer is at chance on parity and sparse parity: its accuracy at the last example is "
           "within 0.05 of 0.5 on both (the larger |accuracy − 0.5|)",
           lambda r: max(abs(_final(r, c, "transformer") - 0.5) for c in CLASSES),
           paper_value="≈ 50% on parity and sparse parity, even (10, 2)", bound=0.05),
    AtLeast("An MLP trained by gradient descent on the prompt solves sparse parity: accuracy ≥ 0.9 at the "
            "last example", lambda r: _final(r, "sparse_parity", "mlp"),
            paper_value="solved by gradient descent on the prompt", bound=0.9),
)


def compute(preset: str, runs: Path) -> dict:
    """Parity and sparse parity (runs shared with fig50/fig51): the trained models, the prompt MLP,
    k-NN, GF(2) elimination and Bayes."""
    results = run_all(preset, runs, CLASSES)
    k = sparse_k(boolean_config(preset, "sparse_parity").task)
    return {"n": results["parity"]["n"], "sparse_k": k,
            "curves": {c: {k: v for k, v in results[c]["curves"].items() if k in SHOWN} for c in CLASSES}}


def draw(results: dict, preset: str) -> plt.Figure:
    n = results["n"]
    fig, axes = plt.subplots(1, len(CLASSES), figsize=(12, 4.2), squeeze=False)
    for ax, c in zip(axes.flat, CLASSES):
        title = f"parity, n = {n}" if c == "parity" else f"sparse parity ({n}, {results['sparse_k']})"
        plot_accuracy_curves(results["curves"][c], ax, title=title, only=SHOWN)
        ax.axvline(n, color="grey", lw=0.8, ls=":")  # n examples: GF(2) generically determined
    axes.flat[0].legend(frameon=False, fontsize=7)
    fig.suptitle(f"Parity in context ({preset} preset)")
    fig.tight_layout()
    return fig
