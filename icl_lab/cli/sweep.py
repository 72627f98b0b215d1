"""``icl-lab sweep`` and ``icl-lab sweep-report``: grids × seeds of runs, locally or on Ray.

The commands are typed functions that tests call through :data:`sweep_app`;
:func:`register_sweep_commands` adds them to the main ``icl-lab`` app. Known user
errors end with one line on stderr and exit code 2; failed runs give exit code 1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from icl_lab.cli.errors import friendly
from icl_lab.core.errors import ConfigError

sweep_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Sweeps: a grid × seeds of runs, locally or on a Ray cluster.")

GRID_HELP = "Swept values, e.g. --grid task.d=5,10,20 (repeatable: the grid is the product)."
SET_HELP = "Override a config value for every run, e.g. --set train.steps=2000 (repeatable)."


def _print_report(report: dict) -> None:
    states = ", ".join(f"{n} {state}" for state, n in sorted(report["states"].items()))
    typer.echo(f"{len(report['runs'])} runs: {states}")
    for name in report["missing"]:
        typer.echo(f"  missing  {name}")
    for name in report["unfinished"]:
        if name not in {f["run"] for f in report["failed"]}:
            typer.echo(f"  unfinished  {name}")
    for failure in report["failed"]:
        typer.echo(f"  failed   {failure['run']}: {failure['error']}")
    for row in report["summary"]:
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items()) or "all runs"
        cells = [f"{label} {row[f'error_{label}']:.3f} ± {row[f'se_{label}']:.3f}"
                 for label in ("k=d", "k=2d") if row[f"error_{label}"] is not None]
        typer.echo(f"  {params:<40} {row['learner']} error " + "  ".join(cells) + f"  (n={row['n_seeds']})")
    if report.get("paths"):
        typer.echo("wrote " + ", ".join(report["paths"]))


@friendly(interrupted='interrupted: running runs wrote checkpoints; re-run the same command to continue')
def sweep(experiment: Path = typer.Argument(..., help="Experiment TOML file or name in experiments/."),
          preset: Optional[str] = typer.Option(None, help="Preset in the file (default: the file's default)."),
          set_: list[str] = typer.Option([], "--set", help=SET_HELP),
          grid: list[str] = typer.Option([], "--grid", help=GRID_HELP),
          seeds: str = typer.Option("1", help="N (seeds 0..N-1, set as train.seed) or a list such as 0,5,9."),
          vary_eval_seed: bool = typer.Option(False, help="Give each seed its own held-out prompts "
                                              "(default: identical eval prompts across seeds)."),
          executor: str = typer.Option("local", help="local (worker processes here) or ray."),
          address: Optional[str] = typer.Option(None, help="Ray cluster: auto, HOST:6379 or ray://HOST:10001 "
                                                "(default: start a local Ray instance)."),
          workers: Optional[int] = typer.Option(None, help="Runs at once (local default 1; ray default: "
                                                "as many as the cluster's resources allow)."),
          cpus_per_run: Optional[int] = typer.Option(None, help="CPUs (= torch threads) per run "
                                                     "(local default: cores / workers; ray default 1)."),
          gpus_per_run: float = typer.Option(0.0, help="GPUs each Ray task asks for (fractions share a GPU)."),
          retries: int = typer.Option(1, help="Retries of a failed run (each resumes from its checkpoint)."),
          ensemble: bool = typer.Option(True, help="Train runs of one shape that differ only in seed, learning "
                                        "rate, task pool, noise... at once, as one batched ensemble (each keeps "
                                        "its own run directory); --no-ensemble trains every run alone."),
          ensemble_size: int = typer.Option(8, help="Most runs in one ensemble."),
          out: Optional[Path] = typer.Option(None, help="Sweep directory (default runs/sweeps/<experiment>-<preset>)."),
          report: bool = typer.Option(True, help="Write report.csv/.json/.png when the sweep ends."),
          dry_run: bool = typer.Option(False, "--dry-run", help="List the runs and exit; nothing is written.")) -> None:
    """Run EXPERIMENT over a grid × seeds; re-run the same command to resume or retry."""
    from icl_lab.sweep import (
        SweepDisplay,
        SweepLock,
        build_plan,
        check_existing_runs,
        check_options,
        make_executor,
        run_sweep,
        write_manifest,
        write_report,
    )

    plan = build_plan(experiment, preset, set_, grid, seeds, vary_eval_seed)  # every config validated here
    check_options(executor, address, workers, cpus_per_run, gpus_per_run)  # and a missing ray, too
    if retries < 0:
        raise ConfigError(f"invalid --retries {retries}: expected an integer >= 0")
    if ensemble_size < 1:
        raise ConfigError(f"invalid --ensemble-size {ensemble_size}: expected an integer >= 1")
    sweep_dir = out if out is not None else plan.default_dir()
    if dry_run:
        for run in plan.runs:
            typer.echo(f"{sweep_dir / run.name}  {run.config_hash}")
        typer.echo(f"{len(plan.runs)} runs")
        return
    t0 = time.perf_counter()
    with SweepLock(sweep_dir):
        check_existing_runs(plan, sweep_dir)
        backend = make_executor(executor, address, workers, cpus_per_run, gpus_per_run)
        for note in getattr(backend, "warnings", []):
            typer.echo(f"warning: {note}", err=True)
        write_manifest(plan, sweep_dir)
        summary = run_sweep(plan, sweep_dir, backend, retries=retries, display=SweepDisplay(len(plan.runs)),
                            ensemble=ensemble_size if ensemble else 1)
    counts = {state: len(summary.names(state)) for state in ("finished", "skipped", "failed")}
    typer.echo(f"sweep {sweep_dir}: {len(plan.runs)} runs, {counts['finished']} finished, "
               f"{counts['skipped']} already finished, {counts['failed']} failed "
               f"({time.perf_counter() - t0:.0f}s)")
    for failure in summary.failed:
        typer.echo(f"  failed {failure.name}: {failure.error} (see {sweep_dir / failure.name}/error.txt)")
    if report:
        _print_report(write_report(sweep_dir))
    if summary.failed:
        raise typer.Exit(1)


@friendly(interrupted='interrupted: running runs wrote checkpoints; re-run the same command to continue')
def sweep_report(sweep_dir: Path = typer.Argument(..., help="A sweep directory written by `icl-lab sweep`."),
                 out: Optional[Path] = typer.Option(None, help="Where to write report.* (default: SWEEP_DIR)."),
                 x: Optional[str] = typer.Option(None, "--x", help="Grid key on the x axis (default: the first)."),
                 learner: str = typer.Option("model", help="Learner whose error is drawn (model or a baseline)."),
                 ) -> None:
    """Collect every run's metrics and curves into report.csv/.json and draw report.png/.pdf."""
    from icl_lab.sweep import write_report

    _print_report(write_report(sweep_dir, out, x, learner))


def register_sweep_commands(app: typer.Typer) -> None:
    """Add ``sweep`` and ``sweep-report`` to a typer app (the main ``icl-lab`` app)."""
    app.command("sweep")(sweep)
    app.command("sweep-report")(sweep_report)


register_sweep_commands(sweep_app)

if __name__ == "__main__":  # python -m icl_lab.cli.sweep sweep ...
    sweep_app()
