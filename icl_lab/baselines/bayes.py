"""Exact Bayes-optimal predictors for regression priors beyond the Gaussian one.

``dmmse``: the posterior mean of y_query when w is uniform over a finite pool (Raventós
et al.'s discrete MMSE estimator). Posterior weight of pool member i after k examples:
softmax_i(−Σ_{j<k} (y_j − w_iᵀx_j)² / 2σ²). Computed for every prompt and prefix at once
with a streaming (online) log-sum-exp over chunks of the pool, so memory stays bounded
for pools of 2^20 vectors.
"""

from __future__ import annotations

import torch

# Below this noise level the posterior is a hard "which pool members interpolate" test;
# a floor keeps the softmax finite and is far below any noise the experiments use.
MIN_NOISE_STD = 1e-3


def dmmse(xs: torch.Tensor, ys: torch.Tensor, pool: torch.Tensor, noise_std: float,
          pool_chunk: int = 4096, batch_chunk: int = 256) -> torch.Tensor:
    """Posterior-mean predictions [B, N] under w ~ Uniform(pool), y = wᵀx + N(0, σ²).

    xs [B, N, D], ys [B, N], pool [M, D]. Entry k uses examples 0..k-1 (k = 0: the pool mean).
    """
    sigma2 = max(noise_std, MIN_NOISE_STD) ** 2
    out = torch.empty(ys.shape, dtype=torch.float64)
    pool = pool.double()
    for b0 in range(0, xs.shape[0], batch_chunk):
        x, y = xs[b0:b0 + batch_chunk].double().cpu(), ys[b0:b0 + batch_chunk].double().cpu()
        out[b0:b0 + batch_chunk] = _dmmse_chunk(x, y, pool, sigma2, pool_chunk)
    return out.to(dtype=xs.dtype, device=xs.device)


def _dmmse_chunk(x: torch.Tensor, y: torch.Tensor, pool: torch.Tensor, sigma2: float,
                 pool_chunk: int) -> torch.Tensor:
    b, n, _ = x.shape
    run_max = torch.full((b, n), -torch.inf, dtype=torch.float64)
    run_sum = torch.zeros(b, n, dtype=torch.float64)
    run_pred = torch.zeros(b, n, dtype=torch.float64)  # Σ_i exp(logw_i − max) · w_iᵀx_k
    for m0 in range(0, pool.shape[0], pool_chunk):
        w = pool[m0:m0 + pool_chunk]  # [M', D]
        fx = x @ w.T  # [B, N, M']: w_iᵀx_j for every example and pool member
        sq = (y.unsqueeze(-1) - fx) ** 2
        # Exclusive cumulative sum over examples: prefix k sees examples j < k.
        logw = -torch.cumsum(torch.nn.functional.pad(sq[:, :-1], (0, 0, 1, 0)), dim=1) / (2 * sigma2)
        new_max = torch.maximum(run_max, logw.amax(-1))
        scale = torch.exp(run_max - new_max)
        e = torch.exp(logw - new_max.unsqueeze(-1))  # [B, N, M']
        run_sum = run_sum * scale + e.sum(-1)
        run_pred = run_pred * scale + (e * fx).sum(-1)
        run_max = new_max
    return run_pred / run_sum
