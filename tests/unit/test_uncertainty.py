"""Predictive variances and calibration: Bayes against Monte Carlo, the Gaussian head, the bins."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from icl_lab.baselines.bayes_priors import bayes_predictive
from icl_lab.core.errors import ConfigError
from icl_lab.evaluation.uncertainty import calibration_bins, calibration_summary, model_predictive
from icl_lab.models.config import ModelConfig
from icl_lab.models.gaussian_head import GaussianHeadRegressor, gaussian_nll
from icl_lab.pipelines.regression import ExperimentConfig
from icl_lab.tasks import sample_task
from icl_lab.tasks.config import TaskConfig
from icl_lab.training.regression import build_model, training_loss


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_linear_predictive_variance_against_monte_carlo():
    # Fix X, draw (w, ε) from the prior 4·10⁵ times. For jointly Gaussian (y_<k, y_q) the
    # conditional law is the linear regression of y_q on y_<k: its residual variance is the
    # predictive variance, its fitted value at the observed y_<k the predictive mean.
    # MC standard error of a variance: sqrt(2/n) ≈ 0.22% relative; tolerance 1.5% (≈ 7 SE).
    d, k, sigma, tau = 3, 4, 0.5, 1.0
    cfg = TaskConfig.of(d=d, n_points=k + 1, noise_std=sigma, prior_std=tau)
    batch = sample_task(cfg, 1, gen(1))
    mean, var = bayes_predictive(cfg)(batch.xs, batch.ys)
    expected = sigma**2 * (1 + batch.xs[0, k].double() @ torch.linalg.inv(
        batch.xs[0, :k].double().T @ batch.xs[0, :k].double() + sigma**2 / tau**2 * torch.eye(d).double())
        @ batch.xs[0, k].double())
    assert abs(var[0, k].item() / expected.item() - 1) < 1e-6  # σ²(1 + x_qᵀ(XᵀX + λI)⁻¹x_q), float32 out
    rng = np.random.default_rng(0)
    n = 400_000
    x = batch.xs[0].double().numpy()
    y = rng.standard_normal((n, d)) * tau @ x.T + sigma * rng.standard_normal((n, k + 1))
    design = y[:, :k]
    coef, *_ = np.linalg.lstsq(design, y[:, k], rcond=None)
    mc_var = (y[:, k] - design @ coef).var()
    assert abs(mc_var / var[0, k].item() - 1) < 0.015
    assert abs(batch.ys[0, :k].double().numpy() @ coef - mean[0, k].item()) < 0.02 * math.sqrt(mc_var)


def test_calibration_bins_on_known_variances():
    g = gen(2)
    var = torch.exp(torch.randn(50_000, generator=g))
    err = var * torch.randn(50_000, generator=g) ** 2  # exactly calibrated
    bins = calibration_bins(var, err, n_bins=8)
    assert sum(bins["count"]) == 50_000 and bins["var"] == sorted(bins["var"])
    for v, e, se in zip(bins["var"], bins["sq_err"], bins["se"]):
        assert abs(e - v) < 5 * se
    over = calibration_bins(4 * var, err, n_bins=8)  # overconfident by 4× in variance
    assert all(abs(e / v - 0.25) < 0.03 for v, e in zip(over["var"], over["sq_err"]))
    s = calibration_summary(torch.zeros(50_000), var, torch.sqrt(err))
    assert abs(s["mean_z2"] - 1) < 0.03 and abs(s["coverage_90"] - 0.9) < 0.01


def test_gaussian_nll_matches_scipy():
    g = gen(3)
    m, v, y = torch.randn(5, 7, generator=g), torch.rand(5, 7, generator=g) + 0.1, torch.randn(5, 7, generator=g)
    expected = -norm.logpdf(y.numpy(), m.numpy(), np.sqrt(v.numpy())).mean()
    assert abs(gaussian_nll(m, v, y).item() - expected) < 1e-5


def test_gaussian_head_trains_by_nll_and_is_built_from_config():
    torch.manual_seed(0)
    cfg = ExperimentConfig(task=TaskConfig.of(d=1, n_points=9, noise_std=0.5),
                           model=ModelConfig(n_embd=32, n_layer=2, n_head=2, max_points=9, head="gaussian",
                                             encoding="compact"))
    model = build_model(cfg)
    assert isinstance(model, GaussianHeadRegressor)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(150):  # ~3 s on one thread
        batch = sample_task(cfg.task, 64, gen(100 + step))
        loss = training_loss(model, batch.xs, batch.ys, step)  # dispatches to the model's NLL
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    batch = sample_task(cfg.task, 512, gen(7))
    mean, var = model_predictive(model)(batch.xs, batch.ys)
    assert mean.shape == var.shape == batch.ys.shape and (var > 0).all()
    assert torch.equal(mean, model(batch.xs, batch.ys).detach())
    # The marginal N(0, Var y) scores 0.5·log(2πe·1.25) ≈ 1.53 and Bayes ≈ 0.90; 150 steps reach
    # ≈ 1.1 with E[z²] ≈ 1.1 (measured): in-context uncertainty, roughly calibrated.
    prior_nll = 0.5 * math.log(2 * math.pi * math.e * batch.y_var)
    summary = calibration_summary(mean, var, batch.ys)
    assert summary["nll"] < prior_nll - 0.25 and 0.75 < summary["mean_z2"] < 1.35, summary
    assert np.mean(losses[-10:]) < losses[0]


def test_gaussian_head_only_for_transformers():
    with pytest.raises(ConfigError, match="model.head"):
        ModelConfig(family="lsa", head="gaussian")
    with pytest.raises(ConfigError, match="'mean' or 'gaussian'"):
        ModelConfig(head="laplace")
