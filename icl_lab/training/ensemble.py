"""Ensembles: K (x, y)-prompt models of one shape trained at once, as one batched module.

Members share the shapes (model, task dimension and prompt length, batch size, curriculum,
steps, cadence, precision) and may differ in everything else: seed, learning rate, schedule,
weight decay, clipping, optimiser, and the task's non-shape settings (task pool, noise, prior,
family). Each member is exactly its own single run (:func:`icl_lab.training.regression.train`):

- built the same way (``torch.manual_seed(seed)``, then the model), and trained on the same
  batches (its own ``step_generator(seed, step)``), stacked on a leading member axis K;
- one forward of :class:`Ensemble` computes every member's predictions. Batched (the default
  on CUDA): each ``nn.Linear``, ``nn.LayerNorm`` and ``nn.Embedding`` of the architecture runs
  as one batched operation over the K members' stacked weights, everything else (attention,
  activations, encoders) sees a batch of K·B prompts, which it treats prompt by prompt. On a
  CPU the members' forwards run one after another inside the one step instead: batching K
  members multiplies every activation's size by K, which pushes them out of the core's caches,
  and measured 0.4-0.9x the speed of separate runs (benchmarks/README.md);
- the loss is the sum of the members' losses, so each member's gradient is its own; then each
  member takes the step of its own ``torch.optim`` optimiser and schedule (the single run's
  objects, so the arithmetic is theirs) and writes its own metrics.jsonl, checkpoint.pt and
  status.json (:func:`icl_lab.training.loop.fit_members`).

Run one by one, the members' numbers are their single runs' bit for bit (the same operations on
the same data); batched, they agree to float tolerance (batched matrix products add in another
order). Model families other than the mean-read-out transformer, and dropout,
are not ensembled (:func:`unsupported_reason`).
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.core.checkpoint import read_checkpoint
from icl_lab.core.device import resolve_device
from icl_lab.core.errors import CheckpointError
from icl_lab.core.runs import RunDir
from icl_lab.tasks import TASKS, curriculum, sample_task
from icl_lab.training.loop import LOOP_KEYS, Member, fit_members
from icl_lab.training.regression import build_model, prompt_loss, step_generator

if TYPE_CHECKING:
    from icl_lab.pipelines.regression import ExperimentConfig

# Train settings members must share: the loop's clock and the shapes of every batch.
SHARED_TRAIN_KEYS = (*LOOP_KEYS, "batch_size", "dims_start", "dims_inc", "points_start", "points_inc",
                     "curriculum_interval")


def unsupported_reason(cfg: "ExperimentConfig") -> str | None:
    """Why ``cfg``'s model cannot be an ensemble member (None: it can)."""
    if cfg.model.family != "transformer" or cfg.model.head != "mean":
        return (f"ensembles are built for model.family = 'transformer' with head = 'mean' "
                f"(not {cfg.model.family!r} with head {cfg.model.head!r})")
    if cfg.model.dropout:
        return "ensembles need model.dropout = 0 (members would draw other dropout masks than their single runs)"
    return None


def ensemble_key(cfg: "ExperimentConfig") -> str | None:
    """Configs with equal keys can train as one ensemble (same model, task shapes, loss, shared
    train settings); None when ``cfg`` cannot be a member at all (or is itself a ``train.ensemble``)."""
    if getattr(cfg, "ensemble", 1) != 1 or unsupported_reason(cfg) is not None:
        return None
    shape = {"kind": cfg.kind, "model": asdict(cfg.model), "d": cfg.task.d, "n_points": cfg.task.n_points,
             "loss": TASKS[cfg.task.name].loss, "train": {k: getattr(cfg.train, k) for k in SHARED_TRAIN_KEYS}}
    return json.dumps(shape, sort_keys=True)


def checkpoint_step(run_dir: str | Path) -> int | None:
    """The step a run would resume from: 0 without a checkpoint, None when it cannot be read
    (such a run is trained alone, where its own error is reported)."""
    path = RunDir(run_dir).checkpoint_path
    if not path.is_file():
        return 0
    try:
        return int(read_checkpoint(path)["step"])
    except CheckpointError:
        return None


