"""``icl-lab cot ...``: chain-of-thought problems (Feng et al. 2023); the experiments run with
``icl-lab run experiments/chain_of_thought.toml``.

A typer sub-app (:data:`cot_app`); each command is a typed function that tests call
directly. Known user errors end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import typer

from icl_lab.cli.errors import friendly
from icl_lab.core.errors import ConfigError
from icl_lab.core.runs import dumps

cot_app = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="Chain of thought vs direct answers on arithmetic, equations, LIS, edit distance.")


@cot_app.command("show")
@friendly
def show(task: str = typer.Argument(..., help="arithmetic, equations, lis or edit_distance."),
         size: int = typer.Option(3, help="Problem size (operators, variables, length)."),
         seed: int = typer.Option(0, help="Seed of the example."),
         set_: list[str] = typer.Option([], "--set", help="Generator parameter, e.g. --set modulus=7."),
         json_: bool = typer.Option(False, "--json", help="Print the example and verdict as JSON.")) -> None:
    """Print one example in both formats and the verifier's verdict."""
    import numpy as np

    from icl_lab.core.config_files import parse_value
    from icl_lab.tasks.cot import make_task

    params = {}
    for text in set_:
        if "=" not in text:
            raise ConfigError(f"invalid --set {text!r}: expected key=value, e.g. modulus=7")
        key, value = (s.strip() for s in text.split("=", 1))
        params[key] = parse_value(value)
    cot_task = make_task(task, **params)
    cot_task.check_size(size)
    example = cot_task.sample(size, np.random.default_rng(seed))
    ok, reason = cot_task.verify(example.problem, example.steps, example.answer)
    shown = {"prompt": " ".join(example.prompt()), "direct": " ".join(example.target("direct")),
             "cot": " ".join(example.target("cot")), "verified": bool(ok), "verifier": reason}
    if json_:
        typer.echo(dumps(shown))
        return
    typer.echo("prompt: " + shown["prompt"])
    typer.echo("direct: " + shown["direct"])
    typer.echo("cot:    " + shown["cot"])
    typer.echo(f"verifier: {reason if ok else 'REJECTED: ' + reason}")
