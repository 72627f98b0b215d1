"""The regression pipeline (``kind = "regression"``): train a sequence model on prompts of one
task family, evaluate it and the classical baselines on the same held-out prompts, draw the
error curves. Also the config of the Boolean and sweep pipelines, which reuse its sections.

Shape shared by every pipeline: ``load(path, preset, overrides) -> config``,
``run(cfg, run_dir, resume=, force=) -> results``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from icl_lab.baselines.registry import BASELINE_NAMES, BOOLEAN_ONLY, is_boolean, unavailable_reason
from icl_lab.core.checkpoint import load_checkpoint
from icl_lab.core.config_files import build_dataclass, read_experiment
from icl_lab.core.device import resolve_device
from icl_lab.core.errors import ConfigError, RunError, check, check_fits
from icl_lab.core.runs import RunDir, atomic_write_json
from icl_lab.evaluation.config import EvalConfig
from icl_lab.evaluation.regression import OOD_VARIANTS, evaluate_experiment, model_learner
from icl_lab.figures.plotting import plot_error_curves
from icl_lab.models import check_model
from icl_lab.models.config import MODEL_SIZES, ModelConfig
from icl_lab.tasks.config import TaskConfig, build_task
from icl_lab.training.config import TrainConfig
from icl_lab.training.ensemble import train_ensemble, unsupported_reason
from icl_lab.training.regression import build_model, train

CONFIG_VERSION = 2  # 2: the task's family parameters nested under task.params
KINDS = ("regression", "boolean")  # the pipelines whose files this config describes
MAX_ENSEMBLE = 64  # members of one `train.ensemble`


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: what to sample, what to train, how to evaluate.

    Constructing one runs the registry and cross-section checks (the sections check their own
    fields), so a config that exists can be trained and evaluated."""

    name: str = "experiment"
    preset: str = ""
    kind: str = "regression"
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    # `train.ensemble = K` in a file: train seeds seed..seed+K-1 at once, each in its own run
    # directory (member_runs). How runs execute, not what they compute: a member's config is its
    # single run's (ensemble 1), and the key is left out of records while it is 1.
    ensemble: int = 1

    def __post_init__(self) -> None:
        check(self.kind in KINDS, "kind", self.kind, f"one of {KINDS} for this config")
        check(isinstance(self.ensemble, int) and not isinstance(self.ensemble, bool)
              and 1 <= self.ensemble <= MAX_ENSEMBLE, "train.ensemble", self.ensemble,
              f"an integer in [1, {MAX_ENSEMBLE}] (members trained at once)")
        if self.ensemble > 1:
            reason = unsupported_reason(self)
            check(reason is None, "train.ensemble", self.ensemble, f"1 here: {reason}")
            check(self.train.seed + self.ensemble <= 2**32, "train.ensemble", self.ensemble,
                  "a count whose seeds train.seed + k stay below 2^32")
        check_model(self.model)
        for name in self.eval.baselines:
            check(name in BASELINE_NAMES, "eval.baselines", name, f"names from {sorted(BASELINE_NAMES)}")
        for name in self.eval.ood:
            check(name in OOD_VARIANTS, "eval.ood", name, f"names from {sorted(OOD_VARIANTS)}")
        if not is_boolean(self.task):
            for name in self.eval.baselines:
                check(name not in BOOLEAN_ONLY, "eval.baselines", name, f"a baseline for task {self.task.name!r} "
                      f"({name} is a Boolean learner)")
        self._check_sizes()
        for name in () if is_boolean(self.task) else self.eval.baselines:
            reason = unavailable_reason(name, self.task)
            check(reason is None, "eval.baselines", name, f"a baseline for task {self.task.name!r}: {name} {reason}")
        if self.task.n_points > self.model.max_points:
            raise ConfigError(
                f"invalid task.n_points={self.task.n_points}: the model's context holds "
                f"model.max_points={self.model.max_points} examples"
            )

    def _check_sizes(self) -> None:
        """What training and evaluation will allocate, refused at load when it cannot fit."""
        t, m = self.task, self.model
        width = t.d + 1  # x and y of an example
        check_fits("task.d", t.d, self.train.batch_size * t.n_points * width, "a training batch")
        check_fits("eval.n_prompts", self.eval.n_prompts, self.eval.n_prompts * t.n_points * width, "the held-out prompts")
        check_fits("task.d", t.d, self.eval.batch_size * t.n_points * t.d * t.d, "a batch of prefix Gram matrices")
        check_fits("model.max_points", m.max_points, 2 * m.max_points * m.n_embd, "the position table")
        check_fits("model.n_embd", m.n_embd, 12 * m.n_layer * m.n_embd**2, "the model's blocks")
        check_fits("model.max_points", m.max_points, self.train.batch_size * m.n_head * (2 * m.max_points) ** 2,
                   "one layer's attention patterns")
        pool = getattr(t.params, "pool_size", 0)
        check_fits("task.pool_size", pool, pool * t.d, "the task pool")

    def to_dict(self) -> dict[str, Any]:
        record = {"config_version": CONFIG_VERSION, **dataclasses.asdict(self)}
        ensemble = record.pop("ensemble")
        if ensemble > 1:  # where the file says it; absent at 1, so records of single runs never change
            record["train"]["ensemble"] = ensemble
        return record

    def member_runs(self, run_dir: str | Path) -> list[tuple["ExperimentConfig", Path]]:
        """The members of ``train.ensemble = K``: seed ``train.seed + k`` in ``run_dir/seed=<seed>``
        (the sweep's run naming), each config exactly that seed's single run."""
        return [(dataclasses.replace(self, ensemble=1, train=dataclasses.replace(self.train, seed=seed)),
                 Path(run_dir) / f"seed={seed}") for seed in range(self.train.seed, self.train.seed + self.ensemble)]