# ----------------------------------------------------------------------------- the batched module


class _Stacked(nn.Module):
    """One leaf module of K members: their parameters stacked on a leading axis at every forward
    (autograd returns each slice's gradient to its member's own parameter)."""

    def __init__(self, leaves: list[nn.Module]):
        super().__init__()
        self.leaves = tuple(leaves)  # a tuple: not registered, the members own the parameters
        self.k = len(leaves)

    def stacked(self, name: str) -> torch.Tensor | None:
        first = getattr(self.leaves[0], name)
        return None if first is None else torch.stack([getattr(leaf, name) for leaf in self.leaves])


class StackedLinear(_Stacked):
    """``x [K·B, ..., in]`` (member-major) -> ``[K·B, ..., out]``: one batched product."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.stacked("weight"), self.stacked("bias")  # [K, out, in], [K, out]
        x3 = x.reshape(self.k, -1, x.shape[-1])  # [K, B·..., in]
        out = torch.bmm(x3, weight.transpose(1, 2)) if bias is None else torch.baddbmm(
            bias.unsqueeze(1), x3, weight.transpose(1, 2))
        return out.view(*x.shape[:-1], weight.shape[1])


class StackedLayerNorm(_Stacked):
    """Normalisation over the last dimension, then each member's own scale and shift."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        leaf = self.leaves[0]
        y = F.layer_norm(x, leaf.normalized_shape, eps=leaf.eps)
        weight, bias = self.stacked("weight"), self.stacked("bias")  # [K, E] each (or None)
        if weight is None:
            return y
        y3 = y.reshape(self.k, -1, x.shape[-1])
        y3 = y3 * weight.unsqueeze(1) if bias is None else torch.addcmul(bias.unsqueeze(1), y3, weight.unsqueeze(1))
        return y3.view(x.shape)


class StackedEmbedding(_Stacked):
    """A position table looked up by indices shared by every prompt (``idx [T]``): the rows of
    each member, repeated for its ``batch`` prompts -> ``[K·B, T, E]``."""

    batch = 1  # prompts per member, set by Ensemble.forward

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if idx.dim() != 1:
            raise ValueError("an ensemble's embeddings take one index vector shared by every prompt")
        rows = self.stacked("weight")[:, idx]  # [K, T, E]
        return rows.unsqueeze(1).expand(self.k, self.batch, *rows.shape[1:]).reshape(-1, *rows.shape[1:])


STACKED: dict[type, type[_Stacked]] = {nn.Linear: StackedLinear, nn.LayerNorm: StackedLayerNorm,
                                       nn.Embedding: StackedEmbedding}


class Ensemble(nn.Module):
    """K models of one architecture as one module: ``(xs [K, B, N, D], ys [K, B, N]) -> [K, B, N]``,
    member k's output that of ``members[k](xs[k], ys[k])``.

    ``batched`` (default: on CUDA): the body is a copy of the architecture whose parametrised
    leaves are :data:`STACKED` modules over the members' leaves; its forward must treat prompts
    independently (true of every model in :data:`icl_lab.models.MODEL_FAMILIES` that
    :func:`unsupported_reason` accepts). Otherwise the members run one by one. Either way the
    members keep their parameters: optimisers and checkpoints use them as in a single run.
    """

    def __init__(self, members: list[nn.Module], batched: bool | None = None):
        super().__init__()
        self.k = len(members)
        self.members = tuple(members)  # a tuple: not registered, the members own the parameters
        if batched is None:
            batched = next(members[0].parameters()).device.type == "cuda"
        self.batched = batched
        body = copy.deepcopy(members[0])
        for name, module in list(body.named_modules()):
            kind = STACKED.get(type(module))
            if kind is None:
                continue
            parent, _, leaf = name.rpartition(".")
            setattr(body.get_submodule(parent) if parent else body, leaf,
                    kind([m.get_submodule(name) for m in members]))
        left = [name for name, _ in body.named_parameters()]
        if left:
            raise ValueError(f"cannot batch parameter {left[0]!r} of {type(members[0]).__name__}: only "
                             f"{', '.join(t.__name__ for t in STACKED)} leaves are stacked")
        self.body = body
        self._tables = [m for m in body.modules() if isinstance(m, StackedEmbedding)]

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        if not self.batched:
            return torch.stack([member(x, y) for member, x, y in zip(self.members, xs, ys)])
        k, b = xs.shape[:2]
        for table in self._tables:
            table.batch = b
        out = self.body(xs.flatten(0, 1), ys.flatten(0, 1))  # [K·B, N]
        return out.view(k, b, *out.shape[1:])


