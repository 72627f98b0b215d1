"""Training loop: fresh prompts every step, curriculum, AdamW, schedule, durable checkpoints.

Each step's prompts come from a generator seeded by (seed, step), so a resumed run sees
exactly the prompts an uninterrupted one would, and ends with the same metrics.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.checkpoint import load_checkpoint, save_checkpoint
from icl_lab.config import ExperimentConfig
from icl_lab.models import MODEL_FAMILIES
from icl_lab.runs import RunDir
from icl_lab.tasks import TASKS, curriculum, sample_task


def resolve_device(name: str = "auto") -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("invalid train.device='cuda': no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def build_model(cfg: ExperimentConfig) -> nn.Module:
    """The model of ``cfg.model.family`` for ``cfg.task`` (see icl_lab.models.MODEL_FAMILIES)."""
    return MODEL_FAMILIES[cfg.model.family](cfg)


def step_generator(seed: int, step: int) -> torch.Generator:
    """A generator for one training step, independent of how the run was interrupted."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def lr_factor(step: int, cfg: ExperimentConfig) -> float:
    """Linear warm-up, then constant or cosine decay to 10% of the peak."""
    t = cfg.train
    if t.warmup_steps and step < t.warmup_steps:
        return (step + 1) / t.warmup_steps
    if t.schedule == "cosine":
        progress = (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return 1.0


def make_optimizer(model: nn.Module, cfg: ExperimentConfig) -> torch.optim.Optimizer:
    # fused: one kernel for the whole update instead of a dozen elementwise passes per tensor
    return torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay,
                             fused=True)


def training_loss(model: nn.Module, xs: torch.Tensor, ys: torch.Tensor, step: int = 0,
                  loss: str = "mse") -> torch.Tensor:
    """The loss averaged over every position (every prefix is a training example).

    ``loss`` is the task family's: "mse" for real labels, "bce" for ±1 labels (logits).
    A model with its own ``training_loss(xs, ys, step)`` (e.g. looped models) uses that.
    """
    if hasattr(model, "training_loss"):
        return model.training_loss(xs, ys, step)
    out = model(xs, ys).float()
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(out, (ys > 0).float())
    return ((out - ys) ** 2).mean()


class Progress:
    """A one-line progress display on stderr: step, loss, steps/s; quiet when not a TTY."""

    def __init__(self, total: int, start: int, enabled: bool | None = None):
        self.total, self.start, self.t0 = total, start, time.perf_counter()
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def update(self, step: int, loss: float) -> float:
        rate = (step - self.start) / max(1e-9, time.perf_counter() - self.t0)
        if self.enabled:
            width = 24
            done = int(width * step / self.total)
            eta = (self.total - step) / max(rate, 1e-9)
            sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {step}/{self.total} "
                             f"loss {loss:.4f}  {rate:.1f} steps/s  eta {eta:.0f}s ")
            sys.stderr.flush()
        return rate

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def train(cfg: ExperimentConfig, run_dir: str | Path, *, resume: bool = False, force: bool = False,
          on_step: Callable[[int], None] | None = None, progress: bool | None = None) -> nn.Module:
    """Train a model for ``cfg`` in ``run_dir``; returns the trained model (on its device).

    ``on_step(step)`` is called after each optimiser step (tests use it to interrupt).
    Ctrl-C writes a checkpoint at the current step and re-raises.
    """
    run = RunDir(run_dir)
    run.prepare(cfg, resume=resume, force=force)
    device = resolve_device(cfg.train.device)
    if device.type == "cpu" and cfg.train.cpu_threads:
        torch.set_num_threads(cfg.train.cpu_threads)
    torch.manual_seed(cfg.train.seed)  # model initialisation only; data has its own generators
    model = build_model(cfg).to(device)
    optimizer = make_optimizer(model, cfg)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg))
    step = 0
    if resume and run.checkpoint_path.is_file():
        step = load_checkpoint(run.checkpoint_path, model, optimizer, schedule)
        run.truncate_metrics(step)
    elif resume:
        run.truncate_metrics(0)
    if step >= cfg.train.steps:
        return model
    run.set_status("running", step=step)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if cfg.train.bf16 else nullcontext())
    bar = Progress(cfg.train.steps, step, progress)
    t_start = time.perf_counter()
    model.train()
    try:
        while step < cfg.train.steps:
            dims, points = curriculum(cfg.train, cfg.task, step)
            batch = sample_task(cfg.task, cfg.train.batch_size, step_generator(cfg.train.seed, step),
                                n_points=points, active_dims=dims).to(device)
            with autocast:
                loss = training_loss(model, batch.xs, batch.ys, step, TASKS[cfg.task.name].loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.train.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            optimizer.step()
            schedule.step()
            step += 1
            if step % cfg.train.log_every == 0 or step == cfg.train.steps:
                rate = bar.update(step, loss.item())
                run.append_metrics({"step": step, "loss": loss.item(), "lr": schedule.get_last_lr()[0],
                                    "active_dims": dims, "n_points": points,
                                    "elapsed_s": round(time.perf_counter() - t_start, 3),
                                    "steps_per_s": round(rate, 2)})
            if step % cfg.train.checkpoint_every == 0 and step < cfg.train.steps:
                save_checkpoint(run.checkpoint_path, model, optimizer, schedule, step)
            if on_step is not None:
                on_step(step)
    except KeyboardInterrupt:
        bar.close()
        save_checkpoint(run.checkpoint_path, model, optimizer, schedule, step)
        run.set_status("interrupted", step=step)
        raise
    bar.close()
    save_checkpoint(run.checkpoint_path, model, optimizer, schedule, step)
    run.set_status("trained", step=step)
    return model
