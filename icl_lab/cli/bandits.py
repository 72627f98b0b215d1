"""``icl-lab bandits ...``: bandit tools (the exact Bernoulli Bayes-optimal DP); bandit
experiments run with ``icl-lab run experiments/bandits.toml``.

A typer sub-app (:data:`bandits_app`); each command is a typed function that tests call
directly. Known user errors end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import typer

from icl_lab.cli.errors import friendly
from icl_lab.core.runs import dumps

bandits_app = typer.Typer(add_completion=False, no_args_is_help=True,
                          help="Bandit tools: the exact Bernoulli Bayes-optimal DP.")

@bandits_app.command("bayes-optimal")
@friendly
def bayes_optimal(arms: int = typer.Option(2, help="Number of Bernoulli arms K."),
                  horizon: int = typer.Option(50, help="Horizon H."),
                  json_: bool = typer.Option(False, "--json", help="Print the row as JSON.")) -> None:
    """Solve the Beta(1,1) Bernoulli bandit exactly; print states, time and Bayes regret."""
    from icl_lab.baselines.bandit_bayes_optimal import timing_table

    row = timing_table([(arms, horizon)])[0]
    typer.echo(dumps(row) if json_ else ", ".join(f"{k}={v}" for k, v in row.items()))
