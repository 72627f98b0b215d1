"""Accuracy at the end of the prompt, Boolean class × learner (Bhattamishra et al. 2024, Table/Fig. 2)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.claims import AtLeast, Within
from icl_lab.pipelines.boolean import PRETTY, SMOKE_CLASSES, accuracy_table, run_all
from icl_lab.tasks.boolean import BOOLEAN_CLASSES

PAPER = "Bhattamishra, Patel, Blunsom, Kanade 2024 (arXiv:2310.03016), Table/Fig. 2"
SIMPLE = ("conjunction", "disjunction")


CLAIMS = (
    AtLeast("The transformer is near-perfect on conjunctions and disjunctions: accuracy at the last example "
            "≥ 0.95 (the lower of the two)",
            lambda r: min(r["table"][c]["transformer"] for c in SIMPLE),
            paper_value="≈ 100% on conjunctions and disjunctions (n = 28)", bound=0.95),
    Within("The transformer is at chance on parity: accuracy at the last example within 0.05 of 0.5",
           lambda r: r["table"]["parity"]["transformer"], paper_value="≈ 50% (chance) on parity",
           target=0.5, tol=0.05),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) transformer / LSTM / GRU per class under ``runs``, evaluate every learner
    (shared with fig51–fig53); the accuracy of each at the last example."""
    classes = SMOKE_CLASSES if preset == "smoke" else BOOLEAN_CLASSES
    results = run_all(preset, runs, classes)
    return {"n": next(iter(results.values()))["n"], "classes": list(classes), "table": accuracy_table(results),
            "bayes_method": {c: r["bayes_method"] for c, r in results.items()}}


def draw(results: dict, preset: str) -> plt.Figure:
    classes, table = results["classes"], results["table"]
    learners = list(dict.fromkeys(name for c in classes for name in table[c]))
    grid = np.array([[np.nan if table[c].get(name) is None else table[c][name] for name in learners]
                     for c in classes], dtype=float)
    fig, ax = plt.subplots(figsize=(max(8.0, 0.9 * len(learners) + 3), 0.45 * len(classes) + 2))
    im = ax.imshow(grid, vmin=0.5, vmax=1.0, cmap="viridis", aspect="auto")
    for i in range(len(classes)):
        for j in range(len(learners)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if grid[i, j] < 0.8 else "black")
    ax.set_xticks(range(len(learners)), [PRETTY.get(n, n) for n in learners], rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), [f"{c} ({results['bayes_method'][c]} Bayes)" for c in classes])
    ax.set_title(f"accuracy (%) at the last in-context example, n = {results['n']} ({preset} preset)")
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig
