"""Garg et al. 2022, Fig. 2: a transformer's in-context error on linear regression follows least squares."""

from __future__ import annotations

import json
from pathlib import Path

from icl_lab.figures.plotting import plot_error_curves
from paper_figs._common import experiment_config, trained_run


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig01_garg_linear_regression")) -> list[Path]:
    """Train (or reuse) the linear-regression run of ``preset`` and draw model vs baselines."""
    out_dir = Path(out_dir)
    cfg = experiment_config("linear_regression", preset)
    _, results = trained_run(cfg, out_dir)
    curves = results["in_distribution"]
    title = f"Linear regression in context (d = {cfg.task.d}, {preset} preset)"
    written = [out_dir / "fig01.png", out_dir / "fig01.pdf", out_dir / "fig01.json"]
    plot_error_curves(curves, out_dir / "fig01", title=title, d=cfg.task.d)
    (out_dir / "fig01.json").write_text(json.dumps({k: v["mean"] for k, v in curves.items()}, indent=1))
    return written


if __name__ == "__main__":
    import typer

    typer.run(main)
