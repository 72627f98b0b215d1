"""The one training loop of the lab: every model (regression, Boolean, token, bandit) is trained
by :func:`fit` with one :class:`~icl_lab.training.config.TrainConfig`.

The caller supplies ``batches(start)``, a stream of the batches of steps ``start, start + 1,
...`` that is a pure function of the step (data of step s comes from (seed, s)), so a resumed
run sees exactly the batches an uninterrupted one would and ends bit-identical; and
``loss_fn(batch) -> (loss, stats)``, the only part run under bf16 autocast.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterator

import torch
from torch import nn
from tqdm.auto import tqdm

from icl_lab.core.checkpoint import load_checkpoint, save_checkpoint
from icl_lab.core.errors import RunError
from icl_lab.core.runs import RunDir
from icl_lab.training.config import TrainConfig

Batches = Callable[[int], Iterator[Any]]
LossFn = Callable[[Any], tuple[torch.Tensor, dict[str, float]]]


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then constant; or cosine decay to ``cfg.min_lr_ratio`` of the peak; or
    constant until the last ``cfg.decay_fraction`` of the steps and a linear fall to that ratio."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "cosine":
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if cfg.schedule == "linear":
        start = int(cfg.steps * (1 - cfg.decay_fraction))
        return 1.0 if step < start else 1.0 - (1 - cfg.min_lr_ratio) * (step - start) / max(1, cfg.steps - start)
    return 1.0


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    # fused: one kernel for the whole update instead of a dozen elementwise passes per tensor
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                             betas=tuple(cfg.betas), fused=True)


class _StopRequest:
    requested = False


@contextmanager
def deferred_signals() -> Iterator[_StopRequest]:
    """SIGINT / SIGTERM during the block only set ``requested``; the loop stops at the next step
    boundary, so a checkpoint never holds weights one update ahead of its step counter."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return

    def handler(_signum, _frame):
        stop.requested = True

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _event_writer(run: RunDir, cfg: TrainConfig):
    """A TensorBoard writer beside metrics.jsonl when ``train.tensorboard`` (the optional extra)."""
    if not cfg.tensorboard:
        return None
    from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

    return SummaryWriter(log_dir=str(run.path / "tensorboard"))


def fit(model: nn.Module, cfg: TrainConfig, run: RunDir, batches: Batches, loss_fn: LossFn, *, resume: bool = False,
        on_step: Callable[[int], None] | None = None, progress: bool | None = None) -> nn.Module:
    """Train ``model`` (already on its device) in ``run``; returns it in eval mode.

    AdamW (``cfg.betas``), warm-up then constant or cosine schedule, gradient clipping,
    optional bf16 autocast, metrics.jsonl every ``log_every`` steps, atomic weights-only
    checkpoints every ``checkpoint_every``. With ``resume`` training continues from the
    checkpoint (a finished run just loads it). ``on_step(step)`` runs after each optimiser step
    (tests interrupt there). Ctrl-C or SIGTERM stops at the next step boundary, writes a
    checkpoint and raises KeyboardInterrupt. A non-finite loss stops the run with a RunError and
    keeps the last good checkpoint.
    """
    device = next(model.parameters()).device
    if device.type == "cpu" and cfg.cpu_threads:
        torch.set_num_threads(cfg.cpu_threads)
    optimizer = make_optimizer(model, cfg)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg))
    step = 0
    if resume and run.checkpoint_path.is_file():
        step = load_checkpoint(run.checkpoint_path, model, optimizer, schedule)
    run.truncate_metrics(step)  # records after the checkpoint are redone
    if step >= cfg.steps:
        return model.eval()
    run.set_status("running", step=step)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if cfg.bf16 else nullcontext()
    # progress None: a bar only on a terminal (tqdm's rule); True / False: always / never
    bar = tqdm(total=cfg.steps, initial=step, disable=None if progress is None else not progress,
               unit="step", dynamic_ncols=True, leave=False)
    events = _event_writer(run, cfg)
    t_start, start = time.perf_counter(), step
    model.train()
    stream = batches(step)

    def checkpoint(state: str | None = None) -> None:
        save_checkpoint(run.checkpoint_path, model, optimizer, schedule, step)
        if state:
            run.set_status(state, step=step)

    try:
        with deferred_signals() as stop:
            while step < cfg.steps:
                batch = next(stream)
                with autocast:
                    loss, stats = loss_fn(batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                schedule.step()
                step += 1
                if step % cfg.log_every == 0 or step == cfg.steps:
                    value = loss.item()  # the only host synchronisation, at log steps
                    if not math.isfinite(value):
                        run.set_status("diverged", step=step)
                        raise RunError(f"training diverged: the loss is {value} at step {step}; the last good "
                                       f"checkpoint is kept in {run.path} (lower train.lr or add train.grad_clip)")
                    rate = (step - start) / max(1e-9, time.perf_counter() - t_start)
                    run.append_metrics({"step": step, "loss": value, **stats, "lr": schedule.get_last_lr()[0],
                                        "elapsed_s": round(time.perf_counter() - t_start, 3),
                                        "steps_per_s": round(rate, 2)})
                    run.set_status("running", step=step)
                    if events is not None:
                        for key, val in {"loss": value, "lr": schedule.get_last_lr()[0], **stats}.items():
                            events.add_scalar(f"train/{key}", val, step)
                    bar.set_postfix(loss=f"{value:.4f}", refresh=False)
                bar.update(1)
                if step % cfg.checkpoint_every == 0 and step < cfg.steps:
                    checkpoint()
                if on_step is not None:
                    on_step(step)
                if stop.requested:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        checkpoint("interrupted")
        raise
    finally:
        bar.close()
        if events is not None:
            events.close()
    checkpoint("trained")
    return model.eval()
