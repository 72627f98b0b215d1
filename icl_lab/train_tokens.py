"""Training loop for token sequences: next-token loss on masked (answer) tokens only.

Generic over tasks: the caller supplies ``batch_fn(rng) -> TokenBatch``. Each step's
``rng`` is ``numpy.random.default_rng([seed, step])``, so a resumed run sees exactly the
batches an uninterrupted one would, and (dropout 0, same device) logs the same metrics.
AdamW with linear warm-up and cosine decay; metrics.jsonl, status.json and atomic,
weights-only checkpoints in a :class:`~icl_lab.runs.RunDir` (``config.json`` holds the
plain-dict record the caller passes, since the regression ``ExperimentConfig`` does not
describe token runs).
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.checkpoint import load_checkpoint, save_checkpoint
from icl_lab.models.token_lm import TokenLM, TokenLMConfig
from icl_lab.runs import RunDir, RunError, atomic_write_json, code_version
from icl_lab.train import Progress, resolve_device


@dataclass(frozen=True)
class TokenTrainConfig:
    """Optimisation and bookkeeping of a token run."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1  # cosine decays to this fraction of the peak
    grad_clip: float = 1.0  # 0 disables clipping
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    checkpoint_every: int = 500

    def __post_init__(self) -> None:
        checks = {
            "steps": self.steps >= 1, "batch_size": self.batch_size >= 1, "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0, "warmup_steps": self.warmup_steps >= 0,
            "min_lr_ratio": 0 <= self.min_lr_ratio <= 1, "grad_clip": self.grad_clip >= 0,
            "device": self.device in ("auto", "cpu", "cuda"), "log_every": self.log_every >= 1,
            "checkpoint_every": self.checkpoint_every >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"invalid train.{name}={getattr(self, name)!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TokenBatch:
    """``tokens`` [B, T] (long): whole sequences, right-padded; ``loss_mask`` [B, T] (bool):
    True where ``tokens[:, t]`` is a target (predicted from position t - 1);
    ``positions`` [B, T] (long) or None for 0..T-1."""

    tokens: torch.Tensor
    loss_mask: torch.Tensor
    positions: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> "TokenBatch":
        pos = None if self.positions is None else self.positions.to(device)
        return TokenBatch(self.tokens.to(device), self.loss_mask.to(device), pos)


BatchFn = Callable[[np.random.Generator], TokenBatch]


def make_batch(examples: Sequence[tuple[Sequence[int], Sequence[int]]], pad_token: int,
               offsets: Sequence[int] | None = None) -> TokenBatch:
    """(prompt, answer) pairs -> a right-padded batch with the loss on answer tokens.

    ``offsets[i]`` shifts example i's positions (random offsets train every position)."""
    seqs = [list(p) + list(a) for p, a in examples]
    width = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), width), pad_token, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.bool)
    for i, ((prompt, _), seq) in enumerate(zip(examples, seqs)):
        tokens[i, : len(seq)] = torch.as_tensor(seq)
        mask[i, len(prompt): len(seq)] = True
    positions = None
    if offsets is not None:
        # Padding repeats the last real position: it is never attended to by a target,
        # and must not index past the context.
        last = torch.as_tensor([len(s) - 1 for s in seqs])[:, None]
        positions = torch.as_tensor(list(offsets), dtype=torch.long)[:, None] + torch.minimum(
            torch.arange(width)[None, :], last)
    return TokenBatch(tokens, mask, positions)


