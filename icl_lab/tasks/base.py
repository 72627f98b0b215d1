"""Batches, the task registry and the curriculum.

A task family is a function ``sample(cfg, n_prompts, n_points, generator, ...) -> Batch``
registered under a name. The batch carries the latent parameters that generated it so
oracles and Bayes predictors can use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

import torch

if TYPE_CHECKING:
    from icl_lab.tasks.config import TaskConfig
    from icl_lab.training.config import TrainConfig


@dataclass
class Batch:
    """Prompts of (x, y) examples from one function per prompt.

    xs: [B, N, D] inputs; ys: [B, N] labels; params: latent parameters (e.g. ``w`` [B, D]);
    y_var: Var(y) under the task prior, used to normalise squared errors (predicting 0
    scores about 1); queries: optional [B, N, D] replacement queries — the prediction at
    position k is then for ``queries[:, k]`` (with label ``query_ys[:, k]``) from the
    first k examples, while x_k stays in the context of later positions.
    """

    xs: torch.Tensor
    ys: torch.Tensor
    params: dict[str, torch.Tensor] = field(default_factory=dict)
    y_var: float = 1.0
    queries: torch.Tensor | None = None
    query_ys: torch.Tensor | None = None

    @property
    def targets(self) -> torch.Tensor:
        """Labels the per-position predictions are scored against, [B, N]."""
        return self.ys if self.query_ys is None else self.query_ys

    def to(self, device: torch.device | str) -> "Batch":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Batch(move(self.xs), move(self.ys), {k: move(v) for k, v in self.params.items()},
                     self.y_var, move(self.queries), move(self.query_ys))


class Sampler(Protocol):
    def __call__(self, cfg: "TaskConfig", n_prompts: int, n_points: int,
                 generator: torch.Generator, active_dims: int | None = None) -> Batch: ...


@dataclass(frozen=True)
class TaskFamily:
    """A registered task family: its sampler, its description and the parameters it reads."""

    name: str
    sample: Sampler
    description: str
    parameters: tuple[str, ...]
    # Regression families: f(params, xs [B, N, D], cfg) -> noiseless ys [B, N], used to
    # label replacement queries in the out-of-distribution suite.
    function: Callable[[dict[str, torch.Tensor], torch.Tensor, "TaskConfig"], torch.Tensor] | None = None
    # "mse" (real labels; metric: normalised squared error) or "bce" (±1 labels; metric: accuracy).
    loss: str = "mse"
    # The family's own parameter dataclass (TaskConfig.params): its fields, defaults and checks.
    params: type = field(default_factory=lambda: NoParams)


@dataclass(frozen=True)
class NoParams:
    """The parameters of a family that reads only the shared task keys."""


TASKS: dict[str, TaskFamily] = {}


def register(name: str, description: str, parameters: tuple[str, ...],
             function: Callable | None = None, loss: str = "mse",
             params: type = NoParams) -> Callable[[Sampler], Sampler]:
    """Decorator adding a sampler to :data:`TASKS`. ``parameters`` names the task keys the family
    reads (for ``icl-lab tasks``); ``params`` is its own frozen parameter dataclass."""

    def wrap(fn: Sampler) -> Sampler:
        TASKS[name] = TaskFamily(name, fn, description, parameters, function, loss, params)
        return fn

    return wrap


def sample_task(cfg: "TaskConfig", n_prompts: int, generator: torch.Generator,
                n_points: int | None = None, active_dims: int | None = None) -> Batch:
    """Sample ``n_prompts`` prompts of the configured family (on the CPU, reproducibly)."""
    family = TASKS[cfg.name]
    return family.sample(cfg, n_prompts, n_points or cfg.n_points, generator, active_dims)


def curriculum(train: "TrainConfig", task: "TaskConfig", step: int) -> tuple[int, int]:
    """(active_dims, n_points) at ``step`` under Garg et al.'s staircase curriculum."""
    rungs = step // train.curriculum_interval
    dims = task.d
    if train.dims_start:
        dims = min(task.d, train.dims_start + rungs * train.dims_inc)
    points = task.n_points
    if train.points_start:
        points = min(task.n_points, train.points_start + rungs * train.points_inc)
    return dims, points
