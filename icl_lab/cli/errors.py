"""How every `icl-lab` command reports bad input: one line on stderr and exit code 2.

Only the lab's own error types (:class:`icl_lab.core.errors.LabError`) become that line;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from typing import Callable

import typer

from icl_lab.core.errors import LabError

RESUME_HINT = "interrupted: a checkpoint was written; continue with --resume"


def friendly(fn: Callable | None = None, *, interrupted: str = RESUME_HINT) -> Callable:
    """Decorator turning the lab's errors into ``error: …`` and exit 2 (Ctrl-C: exit 130).

    Use as ``@friendly`` or ``@friendly(interrupted="…")``.
    """

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except LabError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
            except KeyboardInterrupt:
                typer.echo(interrupted, err=True)
                raise typer.Exit(130) from None

        return wrapper

    return decorate(fn) if fn is not None else decorate
