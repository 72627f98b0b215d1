"""Sampler moments against closed forms, reproducibility, curriculum, OOD inputs."""

import math

import pytest
import torch

from icl_lab.tasks import TASKS, curriculum, sample_task
from icl_lab.tasks.config import TaskConfig
from icl_lab.tasks.inputs import X_DISTRIBUTIONS, orthogonal_queries, repeated_queries
from icl_lab.training.config import TrainConfig


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_y_variance_matches_prior(name):
    # Var(y) under the prior is what errors are normalised by: check it by Monte Carlo.
    own = {"relu_net_regression": {"hidden": 50}, "decision_tree_regression": {"depth": 3},
           "family_mixture": {"hidden": 50}}.get(name, {})
    cfg = TaskConfig.of(name=name, d=1 if name.startswith("fourier") else 6, n_points=10, **own)
    batch = sample_task(cfg, 4000, gen())
    ys = batch.ys.double()
    var = (ys**2).mean().item()  # the mean of y is 0 for every family
    # Standard error of a mean of y² over ~prompts (points within a prompt are correlated,
    # so use per-prompt means as the independent draws).
    per_prompt = (ys**2).mean(1)
    se = per_prompt.std().item() / math.sqrt(per_prompt.numel())
    assert abs(var - batch.y_var) < 5 * se + 1e-9, (name, var, batch.y_var, se)


def test_reproducible_and_seed_sensitive():
    cfg = TaskConfig.of(d=4, n_points=5)
    a, b = sample_task(cfg, 3, gen(1)), sample_task(cfg, 3, gen(1))
    assert torch.equal(a.xs, b.xs) and torch.equal(a.ys, b.ys)
    assert not torch.equal(a.xs, sample_task(cfg, 3, gen(2)).xs)


def test_linear_labels_follow_weights_and_noise():
    cfg = TaskConfig.of(d=5, n_points=8, noise_std=0.5)
    batch = sample_task(cfg, 2000, gen())
    resid = batch.ys - (batch.xs @ batch.params["w"].unsqueeze(-1)).squeeze(-1)
    assert abs(resid.std().item() - 0.5) < 0.02
    assert batch.y_var == pytest.approx(5 + 0.25)


def test_sparse_weights_have_exact_support():
    cfg = TaskConfig.of(name="sparse_linear_regression", d=10, sparsity=3)
    w = sample_task(cfg, 500, gen()).params["w"]
    assert torch.all((w != 0).sum(1) == 3)
    # Each coordinate is in the support with probability 3/10.
    freq = (w != 0).float().mean(0)
    assert torch.all((freq - 0.3).abs() < 5 * math.sqrt(0.21 / 500))


def test_decision_tree_matches_explicit_walk():
    cfg = TaskConfig.of(name="decision_tree_regression", d=4, n_points=6, depth=3)
    batch = sample_task(cfg, 5, gen())
    coords, values = batch.params["coords"], batch.params["values"]
    for b in range(5):
        for n in range(6):
            node = 0
            for _ in range(3):
                node = 2 * node + (2 if batch.xs[b, n, coords[b, node]] > 0 else 1)
            assert batch.ys[b, n] == values[b, node]


def test_active_dims_zero_inactive_coordinates():
    batch = sample_task(TaskConfig.of(d=6), 4, gen(), n_points=3, active_dims=2)
    assert torch.all(batch.xs[:, :, 2:] == 0) and torch.all(batch.params["w"][:, 2:] == 0)
    assert batch.xs.shape == (4, 3, 6)


def test_curriculum_staircase():
    train = TrainConfig(dims_start=5, dims_inc=1, points_start=11, points_inc=2, curriculum_interval=2000)
    task = TaskConfig.of(d=20, n_points=41)
    assert curriculum(train, task, 0) == (5, 11)
    assert curriculum(train, task, 1999) == (5, 11)
    assert curriculum(train, task, 2000) == (6, 13)
    assert curriculum(train, task, 10**6) == (20, 41)
    assert curriculum(TrainConfig(), task, 0) == (20, 41)


def test_ood_inputs():
    g, d = gen(), 8
    skew = X_DISTRIBUTIONS["skewed"](1, 20000, d, g)[0].double()
    eig = torch.linalg.eigvalsh(skew.T @ skew / skew.shape[0]).flip(0)
    assert eig.sum().item() == pytest.approx(d, rel=0.05)
    assert (eig[:4] / eig[0]).tolist() == pytest.approx([1, 1 / 4, 1 / 9, 1 / 16], rel=0.1, abs=0.01)
    half = X_DISTRIBUTIONS["half_subspace"](3, 30, d, g)
    assert all(torch.linalg.matrix_rank(half[i]).item() == d // 2 for i in range(3))
    orth = X_DISTRIBUTIONS["orthant"](3, 30, d, g)
    assert torch.all((torch.sign(orth) == torch.sign(orth[:, :1])).all(1))
    xs = torch.randn(4, 10, d, generator=g)
    qs = orthogonal_queries(xs)
    for k in range(1, d):
        assert torch.allclose(xs[:, :k] @ qs[:, k].unsqueeze(-1), torch.zeros(4, k, 1), atol=1e-4)
        assert torch.allclose(qs[:, k].norm(dim=-1), xs[:, k].norm(dim=-1), rtol=1e-4)
    rep = repeated_queries(xs, g)
    for k in range(1, 10):
        assert all(any(torch.equal(rep[b, k], xs[b, j]) for j in range(k)) for b in range(4))
