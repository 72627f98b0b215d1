"""Length generalization and the RASP-L conjecture: exact match beyond the training length (Zhou et al. 2024, Fig. 1).

Tasks with a short RASP-L program (count, mode; solid lines) should keep their exact match
beyond the longest training size L; parity without a scratchpad (not RASP-L; dashed) should not.
The quick preset trains 2-layer models on sizes 1..10 (three seeds) and tests up to 3L.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.pipelines.length_generalization import (
    figure_data,
    length_generalization_figure,
    load_config,
    run_length_generalization,
)

PAPER = "Zhou, Bradley, Littwin, Razin, Saremi, Susskind, Bengio, Nakkiran 2024 (arXiv:2310.16028), Fig. 1"
EXPERIMENT = "length_generalization"
# the file's smoke preset trains mode and parity only; count is added so every claim has a value
SMOKE_EXTRA = ["tasks=mode,count,parity"]


def exact_match_at(results: dict, task: str, factor: float) -> float:
    """Mean exact match of ``task`` at test size ``factor`` x L."""
    t = results["tasks"][task]
    return t["exact_match"][t["sizes"].index(max(1, round(factor * t["L"])))]


CLAIMS = (
    AtLeast("mode (short RASP-L program) generalizes: exact match at 2L ≥ 0.9",
            lambda r: exact_match_at(r, "mode", 2.0), paper_value="generalizes (RASP-L)",
            bound=0.9),
    AtMost("parity without scratchpad (not RASP-L) does not generalize: exact match at 2L ≤ chance + 0.1",
           lambda r: exact_match_at(r, "parity", 2.0) - r["tasks"]["parity"]["chance"],
           paper_value="fails beyond the training length", bound=0.1),
    AtLeast("count (RASP-L) generalizes: exact match at 2L ≥ 0.9",
            lambda r: exact_match_at(r, "count", 2.0), paper_value="trained up to ~60, generalizes to ~150",
            bound=0.9, shows_at=("cpu", "paper"),
            scale_note="quick trains count on sizes ≤ 10 only; Zhou et al. need training lengths of ~40-60"),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) every task and seed of the experiment's ``preset`` under
    ``runs/length_generalization-<preset>``; the mean and per-seed exact-match curves."""
    cfg = load_config(EXPERIMENT, preset, SMOKE_EXTRA if preset == "smoke" else [])
    results = run_length_generalization(cfg, Path(runs) / f"{cfg.name}-{cfg.preset}", resume=True)
    return {"tasks": figure_data(results)}


def draw(results: dict, preset: str) -> plt.Figure:
    title = f"Length generalization: RASP-L tasks (solid) vs not (dashed), {preset} preset"
    return length_generalization_figure(results["tasks"], title, figsize=(14, 5))
