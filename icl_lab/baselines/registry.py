"""Named baselines for regression prompts, bound to the hyper-parameters of a config.

A *learner* is any callable ``(xs [B, N, D], ys [B, N]) -> preds [B, N]`` whose entry k
is the prediction for x_k from the first k examples. Trained models and these classical
algorithms share that contract, so evaluation treats them identically.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Callable

import torch

from icl_lab.core.errors import ConfigError

if TYPE_CHECKING:
    from icl_lab.evaluation.config import EvalConfig
    from icl_lab.tasks.config import TaskConfig

Learner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Cheap closed-form learners, evaluated by default by `icl-lab baselines`.
CLOSED_FORM = ("zero", "least_squares", "ridge", "bayes", "averaging", "knn", "lasso", "gd")
# Learners trained on each prompt (slow); evaluated only when asked for.
PER_PROMPT = ("two_layer_net", "decision_tree", "gradient_boosting")
# Bayes predictors of non-Gaussian priors (need the task's own prior, e.g. task.pool_size > 0).
# The Bayesian-prism priors (tasks/bayesian.py) answer "bayes" with their own exact posterior mean.
PRIOR_SPECIFIC = ("dmmse", "sparse_bayes", "dense_bayes", "feature_ols", "feature_ridge")
# Boolean tasks (task.name = "boolean"): learners of ±1 labels, scored by accuracy. Names shared
# with regression (bayes, averaging, knn) mean the Boolean algorithm there.
BOOLEAN_CLOSED_FORM = ("constant", "averaging", "knn", "cosine_nn", "elimination", "signed_elimination",
                       "gf2", "bayes")
BOOLEAN_PER_PROMPT = ("mlp",)
BOOLEAN_ONLY = tuple(name for name in BOOLEAN_CLOSED_FORM + BOOLEAN_PER_PROMPT if name not in CLOSED_FORM + PER_PROMPT)
BASELINE_NAMES = CLOSED_FORM + PER_PROMPT + PRIOR_SPECIFIC + BOOLEAN_ONLY


def is_boolean(task: "TaskConfig") -> bool:
    """True for tasks with ±1 labels scored by accuracy (the family registers loss="bce")."""
    from icl_lab.tasks import TASKS

    return TASKS[task.name].loss == "bce"


def make_boolean_baseline(name: str, task: "TaskConfig", ev: "EvalConfig") -> Learner:
    """The Boolean learner called ``name`` (icl_lab.baselines.boolean / boolean_bayes)."""
    from icl_lab.baselines import boolean as b
    from icl_lab.baselines.boolean_posterior import bayes

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
        raise ConfigError(f"baseline {name!r} does not apply to Boolean tasks: choose from {', '.join(table)}")
    return table[name]


def make_baseline(name: str, task: "TaskConfig", ev: "EvalConfig") -> Learner:
    """The learner called ``name``, with hyper-parameters from the task and eval configs."""
    from icl_lab.baselines import regression as r

    table: dict[str, Learner] = {
        "zero": r.zero,
        "least_squares": r.least_squares,
        "ridge": lambda xs, ys: r.ridge(xs, ys, lam=ev.ridge_lam),
        # Posterior mean under the task's own prior and noise (Gaussian for the Garg et al. families).
        "bayes": lambda xs, ys: _bayes(xs, ys, task),
        "averaging": r.averaging,
        "knn": lambda xs, ys: r.knn(xs, ys, k=ev.knn_k),
        "lasso": lambda xs, ys: r.lasso(xs, ys, alpha=ev.lasso_alpha),
        "gd": lambda xs, ys: r.gd(xs, ys, steps=ev.gd_steps),
        "dmmse": lambda xs, ys: _dmmse(xs, ys, task),
        **_prior_specific(task, ev),
        "two_layer_net": r.two_layer_net,
        "decision_tree": r.decision_tree,
        "gradient_boosting": r.gradient_boosting,
    }
    if name not in table:
        raise ConfigError(f"unknown baseline {name!r}: choose from {', '.join(BASELINE_NAMES)}")
    return table[name]


def task_pool_size(task: "TaskConfig") -> int:
    """The size of the task's finite pool (Raventós et al.); 0 for a family without one."""
    return getattr(task.params, "pool_size", 0)


def _dmmse(xs: torch.Tensor, ys: torch.Tensor, task: "TaskConfig") -> torch.Tensor:
    """Posterior mean over the task's finite pool (Raventós et al.'s dMMSE)."""
    from icl_lab.baselines.bayes import dmmse
    from icl_lab.tasks.regression import task_pool

    if not task_pool_size(task):
        raise ConfigError("baseline 'dmmse' needs a finite task pool: set task.pool_size > 0")
    return dmmse(xs, ys, task_pool(task.pool_size, task.d, task.prior_std, task.pool_seed), task.noise_std)


