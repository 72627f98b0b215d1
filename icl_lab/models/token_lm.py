"""A token language model on the shared backbone, and batched greedy generation.

``TokenLM`` = token embedding + :class:`~icl_lab.models.transformer.Decoder` (learned
absolute positions, pre-LN blocks, hook points) + a linear LM head. Positions may be
passed explicitly, which is how length-generalization training shifts every example by a
random offset so that all position embeddings are trained.

:func:`generate` decodes greedily for a batch of prompts of different lengths. Prompts are
left-padded; each row's positions start at ``position_offset`` at its first real token and
padding keys are masked out, so a row's continuation does not depend on the other rows.
With ``use_cache=True`` it feeds each new token once through the decoder's own key/value
cache (:class:`~icl_lab.models.transformer.KVCache`, kept inside the attention modules);
tests check that both paths give the same tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch
from torch import nn

from icl_lab.core.errors import ConfigError
from icl_lab.core.hooks import HookedModule
from icl_lab.models.transformer import Decoder, KVCache, init_gpt2_


@dataclass(frozen=True)
class TokenLMConfig:
    """Size of a token LM; ``context_len`` sizes the position table (largest position + 1)."""

    vocab_size: int
    context_len: int
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_len", "n_embd", "n_layer", "n_head"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"invalid model.{name}={value!r}: expected an integer >= 1")
        if self.n_embd % self.n_head:
            raise ConfigError(f"invalid model.n_head={self.n_head}: expected a divisor of n_embd={self.n_embd}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"invalid model.dropout={self.dropout!r}: expected a number in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)


class TokenLM(HookedModule):
    """tokens [B, T] (and optional positions [B, T] or [T], attention mask) -> logits [B, T, V]."""

    def __init__(self, cfg: TokenLMConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.backbone = Decoder(cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.context_len, cfg.dropout)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        init_gpt2_(self, cfg.n_layer)

    def _check(self, tokens: torch.Tensor, positions: torch.Tensor | None) -> None:
        if tokens.dim() != 2:
            raise ConfigError(f"tokens must be [B, T], got shape {tuple(tokens.shape)}")
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.cfg.vocab_size):
            raise ConfigError(f"token ids must lie in [0, {self.cfg.vocab_size}), got "
                             f"{int(tokens.min())}..{int(tokens.max())}")
        top = int(positions.max()) if positions is not None and positions.numel() else tokens.shape[1] - 1
        if top >= self.cfg.context_len:
            raise ConfigError(f"position {top} exceeds the model's context of "
                             f"model.context_len={self.cfg.context_len} positions")

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, T, V]. ``mask`` is a boolean [B, 1, T, T] (True = may attend); the
        default is causal attention."""
        self._check(tokens, positions)
        return self.head(self.backbone(self.tok_emb(tokens), mask, positions))



# ----------------------------------------------------------------------------- generation


def attention_mask(key_valid: torch.Tensor, n_queries: int) -> torch.Tensor:
    """Boolean [B, 1, Q, K] mask for the last ``n_queries`` of K positions: causal, padding
    keys hidden. Every query may see itself so that no row is fully masked (SDPA would give
    NaN for a padded query, whose output is discarded anyway)."""
    k = key_valid.shape[1]
    q_index = torch.arange(k - n_queries, k, device=key_valid.device)[:, None]  # [Q, 1]
    k_index = torch.arange(k, device=key_valid.device)[None, :]  # [1, K]
    allowed = (k_index <= q_index) & (key_valid[:, None, :] | (k_index == q_index))  # [B, Q, K]
    return allowed[:, None]


