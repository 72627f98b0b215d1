"""Checkpoints: written atomically, read weights-only (no pickle code execution)."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from icl_lab.core.errors import CheckpointError
from icl_lab.core.runs import atomic_write_bytes

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                    schedule: torch.optim.lr_scheduler.LRScheduler | None, step: int) -> None:
    state = {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        "schedule": schedule.state_dict() if schedule is not None else {},
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def read_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/corrupt archives
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({reason[:120]})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or "model" not in state:
        raise CheckpointError(f"checkpoint {path} is not an icl_lab checkpoint of format {CHECKPOINT_FORMAT}")
    return state


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    schedule: torch.optim.lr_scheduler.LRScheduler | None = None) -> int:
    """Load weights (and optimiser/schedule state when given) and return the step."""
    state = read_checkpoint(path)
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None and state["optimizer"]:
            optimizer.load_state_dict(state["optimizer"])
        if schedule is not None and state["schedule"]:
            schedule.load_state_dict(state["schedule"])
    except (RuntimeError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not fit this model ({first[:120]})") from None
    return int(state["step"])
