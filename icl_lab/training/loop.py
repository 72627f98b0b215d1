"""The one training loop of the lab: every model (regression, Boolean, token, bandit) is trained
by :func:`fit` with one :class:`~icl_lab.training.config.TrainConfig`.

The caller supplies ``batches(start)``, a stream of the batches of steps ``start, start + 1,
...`` that is a pure function of the step (data of step s comes from (seed, s)), so a resumed
run sees exactly the batches an uninterrupted one would and ends bit-identical; and
``loss_fn(batch) -> (loss, stats)``, the only part run under bf16 autocast. ``stats`` values may be
numbers or 0-d tensors: they are read (a host synchronisation) only at log steps.

:func:`fit_members` is the same loop for K models trained at once (an ensemble,
:mod:`icl_lab.training.ensemble`): one batch stream, one backward, each member its own optimiser,
schedule, metrics, checkpoints and status; :func:`fit` is the case K = 1.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn
from tqdm.auto import tqdm

from icl_lab.core.checkpoint import load_checkpoint, save_checkpoint
from icl_lab.core.errors import RunError
from icl_lab.core.runs import RunDir
from icl_lab.training.config import TrainConfig

Batches = Callable[[int], Iterator[Any]]
LossFn = Callable[[Any], tuple[torch.Tensor, dict[str, Any]]]


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


LOOP_KEYS = ("steps", "bf16", "device", "cpu_threads", "log_every", "checkpoint_every")  # one clock for all members


@dataclass(eq=False)
class Member:
    """One model trained by :func:`fit_members`, with its own settings (optimiser, learning rate,
    schedule, clipping: everything of ``cfg`` outside :data:`LOOP_KEYS`) and run directory."""

    model: nn.Module
    cfg: TrainConfig
    run: RunDir
    optimizer: torch.optim.Optimizer = field(init=False)
    schedule: torch.optim.lr_scheduler.LambdaLR = field(init=False)
    events: Any = field(init=False, default=None)
    live: bool = field(init=False, default=True)  # False once its loss is non-finite (status "diverged")

    def __post_init__(self) -> None:
        self.optimizer = make_optimizer(self.model, self.cfg)
        cfg = self.cfg  # bound now: the schedule of this member, not of the last one built
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, cfg))

    def checkpoint(self, step: int, state: str | None = None) -> None:
        save_checkpoint(self.run.checkpoint_path, self.model, self.optimizer, self.schedule, step)
        if state:
            self.run.set_status(state, step=step)


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
    def one_loss(batch: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        loss, stats = loss_fn(batch)
        return loss.reshape(1), stats  # the sum of one loss is that loss, bit for bit

    [trained] = fit_members([Member(model, cfg, run)], batches, one_loss, resume=resume, on_step=on_step,
                            progress=progress)
    return trained


def _check_members(members: list[Member]) -> None:
    first = members[0].cfg
    for m in members[1:]:
        for key in LOOP_KEYS:
            if getattr(m.cfg, key) != getattr(first, key):
                raise ValueError(f"members trained together need the same train.{key} "
                                 f"({getattr(first, key)!r} != {getattr(m.cfg, key)!r})")


def _start_step(members: list[Member], resume: bool) -> int:
    """The step every member resumes from (0 for a fresh start); members must agree."""
    steps = [load_checkpoint(m.run.checkpoint_path, m.model, m.optimizer, m.schedule)
             if resume and m.run.checkpoint_path.is_file() else 0 for m in members]
    if len(set(steps)) > 1:
        where = ", ".join(f"{m.run.path.name} at step {s}" for m, s in zip(members, steps))
        raise RunError(f"runs trained together must resume from the same step ({where}); resume them one by one")
    return steps[0]


def fit_members(members: list[Member], batches: Batches, loss_fn: LossFn, *, resume: bool = False,
                on_step: Callable[[int], None] | None = None, progress: bool | None = None) -> list[nn.Module]:
    """Train K members on one clock: :func:`fit` for K models at once (an ensemble).

    ``loss_fn(batch) -> (losses [K], stats)``: member k's loss depends on member k's parameters
    only, so the gradient of ``losses.sum()`` is every member's own gradient; each member then
    takes its own optimiser step (its own learning rate, schedule, clipping, weight decay), and
    writes its own metrics.jsonl, checkpoint and status, exactly the files of a single run.
    The members share :data:`LOOP_KEYS` (steps, cadence, precision, device) and must resume from
    the same step. A member whose loss becomes non-finite is marked ``diverged`` (its last good
    checkpoint kept) and no longer written; the others go on. A RunError is raised once no
    member is left (for one member: at once, as :func:`fit` documents). Returns the models in
    eval mode.
    """
    _check_members(members)
    cfg = members[0].cfg  # the shared loop settings
    device = next(members[0].model.parameters()).device
    if device.type == "cpu" and cfg.cpu_threads:
        torch.set_num_threads(cfg.cpu_threads)
    step = _start_step(members, resume)
    for m in members:
        m.run.truncate_metrics(step)  # records after the checkpoint are redone
    if step >= cfg.steps:
        return [m.model.eval() for m in members]
    for m in members:
        m.run.set_status("running", step=step)
        m.events = _event_writer(m.run, m.cfg)
        m.model.train()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if cfg.bf16 else nullcontext()
    # progress None: a bar only on a terminal (tqdm's rule); True / False: always / never
    bar = tqdm(total=cfg.steps, initial=step, disable=None if progress is None else not progress,
               unit="step", dynamic_ncols=True, leave=False)
    t_start, start = time.perf_counter(), step
    stream = batches(step)

    def log(losses: torch.Tensor, stats: dict[str, Any]) -> None:
        values = losses.tolist()  # the only host synchronisation, at log steps
        shared = {k: float(v) if isinstance(v, torch.Tensor) else v for k, v in stats.items()}
        elapsed = time.perf_counter() - t_start
        rate = (step - start) / max(1e-9, elapsed)
        for m, value in zip(members, values):
            if m.live:
                _log_member(m, step, value, shared, elapsed, rate, len(members))
        bar.set_postfix(loss=f"{min(values):.4f}", refresh=False)

    try:
        with deferred_signals() as stop:
            while step < cfg.steps:
                batch = next(stream)
                with autocast:
                    losses, stats = loss_fn(batch)
                for m in members:
                    m.optimizer.zero_grad(set_to_none=True)
                losses.sum().backward()
                for m in members:
                    if m.cfg.grad_clip:
                        nn.utils.clip_grad_norm_(m.model.parameters(), m.cfg.grad_clip)
                    m.optimizer.step()
                    m.schedule.step()
                step += 1
                if step % cfg.log_every == 0 or step == cfg.steps:
                    log(losses, stats)
                bar.update(1)
                if step % cfg.checkpoint_every == 0 and step < cfg.steps:
                    for m in members:
                        if m.live:
                            m.checkpoint(step)
                if on_step is not None:
                    on_step(step)
                if stop.requested:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        for m in members:
            if m.live:
                m.checkpoint(step, "interrupted")
        raise
    finally:
        bar.close()
        for m in members:
            if m.events is not None:
                m.events.close()
    for m in members:
        if m.live:
            m.checkpoint(step, "trained")
    return [m.model.eval() for m in members]


def _log_member(m: Member, step: int, value: float, stats: dict[str, Any], elapsed: float, rate: float,
                n_members: int) -> None:
    """One metrics record (and TensorBoard scalars) of member ``m``; a non-finite loss marks it diverged
    and, when it trains alone, ends the run with a RunError."""
    if not math.isfinite(value):
        m.live = False
        message = (f"training diverged: the loss is {value} at step {step}; the last good checkpoint is kept in "
                   f"{m.run.path} (lower train.lr or add train.grad_clip)")
        m.run.set_status("diverged", step=step, error=message)
        if n_members == 1:
            raise RunError(message)
        return
    lr = m.schedule.get_last_lr()[0]
    m.run.append_metrics({"step": step, "loss": value, **stats, "lr": lr, "elapsed_s": round(elapsed, 3),
                          "steps_per_s": round(rate, 2)})
    m.run.set_status("running", step=step)
    if m.events is not None:
        for key, val in {"loss": value, "lr": lr, **stats}.items():
            m.events.add_scalar(f"train/{key}", val, step)
