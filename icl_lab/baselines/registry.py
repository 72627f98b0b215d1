"""Named baselines for regression prompts, bound to the hyper-parameters of a config.

A *learner* is any callable ``(xs [B, N, D], ys [B, N]) -> preds [B, N]`` whose entry k
is the prediction for x_k from the first k examples. Trained models and these classical
algorithms share that contract, so evaluation treats them identically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch

if TYPE_CHECKING:
    from icl_lab.config import EvalConfig, TaskConfig

Learner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Cheap closed-form learners, evaluated by default by `icl-lab baselines`.
CLOSED_FORM = ("zero", "least_squares", "ridge", "bayes", "averaging", "knn", "lasso", "gd")
# Learners trained on each prompt (slow); evaluated only when asked for.
PER_PROMPT = ("two_layer_net", "decision_tree", "gradient_boosting")
# Bayes predictors of non-Gaussian priors (need the task's own prior, e.g. task.pool_size > 0).
PRIOR_SPECIFIC = ("dmmse",)
# Boolean tasks (task.name = "boolean"): learners of ±1 labels, scored by accuracy. Names shared
# with regression (bayes, averaging, knn) mean the Boolean algorithm there.
BOOLEAN_CLOSED_FORM = ("constant", "averaging", "knn", "cosine_nn", "elimination", "signed_elimination",
                       "gf2", "bayes")
BOOLEAN_PER_PROMPT = ("mlp",)
BASELINE_NAMES = CLOSED_FORM + PER_PROMPT + PRIOR_SPECIFIC + tuple(
    name for name in BOOLEAN_CLOSED_FORM + BOOLEAN_PER_PROMPT if name not in CLOSED_FORM + PER_PROMPT)


def is_boolean(task: "TaskConfig") -> bool:
    """True for tasks with ±1 labels scored by accuracy (the family registers loss="bce")."""
    from icl_lab.tasks import TASKS

    return TASKS[task.name].loss == "bce"


def make_boolean_baseline(name: str, task: "TaskConfig", ev: "EvalConfig") -> Learner:
    """The Boolean learner called ``name`` (icl_lab.baselines.boolean / boolean_bayes)."""
    from icl_lab.baselines import boolean as b
    from icl_lab.baselines.boolean_bayes import bayes

    table: dict[str, Learner] = {
        "constant": b.constant,
        "averaging": b.averaging,
        "knn": lambda xs, ys: b.knn(xs, ys, k=ev.knn_k),
        "cosine_nn": b.cosine_nn,
        "elimination": b.elimination,
        "signed_elimination": b.signed_elimination,
        "gf2": b.gf2,
        # Posterior predictive under the task's own prior and input sampler (exact or SMC).
        "bayes": lambda xs, ys: bayes(xs, ys, task),
        "mlp": b.mlp,
    }
    if name not in table:
        raise ValueError(f"baseline {name!r} does not apply to Boolean tasks: choose from {', '.join(table)}")
    return table[name]


def make_baseline(name: str, task: "TaskConfig", ev: "EvalConfig") -> Learner:
    """The learner called ``name``, with hyper-parameters from the task and eval configs."""
    from icl_lab.baselines import regression as r

    table: dict[str, Learner] = {
        "zero": r.zero,
        "least_squares": r.least_squares,
        "ridge": lambda xs, ys: r.ridge(xs, ys, lam=ev.ridge_lam),
        # Posterior mean under the task's own Gaussian prior and noise.
        "bayes": lambda xs, ys: r.bayes(xs, ys, noise_std=task.noise_std, prior_std=task.prior_std)[0],
        "averaging": r.averaging,
        "knn": lambda xs, ys: r.knn(xs, ys, k=ev.knn_k),
        "lasso": lambda xs, ys: r.lasso(xs, ys, alpha=ev.lasso_alpha),
        "gd": lambda xs, ys: r.gd(xs, ys, steps=ev.gd_steps),
        "dmmse": lambda xs, ys: _dmmse(xs, ys, task),
        "two_layer_net": r.two_layer_net,
        "decision_tree": r.decision_tree,
        "gradient_boosting": r.gradient_boosting,
    }
    if name not in table:
        raise ValueError(f"unknown baseline {name!r}: choose from {', '.join(BASELINE_NAMES)}")
    return table[name]


def _dmmse(xs: torch.Tensor, ys: torch.Tensor, task: "TaskConfig") -> torch.Tensor:
    """Posterior mean over the task's finite pool (Raventós et al.'s dMMSE)."""
    from icl_lab.baselines.bayes import dmmse
    from icl_lab.tasks.regression import task_pool

    if not task.pool_size:
        raise ValueError("baseline 'dmmse' needs a finite task pool: set task.pool_size > 0")
    return dmmse(xs, ys, task_pool(task.pool_size, task.d, task.prior_std, task.pool_seed), task.noise_std)


def default_baselines(task: "TaskConfig", ev: "EvalConfig") -> tuple[str, ...]:
    """What `icl-lab baselines` evaluates: the closed forms, the prior's own Bayes predictor, eval.baselines."""
    extra = ("dmmse",) if task.pool_size else ()
    return tuple(dict.fromkeys(CLOSED_FORM + extra + tuple(ev.baselines)))


def make_baselines(names: tuple[str, ...] | list[str], task: "TaskConfig", ev: "EvalConfig") -> dict[str, Learner]:
    """Learners for ``names``. For Boolean tasks the Boolean algorithms are used and names
    without a Boolean meaning (least_squares, ridge, …: the CLI's regression defaults) are
    skipped, unless nothing would be left."""
    if is_boolean(task):
        usable = [n for n in names if n in BOOLEAN_CLOSED_FORM + BOOLEAN_PER_PROMPT]
        if names and not usable:
            make_boolean_baseline(names[0], task, ev)  # raises a one-line error naming the choices
        return {name: make_boolean_baseline(name, task, ev) for name in usable}
    return {name: make_baseline(name, task, ev) for name in names}
