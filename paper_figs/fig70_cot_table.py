"""Chain of thought vs direct answers: exact-answer accuracy per task and size (Feng et al. 2023, Fig. 3).

Heatmaps of the table task x size x variant: CoT-3 (the model writes every intermediate step,
3 layers) against Direct-3/4/5 (the answer right after the problem); held-out problems,
free greedy generation (left) and teacher-forced (right: every target token right given the
true prefix). The quick preset trains arithmetic (3 operators mod 7) and equations
(2 variables mod 3), CoT-3 vs Direct-3 only.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast
from icl_lab.pipelines.cot import cot_table_figure, load_config, run_chain_of_thought, variant_label

PAPER = "Feng, Zhang, Gu, Ye, He, Wang 2023 (arXiv:2305.15408), Fig. 3"
EXPERIMENT = "chain_of_thought"


def cot_results(preset: str, runs: Path) -> dict:
    """Train (or reuse) every cell of the experiment's ``preset`` under
    ``runs/chain_of_thought-<preset>`` (fig70 and fig71 share it); the accuracy table."""
    cfg = load_config(EXPERIMENT, preset)
    results = run_chain_of_thought(cfg, Path(runs) / f"{cfg.name}-{cfg.preset}", resume=True, log=None)
    labels = [variant_label(v) for v in cfg.variants]
    keep = ("task", "size", "chance", *labels, *(f"tf {k}" for k in labels))
    return {"variants": labels, "table": [{k: r[k] for k in keep} for r in results["table"]]}


def largest(results: dict) -> list[dict]:
    """The table row of each task's largest size."""
    rows: dict[str, dict] = {}
    for r in results["table"]:
        if r["task"] not in rows or r["size"] > rows[r["task"]]["size"]:
            rows[r["task"]] = r
    return list(rows.values())


def cot_margin(row: dict, variants: list[str]) -> float:
    """CoT accuracy minus the best direct accuracy of one table row (the best of each kind)."""
    cot = max(row[v] for v in variants if v.startswith("CoT"))
    return cot - max(row[v] for v in variants if v.startswith("Direct"))


CLAIMS = (
    AtLeast("CoT beats direct on every task: at each task's largest size, CoT accuracy − best direct ≥ 0.2",
            lambda r: min(cot_margin(row, r["variants"]) for row in largest(r)),
            paper_value="CoT-3 ~100% vs best direct 49 / 0 / 55 / 64% (arithmetic / equations / LIS / "
                        "edit distance)", bound=0.2),
    AtLeast("CoT is near perfect: CoT accuracy at each task's largest size ≥ 0.9",
            lambda r: min(max(row[v] for v in r["variants"] if v.startswith("CoT")) for row in largest(r)),
            paper_value="~100% on every task", bound=0.9),
)


def compute(preset: str, runs: Path) -> dict:
    return cot_results(preset, runs)


def draw(results: dict, preset: str) -> plt.Figure:
    rows = results["table"]
    title = f"Chain of thought vs direct: exact-answer accuracy % ({preset} preset)"
    width = min(16.0, 2.6 * len(results["variants"]) + 8)
    return cot_table_figure(rows, results["variants"], title, figsize=(width, 0.6 * len(rows) + 2.5),
                            teacher_forced=True)
