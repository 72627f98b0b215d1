"""The ``icl-lab`` command line. Each command is a typed function that tests call directly."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from icl_lab.cli_errors import friendly
from icl_lab.config import load_experiment

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="icl_lab: train in-context learners and compare them with classical algorithms.")

PAPER_FIGS = Path(__file__).resolve().parent.parent / "paper_figs"
SET_HELP = "Override a config value, e.g. --set task.d=10 (repeatable)."


def _out_dir(cfg, out: Optional[Path]) -> Path:
    from icl_lab.experiment import default_run_dir

    return out if out is not None else default_run_dir(cfg)


def _print_summary(results: dict, d: int) -> None:
    curves = results["in_distribution"]
    ks = [k for k in (0, d // 2, d, 2 * d) if k < len(next(iter(curves.values()))["mean"])]
    typer.echo("normalised error at k = " + ", ".join(map(str, ks)))
    for name, s in curves.items():
        typer.echo(f"  {name:<16}" + "  ".join(f"{s['mean'][k]:.3f}" for k in ks))


@app.command()
@friendly
def run(experiment: Path = typer.Argument(..., help="Experiment TOML file or name in experiments/."),
        preset: Optional[str] = typer.Option(None, help="Preset in the file (default: the file's default)."),
        set_: list[str] = typer.Option([], "--set", help=SET_HELP),
        out: Optional[Path] = typer.Option(None, help="Run directory (default runs/<name>-<preset>)."),
        resume: bool = typer.Option(False, help="Continue an interrupted run from its checkpoint."),
        force: bool = typer.Option(False, help="Overwrite an existing run directory.")) -> None:
    """Train, evaluate against the baselines and draw the error curves."""
    from icl_lab.experiment import run_experiment

    cfg = load_experiment(experiment, preset, set_)
    run_dir = _out_dir(cfg, out)
    t0 = time.perf_counter()
    results = run_experiment(cfg, run_dir, resume=resume, force=force)
    _print_summary(results, cfg.task.d)
    typer.echo(f"wrote {run_dir}/figure.png and results.json in {time.perf_counter() - t0:.0f}s")


@app.command()
@friendly
def train(experiment: Path = typer.Argument(..., help="Experiment TOML file or name in experiments/."),
          preset: Optional[str] = typer.Option(None, help="Preset in the file."),
          set_: list[str] = typer.Option([], "--set", help=SET_HELP),
          out: Optional[Path] = typer.Option(None, help="Run directory (default runs/<name>-<preset>)."),
          resume: bool = typer.Option(False, help="Continue an interrupted run from its checkpoint."),
          force: bool = typer.Option(False, help="Overwrite an existing run directory.")) -> None:
    """Train only; evaluate later with `icl-lab eval RUN_DIR`."""
    from icl_lab.train import train as train_fn

    cfg = load_experiment(experiment, preset, set_)
    run_dir = _out_dir(cfg, out)
    train_fn(cfg, run_dir, resume=resume, force=force)
    typer.echo(f"trained {run_dir}")


@app.command("eval")
@friendly
def eval_(run_dir: Path = typer.Argument(..., help="A run directory written by `icl-lab run/train`."),
          json_: bool = typer.Option(False, "--json", help="Print {learner: per-position error} as JSON.")) -> None:
    """Evaluate a trained run and its baselines on held-out prompts."""
    from icl_lab.evaluate import mean_curves
    from icl_lab.experiment import evaluate_run

    results = evaluate_run(run_dir)
    if json_:
        typer.echo(json.dumps(mean_curves(results["in_distribution"])))
    else:
        from icl_lab.runs import RunDir

        _print_summary(results, RunDir(run_dir).config().task.d)


@app.command()
@friendly
def baselines(experiment: Path = typer.Argument(..., help="Experiment TOML file or name in experiments/."),
              preset: Optional[str] = typer.Option(None, help="Preset in the file."),
              set_: list[str] = typer.Option([], "--set", help=SET_HELP),
              prompts: Optional[int] = typer.Option(None, help="Number of prompts (default eval.n_prompts)."),
              seed: Optional[int] = typer.Option(None, help="Seed of the prompts (default eval.seed)."),
              only: list[str] = typer.Option([], "--baseline", help="Evaluate only these (repeatable)."),
              json_: bool = typer.Option(False, "--json", help="Print {baseline: per-position error} as JSON.")) -> None:
    """Evaluate only the baselines; entry k is the error of the prediction for example k+1."""
    from dataclasses import replace

    from icl_lab.baselines.registry import default_baselines
    from icl_lab.evaluate import evaluate_experiment, mean_curves

    overrides = list(set_)
    if prompts is not None:
        overrides.append(f"eval.n_prompts={prompts}")
    if seed is not None:
        overrides.append(f"eval.seed={seed}")
    cfg = load_experiment(experiment, preset, overrides)
    names = tuple(only) or default_baselines(cfg.task, cfg.eval)
    cfg = replace(cfg, eval=replace(cfg.eval, ood=()))
    results = evaluate_experiment(cfg, None, names)
    if json_:
        typer.echo(json.dumps(mean_curves(results["in_distribution"])))
    else:
        _print_summary(results, cfg.task.d)


@app.command()
def tasks() -> None:
    """List the task families and the parameters each one reads."""
    from icl_lab.tasks import TASKS

    for family in TASKS.values():
        typer.echo(f"{family.name:<28} {family.description}")
        typer.echo(f"{'':<28} parameters: {', '.join('task.' + p for p in family.parameters)}")


def _figure_scripts() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PAPER_FIGS.glob("fig*.py"))}


@app.command()
@friendly
def figs(names: list[str] = typer.Argument(None, help="Figures to regenerate (prefix match); none: list them."),
         preset: str = typer.Option("quick", help="quick (CPU minutes) or paper (the paper's settings)."),
         out: Path = typer.Option(Path("figs_out"), help="Output directory."),
         all_: bool = typer.Option(False, "--all", help="Regenerate every figure.")) -> None:
    """List or regenerate the figures of the reproduced papers (scripts in paper_figs/)."""
    scripts = _figure_scripts()
    if not names and not all_:
        for stem, path in scripts.items():
            spec_doc = path.read_text().split('"""')[1].strip().splitlines()[0] if '"""' in path.read_text() else ""
            typer.echo(f"{stem:<40} {spec_doc}")
        typer.echo("regenerate with: icl-lab figs NAME [--preset quick|paper]")
        return
    if preset not in ("quick", "paper"):
        raise ValueError(f"invalid --preset {preset!r}: expected 'quick' or 'paper'")
    chosen = list(scripts) if all_ else []
    for name in names or []:
        matches = [s for s in scripts if s == name or s.startswith(name)]
        if not matches:
            raise ValueError(f"unknown figure {name!r}: available are {', '.join(scripts)}")
        chosen.extend(matches)
    for stem in dict.fromkeys(chosen):
        spec = importlib.util.spec_from_file_location(f"paper_figs.{stem}", scripts[stem])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        t0 = time.perf_counter()
        written = module.main(preset, out / stem)
        typer.echo(f"{stem}: {written} ({time.perf_counter() - t0:.0f}s)")


from icl_lab.cli_cot import cot_app  # noqa: E402
from icl_lab.cli_rasp import rasp_app  # noqa: E402
from icl_lab.cli_bandits import bandits_app  # noqa: E402
from icl_lab.cli_sweep import register_sweep_commands  # noqa: E402

register_sweep_commands(app)
app.add_typer(rasp_app, name="rasp", help="RASP programs: RASP-L checks and length-generalization experiments.")
app.add_typer(cot_app, name="cot", help="Chain of thought vs direct answers (Feng et al. 2023).")
app.add_typer(bandits_app, name="bandits", help="In-context bandits: DPT / AD, UCB, Thompson, LinUCB, the Bayes-optimal DP.")


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    sys.exit(main())
