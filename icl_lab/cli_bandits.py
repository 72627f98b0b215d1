"""``icl-lab bandits ...``: in-context bandit experiments (DPT, AD) and the Bayes-optimal DP.

A typer sub-app (:data:`bandits_app`); each command is a typed function that tests call
directly. Known user errors end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from icl_lab.cli_errors import friendly

bandits_app = typer.Typer(add_completion=False, no_args_is_help=True,
                          help="In-context bandits: DPT / AD pretraining, online and offline regret.")

EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "bandits.toml"


@bandits_app.command("run")
@friendly
def run(experiment: Path = typer.Option(EXPERIMENT, help="Experiment TOML (default experiments/bandits.toml)."),
        preset: Optional[str] = typer.Option(None, help="quick (CPU minutes) or paper (default: the file's)."),
        set_: list[str] = typer.Option([], "--set", help="Override a value, e.g. --set train.steps=500 or "
                                       "--set run=dpt_gaussian."),
        out: Optional[Path] = typer.Option(None, help="Output directory (default runs/<name>-<preset>)."),
        resume: bool = typer.Option(False, help="Reuse finished settings, continue interrupted training."),
        force: bool = typer.Option(False, help="Overwrite existing results.")) -> None:
    """Pretrain, evaluate every learner on the same held-out tasks, print the regret table."""
    from icl_lab.bandit_experiments import format_table, load_config, run_bandits

    cfg = load_config(experiment, preset, list(set_))
    out_dir = out if out is not None else Path("runs") / (f"{cfg.name}-{cfg.preset}" if cfg.preset else cfg.name)
    t0 = time.perf_counter()
    results = run_bandits(cfg, out_dir, resume=resume, force=force, log=lambda line: typer.echo(line, err=True))
    typer.echo(format_table(results["settings"]), nl=False)
    typer.echo(f"wrote {out_dir}/results.json and table.md in {time.perf_counter() - t0:.0f}s")


@bandits_app.command("bayes-optimal")
@friendly
def bayes_optimal(arms: int = typer.Option(2, help="Number of Bernoulli arms K."),
                  horizon: int = typer.Option(50, help="Horizon H.")) -> None:
    """Solve the Beta(1,1) Bernoulli bandit exactly; print states, time and Bayes regret."""
    from icl_lab.baselines.bandit_bayes_optimal import timing_table

    row = timing_table([(arms, horizon)])[0]
    typer.echo(", ".join(f"{k}={v}" for k, v in row.items()))
