"""How every `icl-lab` command reports bad input: one line on stderr and exit code 2."""

from __future__ import annotations

import functools
from typing import Callable

import typer

RESUME_HINT = "interrupted: a checkpoint was written; continue with --resume"


def friendly(fn: Callable | None = None, *, interrupted: str = RESUME_HINT) -> Callable:
    """Decorator turning known user errors into ``error: …`` and exit 2 (Ctrl-C: exit 130).

    Use as ``@friendly`` or ``@friendly(interrupted="…")``.
    """

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            from icl_lab.checkpoint import CheckpointError
            from icl_lab.config import ConfigError
            from icl_lab.runs import RunError

            try:
                return func(*args, **kwargs)
            except (ConfigError, RunError, CheckpointError, ValueError, FileNotFoundError, ImportError) as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
            except KeyboardInterrupt:
                typer.echo(interrupted, err=True)
                raise typer.Exit(130) from None

        return wrapper

    return decorate(fn) if fn is not None else decorate
