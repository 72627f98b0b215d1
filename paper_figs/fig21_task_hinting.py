"""Task hinting: sorting alone vs sorting trained with the successor task (Awasthi & Gupta 2023).

Both models are trained on sizes 1..L and tested up to 5L (the paper: L = 20, tested at 100), on
lists with repeated numbers (the paper's setting) and, in the quick preset, on distinct numbers
as a contrast. The hinted model sees, half of the time, the auxiliary task "every copy of q in x,
then the next larger element" (distinct numbers: just the next larger element); it is evaluated
on sorting only. With distinct numbers plain sort is RASP-L and extrapolates by itself; with
repeats it fails beyond L, as the paper reports, and the paper's hint is what rescues it (not
yet at the CPU presets' model size).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.core.errors import ConfigError
from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.pipelines.length_generalization import (
    exact_match_at,
    figure_data,
    length_generalization_figure,
    load_config,
    run_length_generalization,
)

PAPER = "Awasthi, Gupta 2023 (arXiv:2310.00726), sorting: trained on lengths ≤ 20, tested at 100"
EXPERIMENT = "length_generalization"
PRESETS = {"smoke": "hinting_smoke", "quick": "hinting_quick", "cpu": "hinting_cpu", "paper": "hinting_paper"}
PLAIN, HINTED = "sort_repeat", "sort_repeat+successor"
FAR = 5.0  # test size / L of the paper's comparison (100 / 20)
NEAR = 2.0  # the test size at which a CPU-trained model still sorts (the 2-layer, 64-wide models)
SCALE_NOTE = ("quick trains 2-layer 64-wide models on sizes ≤ 6 for 2k steps and cpu on sizes ≤ 20 for 3k "
              "steps; neither sorts at 5L, plain or hinted")


CLAIMS = (
    AtLeast("The successor hint lifts sort's exact match at 2L by ≥ 0.5 over plain training (the CPU-scale "
            "form of the paper's gap)", lambda r: exact_match_at(r["tasks"], HINTED, NEAR) - exact_match_at(r["tasks"], PLAIN, NEAR),
            paper_value="< 1% plain → > 92% hinted at 5L", bound=0.5, shows_at=("cpu", "paper"),
            scale_note="quick trains on sizes ≤ 6, where the hinted model has not learned sort even at L"),
    AtLeast("The successor hint lifts sort's exact match at 5L by ≥ 0.5 over plain training",
            lambda r: exact_match_at(r["tasks"], HINTED, FAR) - exact_match_at(r["tasks"], PLAIN, FAR),
            paper_value="< 1% plain → > 92% hinted at length 100", bound=0.5,
            shows_at=("paper",), scale_note=SCALE_NOTE),
    AtLeast("Sort trained with the successor hint: exact match at 5L ≥ 0.9",
            lambda r: exact_match_at(r["tasks"], HINTED, FAR), paper_value="> 92% at length 100", bound=0.9,
            shows_at=("paper",), scale_note=SCALE_NOTE),
    AtMost("Plain sort: exact match at 5L ≤ 0.05",
           lambda r: exact_match_at(r["tasks"], PLAIN, FAR), paper_value="< 1% at length 100", bound=0.05,
           shows_at=("paper",), scale_note=SCALE_NOTE),
)


def compute(preset: str, runs: Path) -> dict:
    """Train (or reuse) plain and hinted sort of the experiment's ``hinting_<preset>`` preset
    under ``runs/length_generalization-hinting_<preset>``; their exact-match curves."""
    if preset not in PRESETS:
        raise ConfigError(f"invalid preset {preset!r} for fig21: expected one of {', '.join(PRESETS)}")
    cfg = load_config(EXPERIMENT, PRESETS[preset])
    results = run_length_generalization(cfg, Path(runs) / f"{cfg.name}-{cfg.preset}", resume=True)
    return {"tasks": figure_data(results)}


def draw(results: dict, preset: str) -> plt.Figure:
    title = f"Task hinting: sort alone vs trained with the successor task ({preset} preset)"
    return length_generalization_figure(results["tasks"], title, figsize=(14, 5))
