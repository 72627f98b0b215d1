"""Trained learners: the decoder backbone, its prompt encoders and heads, and model families.

``MODEL_FAMILIES`` maps ``model.family`` to a builder ``(ExperimentConfig) -> nn.Module``;
a model maps (xs [B, N, D], ys [B, N]) to per-position outputs. A model may define
``training_loss(xs, ys, step) -> loss`` to replace the default loss of its task. Every model
derives from :class:`icl_lab.core.hooks.HookedModule` (one hook API, one naming rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from torch import nn

from icl_lab.core.errors import check
from icl_lab.core.hooks import HookPoint
from icl_lab.models.config import ModelConfig
from icl_lab.models.gaussian_head import GaussianHeadRegressor
from icl_lab.models.linear_attention import LinearSelfAttention
from icl_lab.models.looped import LoopedRegressor
from icl_lab.models.recurrent import RecurrentICL
from icl_lab.models.transformer import Decoder, ICLRegressor
from icl_lab.tasks import TASKS

if TYPE_CHECKING:
    from icl_lab.pipelines.regression import ExperimentConfig


def _transformer(cfg: "ExperimentConfig") -> nn.Module:
    """The decoder with a mean read-out, or with a mean-and-variance one (model.head = "gaussian")."""
    if cfg.model.head == "gaussian":
        return GaussianHeadRegressor(cfg.model, cfg.task.d)
    return ICLRegressor(cfg.model, cfg.task.d)


def _looped(cfg: "ExperimentConfig") -> nn.Module:
    """Looped transformer / AlgoFormer (icl_lab.models.looped); the loss follows the task family."""
    return LoopedRegressor(cfg.model, cfg.task.d, loss=TASKS[cfg.task.name].loss)


def _lsa(cfg: "ExperimentConfig") -> nn.Module:
    """Zhang–Frei–Bartlett linear self-attention, model.n_layer layers (icl_lab.models.linear_attention)."""
    return LinearSelfAttention(cfg.task.d, cfg.model.n_layer)


def _recurrent(cell: str) -> Callable[["ExperimentConfig"], nn.Module]:
    """LSTM / GRU in-context learner (icl_lab.models.recurrent), same prompt encoding as the decoder."""
    return lambda cfg: RecurrentICL(cfg.model, cfg.task.d, cell)


MODEL_FAMILIES: dict[str, Callable[["ExperimentConfig"], nn.Module]] = {
    "transformer": _transformer,
    "looped": _looped,
    "lsa": _lsa,
    "lstm": _recurrent("lstm"),
    "gru": _recurrent("gru"),
}


def check_model(cfg: ModelConfig) -> None:
    """The registry check of a model section (run once at load)."""
    check(cfg.family in MODEL_FAMILIES, "model.family", cfg.family, f"one of {sorted(MODEL_FAMILIES)}")


__all__ = ["ICLRegressor", "Decoder", "HookPoint", "MODEL_FAMILIES", "ModelConfig", "check_model"]
