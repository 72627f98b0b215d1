"""Boolean-function experiments (Bhattamishra et al. 2024): trained learners vs algorithms vs Bayes.

Per class (``experiments/boolean.toml``, preset quick | paper | smoke) this module trains
(or reuses) a transformer, an LSTM and a GRU, evaluates them with the Boolean baselines,
an MLP trained on each prompt and the Bayes-optimal predictor on the same held-out
prompts, and caches per-position accuracies as JSON next to the runs. The figure scripts
(paper_figs/fig50–53) and notebooks/04_boolean.ipynb draw from these caches:

* :func:`accuracy_table`: class × learner accuracy at the end of the prompt;
* :func:`evaluate_class` curves: accuracy vs number of examples, Bayes as the ceiling;
* :data:`TEACHING_PAIRS`: teaching sequences vs random examples under the same prior;
* parity / sparse parity: the transformer at chance while GF(2) elimination and Bayes solve it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import nn

from icl_lab.baselines import boolean as algorithms
from icl_lab.baselines.boolean_posterior import choose_method
from icl_lab.baselines.registry import make_boolean_baseline
from icl_lab.core.runs import RunDir, atomic_write_json
from icl_lab.evaluation.regression import accuracies, eval_batch, model_learner
from icl_lab.pipelines.regression import (
    ExperimentConfig,
    load_trained_model,
)
from icl_lab.pipelines.regression import (
    load as load_experiment,
)
from icl_lab.tasks.boolean import BOOLEAN_CLASSES
from icl_lab.training.regression import train

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "boolean.toml"
FAMILIES = ("transformer", "lstm", "gru")
BASELINES = ("constant", "averaging", "knn", "cosine_nn", "elimination", "signed_elimination", "gf2", "bayes")
# (random examples, teaching sequence first): conjunction and teach_signed_conjunction share the
# function prior exactly; dnf / teach_dnf differ in the literals (signed vs monotone terms).
TEACHING_PAIRS = (("conjunction", "teach_signed_conjunction"), ("dnf", "teach_dnf"))
# the smoke preset: a class for every claim of fig50/fig51 (seconds each)
SMOKE_CLASSES = ("conjunction", "disjunction", "dnf", "parity", "teach_conjunction")
PRETTY = {"transformer": "transformer", "lstm": "LSTM", "gru": "GRU", "mlp": "MLP on prompt",
          "bayes": "Bayes-optimal", "constant": "constant (−1)", "averaging": "averaging", "knn": "3-NN",
          "cosine_nn": "cosine 1-NN", "elimination": "elimination", "signed_elimination": "signed elimination",
          "gf2": "GF(2) elimination"}


def boolean_config(preset: str, function_class: str, family: str = "transformer",
                   extra: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """The config of one (class, model family) run under ``preset`` (quick, paper or smoke)."""
    overrides = [f"task.function_class={function_class}", f"model.family={family}", *extra]
    return load_experiment(EXPERIMENT, preset, overrides)


def run_dir_for(cfg: ExperimentConfig, runs_dir: Path) -> Path:
    return Path(runs_dir) / f"boolean-{cfg.task.function_class}-{cfg.model.family}-{cfg.preset or 'custom'}"


def trained_model(cfg: ExperimentConfig, runs_dir: Path) -> nn.Module:
    """Train ``cfg`` under ``runs_dir`` or reuse (resume) a run with the same config."""
    run_dir = run_dir_for(cfg, runs_dir)
    run = RunDir(run_dir)
    same = run.holds(cfg.to_dict())  # a run of another config (or schema) starts over
    if same and run.status().get("state") in ("trained", "finished"):
        return load_trained_model(run_dir)[1]
    return train(cfg, run_dir, resume=same, force=run.exists() and not same, progress=False)


def mlp_positions(n_points: int, count: int = 6) -> list[int]:
    """Where the per-prompt MLP is fitted (it trains one network per prompt and position)."""
    step = max(1, (n_points - 1) // count)
    return sorted({*range(step, n_points, step), n_points - 1})


def evaluate_class(preset: str, function_class: str, runs_dir: Path, families: tuple[str, ...] = FAMILIES,
                   baselines: tuple[str, ...] = BASELINES, mlp: bool = True,
                   extra: list[str] | tuple[str, ...] = ()) -> dict:
    """Per-position accuracy of every learner on the class's held-out prompts (cached as JSON).

    Returns {"config", "curves": {learner: [acc or None per position]}, "seconds": {learner: s},
    "bayes_method"}. MLP entries are None where it was not fitted (see :func:`mlp_positions`).
    """
    cfg = boolean_config(preset, function_class, extra=extra)
    cache = Path(runs_dir) / f"boolean-eval-{function_class}-{preset}.json"
    key = {"config": cfg.to_dict(), "families": list(families), "baselines": list(baselines), "mlp": mlp}
    key = json.loads(json.dumps(key))  # tuples become lists, as in the cache file
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return cached
    batch = eval_batch(cfg)
    learners = {fam: model_learner(trained_model(boolean_config(preset, function_class, fam, extra), runs_dir),
                                   cfg.eval.batch_size) for fam in families}
    learners.update({name: make_boolean_baseline(name, cfg.task, cfg.eval) for name in baselines})
    curves, seconds = {}, {}
    for name, learner in learners.items():
        t0 = time.perf_counter()
        preds = learner(batch.xs, batch.ys)
        seconds[name] = round(time.perf_counter() - t0, 3)
        curves[name] = accuracies(preds, batch).mean(0).tolist()
    if mlp:
        positions = mlp_positions(cfg.task.n_points)
        t0 = time.perf_counter()
        acc = accuracies(algorithms.mlp(batch.xs, batch.ys, positions=positions), batch).mean(0)
        seconds["mlp"] = round(time.perf_counter() - t0, 3)
        curves["mlp"] = [float(acc[k]) if k in positions else None for k in range(cfg.task.n_points)]
    result = {"key": key, "function_class": function_class, "n": cfg.task.d, "curves": curves,
              "seconds": seconds, "bayes_method": choose_method(cfg.task) if "bayes" in baselines else None}
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(cache, result)
    return result


def accuracy_table(results: dict[str, dict]) -> dict[str, dict[str, float]]:
    """{class: {learner: accuracy at the last position}} from :func:`evaluate_class` results."""
    return {c: {name: curve[-1] for name, curve in r["curves"].items()} for c, r in results.items()}


def format_table(table: dict[str, dict[str, float]]) -> str:
    """A Markdown table: classes as rows, learners as columns, accuracies in percent."""
    learners = list(dict.fromkeys(name for row in table.values() for name in row))
    lines = ["| class | " + " | ".join(PRETTY.get(n, n) for n in learners) + " |",
             "|---|" + "---|" * len(learners)]
    for c, row in table.items():
        lines.append(f"| {c} | " + " | ".join(f"{100 * row[n]:.1f}" if row.get(n) is not None else "–"
                                               for n in learners) + " |")
    return "\n".join(lines)


def plot_accuracy_curves(curves: dict[str, list[float | None]], ax: plt.Axes, title: str = "",
                         only: tuple[str, ...] | None = None) -> None:
    """Accuracy against the number of in-context examples; Bayes dashed black as the ceiling."""
    for name, curve in curves.items():
        if only is not None and name not in only:
            continue
        ks = [k for k, v in enumerate(curve) if v is not None]
        vs = [curve[k] for k in ks]
        style = {"bayes": dict(color="black", ls="--", lw=2), "transformer": dict(lw=2.2)}.get(name, dict(lw=1.2))
        ax.plot(ks, vs, marker="o" if name == "mlp" else None, ms=3, label=PRETTY.get(name, name), **style)
    ax.set(xlabel="in-context examples k", ylabel="accuracy", ylim=(0.4, 1.02), title=title)
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")


def run_all(preset: str, runs_dir: Path, classes: tuple[str, ...] = BOOLEAN_CLASSES, **kwargs) -> dict[str, dict]:
    """:func:`evaluate_class` for every class (one training at a time)."""
    torch.set_num_threads(1)  # small models: one thread avoids oversubscribing shared CPUs
    return {c: evaluate_class(preset, c, runs_dir, **kwargs) for c in classes}


def smc_error(function_class: str, n: int, n_points: int = 24, prompts: int = 256, particles: int = 128,
              seed: int = 0) -> dict[str, float]:
    """The sampling error of the SMC Bayes predictor where exact enumeration also runs.

    Returns the mean |P_smc − P_exact| of the predictive probability, the accuracy of both,
    and the fraction of decisions that differ (all over prompts × positions).
    """
    from icl_lab.baselines.boolean_posterior import bayes
    from icl_lab.tasks import sample_task
    from icl_lab.tasks.config import TaskConfig

    cfg = TaskConfig.of(name="boolean", d=n, n_points=n_points, function_class=function_class)
    batch = sample_task(cfg, prompts, torch.Generator().manual_seed(seed))
    exact = bayes(batch.xs, batch.ys, cfg, method="enumerate")
    smc = bayes(batch.xs, batch.ys, cfg, method="smc", particles=particles, seed=seed)
    return {"mean_abs_dp": float((torch.sigmoid(exact) - torch.sigmoid(smc)).abs().mean()),
            "acc_exact": float(accuracies(exact, batch).mean()), "acc_smc": float(accuracies(smc, batch).mean()),
            "decisions_differ": float(((exact > 0) != (smc > 0)).float().mean())}