def _bayes(xs: torch.Tensor, ys: torch.Tensor, task: "TaskConfig") -> torch.Tensor:
    from icl_lab.baselines.bayes_priors import bayes_predictive

    return bayes_predictive(task)(xs, ys)[0].to(ys.dtype)


def _prior_specific(task: "TaskConfig", ev: "EvalConfig") -> dict[str, Learner]:
    """Specialists and feature-basis learners (icl_lab.baselines.bayes_priors)."""
    from icl_lab.baselines import bayes_priors as bp
    from icl_lab.baselines import regression as r

    family = task.name == "family_mixture"  # its families are scaled to Var(y) = 1
    # Read when called: a family without the parameter is refused at load (unavailable_reason).
    dense_std = lambda: 1 / math.sqrt(task.d) if family else task.prior_std  # noqa: E731
    sparse_std = lambda: 1 / math.sqrt(task.sparsity) if family else task.prior_std  # noqa: E731

    def features(xs: torch.Tensor) -> torch.Tensor:
        phi = bp.feature_map(task)
        if phi is None:
            raise ConfigError(f"task {task.name!r} has no feature basis: feature_* baselines need "
                             "fourier_series, fourier_mixture or monomial_regression")
        return phi(xs.double())

    return {
        "sparse_bayes": lambda xs, ys: bp.sparse_linear_posterior(xs, ys, task.sparsity, sparse_std(),
                                                                  task.noise_std)[0].to(ys.dtype),
        "dense_bayes": lambda xs, ys: r.bayes(xs, ys, task.noise_std, dense_std())[0],
        "feature_ols": lambda xs, ys: r.least_squares(features(xs), ys.double()).to(ys.dtype),
        "feature_ridge": lambda xs, ys: r.ridge(features(xs), ys.double(), lam=ev.ridge_lam).to(ys.dtype),
    }


# Extra defaults per prior: the comparators that make its Bayes curve meaningful.
_TASK_DEFAULTS: dict[str, tuple[str, ...]] = {
    "fourier_series": ("feature_ols", "feature_ridge"),
    "fourier_mixture": ("feature_ols", "feature_ridge"),
    "monomial_regression": ("feature_ols", "feature_ridge"),
    "family_mixture": ("dense_bayes", "sparse_bayes"),
}


def unavailable_reason(name: str, task: "TaskConfig") -> str | None:
    """Why the prior-specific baseline ``name`` cannot run on ``task`` (None if it can): lets a
    config fail at load time instead of after training."""
    from icl_lab.baselines.bayes_priors import MAX_SUPPORTS, exact_family_posterior, feature_map

    if name == "dmmse" and not task_pool_size(task):
        return "needs a finite task pool (task.pool_size > 0)"
    if name.startswith("feature_") and feature_map(task) is None:
        return "needs a feature basis (fourier_series, fourier_mixture or monomial_regression)"
    if is_boolean(task):  # the Boolean learners (bayes included) run on every Boolean class
        return None
    own = {f.name for f in dataclasses.fields(task.params)}
    gaussian_weights = "prior_std" in own or task.name == "family_mixture"
    if name in ("bayes", "dense_bayes") and not gaussian_weights:
        return "needs a Gaussian weight prior (the task has no prior_std)"
    if name == "sparse_bayes" and "sparsity" not in own:
        return "needs a sparse prior (the task has no sparsity)"
    if name == "sparse_bayes" and math.comb(task.d, task.sparsity) > MAX_SUPPORTS:
        return f"enumerates C(d, sparsity) supports, at most {MAX_SUPPORTS}"
    if name == "bayes" and task.name == "family_mixture" and not exact_family_posterior(task):
        return "has no exact form for family_mixture with relu_net or sinusoid families"
    return None


def default_baselines(task: "TaskConfig", ev: "EvalConfig") -> tuple[str, ...]:
    """What `icl-lab baselines` evaluates: the closed forms, the prior's own Bayes predictor, eval.baselines."""
    extra = ("dmmse",) if task_pool_size(task) else ()
    extra += _TASK_DEFAULTS.get(task.name, ())
    names = CLOSED_FORM + extra + tuple(ev.baselines)
    return tuple(dict.fromkeys(n for n in names if unavailable_reason(n, task) is None))


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
