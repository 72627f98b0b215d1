"""Length generalization and the RASP-L conjecture: exact match beyond the training length (Zhou et al. 2024, Fig. 1).

Tasks with a short RASP-L program (count, mode; solid lines) should keep their exact match
beyond the longest training size L; parity without a scratchpad (not RASP-L; dashed) should not.
The quick preset trains 2-layer models on sizes 1..10 (three seeds) and tests up to 3L; the cpu
preset trains the whole table of Zhou et al. (nine tasks, three seeds, count on sizes up to 60).
The right panel compares a trained model with the lab's compiled RASP program head by head
(attention overlap, :mod:`icl_lab.pipelines.rasp_compare`) for count, mode and copy_unique. The
copy model matches the compiled induction head only where copying by position coincides with
it, at sizes up to L; count and mode give the program's outputs at every size with heads partly
of their own.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.pipelines.length_generalization import (
    exact_match_at,
    figure_data,
    length_generalization_figure,
    load_config,
    run_length_generalization,
)
from icl_lab.pipelines.rasp_compare import ADAPTERS, overlap_by_size
from icl_lab.rasp.compiler.verify import single_thread

PAPER = "Zhou, Bradley, Littwin, Razin, Saremi, Susskind, Bengio, Nakkiran 2024 (arXiv:2310.16028), Fig. 1"
EXPERIMENT = "length_generalization"
# the file's smoke preset trains mode and parity only; count is added so every claim has a value
SMOKE_EXTRA = ["tasks=mode,count,parity"]
#: examples per size for the attention comparison (the compiled count model is large: 158M
#: parameters at L = 60, about a minute for 20 examples per size up to 3L on one core)
HEAD_EXAMPLES = 20


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
    ``runs/length_generalization-<preset>``; the mean and per-seed exact-match curves; and, for
    the tasks whose RASP program the lab compiles (count, mode, copy_unique), how closely the first
    seed's attention heads follow the compiled program's heads at each test size."""
    cfg = load_config(EXPERIMENT, preset, SMOKE_EXTRA if preset == "smoke" else [])
    out = Path(runs) / f"{cfg.name}-{cfg.preset}"
    results = run_length_generalization(cfg, out, resume=True)
    with single_thread():
        heads = {name: overlap_by_size(out / name / f"seed{cfg.seeds[0]}", cfg.test_factors,
                                       HEAD_EXAMPLES, cfg.eval_seed)
                 for name in cfg.tasks if name in ADAPTERS}
    return {"tasks": figure_data(results), "heads": heads}


def _heads_panel(ax: plt.Axes, heads: dict, colors: dict[str, str]) -> None:
    """Best overlap of each compiled head with any trained head (solid) and per-position
    agreement of the trained model with the compiled program (dotted), against size / L;
    each task in its colour of the other panels."""
    for name, h in heads.items():
        x = [n / h["L"] for n in h["sizes"]]
        ax.plot(x, h["trained_vs_compiled"], ":", marker="s", ms=3, color=colors[name],
                label=f"{name}: next token = compiled program's")
        for head, overlap, marker in zip(h["compiled_heads"], h["best_overlap"], "o^vD<>"):
            ax.plot(x, overlap, "-", marker=marker, ms=4, color=colors[name], alpha=0.75,
                    label=f"{name}: head {head}")
    ax.set_ylabel("overlap with the compiled program")
    ax.set_title("Trained vs compiled RASP program (seed 0, teacher-forced):\nsolid: best attention "
                 "overlap of a trained head; dotted: same next token", fontsize=9)
    ax.set_ylim(-0.03, 1.4)  # room above the curves for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.legend(fontsize=6, loc="upper right", ncol=2)


def draw(results: dict, preset: str) -> plt.Figure:
    title = f"Length generalization: RASP-L tasks (solid) vs not (dashed), {preset} preset"
    heads = results.get("heads") or {}
    fig = length_generalization_figure(results["tasks"], title, figsize=(19 if heads else 14, 6),
                                       extra_panels=1 if heads else 0)
    if heads:
        # length_generalization_figure colours the tasks C0, C1, ... in their order
        _heads_panel(fig.axes[2], heads, {name: f"C{i}" for i, name in enumerate(results["tasks"])})
    return fig
