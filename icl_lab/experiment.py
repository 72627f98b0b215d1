"""The lab's main job as library functions: train, evaluate, draw — what the CLI calls."""

from __future__ import annotations

from pathlib import Path

import torch

from icl_lab.checkpoint import load_checkpoint
from icl_lab.config import ExperimentConfig
from icl_lab.evaluate import evaluate_experiment, model_learner
from torch import nn
from icl_lab.plotting import plot_error_curves
from icl_lab.runs import RunDir, atomic_write_json
from icl_lab.train import build_model, resolve_device, train


def default_run_dir(cfg: ExperimentConfig) -> Path:
    return Path("runs") / (f"{cfg.name}-{cfg.preset}" if cfg.preset else cfg.name)


def load_trained_model(run_dir: str | Path) -> tuple[ExperimentConfig, nn.Module]:
    """Config and model of a run directory, weights loaded safely (weights-only)."""
    run = RunDir(run_dir)
    cfg = run.config()
    model = build_model(cfg)
    load_checkpoint(run.checkpoint_path, model)
    return cfg, model.to(resolve_device(cfg.train.device))


def evaluate_run(run_dir: str | Path, write: bool = True) -> dict:
    """Evaluate a trained run against its baselines; write results.json and the figure."""
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


def run_experiment(cfg: ExperimentConfig, run_dir: str | Path, *, resume: bool = False,
                   force: bool = False, progress: bool | None = None) -> dict:
    """Train (or resume), evaluate and draw; returns the results."""
    torch.set_float32_matmul_precision("high")
    train(cfg, run_dir, resume=resume, force=force, progress=progress)
    return evaluate_run(run_dir)
