"""Training loop of a :class:`~icl_lab.models.bandit_transformer.BanditTransformer`.

Minibatches stream from a :class:`~icl_lab.training.bandit_data.ChunkedDataset` (batch number s
is a pure function of the seed and s, so a resumed run sees the batches an uninterrupted
one would). The loop is :func:`icl_lab.training.loop.fit` (AdamW, warm-up and cosine decay,
metrics.jsonl, status.json and atomic weights-only checkpoints) in a RunDir whose
config.json is the plain-dict record of the model, optimisation and data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from icl_lab.core.device import resolve_device
from icl_lab.core.runs import RunDir
from icl_lab.models.bandit_transformer import BanditModelConfig, BanditTransformer
from icl_lab.training.bandit_data import ChunkedDataset
from icl_lab.training.config import TrainConfig
from icl_lab.training.loop import fit
from icl_lab.training.tokens import load_run_model


def to_torch(batch: dict, device: torch.device | str) -> dict[str, torch.Tensor]:
    """numpy arrays of a batch -> tensors on ``device``."""
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def train_bandit_model(model_cfg: BanditModelConfig, cfg: TrainConfig, dataset: ChunkedDataset,
                       run_dir: str | Path, *, record: dict[str, Any] | None = None, resume: bool = False,
                       force: bool = False, progress: bool | None = False,
                       on_step: Callable[[int], None] | None = None) -> BanditTransformer:
    """Train in ``run_dir`` and return the model in eval mode; a finished run with
    ``resume`` just loads its checkpoint. Ctrl-C writes a checkpoint and re-raises;
    ``on_step(step)`` runs after each optimiser step (tests interrupt there)."""
    run = RunDir(run_dir)
    record = {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "data": dataset.spec.to_dict(),
              **(record or {})}
    run.prepare(record, resume=resume, force=force)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # initialisation only
    model = BanditTransformer(model_cfg).to(device)

    def batches(start: int) -> Iterator[dict[str, torch.Tensor]]:
        for batch in dataset.batches(cfg.batch_size, cfg.seed, start_step=start):
            yield to_torch(batch, device)

    def loss_fn(b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return model.loss(b["actions"], b["rewards"], b["labels"], b.get("features")), {}

    return fit(model, cfg, run, batches, loss_fn, resume=resume, on_step=on_step, progress=progress)


def load_bandit_model(run_dir: str | Path, device: str = "cpu") -> tuple[dict[str, Any], BanditTransformer]:
    """The config record and trained model of a bandit run (weights-only load)."""
    return load_run_model(run_dir, lambda m: BanditTransformer(BanditModelConfig(**m)), device)
