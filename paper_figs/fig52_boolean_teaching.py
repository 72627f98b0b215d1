"""Teaching sequences vs random examples under the same function prior (Bhattamishra et al. 2024, Fig. 4)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast
from icl_lab.pipelines.boolean import TEACHING_PAIRS, plot_accuracy_curves, run_all

PAPER = "Bhattamishra, Patel, Blunsom, Kanade 2024 (arXiv:2310.03016), Fig. 4"
SHOWN = ("transformer", "lstm", "signed_elimination", "elimination", "bayes")
RANDOM, TEACH = TEACHING_PAIRS[0]  # conjunction / teach_signed_conjunction: exactly the same prior


def _after_teaching(results: dict, cls: str) -> float:
    """The transformer's accuracy once the longest signed teaching sequence (n + 2 rows) is shown."""
    return results["curves"][cls]["transformer"][results["k_after_teaching"]]


CLAIMS = (
    AtLeast("Teaching sequences are more sample-efficient: after k = n + 2 examples the transformer is ≥ 0.05 "
            "more accurate on conjunctions prompted with a teaching sequence than with random examples",
            lambda r: _after_teaching(r, TEACH) - _after_teaching(r, RANDOM),
            paper_value="near-perfect right after the teaching sequence; random examples need many more",
            bound=0.05),
    AtLeast("With the teaching sequence the transformer is near-perfect right after it: accuracy ≥ 0.95 at "
            "k = n + 2", lambda r: _after_teaching(r, TEACH), paper_value="≈ 100% after the teaching sequence",
            bound=0.95),
)


def compute(preset: str, runs: Path) -> dict:
    """Random-example vs teaching-sequence prompts (runs shared with fig50/fig51): transformer,
    LSTM, the elimination algorithms and Bayes."""
    pairs = TEACHING_PAIRS[:1] if preset == "smoke" else TEACHING_PAIRS
    classes = tuple(c for pair in pairs for c in pair)
    results = run_all(preset, runs, classes)
    n = results[RANDOM]["n"]
    return {"n": n, "k_after_teaching": n + 2, "pairs": [list(p) for p in pairs],
            "curves": {c: {k: v for k, v in results[c]["curves"].items() if k in SHOWN} for c in classes}}


def draw(results: dict, preset: str) -> plt.Figure:
    pairs = results["pairs"]
    fig, axes = plt.subplots(len(pairs), 2, figsize=(12, 3.8 * len(pairs)), squeeze=False)
    for row, (random_cls, teach_cls) in enumerate(pairs):
        for ax, c, label in ((axes[row, 0], random_cls, "random examples"),
                             (axes[row, 1], teach_cls, "teaching sequence first")):
            plot_accuracy_curves(results["curves"][c], ax, title=f"{c}: {label}", only=SHOWN)
            if c == TEACH or c == RANDOM:
                ax.axvline(results["k_after_teaching"], color="grey", lw=0.8, ls=":")  # n + 2
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.suptitle(f"Teaching sequences vs random examples, n = {results['n']} ({preset} preset)")
    fig.tight_layout()
    return fig
