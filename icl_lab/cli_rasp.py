"""``icl-lab rasp ...``: RASP-L checks and length-generalization experiments.

A typer sub-app (:data:`rasp_app`); each command is a typed function that tests call
directly. Known user errors end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

import typer

from icl_lab.cli_errors import friendly

rasp_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="RASP programs, RASP-L checks and length generalization.")


def _programs() -> dict[str, Callable]:
    from icl_lab.rasp import LIBRARY
    from icl_lab.rasp.task_programs import PROGRAMS

    return {**LIBRARY, **PROGRAMS}


@rasp_app.command("check")
@friendly
def check(program_name: str = typer.Argument(..., help="A library program (e.g. count) or a "
                                             "task program (e.g. parity_by_counting)."),
          dynamic: int = typer.Option(0, help="Also run the dynamic checks on this many random "
                                      "inputs per length (library programs only).")) -> None:
    """Print the RASP-L report and the layers and heads of a program."""
    from icl_lab.rasp import attention_heads, check_rasp_l, layers_and_heads
    from icl_lab.rasp.formats import TASKS as FORMATS

    programs = _programs()
    if program_name not in programs:
        raise ValueError(f"unknown program {program_name!r}: available are {', '.join(sorted(programs))}")
    program = programs[program_name]()
    vocab = FORMATS[program_name][1] if dynamic and program_name in FORMATS else None
    if dynamic and vocab is None:
        raise ValueError(f"--dynamic needs a sampling vocabulary; {program_name} has none in rasp.formats")
    report = check_rasp_l(program, dynamic_trials=dynamic, vocab=vocab, rng=0)
    n_layers, heads = layers_and_heads(program)
    typer.echo(f"{program_name}: {report}")
    typer.echo(f"layers: {n_layers}, heads per layer: {heads}")
    for i, layer in enumerate(attention_heads(program), 1):
        typer.echo(f"  layer {i}: " + ", ".join(node.name for node in layer))


@rasp_app.command("length-gen")
@friendly
def length_gen(experiment: Path = typer.Argument(..., help="Experiment TOML or name in experiments/."),
               preset: Optional[str] = typer.Option(None, help="Preset in the file (default: its default)."),
               set_: list[str] = typer.Option([], "--set", help="Override a value, e.g. --set "
                                              "train.steps=500 or --set tasks=count,parity."),
               out: Optional[Path] = typer.Option(None, help="Output directory (default runs/<name>-<preset>)."),
               resume: bool = typer.Option(False, help="Reuse finished runs, continue interrupted ones."),
               force: bool = typer.Option(False, help="Overwrite existing runs.")) -> None:
    """Train on sizes <= L, test exact match up to 3L; print the table next to RASP-L verdicts."""
    from icl_lab.length_generalization import format_table, load_config, run_length_generalization

    cfg = load_config(experiment, preset, list(set_))
    out_dir = out if out is not None else Path("runs") / (f"{cfg.name}-{cfg.preset}" if cfg.preset else cfg.name)
    t0 = time.perf_counter()
    results = run_length_generalization(cfg, out_dir, resume=resume, force=force,
                                        log=lambda line: typer.echo(line, err=True))
    typer.echo(format_table(results["table"]), nl=False)
    typer.echo(f"wrote {out_dir}/results.json and table.md in {time.perf_counter() - t0:.0f}s")
