"""Normalised error, bootstrap bands and replacement queries."""

import math

import torch

from icl_lab.baselines import regression as r
from icl_lab.evaluation.regression import bootstrap_summary, normalized_errors, predict_batch
from icl_lab.tasks import sample_task
from icl_lab.tasks.config import TaskConfig
from icl_lab.tasks.inputs import orthogonal_queries


def test_zero_predictor_scores_one():
    cfg = TaskConfig.of(d=10, n_points=5, noise_std=0.5)
    batch = sample_task(cfg, 20000, torch.Generator().manual_seed(0))
    errs = normalized_errors(r.zero(batch.xs, batch.ys), batch)
    per_prompt = errs.double().mean(1)
    se = per_prompt.std().item() / math.sqrt(per_prompt.numel())
    assert abs(per_prompt.mean().item() - 1.0) < 5 * se  # E[y²]/Var(y) = 1


def test_bootstrap_band_brackets_mean_and_shrinks():
    g = torch.Generator().manual_seed(0)
    errors = torch.rand(400, 6, generator=g)
    s = bootstrap_summary(errors, n_boot=500, seed=1)
    for lo, m, hi in zip(s["lo"], s["mean"], s["hi"]):
        assert lo < m < hi
        # A 90% band of a mean of U(0,1) draws: half-width ≈ 1.645·sqrt(1/12/400).
        assert abs((hi - lo) / 2 - 1.645 * math.sqrt(1 / 12 / 400)) < 0.01


def test_replacement_queries_equal_explicit_loop():
    cfg = TaskConfig.of(d=4, n_points=6)
    batch = sample_task(cfg, 5, torch.Generator().manual_seed(0))
    batch.queries = orthogonal_queries(batch.xs)
    batch.query_ys = torch.zeros_like(batch.ys)
    got = predict_batch(r.least_squares, batch)
    for k in range(6):
        xs, ys = batch.xs[:, :k].double(), batch.ys[:, :k].double()
        for b in range(5):
            w = torch.linalg.pinv(xs[b]) @ ys[b] if k else torch.zeros(4, dtype=torch.double)
            assert abs(got[b, k].item() - (batch.queries[b, k].double() @ w).item()) < 1e-4
