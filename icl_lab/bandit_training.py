"""Training loop of a :class:`~icl_lab.models.bandit_transformer.BanditTransformer`.

Minibatches stream from a :class:`~icl_lab.bandit_data.ChunkedDataset` (batch number s
is a pure function of the seed and s, so a resumed run sees the batches an uninterrupted
one would). AdamW with warm-up and cosine decay (:func:`icl_lab.train_tokens.lr_factor`),
metrics.jsonl, status.json and atomic weights-only checkpoints in a RunDir whose
config.json is the plain-dict record of the model, optimisation and data.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from icl_lab.bandit_data import ChunkedDataset
from icl_lab.checkpoint import load_checkpoint, save_checkpoint
from icl_lab.models.bandit_transformer import BanditModelConfig, BanditTransformer
from icl_lab.runs import RunDir, RunError
from icl_lab.train import Progress, resolve_device
from icl_lab.train_tokens import TokenTrainConfig, lr_factor, prepare_run


def to_torch(batch: dict, device: torch.device | str) -> dict[str, torch.Tensor]:
    """numpy arrays of a batch -> tensors on ``device``."""
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def train_bandit_model(model_cfg: BanditModelConfig, cfg: TokenTrainConfig, dataset: ChunkedDataset,
                       run_dir: str | Path, *, record: dict[str, Any] | None = None, resume: bool = False,
                       force: bool = False, progress: bool | None = False,
                       on_step: Callable[[int], None] | None = None) -> BanditTransformer:
    """Train in ``run_dir`` and return the model in eval mode; a finished run with
    ``resume`` just loads its checkpoint. Ctrl-C writes a checkpoint and re-raises;
    ``on_step(step)`` runs after each optimiser step (tests interrupt there)."""
    run = RunDir(run_dir)
    record = {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "data": dataset.spec.to_dict(),
              **(record or {})}
    prepare_run(run, record, resume=resume, force=force)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # initialisation only
    model = BanditTransformer(model_cfg).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg))
    step = load_checkpoint(run.checkpoint_path, model, optimizer, schedule) if (
        resume and run.checkpoint_path.is_file()) else 0
    run.truncate_metrics(step)
    if step >= cfg.steps:
        return model.eval()
    run.set_status("running", step=step)
    bar = Progress(cfg.steps, step, progress)
    stream = dataset.batches(cfg.batch_size, cfg.seed, start_step=step)
    t_start = time.perf_counter()
    model.train()
    try:
        while step < cfg.steps:
            b = to_torch(next(stream), device)
            loss = model.loss(b["actions"], b["rewards"], b["labels"], b.get("features"))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            schedule.step()
            step += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                rate = bar.update(step, loss.item())
                run.append_metrics({"step": step, "loss": loss.item(), "lr": schedule.get_last_lr()[0],
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


def load_bandit_model(run_dir: str | Path, device: str = "cpu") -> tuple[dict[str, Any], BanditTransformer]:
    """The config record and trained model of a bandit run (weights-only load)."""
    run = RunDir(run_dir)
    if not run.exists():
        raise RunError(f"{run.path} is not a run directory (no config.json)")
    record = json.loads(run.config_path.read_text())
    model = BanditTransformer(BanditModelConfig(**record["model"]))
    load_checkpoint(run.checkpoint_path, model)
    return record, model.to(device).eval()
