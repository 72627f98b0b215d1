"""icl_lab: a laboratory for the theory of in-context learning.

The public API, for notebooks and scripts: the operations the ``icl-lab`` command offers,
named the same way. Everything below the top-level package may move without notice
(``docs/architecture.md``).

>>> import icl_lab
>>> cfg = icl_lab.load("linear_regression", preset="quick", overrides=["train.steps=100"])
>>> results = icl_lab.run(cfg, "runs/lr-100")            # train, evaluate, draw (or resume)
>>> cfg, model = icl_lab.load_run("runs/lr-100")         # a finished run and its model
>>> curves = icl_lab.evaluate(cfg, model)               # model and baselines, same prompts
>>> batch = icl_lab.sample_task(cfg.task, 8, seed=0)     # prompts of the task family
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__version__ = "0.1.0"


def load(experiment: str | Path, preset: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """The validated config of an experiment file (its ``kind`` picks the pipeline), after the
    preset and ``--set``-style overrides such as ``"task.d=10"``."""
    from icl_lab.pipelines import load_experiment

    return load_experiment(experiment, preset, overrides)[1]


def run(cfg: Any, run_dir: str | Path | None = None, *, resume: bool = False, force: bool = False) -> dict:
    """Run (or, with ``resume``, continue) an experiment; returns its results. ``run_dir``
    defaults to ``runs/<name>-<preset>``, like ``icl-lab run``."""
    from icl_lab.pipelines import PIPELINES, default_run_dir

    kind = getattr(cfg, "kind", None) or _kind_of(cfg)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
    return PIPELINES[kind].run(cfg, run_dir, resume=resume, force=force)


def _kind_of(cfg: Any) -> str:
    from icl_lab.pipelines import bandits, cot, length_generalization, lsa

    kinds = {bandits.BanditExperimentConfig: "bandits", cot.CotExperimentConfig: "cot",
             length_generalization.LengthGenConfig: "length_generalization", lsa.LSATheoryConfig: "lsa"}
    return kinds[type(cfg)]


def train(cfg: Any, run_dir: str | Path | None = None, *, resume: bool = False, force: bool = False) -> torch.nn.Module:
    """Train only (a regression-kind config); returns the model in eval mode."""
    from icl_lab.pipelines import default_run_dir
    from icl_lab.training.regression import train as train_regression

    return train_regression(cfg, run_dir if run_dir is not None else default_run_dir(cfg), resume=resume, force=force)


def load_run(run_dir: str | Path) -> tuple[Any, torch.nn.Module]:
    """The config and trained model (eval mode, weights-only load) of a regression-kind run."""
    from icl_lab.pipelines.regression import load_trained_model

    return load_trained_model(run_dir)


def evaluate(cfg: Any, model: torch.nn.Module | None = None, baselines: tuple[str, ...] | None = None) -> dict:
    """Per-position error of ``model`` (if given) and of the baselines (default ``cfg.eval.baselines``)
    on the config's held-out prompts: ``{"in_distribution": {learner: {"mean", "lo", "hi"}}, "ood": ...}``."""
    from icl_lab.evaluation.regression import evaluate_experiment, model_learner

    learner = model_learner(model, cfg.eval.batch_size) if model is not None else None
    return evaluate_experiment(cfg, learner, baselines)


def sample_task(task_cfg: Any, n_prompts: int, seed: int = 0, **kwargs: Any) -> Any:
    """``n_prompts`` prompts of the task family in ``task_cfg`` (a ``Batch``: ``xs [B, N, D]``,
    ``ys [B, N]`` and the latent parameters that generated them)."""
    from icl_lab.tasks import sample_task as sample

    return sample(task_cfg, n_prompts, torch.Generator().manual_seed(seed), **kwargs)


__all__ = ["__version__", "evaluate", "load", "load_run", "run", "sample_task", "train"]
