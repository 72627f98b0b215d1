"""icl_lab: a laboratory for the theory of in-context learning.

The public API, for notebooks and scripts: the operations the ``icl-lab`` command offers,
named the same way, plus the helpers the notebooks draw with (``__all__`` lists them all).
Everything below the top-level package may move without notice (``docs/architecture.md``).

>>> import icl_lab
>>> cfg = icl_lab.load("linear_regression", preset="quick", overrides=["train.steps=100"])
>>> results = icl_lab.run(cfg, "runs/lr-100")            # train, evaluate, draw (or resume)
>>> cfg, model = icl_lab.load_run("runs/lr-100")         # a finished run and its model
>>> curves = icl_lab.evaluate(cfg, model)               # model and baselines, same prompts
>>> batch = icl_lab.sample_task(cfg.task, 8, seed=0)     # prompts of the task family

Experiment files are named bare (``"linear_regression"``): ``experiments/NAME.toml`` in the
working directory, else the lab's bundled one. The helpers in :data:`_PUBLIC` are imported on
first use, so ``import icl_lab`` stays cheap.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch

__version__ = "0.1.0"


def load(experiment: str | Path, preset: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """The validated config of an experiment file (its ``kind`` picks the pipeline), after the
    preset and ``--set``-style overrides such as ``"task.d=10"``."""
    return importlib.import_module("icl_lab.pipelines").load_experiment(experiment, preset, overrides)[1]


def run(cfg: Any, run_dir: str | Path | None = None, *, resume: bool = False, force: bool = False,
        **options: Any) -> dict:
    """Run (or, with ``resume``, continue) an experiment; returns its results. ``run_dir``
    defaults to ``runs/<name>-<preset>``, like ``icl-lab run``; ``options`` (e.g.
    ``progress=False``, ``log=print``) go to the kind's pipeline."""
    pipelines = importlib.import_module("icl_lab.pipelines")
    run_dir = Path(run_dir) if run_dir is not None else pipelines.default_run_dir(cfg)
    return pipelines.PIPELINES[cfg.kind].run(cfg, run_dir, resume=resume, force=force, **options)


def summary(results: dict, cfg: Any) -> str:
    """The summary ``icl-lab run`` prints for these results (a Markdown table for most kinds)."""
    return "\n".join(importlib.import_module("icl_lab.pipelines").PIPELINES[cfg.kind].summary(results, cfg))


def train(cfg: Any, run_dir: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool | None = None) -> torch.nn.Module:
    """Train only (a regression-kind config); returns the model in eval mode."""
    run_dir = run_dir if run_dir is not None else importlib.import_module("icl_lab.pipelines").default_run_dir(cfg)
    return importlib.import_module("icl_lab.training.regression").train(cfg, run_dir, resume=resume, force=force, progress=progress)


def load_run(run_dir: str | Path) -> tuple[Any, torch.nn.Module]:
    """The config and trained model (eval mode, weights-only load) of a regression-kind run."""
    return importlib.import_module("icl_lab.pipelines.regression").load_trained_model(run_dir)


def evaluate(cfg: Any, model: torch.nn.Module | None = None, baselines: tuple[str, ...] | None = None) -> dict:
    """Per-position error of ``model`` (if given) and of the baselines (default ``cfg.eval.baselines``)
    on the config's held-out prompts: ``{"in_distribution": {learner: {"mean", "lo", "hi"}}, "ood": ...}``."""
    evaluation = importlib.import_module("icl_lab.evaluation.regression")
    learner = evaluation.model_learner(model, cfg.eval.batch_size) if model is not None else None
    return evaluation.evaluate_experiment(cfg, learner, baselines)


def sample_task(task_cfg: Any, n_prompts: int, seed: int = 0, **kwargs: Any) -> Any:
    """``n_prompts`` prompts of the task family in ``task_cfg`` (a ``Batch``: ``xs [B, N, D]``,
    ``ys [B, N]`` and the latent parameters that generated them)."""
    return importlib.import_module("icl_lab.tasks").sample_task(task_cfg, n_prompts, torch.Generator().manual_seed(seed), **kwargs)


