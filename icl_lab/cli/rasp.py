"""``icl-lab rasp ...``: RASP-L checks of programs and the RASP compiler. Length-generalization
experiments run with ``icl-lab run experiments/length_generalization.toml``.

A typer sub-app (:data:`rasp_app`); each command is a typed function that tests call
directly. Known user errors end with one line on stderr and exit code 2.
"""

from __future__ import annotations

from typing import Callable

import typer

from icl_lab.cli.errors import friendly
from icl_lab.core.errors import ConfigError
from icl_lab.core.runs import dumps

MAX_VERIFIED_INPUTS = 2_000_000  # about a minute of verification on one CPU core

rasp_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="RASP programs, RASP-L checks and the RASP compiler.")


def _programs() -> dict[str, Callable]:
    from icl_lab.rasp import LIBRARY
    from icl_lab.rasp.task_programs import PROGRAMS

    return {**LIBRARY, **PROGRAMS}


def _program(name: str):
    programs = _programs()
    if name not in programs:
        raise ConfigError(f"unknown program {name!r}: available are {', '.join(sorted(programs))}")
    return programs[name]()


@rasp_app.command("check")
@friendly
def check(program_name: str = typer.Argument(..., help="A library program (e.g. count) or a "
                                             "task program (e.g. parity_by_counting)."),
          dynamic: int = typer.Option(0, help="Also run the dynamic checks on this many random "
                                      "inputs per length (library programs only)."),
          json_: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Print the RASP-L report and the layers and heads of a program."""
    from icl_lab.rasp import attention_heads, check_rasp_l, layers_and_heads
    from icl_lab.rasp.formats import TASKS as FORMATS

    program = _program(program_name)
    vocab = FORMATS[program_name][1] if dynamic and program_name in FORMATS else None
    if dynamic and vocab is None:
        raise ConfigError(f"--dynamic needs a sampling vocabulary; {program_name} has none in rasp.formats")
    if not 0 <= dynamic <= 100_000:
        raise ConfigError(f"invalid --dynamic={dynamic}: expected an integer in [0, 100000]")
    report = check_rasp_l(program, dynamic_trials=dynamic, vocab=vocab, rng=0)
    n_layers, heads = layers_and_heads(program)
    layers = [[node.name for node in layer] for layer in attention_heads(program)]
    if json_:
        typer.echo(dumps({"program": program_name, "report": str(report), "layers": n_layers,
                               "heads_per_layer": list(heads), "attention": layers}))
        return
    typer.echo(f"{program_name}: {report}")
    typer.echo(f"layers: {n_layers}, heads per layer: {heads}")
    for i, layer in enumerate(layers, 1):
        typer.echo(f"  layer {i}: " + ", ".join(layer))


@rasp_app.command("compile")
@friendly
def compile_(program_name: str = typer.Argument(..., help="A library program, e.g. histogram or count."),
             max_len: int = typer.Option(..., "--max-len", help="Longest input the compiled model takes."),
             json_: bool = typer.Option(False, "--json", help="Print the size and verification as JSON.")) -> None:
    """Compile a library program to transformer weights, print its listing and verify it
    against the interpreter (every input up to --max-len where the program's check is exhaustive)."""
    from dataclasses import replace

    from icl_lab.rasp import LIBRARY
    from icl_lab.rasp.compiler import LIBRARY_SPECS, describe_model, verify_program

    if program_name not in LIBRARY_SPECS or program_name not in LIBRARY:
        raise ConfigError(f"unknown program {program_name!r}: compilable library programs are "
                          f"{', '.join(sorted(LIBRARY_SPECS))}")
    if not 1 <= max_len <= 64:
        raise ConfigError(f"invalid --max-len={max_len}: expected an integer in [1, 64]")
    spec = replace(LIBRARY_SPECS[program_name], max_len=max_len)
    n_inputs = sum(len(spec.vocab) ** n for n in range(1, max_len + 1)) if spec.exhaustive else 2 * spec.n_random
    if n_inputs > MAX_VERIFIED_INPUTS:
        raise ConfigError(f"invalid --max-len={max_len}: the exhaustive check of {program_name} would run "
                          f"{n_inputs:.3g} inputs (at most {MAX_VERIFIED_INPUTS:.0e}); choose a smaller --max-len")
    row = verify_program(program_name, spec)
    if json_:
        typer.echo(dumps(row, default=float))
        return
    from icl_lab.rasp.compiler import compile_program

    model = compile_program(LIBRARY[program_name](), list(spec.vocab), max_len, causal=spec.causal)
    typer.echo(describe_model(model))
    typer.echo(f"verified on {row['checked']} inputs ({row['inputs']}): {row['mismatches']} mismatches, "
               f"max error {row['max_error']:.2e}")
