"""Bhattamishra et al. 2024, Table/Fig. 2: accuracy at the end of the prompt, Boolean class × learner."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from icl_lab.figures.plotting import save_figure
from icl_lab.pipelines.boolean import PRETTY, SMOKE_CLASSES, accuracy_table, format_table, run_all
from icl_lab.tasks.boolean import BOOLEAN_CLASSES


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig50_boolean_table")) -> list[Path]:
    """Train (or reuse) transformer / LSTM / GRU per class, evaluate every learner, draw the table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = SMOKE_CLASSES if preset == "smoke" else BOOLEAN_CLASSES
    results = run_all(preset, out_dir.parent / "runs", classes)
    table = accuracy_table(results)
    learners = list(dict.fromkeys(name for row in table.values() for name in row))
    grid = np.array([[table[c].get(name) if table[c].get(name) is not None else np.nan for name in learners]
                     for c in classes])
    fig, ax = plt.subplots(figsize=(1.0 * len(learners) + 2, 0.45 * len(classes) + 1.5))
    im = ax.imshow(grid, vmin=0.5, vmax=1.0, cmap="viridis", aspect="auto")
    for i in range(len(classes)):
        for j in range(len(learners)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if grid[i, j] < 0.8 else "black")
    ax.set_xticks(range(len(learners)), [PRETTY.get(n, n) for n in learners], rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    n = next(iter(results.values()))["n"]
    ax.set_title(f"accuracy (%) at the last in-context example, n = {n} ({preset} preset)")
    fig.colorbar(im, ax=ax, fraction=0.03)
    written = save_figure(fig, out_dir / "fig50")
    summary = {"table": table, "bayes_seconds": {c: r["seconds"].get("bayes") for c, r in results.items()},
               "bayes_method": {c: r["bayes_method"] for c, r in results.items()}}
    (out_dir / "fig50.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "fig50.md").write_text(format_table(table) + "\n")
    return written + [out_dir / "fig50.json", out_dir / "fig50.md"]


if __name__ == "__main__":
    import typer

    typer.run(main)
