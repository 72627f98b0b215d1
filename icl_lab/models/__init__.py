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


def _looped(cfg: "ExperimentConfig") -> nn.Module:
    """Looped transformer / AlgoFormer (icl_lab.models.looped); the loss follows the task family."""
    from icl_lab.models.looped import LoopedRegressor
    from icl_lab.tasks import TASKS

    return LoopedRegressor(cfg.model, cfg.task.d, loss=TASKS[cfg.task.name].loss)


def _lsa(cfg: "ExperimentConfig") -> nn.Module:
    """Zhang–Frei–Bartlett linear self-attention, model.n_layer layers (icl_lab.models.linear_attention)."""
    from icl_lab.models.linear_attention import LinearSelfAttention

    return LinearSelfAttention(cfg.task.d, cfg.model.n_layer)


def _recurrent(cell: str) -> Callable[["ExperimentConfig"], nn.Module]:
    """LSTM / GRU in-context learner (icl_lab.models.recurrent), same prompt encoding as the decoder."""

    def build(cfg: "ExperimentConfig") -> nn.Module:
        from icl_lab.models.recurrent import RecurrentICL

        return RecurrentICL(cfg.model, cfg.task.d, cell)

    return build


def _transformer(cfg: "ExperimentConfig") -> nn.Module:
    """The decoder with a mean read-out, or with a mean-and-variance one (model.head = "gaussian")."""
    if cfg.model.head == "gaussian":
        from icl_lab.models.gaussian_head import GaussianHeadRegressor

        return GaussianHeadRegressor(cfg.model, cfg.task.d)
    return ICLRegressor(cfg.model, cfg.task.d)


MODEL_FAMILIES: dict[str, Callable[["ExperimentConfig"], nn.Module]] = {
    "transformer": lambda cfg: _transformer(cfg),
    "looped": _looped,
    "lsa": _lsa,
    "lstm": _recurrent("lstm"),
    "gru": _recurrent("gru"),
}

__all__ = ["ICLRegressor", "Decoder", "HookPoint", "MODEL_FAMILIES"]