def lr_factor(step: int, cfg: TokenTrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` of the peak."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def masked_loss(model: TokenLM, batch: TokenBatch) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy on masked targets; also token accuracy and whole-answer accuracy."""
    inputs, targets = batch.tokens[:, :-1], batch.tokens[:, 1:]
    mask = batch.loss_mask[:, 1:]
    positions = None if batch.positions is None else batch.positions[:, :-1]
    logits = model(inputs, positions)  # causal; right padding sits after every target
    loss = F.cross_entropy(logits[mask].float(), targets[mask])
    with torch.no_grad():
        right = (logits.argmax(-1) == targets) | ~mask
        stats = {"token_acc": float(right[mask].float().mean()),
                 "answer_acc": float(right.all(1).float().mean())}
    return loss, stats


def prepare_run(run: RunDir, record: dict[str, Any], *, resume: bool, force: bool) -> None:
    """Create a run directory holding ``record`` as config.json, or check it can resume.

    Same rules as :meth:`RunDir.prepare`: never overwrite without ``force``; resume only
    an identical config."""
    if run.exists() and not force:
        state = run.status().get("state", "unknown")
        if not resume:
            raise RunError(f"{run.path} already holds a {state} run; pass --resume to continue "
                           "it or --force to overwrite it, or choose another --out")
        old = json.loads(run.config_path.read_text())
        if old != json.loads(json.dumps(record)):
            raise RunError(f"cannot resume {run.path}: its config differs from the requested one "
                           "(compare config.json; pass --force to start over)")
        return
    if force and run.path.exists():
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run.config_path, record)
    (run.path / "command.txt").write_text(" ".join(sys.argv) + "\n")
    atomic_write_json(run.path / "version.json", code_version())
    run.set_status("created", step=0)


StepLosses = Callable[[int], Iterator[tuple[torch.Tensor, dict[str, float]]]]


def fit(model: nn.Module, cfg: TokenTrainConfig, run: RunDir, losses: StepLosses, *, resume: bool = False,
        on_step: Callable[[int], None] | None = None, progress: bool | None = None) -> nn.Module:
    """The optimisation loop shared by the token and bandit trainers.

    ``losses(start)`` yields ``(loss, stats)`` for steps ``start, start + 1, ...`` (a pure
    function of the step, so a resumed run sees the batches an uninterrupted one would).
    AdamW with warm-up and cosine decay, gradient clipping, metrics.jsonl, atomic weights-only
    checkpoints; a finished run with ``resume`` just loads its checkpoint. ``on_step(step)`` runs
    after each optimiser step (tests raise KeyboardInterrupt there); Ctrl-C writes a checkpoint
    and re-raises."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg))
    step = 0
    if resume and run.checkpoint_path.is_file():
        step = load_checkpoint(run.checkpoint_path, model, optimizer, schedule)
    run.truncate_metrics(step)  # records after the checkpoint are redone
    if step >= cfg.steps:
        return model.eval()
    run.set_status("running", step=step)
    bar = Progress(cfg.steps, step, progress)
    t_start = time.perf_counter()
    model.train()
    stream = losses(step)
    try:
        while step < cfg.steps:
            loss, stats = next(stream)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            schedule.step()
            step += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                rate = bar.update(step, loss.item())
                run.append_metrics({"step": step, "loss": loss.item(), **stats,
                                    "lr": schedule.get_last_lr()[0],
                                    "elapsed_s": round(time.perf_counter() - t_start, 3),
                                    "steps_per_s": round(rate, 2)})
            if step % cfg.checkpoint_every == 0 and step < cfg.steps:
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
    return model.eval()


def train_tokens(model_cfg: TokenLMConfig, cfg: TokenTrainConfig, batch_fn: BatchFn,
                 run_dir: str | Path, *, record: dict[str, Any] | None = None,
                 resume: bool = False, force: bool = False,
                 on_step: Callable[[int], None] | None = None,
                 progress: bool | None = None) -> TokenLM:
    """Train a :class:`TokenLM` in ``run_dir``; returns it (on its device, eval mode).

    ``record`` (plain data) is stored as config.json and must match to resume; it always
    includes both configs. See :func:`fit` for resuming, interrupts and ``on_step``.
    """
    run = RunDir(run_dir)
    record = {"model": model_cfg.to_dict(), "train": cfg.to_dict(), **(record or {})}
    prepare_run(run, record, resume=resume, force=force)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # initialisation only; batches have their own generators
    model = TokenLM(model_cfg).to(device)

    def losses(start: int) -> Iterator[tuple[torch.Tensor, dict[str, float]]]:
        for step in itertools.count(start):
            yield masked_loss(model, batch_fn(np.random.default_rng([cfg.seed, step])).to(device))

    return fit(model, cfg, run, losses, resume=resume, on_step=on_step, progress=progress)


def load_run_model(run_dir: str | Path, build: Callable[[dict[str, Any]], nn.Module],
                   device: str = "cpu") -> tuple[dict[str, Any], nn.Module]:
    """The config record of a run trained by :func:`fit` and its model, ``build(record["model"])``
    with the checkpoint's weights (weights-only load), in eval mode."""
    run = RunDir(run_dir)
    if not run.exists():
        raise RunError(f"{run.path} is not a run directory (no config.json)")
    record = json.loads(run.config_path.read_text())
    model = build(record["model"])
    load_checkpoint(run.checkpoint_path, model)
    return record, model.to(device).eval()


def load_token_model(run_dir: str | Path, device: str = "cpu") -> tuple[dict[str, Any], TokenLM]:
    """The config record and trained model of a token run (weights-only load)."""
    return load_run_model(run_dir, lambda m: TokenLM(TokenLMConfig(**m)), device)
