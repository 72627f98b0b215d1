"""A GPT-style decoder backbone, prompt encoders for (x, y) prompts and read-out heads.

The backbone (pre-LN, GELU MLP, learned absolute positions, causal scaled-dot-product
attention) maps token embeddings [B, T, E] to hidden states [B, T, E]; encoders turn
prompts into embeddings and say where to read predictions; heads map hidden states to
outputs. Later families reuse the backbone with their own encoders and heads.

Hook points (TransformerLens style) name every residual-stream read and the attention
pattern: ``blocks.{i}.hook_resid_pre``, ``blocks.{i}.hook_resid_mid``,
``blocks.{i}.hook_resid_post``, ``blocks.{i}.attn.hook_pattern`` ([B, H, T, T]),
``hook_final`` (after the final norm). Attach hooks with ``model.run_with_cache``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.core.hooks import HookedModule, HookPoint
from icl_lab.models.config import ModelConfig


class LayerCache:
    """Keys and values ``[B, H, T, Dh]`` of one attention layer for the tokens seen so far."""

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.k is None else self.k.shape[2]

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append the new tokens' keys and values; return all of them."""
        if self.k is not None:
            k, v = torch.cat((self.k, k), dim=2), torch.cat((self.v, v), dim=2)
        self.k, self.v = k, v
        return k, v


class KVCache:
    """The key/value cache of a decoder (one :class:`LayerCache` per block), filled in place by
    ``Decoder.forward(..., cache=...)``: incremental decoding reads each new token once.
    Token generation and bandit rollouts share it."""

    def __init__(self, n_layer: int) -> None:
        self.layers = [LayerCache() for _ in range(n_layer)]

    def __len__(self) -> int:
        return len(self.layers[0]) if self.layers else 0


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = dropout
        self.hook_pattern = HookPoint()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                rows: slice | None = None, cache: LayerCache | None = None) -> torch.Tensor:
        """Causal self-attention of ``x [B, T, E]``; with ``rows`` only those query rows are
        computed (keys and values stay complete) and the output is ``[B, len(rows), E]``.

        With ``cache``, ``x`` holds the tokens after the cached ones: their keys and values are
        appended and the queries attend to every cached key (``mask`` [B, 1, T, T_all] when
        given, else causal)."""
        b, t, e = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_head, e // self.n_head).permute(2, 0, 3, 1, 4)
        if cache is not None:
            return self._cached(q, k, v, mask, cache)
        if rows is not None:
            if mask is not None or self.hook_pattern.active:
                raise ValueError("query rows cannot be combined with a mask or an active pattern hook")
            q = q[:, :, rows]
            pos = torch.arange(t, device=x.device)
            allowed = pos[None, :] <= pos[rows][:, None]  # [R, T]: causal from each kept row
            drop = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=drop)
            return self.proj(y.transpose(1, 2).reshape(b, q.shape[2], e))
        if self.hook_pattern.active:  # explicit softmax only when someone wants the pattern
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # [B, H, T, T]
            allowed = mask if mask is not None else torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            pattern = self.hook_pattern(scores.masked_fill(~allowed, float("-inf")).softmax(-1))
            y = pattern @ v
        else:
            drop = self.dropout if self.training else 0.0
            if mask is None:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        return self.proj(y.transpose(1, 2).reshape(b, t, e))

    def _cached(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                cache: LayerCache) -> torch.Tensor:
        if self.hook_pattern.active:
            raise ValueError("attention patterns are not recorded during cached decoding")
        b, _, t, dh = q.shape
        past = len(cache)
        k, v = cache.extend(k, v)
        if mask is None and t > 1:  # causal among the new tokens, every cached key visible
            pos = torch.arange(past + t, device=q.device)
            mask = pos[None, :] <= pos[past:, None]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # eval only: no dropout
        return self.proj(y.transpose(1, 2).reshape(b, t, self.n_head * dh))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))
        self.drop = nn.Dropout(dropout)
        self.hook_resid_pre = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                rows: slice | None = None, cache: LayerCache | None = None) -> torch.Tensor:
        """``x [B, T, E]`` -> ``[B, T, E]``, or only the ``rows`` (``[B, R, E]``): after the
        attention rows are independent, so rows nobody reads need no MLP."""
        x = self.hook_resid_pre(x)
        attn = self.attn(self.ln_1(x), mask, rows, cache)
        x = self.hook_resid_mid((x if rows is None else x[:, rows]) + self.drop(attn))
        return self.hook_resid_post(x + self.drop(self.mlp(self.ln_2(x))))


