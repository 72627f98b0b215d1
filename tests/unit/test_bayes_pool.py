"""dMMSE (posterior mean over a finite task pool) against independent computations."""

import numpy as np
import torch
from scipy.special import logsumexp

from icl_lab.baselines.bayes import dmmse
from icl_lab.baselines.regression import ridge
from icl_lab.tasks import sample_task
from icl_lab.tasks.config import TaskConfig
from icl_lab.tasks.regression import task_pool


def test_pool_tasks_come_from_the_pool():
    cfg = TaskConfig.of(d=4, n_points=5, pool_size=7)
    batch = sample_task(cfg, 200, torch.Generator().manual_seed(0))
    pool = task_pool(7, 4, 1.0, 0)
    matches = (batch.params["w"][:, None, :] == pool[None]).all(-1)  # [B, M]
    assert torch.all(matches.sum(1) == 1)
    assert matches.sum(0).min() > 10  # every member is used (uniform: 200/7 ≈ 29 each)


def test_dmmse_equals_direct_log_sum_exp():
    g = torch.Generator().manual_seed(1)
    xs, ys, pool = torch.randn(3, 6, 4, generator=g), torch.randn(3, 6, generator=g), torch.randn(9, 4, generator=g)
    sigma = 0.7
    got = dmmse(xs.double(), ys.double(), pool, sigma, pool_chunk=4)  # chunks force the online softmax
    x, y, w = xs.numpy().astype(float), ys.numpy().astype(float), pool.numpy().astype(float)
    for b in range(3):
        for k in range(6):
            loglik = np.array([-sum((y[b, j] - w[i] @ x[b, j]) ** 2 for j in range(k)) / (2 * sigma**2)
                               for i in range(9)])
            post = np.exp(loglik - logsumexp(loglik))
            assert abs(got[b, k].item() - post @ (w @ x[b, k])) < 1e-10


def test_dmmse_approaches_ridge_for_a_large_pool():
    # With M → ∞ the uniform prior over the pool tends to N(0, I): dMMSE → ridge(λ = σ²/τ²).
    sigma, d = 0.5, 3
    pool = task_pool(2**13, d, 1.0, 0)
    cfg = TaskConfig.of(d=d, n_points=8, noise_std=sigma)
    batch = sample_task(cfg, 200, torch.Generator().manual_seed(2))  # fresh Gaussian tasks
    a = dmmse(batch.xs.double(), batch.ys.double(), pool, sigma)
    b = ridge(batch.xs.double(), batch.ys.double(), lam=sigma**2)
    gap = ((a - b) ** 2).mean().item() / d
    small = dmmse(batch.xs.double(), batch.ys.double(), task_pool(8, d, 1.0, 0), sigma)
    assert gap < 0.01 < ((small - b) ** 2).mean().item() / d
