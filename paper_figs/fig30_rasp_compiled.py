"""RASP programs compiled into transformer weights: exact, with the layer counts of RASP (Weiss et al. 2021).

Every library program is compiled by :mod:`icl_lab.rasp.compiler` and checked against the RASP
interpreter, node by node and position by position (every input up to the maximum length for
small vocabularies, thousands of random inputs for the large ones; see
:mod:`icl_lab.rasp.compiler.verify`). The figure shows each program's compiled depth next to the
depth Weiss et al. give, attention patterns of compiled heads on example inputs, and the compiled
``count`` program next to a TokenLM trained on ``count`` sizes 1..L, at and beyond L.

Presets: ``quick`` (every program, small inputs; about a minute, plus about a minute to train the
count model once), ``paper`` (larger vocabularies and lengths; about 5 minutes; the count model
is the quick one), ``smoke`` (three programs, a count model trained for 30 steps).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.core.errors import ConfigError
from icl_lab.figures.claims import AtLeast, AtMost
from icl_lab.rasp import LIBRARY
from icl_lab.rasp.compiler import compile_program, verify_library
from icl_lab.rasp.compiler.plots import attention_pattern
from icl_lab.rasp.compiler.verify import single_thread

PAPER = "Weiss, Goldberg, Yahav 2021 (arXiv:2106.06981), Table 1"
PRESETS = ("smoke", "quick", "paper")
SMOKE_PROGRAMS = ["histogram", "sort", "mode"]
#: layers of the RASP programs in Weiss et al. (the depth of select/aggregate nesting)
WEISS_LAYERS = {"histogram": 1, "reverse": 2, "sort": 2, "sort_by_frequency": 3, "dyck2_balanced": 4}
KEEP = ("program", "causal", "layers", "heads", "rasp_layers", "params", "inputs", "checked", "skipped",
        "mismatches", "max_error", "min_margin")

# (program, vocab, max_len, causal, example input, [(node, panel title)])
PANELS = [
    ("histogram", [0, 1, 2], 6, False, [2, 0, 1, 2, 0, 2],
     [("histogram", "histogram: same token\n(width, BOS weight 1/(w+1))")]),
    ("sort", [0, 1, 2], 6, False, [2, 0, 1, 2, 0, 2],
     [("sort_target_position", "sort: keys sorting before\n(width over joint keys)"),
      ("sort", "sort: gather by target\n(mean, one key each)")]),
    ("mode", [0, 1, 2], 6, True, [2, 0, 0, 1, 2, 2],
     [("top_count", "mode: max count so far\n(max, causal)")]),
]


def _weiss_mismatches(results: dict) -> int:
    """Programs of Weiss et al. among the checked ones whose compiled depth differs from theirs."""
    rows = [p for p in results["programs"] if p["program"] in results["weiss_layers"]]
    if not rows:
        raise ValueError("none of Weiss et al.'s programs was compiled")
    return sum(p["layers"] != results["weiss_layers"][p["program"]] for p in rows)


CLAIMS = (
    AtMost("Every compiled program equals the RASP interpreter on every checked input (mismatches ≤ 0)",
           lambda r: sum(p["mismatches"] for p in r["programs"]) if r["programs"] else float("nan"),
           paper_value="", bound=0, fmt=".0f"),
    AtMost("Compiled depth = Weiss et al.'s layer count for each of their programs (programs that differ ≤ 0)",
           _weiss_mismatches, paper_value="histogram 1, reverse 2, sort 2, sort by frequency 3, Dyck-2 4 layers",
           bound=0, fmt=".0f"),
    AtLeast("The compiled count program is exact at every test size, up to 3L (min exact match ≥ 1)",
            lambda r: min(row["compiled_exact"] for row in r["vs_trained"]["rows"]),
            paper_value="a RASP-L program solves count at every length (Zhou et al. 2024)", bound=1.0),
)


def _panels() -> list[dict]:
    """Attention patterns of compiled heads on the PANELS' example inputs."""
    out = []
    for name, vocab, max_len, causal, x, heads in PANELS:
        model = compile_program(LIBRARY[name](), vocab, max_len, causal=causal)
        for node, title in heads:
            out.append({"title": title, "labels": ["BOS"] + [str(t) for t in x],
                        "pattern": attention_pattern(model, node, x).tolist()})
    return out


def _vs_trained(preset: str, runs: Path) -> dict:
    """Compiled vs trained ``count``: teacher-forced agreement per test size (the table of
    :func:`icl_lab.pipelines.rasp_compare.compare`, without its files)."""
    from icl_lab.pipelines.length_generalization import eval_sizes
    from icl_lab.pipelines.rasp_compare import agreement, compile_for, train_or_load
    from icl_lab.tasks.algorithmic import make_task

    record, trained, _ = train_or_load(Path(runs) / f"rasp_compare-count-{preset}", preset)
    L = int(record["train_length"])
    n_eval, eval_seed, _ = record.get("eval", (200, 12345, 4))  # the experiment's defaults
    task = make_task("count", int(record["max_size"]))
    compiled = compile_for(task)
    rows = [agreement(trained, compiled, task, n, n_eval, eval_seed, L)[0]
            for n in eval_sizes(L, tuple(record["test_factors"]))]
    return {"L": L, "examples": int(n_eval), "rows": rows}


