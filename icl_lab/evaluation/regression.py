"""Evaluation: every learner on the same prompts, per-position normalised error, bootstrap bands.

The normalised error at position k is (prediction − y)² / Var(y), Var(y) taken under the
task prior (d·prior_std² + noise_std² for linear regression), so predicting 0 scores 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from icl_lab.baselines.registry import Learner, make_baselines
from icl_lab.tasks import TASKS, Batch, sample_task
from icl_lab.tasks.config import TaskConfig
from icl_lab.tasks.inputs import orthogonal_queries, repeated_queries

if TYPE_CHECKING:  # the pipeline's config; evaluation reads its task and eval sections
    from icl_lab.pipelines.regression import ExperimentConfig

Summary = dict[str, list[float]]  # {"mean": [...], "lo": [...], "hi": [...]}


def model_learner(model: torch.nn.Module, batch_size: int = 256) -> Learner:
    """Wrap a trained model as a learner: eval mode, no grad, chunked, on the model's device."""
    device = next(model.parameters()).device

    @torch.no_grad()
    def predict(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        model.eval()
        chunks = [model(xs[i:i + batch_size].to(device), ys[i:i + batch_size].to(device)).float().cpu()
                  for i in range(0, xs.shape[0], batch_size)]
        return torch.cat(chunks)

    return predict


def predict_batch(learner: Learner, batch: Batch) -> torch.Tensor:
    """Per-position predictions [B, N]; with replacement queries, one truncated prompt per position."""
    if batch.queries is None:
        return learner(batch.xs, batch.ys)
    n = batch.xs.shape[1]
    preds = torch.empty_like(batch.ys)
    for k in range(n):  # query k replaces x_k in a prompt cut after it
        xs = torch.cat((batch.xs[:, :k], batch.queries[:, k:k + 1]), dim=1)
        preds[:, k] = learner(xs, batch.ys[:, :k + 1])[:, k]
    return preds


def normalized_errors(preds: torch.Tensor, batch: Batch) -> torch.Tensor:
    """[B, N] squared errors divided by Var(y) under the prior."""
    return ((preds.double() - batch.targets.double()) ** 2 / batch.y_var).float()


def accuracies(preds: torch.Tensor, batch: Batch) -> torch.Tensor:
    """[B, N] 1.0 where sign(prediction) equals the ±1 label (logits or ±1 predictions)."""
    return (torch.where(preds > 0, 1.0, -1.0) == batch.targets).float()


def scores(preds: torch.Tensor, batch: Batch, loss: str = "mse") -> torch.Tensor:
    """Per-position metric of a task: normalised squared error ("mse") or accuracy ("bce")."""
    return accuracies(preds, batch) if loss == "bce" else normalized_errors(preds, batch)


def bootstrap_summary(errors: torch.Tensor, n_boot: int = 1000, seed: int = 0, level: float = 0.9) -> Summary:
    """Mean over prompts per position and a bootstrap ``level`` band (resampling prompts)."""
    e = errors.double().numpy()  # [B, N]
    b = e.shape[0]
    counts = np.random.default_rng(seed).multinomial(b, np.full(b, 1.0 / b), size=n_boot)  # [n_boot, B]
    boots = counts @ e / b  # [n_boot, N]: the mean of each resample, without materialising it
    alpha = (1 - level) / 2
    return {"mean": e.mean(0).tolist(),
            "lo": np.quantile(boots, alpha, axis=0).tolist(),
            "hi": np.quantile(boots, 1 - alpha, axis=0).tolist()}


def evaluate_learners(learners: dict[str, Learner], batch: Batch, n_boot: int = 1000,
                      seed: int = 0, loss: str = "mse") -> dict[str, Summary]:
    """Per-position metric summary (see :func:`scores`) for each learner on the same batch."""
    return {name: bootstrap_summary(scores(predict_batch(fn, batch), batch, loss), n_boot, seed)
            for name, fn in learners.items()}


def eval_batch(cfg: ExperimentConfig, task: TaskConfig | None = None) -> Batch:
    """The held-out prompts of an experiment (its own seed, disjoint from training)."""
    return sample_task(task or cfg.task, cfg.eval.n_prompts, torch.Generator().manual_seed(cfg.eval.seed))


# ----------------------------------------------------------------------------- OOD suite

LINEAR_FAMILIES = ("linear_regression", "noisy_linear_regression", "sparse_linear_regression")


def _with_queries(make: Callable[[torch.Tensor, torch.Generator], torch.Tensor]) -> Callable[[ExperimentConfig, torch.Generator], Batch]:
    def build(cfg: ExperimentConfig, g: torch.Generator) -> Batch:
        batch = eval_batch(cfg)
        family = TASKS[cfg.task.name]
        if family.function is None:
            raise ValueError(f"task {cfg.task.name} cannot label replacement queries")
        batch.queries = make(batch.xs, g)
        query_ys = family.function(batch.params, batch.queries, cfg.task)
        if cfg.task.noise_std > 0:
            query_ys = query_ys + cfg.task.noise_std * torch.randn(query_ys.shape, generator=g)
        batch.query_ys = query_ys
        return batch

    return build


def _x_distribution(name: str) -> Callable[[ExperimentConfig, torch.Generator], Batch]:
    return lambda cfg, g: eval_batch(cfg, cfg.task.with_values(x_distribution=name))


def _scaled(x_scale: float = 1.0, y_scale: float = 1.0) -> Callable[[ExperimentConfig, torch.Generator], Batch]:
    """Scale x (linear families: the function is re-applied) or y of the in-distribution prompts."""

    def build(cfg: ExperimentConfig, g: torch.Generator) -> Batch:
        batch = eval_batch(cfg)
        family = TASKS[cfg.task.name]
        xs, ys, y_var = batch.xs, batch.ys * y_scale, batch.y_var * y_scale**2
        if x_scale != 1.0:
            if family.function is None or cfg.task.name not in LINEAR_FAMILIES:
                raise ValueError(f"x scaling is defined for linear families {LINEAR_FAMILIES}, not {cfg.task.name}")
            noise = batch.ys - family.function(batch.params, batch.xs, cfg.task)
            xs = batch.xs * x_scale
            ys = family.function(batch.params, xs, cfg.task) + noise
            signal_var = batch.y_var - cfg.task.noise_std**2
            y_var = signal_var * x_scale**2 + cfg.task.noise_std**2
        return Batch(xs, ys, batch.params, y_var)

    return build


def _noisy(cfg: ExperimentConfig, g: torch.Generator) -> Batch:
    """Labels with N(0, 1) noise added (Garg et al.'s noisy-label test)."""
    return eval_batch(cfg, cfg.task.with_values(noise_std=max(cfg.task.noise_std, 1.0)))


OOD_VARIANTS: dict[str, Callable[[ExperimentConfig, torch.Generator], Batch]] = {
    "skewed": _x_distribution("skewed"),
    "orthant": _x_distribution("orthant"),
    "half_subspace": _x_distribution("half_subspace"),
    "orthogonal_query": _with_queries(lambda xs, g: orthogonal_queries(xs)),
    "repeated_query": _with_queries(repeated_queries),
    "noisy_labels": _noisy,
    **{f"x_scale_{s}": _scaled(x_scale=v) for s, v in (("0.33", 1 / 3), ("0.5", 0.5), ("2", 2.0), ("3", 3.0))},
    **{f"y_scale_{s}": _scaled(y_scale=v) for s, v in (("0.33", 1 / 3), ("0.5", 0.5), ("2", 2.0), ("3", 3.0))},
}


def ood_batch(name: str, cfg: ExperimentConfig) -> Batch:
    return OOD_VARIANTS[name](cfg, torch.Generator().manual_seed(cfg.eval.seed + 1))


def evaluate_experiment(cfg: ExperimentConfig, model_fn: Learner | None,
                        baselines: tuple[str, ...] | None = None) -> dict:
    """Results for the in-distribution prompts and each configured OOD variant.

    Returns {"in_distribution": {learner: Summary}, "ood": {variant: {learner: Summary}}}.
    """
    names = cfg.eval.baselines if baselines is None else baselines
    learners: dict[str, Learner] = {}
    if model_fn is not None:
        learners["model"] = model_fn
    learners.update(make_baselines(names, cfg.task, cfg.eval))
    loss = TASKS[cfg.task.name].loss
    results = {"in_distribution": evaluate_learners(learners, eval_batch(cfg), cfg.eval.bootstrap,
                                                    cfg.eval.seed, loss)}
    results["ood"] = {name: evaluate_learners(learners, ood_batch(name, cfg), cfg.eval.bootstrap, cfg.eval.seed, loss)
                      for name in cfg.eval.ood}
    return results


def mean_curves(results: dict[str, Summary]) -> dict[str, list[float]]:
    """{learner: per-position mean error}, the shape printed by ``--json``."""
    return {name: summary["mean"] for name, summary in results.items()}