SECTIONS: dict[str, type] = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig, "eval": EvalConfig}


def _model_section(raw: Any) -> Any:
    """``size = "tiny"`` expands to (n_embd, n_layer, n_head); explicit keys win."""
    if not isinstance(raw, dict) or "size" not in raw:
        return raw
    raw = dict(raw)
    size = raw.pop("size")
    check(size in MODEL_SIZES, "model.size", size, f"one of {sorted(MODEL_SIZES)}")
    n_embd, n_layer, n_head = MODEL_SIZES[size]
    return {"n_embd": n_embd, "n_layer": n_layer, "n_head": n_head, **raw}


def build_config(raw: dict[str, Any]) -> ExperimentConfig:
    """A validated :class:`ExperimentConfig` from nested plain data (a read experiment file or
    a run's config.json)."""
    raw = dict(raw)
    version = raw.pop("config_version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        raise ConfigError(f"config_version={version!r} is from another version of icl_lab "
                          f"(this one reads version {CONFIG_VERSION})")
    top_keys = {"name", "preset", "kind", *SECTIONS}
    unknown = sorted(set(raw) - top_keys)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}: valid top-level keys are {', '.join(sorted(top_keys))}")
    kwargs: dict[str, Any] = {}
    if isinstance(raw.get("train"), dict) and "ensemble" in raw["train"]:
        raw["train"] = dict(raw["train"])
        kwargs["ensemble"] = raw["train"].pop("ensemble")
    for key in ("name", "preset", "kind"):
        if key in raw:
            check(isinstance(raw[key], str), key, raw[key], "a string")
            kwargs[key] = raw[key]
    for section, cls in SECTIONS.items():
        section_raw = raw.get(section, {})
        if section == "task":
            kwargs[section] = build_task(section_raw)
            continue
        if section == "model":
            section_raw = _model_section(section_raw)
        extra = ("size",) if section == "model" else ()
        kwargs[section] = build_dataclass(cls, section_raw, section, extra)
    return ExperimentConfig(**kwargs)


