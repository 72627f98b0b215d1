"""Yang et al. 2024: looped vs standard transformer on sparse linear regression, with Lasso.

Same panels as fig40. The standard model is experiments/linear_regression.toml trained on
the looped experiment's task (its own run directory).
"""

from __future__ import annotations

from pathlib import Path

from paper_figs._common import experiment_config
from paper_figs.fig40_looped_linear_regression import compare


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig41_looped_sparse_linear_regression")) -> list[Path]:
    """Looped vs standard on sparse linear regression; error against loop iteration up to 20b."""
    task = experiment_config("looped_sparse_linear_regression", preset).task
    standard = ["task.name=sparse_linear_regression", f"task.sparsity={task.sparsity}",
                f"task.d={task.d}", f"task.n_points={task.n_points}",
                'eval.baselines=["least_squares", "lasso", "ridge"]']
    return compare("looped_sparse_linear_regression", preset, out_dir, "fig41",
                   "Looped vs standard, sparse linear regression", standard, "sparse_linear_regression_standard")


if __name__ == "__main__":
    import typer

    typer.run(main)
