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
BASELINE_NAMES = CLOSED_FORM + PER_PROMPT


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
        "two_layer_net": r.two_layer_net,
        "decision_tree": r.decision_tree,
        "gradient_boosting": r.gradient_boosting,
    }
    if name not in table:
        raise ValueError(f"unknown baseline {name!r}: choose from {', '.join(BASELINE_NAMES)}")
    return table[name]


def make_baselines(names: tuple[str, ...] | list[str], task: "TaskConfig", ev: "EvalConfig") -> dict[str, Learner]:
    return {name: make_baseline(name, task, ev) for name in names}
