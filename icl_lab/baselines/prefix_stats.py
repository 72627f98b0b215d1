"""Prompt-shape checks and prefix statistics shared by the vectorised regression learners:
entry k of every statistic uses only the first k examples of its prompt."""

from __future__ import annotations

import torch


def _check(xs: torch.Tensor, ys: torch.Tensor) -> tuple[int, int, int]:
    """Validate shapes ``xs [B, N, D]``, ``ys [B, N]``; return ``(B, N, D)``."""
    if xs.ndim != 3 or ys.ndim != 2 or xs.shape[:2] != ys.shape:
        raise ValueError(f"expected xs [B, N, D] and ys [B, N], got {tuple(xs.shape)} and {tuple(ys.shape)}")
    if not (xs.is_floating_point() and ys.is_floating_point()):
        raise TypeError("xs and ys must be floating point tensors")
    return xs.shape[0], xs.shape[1], xs.shape[2]


def _exclusive_cumsum(t: torch.Tensor) -> torch.Tensor:
    """``out[:, k] = Σ_{j<k} t[:, j]`` along dim 1 (exact shift, so causality is exact)."""
    out = torch.zeros_like(t)
    out[:, 1:] = torch.cumsum(t[:, :-1], dim=1)
    return out


def _prefix_gram(xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Prefix statistics in float64: ``G [B, N, D, D]`` with ``G[:, k] = Σ_{j<k} x_j x_jᵀ``
    and ``h [B, N, D]`` with ``h[:, k] = Σ_{j<k} y_j x_j``."""
    x, y = xs.double(), ys.double()
    gram = _exclusive_cumsum(x[..., :, None] * x[..., None, :])  # [B, N, D, D]
    xty = _exclusive_cumsum(x * y[..., None])  # [B, N, D]
    return gram, xty
