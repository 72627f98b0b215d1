"""Trained learners: the decoder backbone, its prompt encoders and heads, and model families.

``MODEL_FAMILIES`` maps ``model.family`` to a builder ``(ExperimentConfig) -> nn.Module``;
a model maps (xs [B, N, D], ys [B, N]) to per-position outputs. A model may define
``training_loss(xs, ys, step) -> loss`` to replace the default loss of its task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from torch import nn

from icl_lab.models.transformer import Decoder, HookPoint, ICLRegressor

if TYPE_CHECKING:
    from icl_lab.config import ExperimentConfig

MODEL_FAMILIES: dict[str, Callable[["ExperimentConfig"], nn.Module]] = {
    "transformer": lambda cfg: ICLRegressor(cfg.model, cfg.task.d),
}

__all__ = ["ICLRegressor", "Decoder", "HookPoint", "MODEL_FAMILIES"]