def left_pad(prompts: Sequence[Sequence[int]] | torch.Tensor, pad_token: int,
             device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts of different lengths -> (tokens [B, T], valid [B, T]), padded on the left."""
    if isinstance(prompts, torch.Tensor):
        tokens = prompts.to(device=device, dtype=torch.long)
        return tokens, torch.ones_like(tokens, dtype=torch.bool)
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ConfigError("generate needs at least one prompt, and every prompt needs a token")
    width = max(len(p) for p in prompts)
    tokens = torch.full((len(prompts), width), pad_token, dtype=torch.long)
    valid = torch.zeros((len(prompts), width), dtype=torch.bool)
    for row, p in enumerate(prompts):
        tokens[row, width - len(p):] = torch.as_tensor(list(p), dtype=torch.long)
        valid[row, width - len(p):] = True
    return tokens.to(device), valid.to(device)


def _forward_cached(model: TokenLM, tokens: torch.Tensor, positions: torch.Tensor,
                    key_valid: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Logits [B, t, V] of ``tokens`` [B, t] that follow the cached ones; extends ``cache``
    (the decoder's own KV cache, :class:`~icl_lab.models.transformer.KVCache`)."""
    mask = attention_mask(key_valid, tokens.shape[1])
    return model.head(model.backbone(model.tok_emb(tokens), mask, positions, cache=cache))


@torch.no_grad()
def generate(model: TokenLM, prompt_tokens: Sequence[Sequence[int]] | torch.Tensor,
             max_new_tokens: int, stop_token: int | None = None, *, use_cache: bool = True,
             pad_token: int = 0, position_offset: int = 0) -> list[list[int]]:
    """Greedy continuations of a batch of prompts.

    Returns, per prompt, the generated tokens up to and including ``stop_token`` (absent
    when the model never emitted it within ``max_new_tokens``: the caller can count those
    as "did not stop"). Raises ``ValueError`` when the positions would exceed the context.
    """
    device = next(model.parameters()).device
    tokens, valid = left_pad(prompt_tokens, pad_token, device)
    b, width = tokens.shape
    lengths = valid.sum(1)  # [B]
    if max_new_tokens < 1:
        raise ConfigError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    # The last generated token is never fed back, hence the - 2.
    last_position = position_offset + int(lengths.max()) + max_new_tokens - 2
    if last_position >= model.cfg.context_len:
        raise ConfigError(f"prompts of up to {int(lengths.max())} tokens at offset {position_offset} "
                         f"plus max_new_tokens={max_new_tokens} need positions up to {last_position}, "
                         f"beyond model.context_len={model.cfg.context_len}")
    # Row r's first real token sits at position_offset; padding gets position 0 (masked).
    positions = (position_offset + valid.long().cumsum(1) - 1).clamp(min=0)  # [B, T]
    was_training = model.training
    model.eval()
    out = torch.full((b, max_new_tokens), pad_token, dtype=torch.long, device=device)
    done = torch.zeros(b, dtype=torch.bool, device=device)
    cache = KVCache(len(model.backbone.blocks))
    n_new = 0
    try:
        for step in range(max_new_tokens):
            if use_cache:
                new = tokens if step == 0 else tokens[:, -1:]
                new_pos = positions if step == 0 else positions[:, -1:]
                logits = _forward_cached(model, new, new_pos, valid, cache)[:, -1]
            else:
                logits = model(tokens, positions, attention_mask(valid, tokens.shape[1]))[:, -1]
            nxt = logits.argmax(-1)  # [B]
            nxt = torch.where(done, torch.full_like(nxt, pad_token), nxt)
            out[:, step] = nxt
            n_new = step + 1
            if stop_token is not None:
                done |= nxt == stop_token
                if bool(done.all()):
                    break
            tokens = torch.cat((tokens, nxt[:, None]), 1)
            valid = torch.cat((valid, torch.ones_like(valid[:, :1])), 1)
            positions = torch.cat((positions, positions[:, -1:] + 1), 1)
    finally:
        model.train(was_training)
    results = []
    for row in out[:, :n_new].tolist():
        if stop_token is not None and stop_token in row:
            row = row[: row.index(stop_token) + 1]
        results.append(row)
    return results
