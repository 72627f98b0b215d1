"""Chain of thought vs direct (Feng et al. 2023, Fig. 3 / Table): accuracy heatmap of
task x size against CoT-3 and Direct-3/4/5, plus the Markdown table."""

from __future__ import annotations

import shutil
from pathlib import Path

from icl_lab.pipelines.cot import load_config, plot_cot_table, run_chain_of_thought

EXPERIMENT = "chain_of_thought"
PRESETS = ("quick", "paper", "smoke")  # smoke: the file's own, seconds, for the tests


def results_for(preset: str, out_dir: Path) -> dict:
    """Run (or reuse the finished cells of) the preset under out_dir/runs."""
    if preset not in PRESETS:
        raise ValueError(f"invalid preset {preset!r}: expected 'quick' or 'paper' (or 'smoke')")
    cfg = load_config(EXPERIMENT, preset)
    return run_chain_of_thought(cfg, Path(out_dir) / "runs", resume=True, log=None)


def main(preset: str, out_dir: Path) -> list[Path]:
    """Run the ``quick`` or ``paper`` preset (``smoke``: seconds, for tests) and write the
    heatmap (PNG + PDF) and the table (Markdown)."""
    out_dir = Path(out_dir)
    results = results_for(preset, out_dir)
    title = f"Chain of thought vs direct: exact-answer accuracy % ({preset} preset)"
    written = plot_cot_table(results, out_dir / "fig70_cot_table", title)
    shutil.copyfile(out_dir / "runs" / "table.md", out_dir / "fig70_table.md")
    return [*written, out_dir / "fig70_table.md"]


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig70_cot_table")))