def compute(preset: str, runs: Path) -> dict:
    """Compile and verify the library (``smoke``: three programs), draw example attention
    patterns, and compare compiled ``count`` with a model trained under
    ``runs/rasp_compare-count-<preset>``."""
    if preset not in PRESETS:
        raise ConfigError(f"invalid preset {preset!r} for fig30: expected one of {', '.join(PRESETS)}")
    with single_thread():
        rows = verify_library("quick" if preset == "smoke" else preset,
                              SMOKE_PROGRAMS if preset == "smoke" else None)
        panels = _panels()
        vs_trained = _vs_trained(preset, runs)
    return {"programs": [{k: r[k] for k in KEEP} for r in rows], "weiss_layers": WEISS_LAYERS,
            "panels": panels, "vs_trained": vs_trained}


def _depths(ax: plt.Axes, results: dict) -> None:
    programs = results["programs"]
    y = np.arange(len(programs))
    ax.barh(y - 0.2, [p["layers"] for p in programs], 0.4, label="compiled layers", color="tab:blue")
    ax.barh(y + 0.2, [p["rasp_layers"] for p in programs], 0.4, label="RASP analysis", color="tab:cyan")
    weiss = [(i, results["weiss_layers"][p["program"]]) for i, p in enumerate(programs)
             if p["program"] in results["weiss_layers"]]
    if weiss:
        ax.plot([w for _, w in weiss], [i for i, _ in weiss], "k*", ms=10, label="Weiss et al.")
    ax.set_yticks(y, [f"{p['program']}{' (causal)' if p['causal'] else ''}" for p in programs], fontsize=8)
    ax.invert_yaxis()
    top = max(p["layers"] for p in programs)
    for i, p in enumerate(programs):
        ax.text(top + 0.3, i, f"{p['checked']:,} inputs, {p['mismatches']} wrong", va="center", fontsize=7,
                color="tab:red" if p["mismatches"] else "0.3")
    ax.set_xlim(0, top * 2.2 + 2)
    ax.set_xlabel("layers")
    ax.set_title("Depth of each compiled program, checked against the interpreter", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def _agreement(ax: plt.Axes, vs: dict) -> None:
    x = [r["n"] / vs["L"] for r in vs["rows"]]
    for key, label, style in (("compiled_exact", "compiled: exact match", "-^"),
                              ("trained_exact", "trained: exact match", ":o"),
                              ("trained_vs_compiled", "trained vs compiled (per position)", "-o"),
                              ("trained_vs_reference", "trained vs answer (per position)", "--s")):
        ax.plot(x, [r[key] for r in vs["rows"]], style, label=label, ms=4)
    ax.axvspan(0, 1, color="0.92", zorder=0)
    ax.set_xlim(min(min(x), 1.0) - 0.1, max(x) + 0.1)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("test size / training length L")
    ax.set_ylabel("agreement (teacher-forced)")
    ax.set_title(f"count: compiled vs a TokenLM trained on sizes 1..{vs['L']}\n"
                 f"({vs['examples']} examples per size; shaded: training sizes)", fontsize=10)
    ax.legend(fontsize=7)


def draw(results: dict, preset: str) -> plt.Figure:
    panels = results["panels"]
    fig = plt.figure(figsize=(15, 9.5))
    grid = fig.add_gridspec(2, len(panels), height_ratios=[1.15, 1])
    _depths(fig.add_subplot(grid[0, : len(panels) // 2]), results)
    _agreement(fig.add_subplot(grid[0, len(panels) // 2:]), results["vs_trained"])
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(grid[1, i])
        pattern = np.array(panel["pattern"])
        ax.imshow(pattern, vmin=0.0, vmax=1.0, cmap="Blues")
        ticks = range(len(panel["labels"]))
        ax.set_xticks(ticks, panel["labels"], fontsize=8)
        ax.set_yticks(ticks, panel["labels"], fontsize=8)
        ax.set_xlabel("key")
        ax.set_ylabel("query")
        ax.set_title(panel["title"], fontsize=9)
        for (q, k), w in np.ndenumerate(pattern):
            if w > 0.05:
                ax.text(k, q, f"{w:.2f}".rstrip("0").rstrip("."), ha="center", va="center", fontsize=6,
                        color="white" if w > 0.6 else "black")
    fig.suptitle(f"RASP programs compiled into transformer weights ({preset} preset)", fontsize=12)
    fig.tight_layout()
    return fig
