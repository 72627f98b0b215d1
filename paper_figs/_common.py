"""Shared helpers for the figure scripts: train once per (experiment, preset), reuse after."""

from __future__ import annotations

from pathlib import Path

from icl_lab.core.runs import RunDir
from icl_lab.pipelines.regression import ExperimentConfig, evaluate_run
from icl_lab.pipelines.regression import load as load_experiment
from icl_lab.pipelines.regression import run as run_experiment


def experiment_config(name: str, preset: str, extra: list[str] | None = None) -> ExperimentConfig:
    """The config of ``experiments/<name>.toml`` under ``preset`` (smoke: the file's own smoke preset)."""
    return load_experiment(name, preset, extra or [])


def trained_run(cfg: ExperimentConfig, out_dir: Path, tag: str = "") -> tuple[Path, dict]:
    """Train (or resume, or reuse a finished run) under ``out_dir``/../runs and evaluate it;
    ``tag`` tells apart several runs of one (experiment, preset), e.g. a depth sweep."""
    run_dir = Path(out_dir).parent / "runs" / f"{cfg.name}-{cfg.preset}{'-' + tag if tag else ''}"
    run = RunDir(run_dir)
    cached = run.cached_results(cfg.to_dict())
    if cached is not None:
        return run_dir, {k: v for k, v in cached.items() if k != "config"}
    if run.holds(cfg.to_dict()):
        if run.status().get("state") == "trained":
            return run_dir, evaluate_run(run_dir)
        return run_dir, run_experiment(cfg, run_dir, resume=True)
    return run_dir, run_experiment(cfg, run_dir, force=run.exists())
