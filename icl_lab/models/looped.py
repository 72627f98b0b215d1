"""Looped transformers (Yang, Lee, Nowak, Papailiopoulos 2024) and AlgoFormer, on the shared backbone.

Input injection (Yang et al. 2024, arXiv:2311.12424; Gao et al. 2024, arXiv:2402.13572; Giannou et al. 2023, arXiv:2301.13196)::

    P = read_in(prompt);  Y_0 = 0;  Y_{t+1} = f_θ(Y_t + P);  prediction_t = head(Y_t)

f_θ is the shared :class:`~icl_lab.models.transformer.Decoder` with ``n_layer`` blocks
(1 in the paper): it re-adds the learned positions on every call and ends with the final
norm, exactly as the reference code calls a GPT-2 backbone once per iteration.

Training (``training_loss``): b(step) iterations, the first b − T under ``torch.no_grad``
(they only move the starting point, and skipping their graph keeps memory flat in b), the
loss averaged over the read-outs of the last T; the loop curriculum raises b from
``loop_curriculum_start`` by ``loop_curriculum_inc`` every ``loop_curriculum_interval`` steps.

Evaluation runs any number of iterations (``forward(..., n_loops=...)``), optionally
stopping each prompt once its relative update ||Y_{t+1} − Y_t|| / ||Y_{t+1}|| falls below
``tol``; :func:`iteration_errors` gives the error after every iteration in one pass.

AlgoFormer (``pre_layers``/``post_layers`` > 0): P = pre(read_in(prompt)) and each read-out is
head(post(Y_t)); pre and post are ordinary decoders run once per call.
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.core.hooks import HookedModule
from icl_lab.models.config import ModelConfig
from icl_lab.models.transformer import ENCODERS, Decoder, check_prompt, init_gpt2_


def loop_schedule(cfg: ModelConfig, step: int) -> int:
    """b at training ``step`` under the loop curriculum (constant ``n_loops`` without one)."""
    if not cfg.loop_curriculum_start:
        return cfg.n_loops
    rungs = step // cfg.loop_curriculum_interval
    return min(cfg.n_loops, cfg.loop_curriculum_start + rungs * cfg.loop_curriculum_inc)


class LoopedRegressor(HookedModule):
    """(xs [B, N, D], ys [B, N]) -> predictions [B, N] after ``n_loops`` iterations of one block.

    The state-dict names of the encoder, ``backbone`` and ``head`` are those of
    :class:`~icl_lab.models.transformer.ICLRegressor`, so with b = 1 (and no pre/post) a
    looped model loads a standard model's weights and computes the same function.
    """

    def __init__(self, cfg: ModelConfig, d: int, out_dim: int = 1, loss: str = "mse"):
        super().__init__()
        self.cfg, self.d, self.out_dim, self.loss_kind = cfg, d, out_dim, loss
        self.encoder = ENCODERS[cfg.encoding](d, cfg.n_embd)
        max_len = cfg.max_points * self.encoder.tokens_per_example
        make = lambda layers: Decoder(cfg.n_embd, layers, cfg.n_head, max_len, cfg.dropout)  # noqa: E731
        self.pre = make(cfg.pre_layers) if cfg.pre_layers else None
        self.backbone = make(cfg.n_layer)  # the looped unit f_θ
        self.post = make(cfg.post_layers) if cfg.post_layers else None
        self.head = nn.Linear(cfg.n_embd, out_dim)
        init_gpt2_(self, cfg.n_layer)
        self.eval_loops = cfg.eval_loops or cfg.n_loops
        self.last_iterations: torch.Tensor | None = None  # per prompt, set by forward with tol

    # ------------------------------------------------------------------ pieces
    def inject(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """P: the read-in prompt (through the pre-transformer for AlgoFormer), [B, T, E]."""
        check_prompt(xs, self.d, self.cfg.max_points)
        p = self.encoder(xs, ys)
        return self.pre(p) if self.pre is not None else p

    def read_out(self, y: torch.Tensor) -> torch.Tensor:
        """Predictions [B, N] (or [B, N, out_dim]) from a loop state Y_t."""
        h = self.post(y) if self.post is not None else y
        out = self.head(self.encoder.read_positions(h))
        return out.squeeze(-1) if self.out_dim == 1 else out

    def states(self, p: torch.Tensor, n_loops: int, grad_from: int = 0) -> Iterator[torch.Tensor]:
        """Yield Y_1 … Y_{n_loops}; iterations before ``grad_from`` run without autograd."""
        y = torch.zeros_like(p)
        for t in range(n_loops):
            if t < grad_from:
                with torch.no_grad():
                    y = self.backbone(y + p)
            else:
                y = self.backbone(y + p)
            yield y

    # ------------------------------------------------------------------ API
    def forward(self, xs: torch.Tensor, ys: torch.Tensor, n_loops: int | None = None,
                tol: float | None = None) -> torch.Tensor:
        """Predictions after ``n_loops`` iterations (default ``eval_loops``).

        With ``tol`` > 0 (default ``cfg.loop_tol``) a prompt stops iterating once its relative
        update falls below ``tol``; ``last_iterations`` then holds each prompt's count.
        """
        n_loops = self.eval_loops if n_loops is None else n_loops
        tol = self.cfg.loop_tol if tol is None else tol
        p = self.inject(xs, ys)
        if not tol:
            y = torch.zeros_like(p)
            for y in self.states(p, n_loops):
                pass
            self.last_iterations = None
            return self.read_out(y)
        y = torch.zeros_like(p)
        done = torch.zeros(p.shape[0], dtype=torch.bool, device=p.device)
        iters = torch.zeros(p.shape[0], dtype=torch.long, device=p.device)
        for _ in range(n_loops):
            new = self.backbone(y + p)
            rel = (new - y).flatten(1).norm(dim=1) / new.flatten(1).norm(dim=1).clamp_min(1e-12)
            y = torch.where(done[:, None, None], y, new)  # converged prompts keep their state
            iters += (~done).long()
            done = done | (rel < tol)
            if bool(done.all()):
                break
        self.last_iterations = iters
        return self.read_out(y)

    def predictions_per_iteration(self, xs: torch.Tensor, ys: torch.Tensor, n_loops: int) -> torch.Tensor:
        """Read-outs after every iteration, [n_loops, B, N] (one pass, no autograd)."""
        with torch.no_grad():
            p = self.inject(xs, ys)
            return torch.stack([self.read_out(y) for y in self.states(p, n_loops, grad_from=n_loops)])

    def training_loss(self, xs: torch.Tensor, ys: torch.Tensor, step: int = 0) -> torch.Tensor:
        """Loss averaged over the read-outs of the last T of b(step) iterations (train.py calls this)."""
        b = loop_schedule(self.cfg, step)
        window = min(b, self.cfg.loop_grad_iters or b)
        p = self.inject(xs, ys)
        losses = []
        for t, y in enumerate(self.states(p, b, grad_from=b - window)):
            if t >= b - window:
                out = self.read_out(y).float()
                if self.loss_kind == "bce":
                    losses.append(F.binary_cross_entropy_with_logits(out, (ys > 0).float()))
                else:
                    losses.append(((out - ys) ** 2).mean())
        return torch.stack(losses).mean()



def looped_learner(model: LoopedRegressor, n_loops: int | None = None, tol: float = 0.0,
                   batch_size: int = 256) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A learner (xs, ys) -> preds that runs ``model`` for ``n_loops`` iterations (eval mode, no grad)."""
    device = next(model.parameters()).device

    @torch.no_grad()
    def predict(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        model.eval()
        return torch.cat([model(xs[i:i + batch_size].to(device), ys[i:i + batch_size].to(device),
                                n_loops=n_loops, tol=tol).float().cpu()
                          for i in range(0, xs.shape[0], batch_size)])

    return predict


def iteration_errors(model: LoopedRegressor, xs: torch.Tensor, ys: torch.Tensor, y_var: float,
                     n_loops: int, batch_size: int = 256) -> torch.Tensor:
    """Normalised squared error after every iteration, per prompt and position: [n_loops, B, N]."""
    device = next(model.parameters()).device
    model.eval()
    chunks = []
    for i in range(0, xs.shape[0], batch_size):
        preds = model.predictions_per_iteration(xs[i:i + batch_size].to(device),
                                                ys[i:i + batch_size].to(device), n_loops).float().cpu()
        chunks.append((preds.double() - ys[i:i + batch_size].double()) ** 2 / y_var)
    return torch.cat(chunks, dim=1).float()
