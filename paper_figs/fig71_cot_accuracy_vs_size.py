"""Chain of thought vs direct answers: accuracy against problem size, one panel per task (Feng et al. 2023, Fig. 3).

The same runs as fig70. In the paper direct accuracy falls with problem size (and rises with
depth) while CoT stays near 100%. The quick preset trains one size per task, so the fall with
size is measured at the paper preset only.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast
from icl_lab.pipelines.cot import accuracy_vs_size_figure
from paper_figs.fig70_cot_table import cot_margin, cot_results

PAPER = "Feng, Zhang, Gu, Ye, He, Wang 2023 (arXiv:2305.15408), Fig. 3"


def best_direct(row: dict, variants: list[str]) -> float:
    return max(row[v] for v in variants if v.startswith("Direct"))


def direct_drop(results: dict) -> float:
    """Best direct accuracy at each task's smallest size minus at its largest, averaged over
    the tasks trained at two sizes or more."""
    drops = []
    for task in dict.fromkeys(r["task"] for r in results["table"]):
        rows = sorted((r for r in results["table"] if r["task"] == task), key=lambda r: r["size"])
        if len(rows) >= 2:
            drops.append(best_direct(rows[0], results["variants"]) - best_direct(rows[-1], results["variants"]))
    if not drops:
        raise ValueError("every task of this preset is trained at one size only: no fall with size to measure")
    return sum(drops) / len(drops)


CLAIMS = (
    AtLeast("Direct accuracy falls with problem size: best direct accuracy drops by ≥ 0.05 from the "
            "smallest to the largest size (mean over tasks)", direct_drop,
            paper_value="falls with size on every task", bound=0.05),
    AtLeast("CoT beats direct at every size of every task: CoT accuracy − best direct ≥ 0.05",
            lambda r: min(cot_margin(row, r["variants"]) for row in r["table"]),
            paper_value="CoT above direct at every size and task", bound=0.05),
)


def compute(preset: str, runs: Path) -> dict:
    """The runs of fig70 (trained once, shared); their accuracy table."""
    return cot_results(preset, runs)


def draw(results: dict, preset: str) -> plt.Figure:
    n_tasks = len({r["task"] for r in results["table"]})
    return accuracy_vs_size_figure(results["table"], results["variants"],
                                   f"Chain of thought vs direct: accuracy against problem size ({preset} preset)",
                                   figsize=(max(11.0, 3.6 * n_tasks), 4.2))