def boolean_table(results: dict[str, dict]) -> str:
    """A Markdown table of :func:`evaluate_boolean_class` results: accuracy at the last position, in percent."""
    boolean = importlib.import_module("icl_lab.pipelines.boolean")
    return boolean.format_table(boolean.accuracy_table(results))


# Helpers re-exported on first use: public name -> "module" (same name there) or "module:name".
# A name here must not be a subpackage of icl_lab (``tasks``, ``rasp``, ...): the import system
# would shadow it.
_PUBLIC: dict[str, str] = {
    # tasks, prompts and evaluation (regression kind)
    "TaskConfig": "icl_lab.tasks.config",  # the [task] section of an experiment file
    "TASKS": "icl_lab.tasks",  # task families by name (sampler, parameters, true function)
    "eval_batch": "icl_lab.evaluation.regression",  # the held-out prompts of a config
    "model_learner": "icl_lab.evaluation.regression",  # a trained model as a learner (xs, ys) -> preds
    "evaluate_learners": "icl_lab.evaluation.regression",  # per-position error of learners on one batch
    "accuracies": "icl_lab.evaluation.regression",  # per-prompt, per-position accuracy of ±1 predictions
    "make_baselines": "icl_lab.baselines.registry",  # baseline learners by name
    "default_baselines": "icl_lab.baselines.registry",  # the baselines a task family gets by default
    "plot_error_curves": "icl_lab.figures.plotting",  # error against prompt length, one curve per learner
    # Bayesian lens: priors, uncertainty, probes
    "bayes_predictive": "icl_lab.baselines.bayes_priors",  # exact posterior predictive (mean, var) of a prior
    "posterior_weights": "icl_lab.baselines.bayes_priors",  # posterior over a prior's mixture components
    "model_predictive": "icl_lab.evaluation.uncertainty",  # (mean, var) of a Gaussian-head model
    "calibration_bins": "icl_lab.evaluation.uncertainty",
    "calibration_summary": "icl_lab.evaluation.uncertainty",
    "plot_calibration": "icl_lab.evaluation.uncertainty",
    "candidate_predictions": "icl_lab.evaluation.probes",  # predictions of the candidate algorithms
    "closest_algorithm_table": "icl_lab.evaluation.probes",  # the closest candidate per prompt length
    "format_closest_table": "icl_lab.evaluation.probes",
    "plot_closest_algorithm": "icl_lab.evaluation.probes",
    "probe_layers": "icl_lab.evaluation.probes",  # probes on a model's hooked activations, with controls
    "probe_predictions": "icl_lab.evaluation.probes",  # a learner's predicted function on a grid of queries
    # looped models and theory
    "iteration_errors": "icl_lab.models.looped",  # error of a looped model after each loop iteration
    "gd_lsa": "icl_lab.theory.gd_construction",  # the linear self-attention that does GD steps
    "one_step_gd": "icl_lab.theory.gd_construction",  # one GD step's prediction, for comparison
    "closed_forms": "icl_lab.theory",  # risk formulas (namespace)
    "monte_carlo": "icl_lab.theory",  # Monte Carlo estimates of the same risks (namespace)
    "symbolic": "icl_lab.theory",  # sympy derivations (namespace)
    # Boolean functions
    "BOOLEAN_CLASSES": "icl_lab.tasks.boolean",  # the Boolean function classes
    "make_boolean_baseline": "icl_lab.baselines.registry",
    "boolean_bayes_method": "icl_lab.baselines.boolean_posterior:choose_method",  # which exact Bayes a task gets
    "hypothesis_count": "icl_lab.baselines.boolean_bayes",  # size of a Boolean class's hypothesis set
    "evaluate_boolean_class": "icl_lab.pipelines.boolean:evaluate_class",  # train and evaluate one class
    "plot_accuracy_curves": "icl_lab.pipelines.boolean",
    # bandits
    "BanditEnvConfig": "icl_lab.tasks.bandits",
    "sample_bandit_tasks": "icl_lab.tasks.bandits:sample_tasks",
    "reward_table": "icl_lab.tasks.bandits",  # the rewards every arm would pay at every step
    "pseudo_regret": "icl_lab.tasks.bandits",
    "bandit_policy": "icl_lab.baselines.bandits:make_policy",  # a classical bandit learner by name ("ucb:1")
    "online_regret": "icl_lab.evaluation.bandits",  # cumulative regret of learners on the same tasks
    "solve_bayes_optimal": "icl_lab.baselines.bandit_bayes_optimal:solve",  # the exact Bernoulli DP
    "bayes_optimal_states": "icl_lab.baselines.bandit_bayes_optimal:n_states",  # states the DP visits
    "BayesOptimalBernoulli": "icl_lab.baselines.bandit_bayes_optimal",  # the DP solution as a policy
    "run_bandit_setting": "icl_lab.pipelines.bandits:run_setting",  # one setting of a bandits config
    "plot_online_regret": "icl_lab.pipelines.bandits:plot_online",
    "plot_offline_regret": "icl_lab.pipelines.bandits:plot_offline",
    # chain of thought
    "COT_TASKS": "icl_lab.tasks.cot:TASK_NAMES",
    "cot_task": "icl_lab.tasks.cot:make_task",  # a chain-of-thought task by name, like `icl-lab cot show`
    "cot_split": "icl_lab.tasks.cot:split_of",  # "train" or "test" for a problem
    # algorithmic tasks and length generalization
    "ALGORITHMIC_TASKS": "icl_lab.tasks.algorithmic:TASKS",
    "algorithmic_task": "icl_lab.tasks.algorithmic:make_task",
    "plot_length_generalization": "icl_lab.pipelines.length_generalization",
    # RASP: the language ...
    "select": "icl_lab.rasp", "aggregate": "icl_lab.rasp", "numerical": "icl_lab.rasp",
    "tokens": "icl_lab.rasp", "indices": "icl_lab.rasp", "length": "icl_lab.rasp",
    "EQ": "icl_lab.rasp", "LT": "icl_lab.rasp", "LEQ": "icl_lab.rasp",
    "RASP_LIBRARY": "icl_lab.rasp:LIBRARY",  # programs by name
    "rasp_evaluate": "icl_lab.rasp:evaluate",  # run a program on an input
    "rasp_trace": "icl_lab.rasp:trace",  # every intermediate value of a program on an input
    "rasp_check": "icl_lab.rasp:check_rasp_l",  # the RASP-L report, like `icl-lab rasp check`
    "rasp_layers_and_heads": "icl_lab.rasp:layers_and_heads",
    "RASP_SEP": "icl_lab.rasp.formats:SEP", "RASP_EOS": "icl_lab.rasp.formats:EOS",
    "rasp_vocab": "icl_lab.rasp.formats:vocab",  # the vocabulary of a task's RASP format
    # ... and its compiler
    "rasp_compile": "icl_lab.rasp.compiler:compile_program",  # like `icl-lab rasp compile`
    "rasp_describe": "icl_lab.rasp.compiler:describe_model",  # the listing `icl-lab rasp compile` prints
    "rasp_verify": "icl_lab.rasp.compiler:verify",  # compiled model vs the interpreter
    "rasp_verify_library": "icl_lab.rasp.compiler:verify_library",
    "rasp_verify_table": "icl_lab.rasp.compiler:format_table",
    "plot_rasp_pattern": "icl_lab.rasp.compiler.plots:plot_pattern",  # attention of a compiled head
    "CompilationError": "icl_lab.rasp.compiler",
    "CausalityError": "icl_lab.rasp.compiler",
    "rasp_compare": "icl_lab.pipelines.rasp_compare:compare",  # trained vs compiled RASP program (count, mode, copy_unique)
}


def __getattr__(name: str) -> Any:
    """The helpers of :data:`_PUBLIC`, imported on first use."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'icl_lab' has no attribute {name!r}")
    module_name, _, attr = _PUBLIC[name].partition(":")
    attr = attr or name
    module = importlib.import_module(module_name)
    try:
        value = getattr(module, attr)
    except AttributeError:  # a submodule as a namespace (closed_forms, ...)
        value = importlib.import_module(f"{module_name}.{attr}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = ["__version__", "boolean_table", "evaluate", "load", "load_run", "run", "sample_task", "summary",
           "train", *_PUBLIC]
