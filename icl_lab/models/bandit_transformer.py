"""An in-context bandit learner: the shared decoder backbone with a transition encoder.

Token 0 is a start token; token i (i = 1..N) encodes transition i::

    [start flag (1) | one-hot action (K) | reward (1) | chosen arm's features (D) | all arms' features (K·D)]

The last block is present only for per-task action sets (linear bandits whose arms are
redrawn per task), the chosen arm's features only for linear bandits. Logits at token t
are the action distribution after the first t transitions, so one forward pass over N
transitions gives the N + 1 predictions of every prefix (cross-entropy at every prefix in
training; the last one when acting online).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from icl_lab.core.errors import ConfigError
from icl_lab.core.hooks import HookedModule
from icl_lab.models.transformer import Decoder, KVCache, init_gpt2_


@dataclass(frozen=True)
class BanditModelConfig:
    """Backbone size and the shape of the bandit it reads."""

    n_arms: int
    horizon: int  # the longest context (transitions); positions 0..horizon
    feature_dim: int = 0  # D: arm features (linear bandits), 0 for K-armed bandits
    per_task_arms: bool = False  # feed the whole action set to every token
    n_embd: int = 64
    n_layer: int = 3
    n_head: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("n_arms", "horizon", "n_embd", "n_layer", "n_head"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f"invalid model.{name}={value!r}: expected an integer >= 1")
        if self.n_embd % self.n_head:
            raise ConfigError(f"invalid model.n_head={self.n_head}: expected a divisor of n_embd={self.n_embd}")
        if self.feature_dim < 0 or not 0 <= self.dropout < 1:
            raise ConfigError("invalid model.feature_dim (>= 0) or model.dropout (in [0, 1))")

    @property
    def token_dim(self) -> int:
        k, d = self.n_arms, self.feature_dim
        return 1 + k + 1 + d + (k * d if self.per_task_arms else 0)

    def to_dict(self) -> dict:
        return asdict(self)


class BanditTransformer(HookedModule):
    """(actions [B, N], rewards [B, N], features [B, K, D] | None) -> logits [B, N + 1, K]."""

    def __init__(self, cfg: BanditModelConfig):
        super().__init__()
        self.cfg = cfg
        self.read_in = nn.Linear(cfg.token_dim, cfg.n_embd)
        self.backbone = Decoder(cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.horizon + 1, cfg.dropout)
        self.head = nn.Linear(cfg.n_embd, cfg.n_arms)
        init_gpt2_(self, cfg.n_layer)

    def transition_tokens(self, actions: torch.Tensor, rewards: torch.Tensor,
                          features: torch.Tensor | None = None) -> torch.Tensor:
        """Input vectors [B, N, token_dim] of N transitions (no start token)."""
        cfg = self.cfg
        b, n = actions.shape
        if cfg.feature_dim and (features is None or features.shape[1:] != (cfg.n_arms, cfg.feature_dim)):
            raise ConfigError(f"this model needs arm features [B, {cfg.n_arms}, {cfg.feature_dim}]")
        parts = [torch.zeros(b, n, 1, device=actions.device), F.one_hot(actions.long(), cfg.n_arms).float(),
                 rewards.float().unsqueeze(-1)]
        if cfg.feature_dim:
            idx = actions.long()[..., None].expand(b, n, cfg.feature_dim)
            parts.append(torch.gather(features.float(), 1, idx))  # chosen arm's features [B, N, D]
        if cfg.per_task_arms:
            parts.append(features.float().reshape(b, 1, -1).expand(b, n, -1))
        return torch.cat(parts, -1)

    def start_tokens(self, b: int, features: torch.Tensor | None = None,
                     device: torch.device | str = "cpu") -> torch.Tensor:
        """The start token [B, 1, token_dim]: flag 1, the action set if per-task arms."""
        cfg = self.cfg
        x = torch.zeros(b, 1, cfg.token_dim, device=device)
        x[..., 0] = 1.0
        if cfg.per_task_arms:
            x[..., cfg.token_dim - cfg.n_arms * cfg.feature_dim:] = features.float().reshape(b, 1, -1)
        return x

    def tokens(self, actions: torch.Tensor, rewards: torch.Tensor,
               features: torch.Tensor | None = None) -> torch.Tensor:
        """Input vectors [B, N + 1, token_dim] (start token first)."""
        if actions.shape[1] > self.cfg.horizon:
            raise ConfigError(f"context of {actions.shape[1]} transitions exceeds the model's "
                             f"horizon={self.cfg.horizon}")
        trans = self.transition_tokens(actions, rewards, features)
        return torch.cat((self.start_tokens(actions.shape[0], features, actions.device), trans), 1)

    def forward(self, actions: torch.Tensor, rewards: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, N + 1, K]: row t is the action distribution after t transitions."""
        return self.head(self.backbone(self.read_in(self.tokens(actions, rewards, features))))

    def loss(self, actions: torch.Tensor, rewards: torch.Tensor, labels: torch.Tensor,
             features: torch.Tensor | None = None) -> torch.Tensor:
        """Mean cross-entropy over every prefix: labels [B, T] against the predictions
        after 0..T-1 transitions (the last transition is never an input)."""
        logits = self(actions[:, :-1], rewards[:, :-1], features)  # [B, T, K]
        return F.cross_entropy(logits.reshape(-1, self.cfg.n_arms), labels.long().reshape(-1))

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits [B, K] after appending ``tokens`` [B, 1, token_dim] to a cached context
        (``cache``: :meth:`new_cache`, extended in place), so acting online costs one token per
        step instead of re-reading the history."""
        if len(cache) >= self.backbone.max_len:
            raise ConfigError(f"context exceeds the model's horizon={self.cfg.horizon}")
        return self.head(self.backbone(self.read_in(tokens), cache=cache))[:, 0]

    def new_cache(self) -> KVCache:
        """An empty key/value cache for :meth:`step`."""
        return KVCache(len(self.backbone.blocks))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
