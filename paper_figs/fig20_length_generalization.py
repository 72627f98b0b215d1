"""Length generalization vs RASP-L (Zhou et al. 2024): exact match against test length."""

from __future__ import annotations

import shutil
from pathlib import Path

from icl_lab.pipelines.length_generalization import (
    load_config,
    plot_length_generalization,
    run_length_generalization,
)

EXPERIMENT = "length_generalization"
PRESETS = ("quick", "paper", "smoke")  # smoke: the file's own, seconds, for the tests


def main(preset: str, out_dir: Path) -> list[Path]:
    """Run the ``quick`` or ``paper`` preset (``smoke``: seconds, for tests; finished runs
    under out_dir/runs are reused) and write the figure (PNG + PDF) and the table (Markdown
    + CSV)."""
    if preset not in PRESETS:
        raise ValueError(f"invalid preset {preset!r}: expected 'quick' or 'paper' (or 'smoke')")
    out_dir = Path(out_dir)
    cfg = load_config(EXPERIMENT, preset)
    results = run_length_generalization(cfg, out_dir / "runs", resume=True)
    title = f"Length generalization: RASP-L (solid) vs not (dashed), {preset} preset"
    written = plot_length_generalization(results, out_dir / "fig20_length_generalization", title)
    for name in ("table.md", "table.csv"):
        shutil.copyfile(out_dir / "runs" / name, out_dir / f"fig20_{name}")
        written.append(out_dir / f"fig20_{name}")
    return written


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig20_length_generalization")))