class Decoder(nn.Module):
    """Embeddings [B, T, E] -> hidden states [B, T, E]; positions are added here."""

    def __init__(self, n_embd: int, n_layer: int, n_head: int, max_len: int, dropout: float = 0.0):
        super().__init__()
        self.max_len = max_len
        self.wpe = nn.Embedding(max_len, n_embd)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.hook_final = HookPoint()

    def forward(self, emb: torch.Tensor, mask: torch.Tensor | None = None,
                positions: torch.Tensor | None = None, read_rows: slice | None = None,
                cache: KVCache | None = None) -> torch.Tensor:
        """Hidden states ``[B, T, E]``, or only ``read_rows`` of them: the last block then
        computes just those rows (the interleaved encoding reads half of its tokens), with
        the same numbers. Active hook points get every row.

        With ``cache`` (eval mode), ``emb`` holds the tokens after the cached ones; positions
        continue from the cache unless given, and the cache is extended in place."""
        t = emb.shape[1]
        past = len(cache) if cache is not None else 0
        if past + t > self.max_len:
            raise ValueError(f"sequence of {past + t} tokens exceeds the model's context of {self.max_len} tokens")
        pos = positions if positions is not None else torch.arange(past, past + t, device=emb.device)
        x = emb + self.wpe(pos)
        hooked = any(m.active for m in self.modules() if isinstance(m, HookPoint))
        last_rows = None if hooked or mask is not None or cache is not None else read_rows
        for i, block in enumerate(self.blocks):
            x = block(x, mask, last_rows if i == len(self.blocks) - 1 else None,
                      cache.layers[i] if cache is not None else None)
        x = self.hook_final(self.ln_f(x))
        return x[:, read_rows] if read_rows is not None and last_rows is None else x


def init_gpt2_(module: nn.Module, n_layer: int) -> None:
    """GPT-2 initialisation: N(0, 0.02) weights, residual projections scaled by 1/√(2L)."""
    for name, p in module.named_parameters():
        if p.dim() >= 2:
            std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("proj.weight", "mlp.2.weight")) else 0.02
            nn.init.normal_(p, mean=0.0, std=std)
        elif name.endswith("bias"):
            nn.init.zeros_(p)


class InterleavedEncoder(nn.Module):
    """Garg et al.: tokens x_1, [y_1, 0, …], x_2, …; predictions read at x positions."""

    tokens_per_example = 2

    def __init__(self, d: int, n_embd: int):
        super().__init__()
        self.read_in = nn.Linear(d, n_embd)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        b, n, d = xs.shape
        y_tokens = torch.zeros_like(xs)
        y_tokens[:, :, 0] = ys
        tokens = torch.stack((xs, y_tokens), dim=2).view(b, 2 * n, d)  # [B, 2N, D]
        return self.read_in(tokens)

    read_rows = slice(0, None, 2)  # x positions

    @staticmethod
    def read_positions(hidden: torch.Tensor) -> torch.Tensor:
        return hidden[:, ::2]  # x positions: [B, N, E]


class CompactEncoder(nn.Module):
    """One token per example: token i = [x_i, x_{i-1}, y_{i-1}] (zeros for i = 1).

    Position i sees x_1..x_i and y_1..y_{i-1}, exactly the information of the prediction
    for example i, with half the tokens of the interleaved encoding. Repeating x_{i-1}
    beside y_{i-1} puts each complete example in one token, so attention can form
    Σ y_j x_j directly instead of first learning a previous-token head (which makes
    the loss plateau far longer).
    """

    tokens_per_example = 1

    def __init__(self, d: int, n_embd: int):
        super().__init__()
        self.read_in = nn.Linear(2 * d + 1, n_embd)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        prev_x = F.pad(xs[:, :-1], (0, 0, 1, 0))  # [B, N, D]: x shifted right by one example
        prev_y = F.pad(ys[:, :-1], (1, 0))  # [B, N]
        return self.read_in(torch.cat((xs, prev_x, prev_y.unsqueeze(-1)), dim=-1))

    read_rows = None  # every position is read

    @staticmethod
    def read_positions(hidden: torch.Tensor) -> torch.Tensor:
        return hidden


ENCODERS = {"interleaved": InterleavedEncoder, "compact": CompactEncoder}


def check_prompt(xs: torch.Tensor, d: int, max_points: int) -> None:
    """One-line errors for a prompt ``xs [B, N, D]`` of the wrong dimension or too long."""
    n, got = xs.shape[1], xs.shape[2]
    if got != d:
        raise ValueError(f"prompt has d={got} but the model was built for d={d}")
    if n > max_points:
        raise ValueError(f"prompt has {n} examples but the model's context holds model.max_points={max_points}")


class ICLRegressor(HookedModule):
    """(xs [B, N, D], ys [B, N]) -> predictions [B, N] (or [B, N, out_dim]) at every prefix.

    Output k is the prediction for x_k from examples 1..k-1; causality is enforced by the
    attention mask and the encoder, so one forward pass scores every prefix.
    """

    def __init__(self, cfg: ModelConfig, d: int, out_dim: int = 1):
        super().__init__()
        self.cfg, self.d, self.out_dim = cfg, d, out_dim
        self.encoder = ENCODERS[cfg.encoding](d, cfg.n_embd)
        max_len = cfg.max_points * self.encoder.tokens_per_example
        self.backbone = Decoder(cfg.n_embd, cfg.n_layer, cfg.n_head, max_len, cfg.dropout)
        self.head = nn.Linear(cfg.n_embd, out_dim)
        init_gpt2_(self, cfg.n_layer)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        check_prompt(xs, self.d, self.cfg.max_points)
        hidden = self.backbone(self.encoder(xs, ys), read_rows=self.encoder.read_rows)  # [B, N, E]
        out = self.head(hidden)
        return out.squeeze(-1) if self.out_dim == 1 else out

