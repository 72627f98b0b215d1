"""The ``icl-lab`` command table. Each command is a typed function that tests call directly.

``run`` / ``train`` / ``eval`` take any experiment file (its ``kind`` picks the pipeline);
the small tools live in sub-apps (``rasp``, ``cot``, ``bandits``) and all take ``--json``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from icl_lab.cli.errors import friendly
from icl_lab.core.errors import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="icl_lab: train in-context learners and compare them with classical algorithms.")

EXPERIMENT_HELP = "Experiment TOML file, or the name of one in experiments/."
SET_HELP = "Override a config value, e.g. --set task.d=10 (repeatable)."


def _run_dir(cfg, out: Optional[Path]) -> Path:
    from icl_lab.pipelines import default_run_dir

    return out if out is not None else default_run_dir(cfg)


# The options of `run` and `train`, declared once.
Experiment = Annotated[Path, typer.Argument(help=EXPERIMENT_HELP)]
Preset = Annotated[Optional[str], typer.Option(help="Preset in the file (default: the file's default).")]
Sets = Annotated[list[str], typer.Option("--set", help=SET_HELP)]
Out = Annotated[Optional[Path], typer.Option(help="Run directory (default runs/<name>-<preset>).")]
Resume = Annotated[bool, typer.Option(help="Continue an interrupted run from its checkpoints.")]
Force = Annotated[bool, typer.Option(help="Overwrite an existing run (only a run is ever removed).")]


def _start(experiment: Path, preset: Optional[str], set_: list[str], out: Optional[Path], resume: bool,
           force: bool, train_only: bool) -> tuple[Any, Any, Path, dict, float]:
    from icl_lab.pipelines import load_experiment

    pipeline, cfg = load_experiment(experiment, preset, set_)
    run_dir = _run_dir(cfg, out)
    t0 = time.perf_counter()
    results = pipeline.run(cfg, run_dir, resume=resume, force=force, train_only=train_only)
    return pipeline, cfg, run_dir, results, time.perf_counter() - t0


@app.command()
@friendly
def run(experiment: Experiment, preset: Preset = None, set_: Sets = [], out: Out = None,  # noqa: B006
        resume: Resume = False, force: Force = False) -> None:
    """Run any experiment file: train, evaluate against the baselines, write results and figures."""
    pipeline, cfg, run_dir, results, seconds = _start(experiment, preset, set_, out, resume, force, False)
    for line in pipeline.summary(results, cfg):
        typer.echo(line)
    typer.echo(f"wrote {run_dir} ({pipeline.kind}) in {seconds:.0f}s")


@app.command()
@friendly
def train(experiment: Experiment, preset: Preset = None, set_: Sets = [], out: Out = None,  # noqa: B006
          resume: Resume = False, force: Force = False) -> None:
    """Train only (every model of the experiment); evaluate later with `icl-lab eval RUN_DIR`."""
    pipeline, _, run_dir, _, seconds = _start(experiment, preset, set_, out, resume, force, True)
    typer.echo(f"trained {run_dir} ({pipeline.kind}) in {seconds:.0f}s; evaluate with: icl-lab eval {run_dir}")


@app.command("eval")
@friendly
def eval_(run_dir: Path = typer.Argument(..., help="A run directory written by `icl-lab run/train`."),
          json_: bool = typer.Option(False, "--json", help="Print the results as JSON (regression: "
                                     "{learner: per-position error}).")) -> None:
    """Evaluate a trained run (any kind) and its baselines on held-out prompts. A run whose
    training is unfinished is refused and left as it is."""
    from icl_lab.core.errors import RunError
    from icl_lab.core.runs import RunDir
    from icl_lab.evaluation.regression import mean_curves
    from icl_lab.pipelines import load_run, regression

    pipeline, cfg = load_run(run_dir)
    if pipeline.kind == "regression":
        results = regression.evaluate_run(run_dir)
        payload = ({name: mean_curves(r["in_distribution"]) for name, r in results["members"].items()}
                   if "members" in results else mean_curves(results["in_distribution"]))
    else:
        state = RunDir(run_dir).status()
        if state.get("state") not in ("trained", "finished"):
            raise RunError(f"{run_dir} is not trained (state {state.get('state')!r}): "
                           "finish it with `icl-lab train FILE --resume --out RUN_DIR`")
        results = pipeline.run(cfg, run_dir, resume=True)
        payload = results
    if json_:
        typer.echo(dumps(payload))
    else:
        for line in pipeline.summary(results, cfg):
            typer.echo(line)


@app.command()
@friendly
def baselines(experiment: Path = typer.Argument(..., help=EXPERIMENT_HELP),
              preset: Optional[str] = typer.Option(None, help="Preset in the file."),
              set_: list[str] = typer.Option([], "--set", help=SET_HELP),
              prompts: Optional[int] = typer.Option(None, help="Number of prompts (default eval.n_prompts)."),
              seed: Optional[int] = typer.Option(None, help="Seed of the prompts (default eval.seed)."),
              only: list[str] = typer.Option([], "--baseline", help="Evaluate only these (repeatable)."),
              json_: bool = typer.Option(False, "--json", help="Print {baseline: per-position error} as JSON.")) -> None:
    """Evaluate only the baselines; entry k is the error of the prediction for example k+1."""
    from dataclasses import replace

    from icl_lab.baselines.registry import (
        BASELINE_NAMES,
        BOOLEAN_ONLY,
        default_baselines,
        is_boolean,
        unavailable_reason,
    )
    from icl_lab.evaluation.regression import evaluate_experiment, mean_curves
    from icl_lab.pipelines import regression

    overrides = list(set_)
    if prompts is not None:
        overrides.append(f"eval.n_prompts={prompts}")
    if seed is not None:
        overrides.append(f"eval.seed={seed}")
    cfg = regression.load(experiment, preset, overrides)
    names = tuple(only) or default_baselines(cfg.task, cfg.eval)
    for name in only:  # the checks eval.baselines gets at load
        if name not in BASELINE_NAMES:
            raise ConfigError(f"unknown baseline {name!r}: choose from {', '.join(BASELINE_NAMES)}")
        reason = None if is_boolean(cfg.task) else unavailable_reason(name, cfg.task)
        if reason is not None or (name in BOOLEAN_ONLY and not is_boolean(cfg.task)):
            raise ConfigError(f"invalid --baseline {name}: not a baseline for task {cfg.task.name!r} "
                              f"({reason or 'a Boolean learner'})")
    cfg = replace(cfg, eval=replace(cfg.eval, ood=()))
    results = evaluate_experiment(cfg, None, names)
    if json_:
        typer.echo(dumps(mean_curves(results["in_distribution"])))
    else:
        for line in regression.summary(results, cfg.task.d):
            typer.echo(line)


@app.command()
def tasks() -> None:
    """List the task families and the parameters each one reads."""
    from icl_lab.tasks import TASKS

    for family in TASKS.values():
        typer.echo(f"{family.name:<28} {family.description}")
        typer.echo(f"{'':<28} parameters: {', '.join('task.' + p for p in family.parameters)}")


@app.command()
def experiments() -> None:
    """List the bundled experiment files with their kinds."""
    from icl_lab.core.config_files import bundled_experiments, read_experiment

    for path in bundled_experiments():
        kind = read_experiment(path, preset="").get("kind")
        typer.echo(f"{path.stem:<36} {kind}")


from icl_lab.cli.bandits import bandits_app  # noqa: E402
from icl_lab.cli.cot import cot_app  # noqa: E402
from icl_lab.cli.figures import register_figure_commands  # noqa: E402
from icl_lab.cli.rasp import rasp_app  # noqa: E402
from icl_lab.cli.sweep import register_sweep_commands  # noqa: E402
from icl_lab.core.runs import dumps

register_sweep_commands(app)
register_figure_commands(app)
app.add_typer(rasp_app, name="rasp", help="RASP programs: RASP-L checks and the RASP compiler.")
app.add_typer(cot_app, name="cot", help="Chain-of-thought problems (Feng et al. 2023).")
app.add_typer(bandits_app, name="bandits", help="Bandit tools: the exact Bernoulli Bayes-optimal DP.")


def main() -> None:  # console-script entry point
    import matplotlib

    matplotlib.use("Agg")  # the command line draws to files only
    app()


if __name__ == "__main__":
    sys.exit(main())
