"""Chain of thought vs direct (Feng et al. 2023): accuracy against problem size, one
panel per task (direct accuracy falls with size and rises with depth; CoT stays high)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from icl_lab.pipelines.cot import plot_accuracy_vs_size

_spec = importlib.util.spec_from_file_location("fig70_cot_table", Path(__file__).with_name("fig70_cot_table.py"))
_fig70 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fig70)


def main(preset: str, out_dir: Path) -> list[Path]:
    """Same runs as fig70 (reused when finished); writes the line plot (PNG + PDF)."""
    out_dir = Path(out_dir)
    # the runs live next to fig70's (``icl-lab figs`` writes each figure to out/<stem>)
    runs = out_dir.parent / "fig70_cot_table"
    return plot_accuracy_vs_size(_fig70.results_for(preset, runs), out_dir / "fig71_cot_accuracy_vs_size")


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1] if len(sys.argv) > 1 else "quick", Path("figs_out/fig71_cot_accuracy_vs_size")))
