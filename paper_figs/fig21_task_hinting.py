"""Task hinting (Awasthi & Gupta): sort alone vs sort trained with the successor task."""

from __future__ import annotations

import shutil
from pathlib import Path

from icl_lab.pipelines.length_generalization import (
    load_config,
    plot_length_generalization,
    run_length_generalization,
)

EXPERIMENT = "length_generalization"
PRESETS = {"quick": "hinting_quick", "paper": "hinting_paper", "smoke": "hinting_smoke"}


def main(preset: str, out_dir: Path) -> list[Path]:
    """Train sort and sort+successor on sizes <= L, test up to 5L; write the figure
    (PNG + PDF) and the table (Markdown + CSV). Finished runs under out_dir/runs are reused;
    ``smoke`` shrinks the quick preset to seconds for tests."""
    if preset not in PRESETS:
        raise ValueError(f"invalid preset {preset!r}: expected 'quick' or 'paper' (or 'smoke')")
    out_dir = Path(out_dir)
    cfg = load_config(EXPERIMENT, PRESETS[preset])
    results = run_length_generalization(cfg, out_dir / "runs", resume=True)
    title = f"Task hinting: sorting alone vs with the successor task ({preset} preset)"
    written = plot_length_generalization(results, out_dir / "fig21_task_hinting", title)
    for name in ("table.md", "table.csv"):
        shutil.copyfile(out_dir / "runs" / name, out_dir / f"fig21_{name}")
        written.append(out_dir / f"fig21_{name}")
    return written


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig21_task_hinting")))