def load(path: str | Path, preset: str | None = None,
         overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Read an experiment file (preset, then ``--set`` overrides) into a validated config."""
    return build_config(read_experiment(path, preset, overrides))


def config_of_run(run_dir: str | Path) -> ExperimentConfig:
    """The resolved config a run directory was trained with."""
    return build_config(RunDir(run_dir).record())


def load_trained_model(run_dir: str | Path) -> tuple[ExperimentConfig, nn.Module]:
    """Config and model of a run directory, weights loaded safely (weights-only)."""
    cfg = config_of_run(run_dir)
    model = build_model(cfg)
    load_checkpoint(RunDir(run_dir).checkpoint_path, model)
    return cfg, model.to(resolve_device(cfg.train.device)).eval()


def evaluate_run(run_dir: str | Path, write: bool = True) -> dict:
    """Evaluate a trained run against its baselines; write results.json and the figure.

    Refuses a run whose training has not finished (its status and resumability stay as they are).
    The run of a ``train.ensemble`` evaluates each member: ``{"members": {name: results}}``."""
    state = RunDir(run_dir).status()
    if state.get("state") not in ("trained", "finished"):
        raise RunError(f"{run_dir} is not trained (state {state.get('state')!r} at step {state.get('step', 0)}): "
                       "finish it with `icl-lab run FILE --resume --out RUN_DIR`")
    cfg = config_of_run(run_dir)
    if cfg.ensemble > 1:
        members = cfg.member_runs(run_dir)
        return _write_members(cfg, run_dir, [path for _, path in members],
                              [evaluate_run(path, write) for _, path in members], write)
    if write:
        RunDir(run_dir).acquire()  # released when the run is marked finished
    cfg, model = load_trained_model(run_dir)
    results = evaluate_experiment(cfg, model_learner(model, cfg.eval.batch_size))
    if write:
        run = RunDir(run_dir)
        atomic_write_json(run.results_path, {"config": cfg.to_dict(), **results})
        title = f"{cfg.task.name}, d={cfg.task.d} ({cfg.preset or 'custom'})"
        plot_error_curves(results["in_distribution"], run.path / "figure", title=title, d=cfg.task.d)
        for name, res in results["ood"].items():
            plot_error_curves(res, run.path / f"figure_ood_{name}", title=f"{title}: {name}", d=cfg.task.d)
        run.set_status("finished", step=cfg.train.steps)
    return results


def _write_members(cfg: ExperimentConfig, run_dir: str | Path, paths: list[Path], results: list[dict],
                   write: bool = True) -> dict:
    """The results of a ``train.ensemble`` run: each member's, under its directory name."""
    out = {"members": {path.name: r for path, r in zip(paths, results)}}
    if write:
        run = RunDir(run_dir)
        run.acquire()
        atomic_write_json(run.results_path, {"config": cfg.to_dict(), **out})
        run.set_status("finished", step=cfg.train.steps)
    return out


def run_ensemble(cfgs: list[ExperimentConfig], run_dirs: list[str | Path], *, resume: bool = False,
                 force: bool = False, progress: bool | None = None, train_only: bool = False) -> list[dict]:
    """:func:`run` for several configs of one shape (see :func:`icl_lab.training.ensemble.ensemble_key`),
    trained at once as an ensemble: ``results[k]`` is what ``run(cfgs[k], run_dirs[k])`` returns, to
    float tolerance, and each run directory is that run's. Finished members (the result cache) are not
    retrained. Members whose training diverged end ``diverged``; a RunError names them once the
    others are evaluated."""
    torch.set_float32_matmul_precision("high")
    results: list[dict | None] = [None] * len(cfgs)
    todo = []
    for k, (cfg, path) in enumerate(zip(cfgs, run_dirs)):
        cached = RunDir(path).cached_results(cfg.to_dict()) if resume else None
        if cached is not None:
            results[k] = {key: v for key, v in cached.items() if key != "config"}
        else:
            todo.append(k)
    if len(todo) == 1:
        train(cfgs[todo[0]], run_dirs[todo[0]], resume=resume, force=force, progress=progress)
    elif todo:
        train_ensemble([cfgs[k] for k in todo], [run_dirs[k] for k in todo], resume=resume, force=force,
                       progress=progress)
    diverged = []
    for k in todo:
        status = RunDir(run_dirs[k]).status()
        if status.get("state") == "diverged":
            diverged.append(status.get("error", f"{run_dirs[k]} diverged"))
        elif train_only:
            results[k] = {"config": cfgs[k].to_dict(), "trained": True}
        else:
            results[k] = evaluate_run(run_dirs[k])
    if diverged:
        raise RunError(f"{len(diverged)} of {len(cfgs)} ensemble members diverged, e.g. {diverged[0]}")
    return results  # type: ignore[return-value]


def run(cfg: ExperimentConfig, run_dir: str | Path, *, resume: bool = False,
        force: bool = False, progress: bool | None = None, train_only: bool = False) -> dict:
    """Train (or resume), evaluate and draw; returns the results (``train_only``: train only,
    status ``trained``; ``icl-lab eval`` evaluates later). With ``train.ensemble = K`` the K
    seeds train at once in ``run_dir/seed=<seed>`` (:meth:`ExperimentConfig.member_runs`) and the
    results are ``{"members": {"seed=<seed>": results}}``."""
    torch.set_float32_matmul_precision("high")
    cached = RunDir(run_dir).cached_results(cfg.to_dict()) if resume else None
    if cached is not None:  # a finished run resumed: nothing left to do
        return {k: v for k, v in cached.items() if k != "config"}
    if cfg.ensemble > 1:
        return _run_members(cfg, run_dir, resume=resume, force=force, progress=progress, train_only=train_only)
    train(cfg, run_dir, resume=resume, force=force, progress=progress)
    if train_only:
        return {"config": cfg.to_dict(), "trained": True}
    return evaluate_run(run_dir)


def _run_members(cfg: ExperimentConfig, run_dir: str | Path, *, resume: bool, force: bool,
                 progress: bool | None, train_only: bool) -> dict:
    """``train.ensemble = K``: the run directory holds the K members' run directories."""
    parent = RunDir(run_dir)
    parent.prepare(cfg.to_dict(), resume=resume, force=force)  # force removes the members too
    parent.set_status("running")
    members = cfg.member_runs(run_dir)
    try:
        results = run_ensemble([c for c, _ in members], [path for _, path in members], resume=resume,
                               force=force, progress=progress, train_only=train_only)
    except KeyboardInterrupt:
        parent.set_status("interrupted")
        raise
    except Exception as exc:
        parent.set_status("failed", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    if train_only:
        parent.set_status("trained", step=cfg.train.steps)
        return {"config": cfg.to_dict(), "trained": True}
    return _write_members(cfg, run_dir, [path for _, path in members], results)


def summary(results: dict, d: int) -> list[str]:
    """Lines of the normalised error at k = 0, d/2, d, 2d for every learner (per member of an ensemble)."""
    if "members" in results:
        return [line for name, r in results["members"].items() for line in (f"{name}:", *summary(r, d))]
    curves = results["in_distribution"]
    ks = [k for k in (0, d // 2, d, 2 * d) if k < len(next(iter(curves.values()))["mean"])]
    lines = ["normalised error at k = " + ", ".join(map(str, ks))]
    lines += [f"  {name:<16}" + "  ".join(f"{s['mean'][k]:.3f}" for k in ks) for name, s in curves.items()]
    return lines

