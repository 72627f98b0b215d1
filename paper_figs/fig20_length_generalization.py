"""Length generalization and the RASP-L conjecture: exact match beyond the training length (Zhou et al. 2024, Fig. 1).

Tasks with a short RASP-L program (count, mode; solid lines) should keep their exact match
beyond the longest training size L; parity without a scratchpad (not RASP-L; dashed) should not.
The quick preset trains 2-layer models on sizes 1..10 (three seeds) and tests up to 3L; the cpu
preset trains the whole table of Zhou et al. (nine tasks, three seeds, count on sizes up to 60).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.pipelines.length_generalization import (
    exact_match_at,
    figure_data,
    length_generalization_figure,
    load_config,
    run_length_generalization,
)

PAPER = "Zhou, Bradley, Littwin, Razin, Saremi, Susskind, Bengio, Nakkiran 2024 (arXiv:2310.16028), Fig. 1"
EXPERIMENT = "length_generalization"
# the file's smoke preset trains mode and parity only; count is added so every claim has a value
SMOKE_EXTRA = ["tasks=mode,count,parity"]


def tasks_generalizing(results: dict, rasp_l: bool, factor: float = 2.0, bound: float = 0.8) -> int:
    """How many tasks of one side of the conjecture keep exact match ≥ ``bound`` at ``factor`` x L."""
    return sum(exact_match_at(results["tasks"], name, factor) >= bound
               for name, t in results["tasks"].items() if t["rasp_l"] == rasp_l)


def worst_non_rasp_l(results: dict, factor: float = 2.0) -> float:
    """The largest exact match above chance at ``factor`` x L among the tasks that are not RASP-L."""
    return max(exact_match_at(results["tasks"], name, factor) - t["chance"]
               for name, t in results["tasks"].items() if not t["rasp_l"])


CLAIMS = (
    AtLeast("mode (short RASP-L program) generalizes: exact match at 2L ≥ 0.9",
            lambda r: exact_match_at(r["tasks"], "mode", 2.0), paper_value="generalizes (RASP-L)",
            bound=0.9),
    AtMost("parity without scratchpad (not RASP-L) does not generalize: exact match at 2L ≤ chance + 0.1",
           lambda r: exact_match_at(r["tasks"], "parity", 2.0) - r["tasks"]["parity"]["chance"],
           paper_value="fails beyond the training length", bound=0.1),
    AtLeast("count (RASP-L) generalizes: exact match at 2L ≥ 0.9",
            lambda r: exact_match_at(r["tasks"], "count", 2.0), paper_value="trained up to ~60, generalizes to ~150",
            bound=0.9, shows_at=("cpu", "paper"),
            scale_note="quick trains count on sizes ≤ 10 only; Zhou et al. need training lengths of ~40-60"),
    AtLeast("The RASP-L side of Zhou et al.'s table: at least five RASP-L tasks keep exact match ≥ 0.8 at 2L",
            lambda r: tasks_generalizing(r, rasp_l=True), paper_value="count, mode, copy and sort (unique), "
            "addition with index hints and parity with a scratchpad generalize", bound=5, fmt=".0f",
            shows_at=("cpu", "paper"), scale_note="quick trains three of the table's tasks (mode, count, parity)"),
    AtMost("The other side: every task that is not RASP-L stays within 0.1 of chance at 2L",
           worst_non_rasp_l, paper_value="copy with repeats, addition without hints and parity without "
           "scratchpad fail beyond the training length", bound=0.1),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) every task and seed of the experiment's ``preset`` under
    ``runs/length_generalization-<preset>``; the mean and per-seed exact-match curves."""
    cfg = load_config(EXPERIMENT, preset, SMOKE_EXTRA if preset == "smoke" else [])
    results = run_length_generalization(cfg, Path(runs) / f"{cfg.name}-{cfg.preset}", resume=True)
    return {"tasks": figure_data(results)}


def draw(results: dict, preset: str) -> plt.Figure:
    title = f"Length generalization: RASP-L tasks (solid) vs not (dashed), {preset} preset"
    return length_generalization_figure(results["tasks"], title, figsize=(14, 6))
