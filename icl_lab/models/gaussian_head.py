"""A transformer that predicts a mean and a variance at every prefix (Liu et al. 2024, arXiv:2405.15115).

The backbone and encoders are :class:`~icl_lab.models.transformer.ICLRegressor`'s, with a
two-output head: ``mean`` and ``var = softplus(raw) + MIN_VAR``. ``forward`` returns the mean
only, so evaluation and probes treat the model like any learner; ``predict_distribution``
returns both; ``training_loss`` is the Gaussian negative log-likelihood over every position.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from icl_lab.models.config import ModelConfig
from icl_lab.models.transformer import ICLRegressor

MIN_VAR = 1e-6  # keeps the NLL finite when the model becomes (over)confident


def gaussian_nll(mean: torch.Tensor, var: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Mean over elements of −log N(y; mean, var), constant included."""
    return 0.5 * (torch.log(2 * math.pi * var) + (ys - mean) ** 2 / var).mean()


class GaussianHeadRegressor(ICLRegressor):
    """(xs [B, N, D], ys [B, N]) -> mean [B, N]; ``predict_distribution`` adds the variance [B, N]."""

    def __init__(self, cfg: ModelConfig, d: int):
        super().__init__(cfg, d, out_dim=2)

    def predict_distribution(self, xs: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = super().forward(xs, ys)  # [B, N, 2]
        return out[..., 0], F.softplus(out[..., 1]) + MIN_VAR

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        return self.predict_distribution(xs, ys)[0]

    def training_loss(self, xs: torch.Tensor, ys: torch.Tensor, step: int = 0) -> torch.Tensor:
        mean, var = self.predict_distribution(xs, ys)
        return gaussian_nll(mean.float(), var.float(), ys)
