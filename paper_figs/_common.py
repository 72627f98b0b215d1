"""Shared helpers for the figure modules: train once per (experiment, preset), reuse after."""

from __future__ import annotations

from pathlib import Path

from icl_lab.core.runs import RunDir
from icl_lab.pipelines.regression import ExperimentConfig, evaluate_run
from icl_lab.pipelines.regression import load as load_experiment
from icl_lab.pipelines.regression import run as run_experiment


def experiment_config(name: str, preset: str, extra: list[str] | None = None) -> ExperimentConfig:
    """The config of ``experiments/<name>.toml`` under ``preset`` (smoke: the file's own smoke preset)."""
    return load_experiment(name, preset, extra or [])


def trained_run(cfg: ExperimentConfig, runs: Path, tag: str = "") -> tuple[Path, dict]:
    """Train (or resume, or reuse a finished run) under the folder ``runs`` and evaluate it;
    ``tag`` tells apart several runs of one (experiment, preset), e.g. a depth sweep.
    Figures built on the same experiment and preset share the run."""
    run_dir = Path(runs) / f"{cfg.name}-{cfg.preset}{'-' + tag if tag else ''}"
    run = RunDir(run_dir)
    cached = run.cached_results(cfg.to_dict())
    if cached is not None:
        return run_dir, {k: v for k, v in cached.items() if k != "config"}
    if run.holds(cfg.to_dict()):
        if run.status().get("state") == "trained":
            return run_dir, evaluate_run(run_dir)
        return run_dir, run_experiment(cfg, run_dir, resume=True)
    return run_dir, run_experiment(cfg, run_dir, force=run.exists())


def mean_curves(curves: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, list[float]]]:
    """Error curves cut to what a figure draws: the mean and its 95% interval per learner."""
    keep = ("mean", "lo", "hi")
    return {name: {k: v for k, v in c.items() if k in keep} for name, c in curves.items()}
