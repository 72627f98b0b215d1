"""Input distributions for x, including Garg et al.'s out-of-distribution variants.

Each sampler returns xs [B, N, D] from a ``torch.Generator`` on the CPU, so the same seed
gives the same prompts on every machine. Covariances are normalised to trace D so that
Var(y) under the task prior is unchanged.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

XSampler = Callable[[int, int, int, torch.Generator], torch.Tensor]


def gaussian(b: int, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """x ~ N(0, I_d)."""
    return torch.randn(b, n, d, generator=g)


def random_rotation(b: int, d: int, g: torch.Generator) -> torch.Tensor:
    """Haar-random orthogonal matrices [B, D, D] (QR of a Gaussian with sign fix)."""
    q, r = torch.linalg.qr(torch.randn(b, d, d, generator=g))
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


def with_spectrum(scales: torch.Tensor) -> XSampler:
    """x = U diag(scales) Uᵀ z, a random rotation U per prompt, scales normalised so E|x|² = D."""

    def sample(b: int, n: int, d: int, g: torch.Generator) -> torch.Tensor:
        s = scales[:d] * math.sqrt(d / float((scales[:d] ** 2).sum()))
        u = random_rotation(b, d, g)
        transform = u @ torch.diag_embed(s.expand(b, d)) @ u.transpose(1, 2)  # [B, D, D]
        return torch.randn(b, n, d, generator=g) @ transform

    return sample


def skewed(b: int, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """Skewed covariance: eigenvalues ∝ 1/i², trace D (Garg et al. §5)."""
    return with_spectrum(1.0 / torch.arange(1, d + 1, dtype=torch.float32))(b, n, d, g)


def half_subspace(b: int, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """All x in one random D/2-dimensional subspace per prompt, trace D."""
    scales = torch.zeros(d)
    scales[: max(1, d // 2)] = 1.0
    return with_spectrum(scales)(b, n, d, g)


def orthant(b: int, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """All points of a prompt in one random orthant: |z| times a per-prompt sign pattern."""
    signs = torch.randint(0, 2, (b, 1, d), generator=g).float() * 2 - 1
    return torch.randn(b, n, d, generator=g).abs() * signs


X_DISTRIBUTIONS: dict[str, XSampler] = {
    "gaussian": gaussian,
    "skewed": skewed,
    "half_subspace": half_subspace,
    "orthant": orthant,
}


def orthogonal_queries(xs: torch.Tensor) -> torch.Tensor:
    """Queries [B, N, D]: query k is x_k projected off span(x_1..x_{k-1}), norm kept.

    Garg et al.'s "query orthogonal to the prompt" test. Past k = D the complement is
    empty, so the original x_k is kept (the test is only meaningful for k < D).
    """
    b, n, d = xs.shape
    qs = xs.clone()
    for k in range(1, min(n, d)):  # a Python loop over at most D Gram–Schmidt steps
        basis, _ = torch.linalg.qr(xs[:, :k].transpose(1, 2).double())  # [B, D, k]
        x = xs[:, k].double()
        perp = x - (basis @ (basis.transpose(1, 2) @ x.unsqueeze(-1))).squeeze(-1)
        qs[:, k] = (perp * x.norm(dim=-1, keepdim=True) / perp.norm(dim=-1, keepdim=True)).float()
    return qs


def repeated_queries(xs: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Queries [B, N, D]: query k (k ≥ 1) is a uniformly chosen earlier x_j, j < k."""
    b, n, _ = xs.shape
    k = torch.arange(n).expand(b, n)
    j = (torch.rand(b, n, generator=g) * k).long().clamp(max=torch.clamp(k - 1, min=0))
    qs = torch.gather(xs, 1, j.unsqueeze(-1).expand_as(xs))
    qs[:, 0] = xs[:, 0]  # nothing earlier to repeat
    return qs
