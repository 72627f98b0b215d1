"""``icl-lab cot ...``: chain-of-thought experiments (Feng et al. 2023).

A typer sub-app (:data:`cot_app`); each command is a typed function that tests call
directly. Known user errors end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from icl_lab.cli_errors import friendly

cot_app = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="Chain of thought vs direct answers on arithmetic, equations, LIS, edit distance.")
DEFAULT_EXPERIMENT = Path("experiments") / "chain_of_thought.toml"


@cot_app.command("run")
@friendly
def run(experiment: Path = typer.Option(DEFAULT_EXPERIMENT, help="Experiment TOML or name in experiments/."),
        preset: Optional[str] = typer.Option(None, help="Preset in the file: quick or paper "
                                             "(default: the file's default)."),
        set_: list[str] = typer.Option([], "--set", help="Override a value, e.g. --set train.steps=500 "
                                       "or --set equations.sizes=2,3."),
        out: Optional[Path] = typer.Option(None, help="Output directory (default runs/<name>-<preset>)."),
        resume: bool = typer.Option(False, help="Reuse finished cells, continue interrupted ones."),
        force: bool = typer.Option(False, help="Overwrite existing runs.")) -> None:
    """Train every task x size x variant; write results.json, table.md and the heatmap."""
    from icl_lab.cot_experiments import format_table, load_config, run_chain_of_thought

    cfg = load_config(experiment, preset, list(set_))
    out_dir = out if out is not None else Path("runs") / (f"{cfg.name}-{cfg.preset}" if cfg.preset else cfg.name)
    t0 = time.perf_counter()
    results = run_chain_of_thought(cfg, out_dir, resume=resume, force=force,
                                   log=lambda line: typer.echo(line, err=True))
    typer.echo(format_table(results["table"]), nl=False)
    typer.echo(f"wrote {out_dir}/results.json, table.md and cot_table.png in {time.perf_counter() - t0:.0f}s")


@cot_app.command("show")
@friendly
def show(task: str = typer.Argument(..., help="arithmetic, equations, lis or edit_distance."),
         size: int = typer.Option(3, help="Problem size (operators, variables, length)."),
         seed: int = typer.Option(0, help="Seed of the example."),
         set_: list[str] = typer.Option([], "--set", help="Generator parameter, e.g. --set modulus=7.")) -> None:
    """Print one example in both formats and the verifier's verdict."""
    import tomllib

    import numpy as np

    from icl_lab.tasks.cot import make_task

    params = {}
    for text in set_:
        if "=" not in text:
            raise ValueError(f"invalid --set {text!r}: expected key=value, e.g. modulus=7")
        key, value = (s.strip() for s in text.split("=", 1))
        try:
            params[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            raise ValueError(f"invalid --set {text!r}: the value must be a number or true/false") from None
    cot_task = make_task(task, **params)
    cot_task.check_size(size)
    example = cot_task.sample(size, np.random.default_rng(seed))
    typer.echo("prompt: " + " ".join(example.prompt()))
    typer.echo("direct: " + " ".join(example.target("direct")))
    typer.echo("cot:    " + " ".join(example.target("cot")))
    ok, reason = cot_task.verify(example.problem, example.steps, example.answer)
    typer.echo(f"verifier: {reason if ok else 'REJECTED: ' + reason}")
