"""Training of the (x, y)-prompt models (regression and Boolean tasks): fresh prompts every
step from (seed, step), the Garg et al. curriculum, the task family's loss; the loop is
:func:`icl_lab.training.loop.fit`."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.core.device import resolve_device
from icl_lab.core.runs import RunDir
from icl_lab.models import MODEL_FAMILIES
from icl_lab.tasks import TASKS, Batch, curriculum, sample_task
from icl_lab.training.loop import fit

if TYPE_CHECKING:  # the pipeline's config; training needs only its sections
    from icl_lab.pipelines.regression import ExperimentConfig


def build_model(cfg: "ExperimentConfig") -> nn.Module:
    """The model of ``cfg.model.family`` for ``cfg.task`` (see icl_lab.models.MODEL_FAMILIES)."""
    return MODEL_FAMILIES[cfg.model.family](cfg)


def step_generator(seed: int, step: int) -> torch.Generator:
    """A generator for one training step, independent of how the run was interrupted."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def training_loss(model: nn.Module, xs: torch.Tensor, ys: torch.Tensor, step: int = 0,
                  loss: str = "mse") -> torch.Tensor:
    """The loss averaged over every position (every prefix is a training example).

    ``loss`` is the task family's: "mse" for real labels, "bce" for ±1 labels (logits).
    A model with its own ``training_loss(xs, ys, step)`` (e.g. looped models) uses that.
    """
    if hasattr(model, "training_loss"):
        return model.training_loss(xs, ys, step)
    return prompt_loss(model(xs, ys).float(), ys, loss)


def prompt_loss(out: torch.Tensor, ys: torch.Tensor, loss: str = "mse") -> torch.Tensor:
    """The task family's loss of predictions ``out`` for labels ``ys`` (same shape), averaged over
    every element."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(out, (ys > 0).float())
    return ((out - ys) ** 2).mean()


def train(cfg: "ExperimentConfig", run_dir: str | Path, *, resume: bool = False, force: bool = False,
          on_step: Callable[[int], None] | None = None, progress: bool | None = None) -> nn.Module:
    """Train a model for ``cfg`` in ``run_dir``; returns the trained model (on its device, eval mode).

    See :func:`~icl_lab.training.loop.fit` for resuming, interrupts and ``on_step``."""
    run = RunDir(run_dir)
    run.prepare(cfg.to_dict(), resume=resume, force=force)
    device = resolve_device(cfg.train.device)
    torch.manual_seed(cfg.train.seed)  # model initialisation only; data has its own generators
    model = build_model(cfg).to(device)
    loss_kind = TASKS[cfg.task.name].loss

    def batches(start: int) -> Iterator[tuple[int, Batch, dict[str, int]]]:
        for step in itertools.count(start):
            dims, points = curriculum(cfg.train, cfg.task, step)
            batch = sample_task(cfg.task, cfg.train.batch_size, step_generator(cfg.train.seed, step),
                                n_points=points, active_dims=dims).to(device)
            yield step, batch, {"active_dims": dims, "n_points": points}

    def loss_fn(item: tuple[int, Batch, dict[str, int]]) -> tuple[torch.Tensor, dict[str, int]]:
        step, batch, stats = item
        return training_loss(model, batch.xs, batch.ys, step, loss_kind), stats

    return fit(model, cfg.train, run, batches, loss_fn, resume=resume, on_step=on_step, progress=progress)
