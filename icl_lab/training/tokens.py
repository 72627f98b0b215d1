"""Training of token models (chain of thought, length generalization): next-token loss on the
masked (answer) tokens only, by the one loop :func:`icl_lab.training.loop.fit`.

Generic over tasks: the caller supplies ``batch_fn(rng) -> TokenBatch``; step s draws from
``numpy.random.default_rng([seed, s])``, so a resumed run sees exactly the batches an
uninterrupted one would. ``config.json`` holds the plain-data record the caller passes.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.core.checkpoint import load_checkpoint
from icl_lab.core.device import resolve_device
from icl_lab.core.errors import RunError
from icl_lab.core.runs import RunDir
from icl_lab.models.token_lm import TokenLM, TokenLMConfig
from icl_lab.tasks.token_batch import TokenBatch
from icl_lab.training.config import TrainConfig
from icl_lab.training.loop import fit

BatchFn = Callable[[np.random.Generator], TokenBatch]


def masked_loss(model: TokenLM, batch: TokenBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Cross-entropy on masked targets; also token accuracy and whole-answer accuracy (0-d tensors:
    the loop reads them only at log steps, so no step waits for the device on their account)."""
    inputs, targets = batch.tokens[:, :-1], batch.tokens[:, 1:]
    mask = batch.loss_mask[:, 1:]
    positions = None if batch.positions is None else batch.positions[:, :-1]
    logits = model(inputs, positions)  # causal; right padding sits after every target
    loss = F.cross_entropy(logits[mask].float(), targets[mask])
    with torch.no_grad():
        right = (logits.argmax(-1) == targets) | ~mask
        # counts, not right[mask]: boolean indexing would wait for the device every step
        stats = {"token_acc": (right & mask).sum() / mask.sum(), "answer_acc": right.all(1).float().mean()}
    return loss, stats


def train_tokens(model_cfg: TokenLMConfig, cfg: TrainConfig, batch_fn: BatchFn,
                 run_dir: str | Path, *, record: dict[str, Any] | None = None,
                 resume: bool = False, force: bool = False,
                 on_step: Callable[[int], None] | None = None,
                 progress: bool | None = None) -> TokenLM:
    """Train a :class:`TokenLM` in ``run_dir``; returns it (on its device, eval mode).

    ``record`` (plain data) is stored as config.json and must match to resume; it always
    includes both configs. See :func:`~icl_lab.training.loop.fit` for resuming, interrupts and ``on_step``.
    """
    run = RunDir(run_dir)
    record = {"model": model_cfg.to_dict(), "train": cfg.to_dict(), **(record or {})}
    run.prepare(record, resume=resume, force=force)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # initialisation only; batches have their own generators
    model = TokenLM(model_cfg).to(device)

    def batches(start: int) -> Iterator[TokenBatch]:
        for step in itertools.count(start):
            yield batch_fn(np.random.default_rng([cfg.seed, step])).to(device)

    return fit(model, cfg, run, batches, lambda batch: masked_loss(model, batch), resume=resume,
               on_step=on_step, progress=progress)


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
