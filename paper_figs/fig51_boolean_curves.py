"""Accuracy against the number of examples per Boolean class, Bayes as the ceiling (Bhattamishra et al. 2024, Fig. 3)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtMost
from icl_lab.pipelines.boolean import SMOKE_CLASSES, plot_accuracy_curves, run_all
from icl_lab.tasks.boolean import BOOLEAN_CLASSES

PAPER = "Bhattamishra, Patel, Blunsom, Kanade 2024 (arXiv:2310.03016), Fig. 3"
SHOWN = ("transformer", "lstm", "gru", "mlp", "cosine_nn", "averaging", "bayes")
SIMPLE = ("conjunction", "disjunction")
COMPOSED = ("cnf", "dnf", "nearest_neighbour")


def _gap_to_bayes(results: dict, classes: tuple[str, ...]) -> float:
    """The largest (Bayes − transformer) accuracy at the last example over ``classes`` computed here."""
    gaps = [results["curves"][c]["bayes"][-1] - results["curves"][c]["transformer"][-1]
            for c in classes if c in results["curves"]]
    if not gaps:
        raise KeyError(f"none of {', '.join(classes)} was computed")
    return max(gaps)


CLAIMS = (
    AtMost("On conjunctions and disjunctions the transformer reaches the Bayes-optimal accuracy: at most 0.05 "
           "below Bayes at the last example (the larger gap)",
           lambda r: _gap_to_bayes(r, SIMPLE), paper_value="near-perfect (≈ 100%) on both (n = 28)", bound=0.05),
    AtMost("Also on CNF, DNF and nearest-neighbour labelling: at most 0.05 below Bayes at the last example",
           lambda r: _gap_to_bayes(r, COMPOSED), paper_value="near-perfect on CNF, DNF and nearest neighbour",
           bound=0.05),
)


def compute(preset: str, runs: Path) -> dict:
    """Every class's accuracy curves (shared runs and evaluations with fig50): the trained models,
    the prompt MLP (fitted at a few positions), two baselines and Bayes."""
    classes = SMOKE_CLASSES if preset == "smoke" else BOOLEAN_CLASSES
    results = run_all(preset, runs, classes)
    return {"n": next(iter(results.values()))["n"], "classes": list(classes),
            "bayes_method": {c: r["bayes_method"] for c, r in results.items()},
            "curves": {c: {k: v for k, v in r["curves"].items() if k in SHOWN} for c, r in results.items()}}


def draw(results: dict, preset: str) -> plt.Figure:
    classes = results["classes"]
    cols = min(4, len(classes))
    rows = math.ceil(len(classes) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, c in zip(axes.flat, classes):
        plot_accuracy_curves(results["curves"][c], ax, title=f"{c} ({results['bayes_method'][c]} Bayes)",
                             only=SHOWN)
    for ax in list(axes.flat)[len(classes):]:
        ax.axis("off")
    axes.flat[0].legend(frameon=False, fontsize=7)
    fig.suptitle(f"Accuracy vs in-context examples, n = {results['n']} ({preset} preset)")
    fig.tight_layout()
    return fig
