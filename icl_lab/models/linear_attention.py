"""Linear self-attention (LSA) on [x; y] tokens: Zhang, Frei & Bartlett (2024), von Oswald et al. (2023).

Tokens are columns e_i = [x_i; y_i] ∈ R^{d+1} for the N context examples and e_q = [x_q; 0]
for the query. One layer (ZFB's f_LSA, row form)::

    e_j ← e_j + W^{PV} (1/N) Σ_{i ≤ N} e_i (e_iᵀ W^{KQ} e_j)      for every token j

and the prediction is ``readout_sign`` × the y-entry of the query token after the last layer.
Keys and values are the N context tokens only. ZFB also let the query attend to itself,
but on their invariant manifold (w^{PV}_{21} = 0, which gradient flow preserves from
their initialisation) the query's own term never reaches ŷ because its y-entry is 0; with
several layers the query's y-entry stops being 0, and excluding it is what makes stacked
layers implement exact multi-step gradient descent (see ``icl_lab.theory.gd_construction``).

ZFB initialisation: W^{PV}(0) = σ [[0, 0], [0, 1]], W^{KQ}(0) = σ [[ΘΘᵀ, 0], [0, 0]] with
‖ΘΘᵀ‖_F = 1. The single-layer predictor is then ŷ = x_qᵀ Aᵀ (1/N) Σ y_i x_i with the
effective matrix A = w^{PV}_{22} W^{KQ}_{11} (:meth:`LinearSelfAttention.effective_matrix`).

``forward`` follows the lab's learner contract: output k predicts y_k from examples 0..k−1
(normalised by k), computed as one separate prompt per prefix so that multi-layer models,
whose context tokens also change, are exact.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from icl_lab.core.hooks import HookedModule


class LinearSelfAttention(HookedModule):
    """A stack of ``n_layer`` LSA layers for regression prompts of dimension ``d``."""

    def __init__(self, d: int, n_layer: int = 1, init: str = "zfb", init_scale: float = 0.1,
                 generator: torch.Generator | None = None):
        super().__init__()
        if init not in ("zfb", "random", "zeros"):
            raise ValueError(f"invalid init={init!r}: expected 'zfb', 'random' or 'zeros'")
        self.d, self.n_layer = d, n_layer
        self.w_kq = nn.Parameter(torch.zeros(n_layer, d + 1, d + 1))
        self.w_pv = nn.Parameter(torch.zeros(n_layer, d + 1, d + 1))
        self.register_buffer("readout_sign", torch.tensor(1.0))
        with torch.no_grad():
            if init == "zfb":
                theta = torch.randn(d, d, generator=generator)
                kq = theta @ theta.T
                self.w_kq[:, :d, :d] = init_scale * kq / kq.norm()
                self.w_pv[:, d, d] = init_scale
            elif init == "random":  # generic small init (von Oswald et al. train from one)
                std = init_scale / math.sqrt(d + 1)
                self.w_kq.copy_(std * torch.randn(self.w_kq.shape, generator=generator))
                self.w_pv.copy_(std * torch.randn(self.w_pv.shape, generator=generator))

    # ------------------------------------------------------------------ core
    def transform(self, z: torch.Tensor, key_mask: torch.Tensor, n_keys: torch.Tensor) -> torch.Tensor:
        """Run every layer on tokens ``z`` [..., T, d+1]; keys where ``key_mask`` [..., T] is true.

        ``n_keys`` [...] is the normaliser N of each sequence.
        """
        norm = key_mask.to(z.dtype) / n_keys.to(z.dtype).clamp_min(1.0)[..., None]  # [..., T]
        for layer in range(self.n_layer):
            keys = z * norm[..., None]  # masked, pre-scaled key/value tokens
            scores = z @ self.w_kq[layer].T @ keys.transpose(-2, -1)  # [.., j, i] = e_iᵀ W e_j / N
            z = z + scores @ z @ self.w_pv[layer].T
        return z

    def predict_query(self, xs: torch.Tensor, ys: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
        """ZFB's setting: one query xq [B, D] after the context (xs [B, N, D], ys [B, N]) -> [B]."""
        b, n, d = xs.shape
        ctx = torch.cat((xs, ys[..., None]), dim=-1)
        if self.n_layer == 1:  # only the query's row matters: O(N d) per prompt instead of O(N² d)
            q = torch.cat((xq, torch.zeros_like(xq[:, :1])), dim=-1)  # [B, d+1]
            scores = ctx @ (q @ self.w_kq[0].T)[..., None]  # [B, N, 1]: e_iᵀ W^{KQ} e_q
            values = ctx @ self.w_pv[0, d]  # [B, N]: the y-row of W^{PV} e_i
            return self.readout_sign * (scores[..., 0] * values).sum(-1) / n
        query = torch.cat((xq, torch.zeros_like(xq[:, :1])), dim=-1)[:, None]
        z = torch.cat((ctx, query), dim=1)  # [B, N+1, d+1]
        mask = torch.ones(b, n + 1, dtype=torch.bool, device=xs.device)
        mask[:, n] = False
        out = self.transform(z, mask, torch.full((b,), n, device=xs.device))
        return self.readout_sign * out[:, n, d]

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """Predictions [B, N]: entry k from examples 0..k−1 (one prompt per prefix)."""
        b, n, d = xs.shape
        if d != self.d:
            raise ValueError(f"prompt has d={d} but the model was built for d={self.d}")
        pos = torch.arange(n, device=xs.device)
        keys = pos[None, :] < pos[:, None]  # [prefix k, token i]: i < k
        ctx = torch.cat((xs, ys[..., None]), dim=-1)  # [B, N, d+1]
        z = ctx[:, None].expand(b, n, n, d + 1).clone()  # [B, prefix, token, d+1]
        z[:, pos, pos, d] = 0.0  # token k is prefix k's query: its label is hidden
        out = self.transform(z, keys.expand(b, n, n), pos.expand(b, n))
        return self.readout_sign * out[:, pos, pos, d]

    def training_loss(self, xs: torch.Tensor, ys: torch.Tensor, step: int = 0) -> torch.Tensor:
        """ZFB's objective: squared error on the last example of the prompt, the rest as context."""
        pred = self.predict_query(xs[:, :-1], ys[:, :-1], xs[:, -1])
        return ((pred - ys[:, -1]) ** 2).mean()

    # ------------------------------------------------------------------ analysis
    def effective_matrix(self, layer: int = 0) -> torch.Tensor:
        """A = w^{PV}_{22} W^{KQ}_{11} [d, d]: a single layer predicts ŷ ≈ (1/N) Σ y_i x_iᵀ A x_q."""
        d = self.d
        return (self.readout_sign * self.w_pv[layer, d, d] * self.w_kq[layer, :d, :d]).detach()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
