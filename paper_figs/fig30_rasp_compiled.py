"""Figure 30: RASP programs compiled into transformer weights, checked against the interpreter.

``main(preset, out_dir)`` compiles every library program with
:mod:`icl_lab.rasp.compiler`, verifies each compiled model against the RASP
interpreter (every input up to the maximum length for small vocabularies,
thousands of random inputs for the large ones; see
``icl_lab.rasp.compiler.verify``) and writes

* ``fig30_rasp_compiled.csv`` / ``.md``: program, layers, heads, parameters,
  inputs checked, mismatches (all 0), numerical error, one-hot margin;
* ``fig30_rasp_compiled.png`` / ``.pdf``: attention patterns of compiled heads
  on example inputs (histogram, sort's counting and gathering heads, mode's
  max head);
* ``fig30_vs_trained*``: the compiled ``count`` program next to a TokenLM trained
  on ``count`` sizes 1..L (:func:`compare_with_trained`): agreement table,
  attention-overlap table, side-by-side attention patterns and agreement against
  length up to 3L.

Presets: ``quick`` (about a minute of CPU, 1-2 minutes on a busy 2-core
machine; all programs, smaller inputs; plus about a minute to train the count
model once) and ``paper`` (larger vocabularies and lengths, 159k inputs; about 5
minutes). ``smoke`` (for tests) checks three programs only and trains the count
model for 30 steps.

Run: ``python paper_figs/fig30_rasp_compiled.py --preset quick``.
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import sys

import matplotlib.pyplot as plt

from icl_lab.figures.plotting import save_figure
from icl_lab.rasp import LIBRARY
from icl_lab.rasp.compiler import CompiledModel, compile_program, format_table, verify_library
from icl_lab.rasp.compiler.plots import plot_pattern
from icl_lab.rasp.compiler.verify import single_thread

STEM = "fig30_rasp_compiled"
SMOKE_PROGRAMS = ["histogram", "sort", "mode"]
CSV_COLUMNS = ["program", "causal", "layers", "heads", "rasp_layers", "d_model", "params", "vocab",
               "max_len", "inputs", "checked", "skipped", "mismatches", "max_error", "min_margin",
               "compile_s", "verify_s"]

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


def write_table(rows: list[dict], out_dir: pathlib.Path) -> list[pathlib.Path]:
    """The verification table as CSV and markdown."""
    csv_path, md_path = out_dir / f"{STEM}.csv", out_dir / f"{STEM}.md"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    checked = sum(r["checked"] for r in rows)
    mismatches = sum(r["mismatches"] for r in rows)
    md_path.write_text(
        "# RASP library compiled to transformer weights\n\n"
        f"{len(rows)} programs, {checked:,} inputs checked, {mismatches} mismatches. "
        "`layers`: compiled layers; `rasp_layers`: attention depth from the RASP analysis; "
        "`inputs`: all inputs up to `max_len` over `vocab` tokens, or random ones; every node "
        "of each program is compared; numerical tolerance 1e-6 (float64).\n\n"
        + format_table(rows) + "\n")
    return [csv_path, md_path]


def plot_heads(out_dir: pathlib.Path) -> tuple[list[pathlib.Path], dict[str, CompiledModel]]:
    """Attention patterns of compiled heads on example inputs (PNG and PDF)."""
    n_panels = sum(len(p[-1]) for p in PANELS)
    fig, axes = plt.subplots(1, n_panels, figsize=(3.3 * n_panels, 3.6))
    models: dict[str, CompiledModel] = {}
    i = 0
    for name, vocab, max_len, causal, x, heads in PANELS:
        models[name] = compile_program(LIBRARY[name](), vocab, max_len, causal=causal)
        for node, title in heads:
            plot_pattern(models[name], node, x, ax=axes[i], title=title)
            i += 1
    fig.suptitle("Attention patterns of compiled RASP programs (rows: queries, columns: keys)",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_dir / STEM), models


def compare_with_trained(compiled: dict[str, CompiledModel], out_dir: pathlib.Path,
                         preset: str) -> list[pathlib.Path]:
    """Compiled vs TRAINED ``count`` model, at and beyond the training length.

    :func:`icl_lab.pipelines.rasp_compare.compare_count` trains a TokenLM on ``count``
    with the length-generalization experiment's quick settings (L = 10, 2 layers x 4
    heads, 1000 steps, about a minute of CPU; ``smoke``: 30 steps at L = 4; ``paper``
    trains the quick model too) under ``out_dir/runs/<preset>`` (reused when finished),
    compiles ``LIBRARY["count"]`` causally for the task's vocabulary and lengths up to 3L,
    and writes ``fig30_vs_trained.csv`` / ``.md`` (per-position agreement of the trained
    model with the compiled model and with the answer, at 0.5L..3L),
    ``fig30_vs_trained_heads.csv`` (attention overlap of each compiled head with its best
    trained head) and the figures ``fig30_vs_trained_attention`` (compiled heads above
    the trained heads on one input of size 2L) and ``fig30_vs_trained_agreement``.
    ``compiled`` (the panels' models) is not used: count is compiled for the task's own
    vocabulary here. Returns the written paths.
    """
    from icl_lab.pipelines.rasp_compare import compare_count

    result = compare_count(out_dir, preset=preset, stem="fig30_vs_trained",
                           log=lambda line: print(f"  vs trained: {line}", flush=True))
    return result.paths


def main(preset: str, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Compile and verify the RASP library, write the table and the figure; return the paths."""
    if preset not in ("quick", "paper", "smoke"):
        raise ValueError(f"invalid preset {preset!r}: expected 'quick' or 'paper'")
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def report(row: dict) -> None:
        print(f"  {row['program']}: {row['layers']} layers, {row['heads']} heads, "
              f"{row['params']:,} params, {row['checked']:,} inputs, "
              f"{row['mismatches']} mismatches ({row['compile_s'] + row['verify_s']:.1f}s)",
              flush=True)

    with single_thread():
        names = SMOKE_PROGRAMS if preset == "smoke" else None
        rows = verify_library("quick" if preset == "smoke" else preset, names, progress=report)
        paths = write_table(rows, out_dir)
        figure_paths, models = plot_heads(out_dir)
    paths += figure_paths
    paths += compare_with_trained(models, out_dir, preset)
    bad = [r["program"] for r in rows if r["mismatches"]]
    if bad:
        print(f"MISMATCHES in {bad}", file=sys.stderr)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=["quick", "paper"])
    parser.add_argument("--out-dir", type=pathlib.Path,
                        default=pathlib.Path("figs_out/fig30_rasp_compiled"))
    args = parser.parse_args()
    for path in main(args.preset, args.out_dir):
        print(path)