# ----------------------------------------------------------------------------- training


def member_losses(out: torch.Tensor, ys: torch.Tensor, loss: str = "mse") -> torch.Tensor:
    """``[K]``: each member's task loss of ``out [K, B, N]``, computed on its own slice exactly as
    its single run computes it (a reduction over ``[K, B, N]`` may add in another order)."""
    return torch.stack([prompt_loss(o.float(), y, loss) for o, y in zip(out, ys)])


def check_members(cfgs: list["ExperimentConfig"]) -> None:
    """ValueError unless ``cfgs`` can train as one ensemble (a programming error: the sweep groups
    by :func:`ensemble_key`, ``train.ensemble`` builds its members alike)."""
    keys = [ensemble_key(cfg) for cfg in cfgs]
    if keys[0] is None:
        raise ValueError(unsupported_reason(cfgs[0]))
    if any(key != keys[0] for key in keys):
        raise ValueError("ensemble members must share the model, task shapes, loss and shared train settings "
                         f"({', '.join(SHARED_TRAIN_KEYS)})")


def train_ensemble(cfgs: list["ExperimentConfig"], run_dirs: list[str | Path], *, resume: bool = False,
                   force: bool = False, on_step: Callable[[int], None] | None = None,
                   progress: bool | None = None, batched: bool | None = None) -> list[nn.Module]:
    """Train member ``cfgs[k]`` in ``run_dirs[k]`` for every k at once; returns the trained models
    (eval mode). ``batched``: see :class:`Ensemble` (default: batched on CUDA). Each run directory ends as :func:`~icl_lab.training.regression.train` would
    leave it (to float tolerance); resuming needs every member at the same checkpoint step.
    A member whose loss turns non-finite ends ``diverged`` while the others finish."""
    check_members(cfgs)
    runs = [RunDir(path) for path in run_dirs]
    for cfg, run in zip(cfgs, runs):
        run.prepare(cfg.to_dict(), resume=resume, force=force)
    device = resolve_device(cfgs[0].train.device)
    models = []
    for cfg in cfgs:
        torch.manual_seed(cfg.train.seed)  # each member initialised exactly as its single run
        models.append(build_model(cfg).to(device))
    ensemble = Ensemble(models, batched)
    first, loss_kind = cfgs[0], TASKS[cfgs[0].task.name].loss

    def batches(start: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, dict[str, int]]]:
        for step in itertools.count(start):
            dims, points = curriculum(first.train, first.task, step)  # shared: the curriculum is a shape setting
            parts = [sample_task(cfg.task, cfg.train.batch_size, step_generator(cfg.train.seed, step),
                                 n_points=points, active_dims=dims) for cfg in cfgs]
            xs = torch.stack([p.xs for p in parts]).to(device)  # [K, B, N, D]
            ys = torch.stack([p.ys for p in parts]).to(device)  # [K, B, N]
            yield xs, ys, {"active_dims": dims, "n_points": points}

    def loss_fn(item: tuple[torch.Tensor, torch.Tensor, dict[str, int]]) -> tuple[torch.Tensor, dict[str, int]]:
        xs, ys, stats = item
        return member_losses(ensemble(xs, ys), ys, loss_kind), stats

    members = [Member(model, cfg.train, run) for model, cfg, run in zip(models, cfgs, runs)]
    return fit_members(members, batches, loss_fn, resume=resume, on_step=on_step, progress=progress)
