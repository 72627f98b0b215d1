"""Exact Bayes predictors of the Bayesian-prism priors against independent computations:
quadrature over w, explicit numpy posteriors and marginal likelihoods, importance sampling."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from icl_lab.baselines.bayes_gaussian import gaussian_linear_predictive
from icl_lab.baselines.bayes_priors import (
    bayes_predictive,
    fourier_mixture_posterior,
    fourier_posterior,
    gaussian_mixture_posterior,
    linear_families_posterior,
    monomial_posterior,
    posterior_weights,
    sparse_linear_posterior,
)
from icl_lab.tasks import sample_task
from icl_lab.tasks.config import TaskConfig


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def explicit_posterior(phi, y, phi_q, sigma, tau):
    """Gaussian linear model by the textbook formula with an explicit inverse (numpy)."""
    p = phi.shape[1]
    cov = np.linalg.inv(phi.T @ phi / sigma**2 + np.eye(p) / tau**2)
    mu = cov @ phi.T @ y / sigma**2
    return phi_q @ mu, sigma**2 + phi_q @ cov @ phi_q


# ----------------------------------------------------------------------------- Gaussian mixture


def test_mixture_posterior_matches_quadrature_in_1d():
    g = gen(1)
    xs, sigma, tau, m, p_plus = torch.randn(3, 5, 1, generator=g), 0.6, 1.0, 3.0, 0.3
    w_true = torch.tensor([2.5, -3.5, 0.4])
    ys = (xs[..., 0] * w_true[:, None]) + sigma * torch.randn(3, 5, generator=g)
    means, log_w = torch.tensor([[m], [-m]]), torch.tensor([p_plus, 1 - p_plus]).log()
    mean, var, weights = gaussian_mixture_posterior(xs, ys, means, log_w, sigma, tau)
    grid = np.linspace(-15, 15, 30001)
    prior_plus = p_plus * np.exp(-(grid - m) ** 2 / (2 * tau**2))
    prior_minus = (1 - p_plus) * np.exp(-(grid + m) ** 2 / (2 * tau**2))
    x, y = xs[..., 0].numpy().astype(float), ys.numpy().astype(float)
    for b in range(3):
        for k in range(5):
            lik = np.exp(-((y[b, :k, None] - grid * x[b, :k, None]) ** 2).sum(0) / (2 * sigma**2))
            post = (prior_plus + prior_minus) * lik
            z = post.sum()
            f = grid * x[b, k]
            assert abs(mean[b, k].item() - (post * f).sum() / z) < 1e-6
            assert abs(var[b, k].item() - (sigma**2 + (post * f**2).sum() / z - ((post * f).sum() / z) ** 2)) < 1e-6
            assert abs(weights[b, k, 0].item() - (prior_plus * lik).sum() / z) < 1e-8


def test_mixture_posterior_matches_quadrature_in_2d():
    g = gen(2)
    xs, sigma = torch.randn(2, 4, 2, generator=g), 0.5
    ys = xs @ torch.tensor([3.0, 1.0]) + sigma * torch.randn(2, 4, generator=g)
    cfg = TaskConfig.of(name="gaussian_mixture_regression", d=2, noise_std=sigma)
    mean, _ = bayes_predictive(cfg)(xs, ys)
    axis = np.linspace(-9, 9, 721)
    w1, w2 = np.meshgrid(axis, axis, indexing="ij")
    prior = np.exp(-((w1 - 3) ** 2 + w2**2) / 2) + np.exp(-((w1 + 3) ** 2 + w2**2) / 2)
    x, y = xs.numpy().astype(float), ys.numpy().astype(float)
    for b in range(2):
        for k in range(4):
            resid = y[b, :k, None, None] - w1 * x[b, :k, 0, None, None] - w2 * x[b, :k, 1, None, None]
            post = prior * np.exp(-(resid**2).sum(0) / (2 * sigma**2))
            f = w1 * x[b, k, 0] + w2 * x[b, k, 1]
            assert abs(mean[b, k].item() - (post * f).sum() / post.sum()) < 1e-5


def test_mixture_weights_move_from_prior_to_the_true_component():
    cfg = TaskConfig.of(name="gaussian_mixture_regression", d=10, n_points=30, noise_std=0.1)
    batch = sample_task(cfg, 200, gen(3))
    weights = posterior_weights(cfg, batch.xs, batch.ys)  # [B, N, 2]
    assert torch.allclose(weights[:, 0], torch.tensor([0.5, 0.5], dtype=weights.dtype))
    truth = batch.params["component"]
    hit = weights[:, -1].argmax(-1) == truth
    assert hit.float().mean() > 0.98 and weights[:, -1].amax(-1).mean() > 0.98


def test_mixture_predictive_variance_by_importance_sampling():
    # Independent of every formula: sample w from the prior, weight by the likelihood.
    # 10⁶ draws; the tolerance is 5 Monte Carlo standard errors sqrt(Var/ESS).
    g = gen(4)
    xs, sigma = torch.randn(1, 4, 2, generator=g), 0.5
    ys = xs @ torch.tensor([-2.0, 0.5]) + sigma * torch.randn(1, 4, generator=g)
    cfg = TaskConfig.of(name="gaussian_mixture_regression", d=2, noise_std=sigma, mixture_weight=0.7)
    mean, var = bayes_predictive(cfg)(xs, ys)
    rng = np.random.default_rng(0)
    n = 10**6
    comp = np.where(rng.random(n) < 0.7, 3.0, -3.0)
    w = rng.standard_normal((n, 2)) + np.stack([comp, np.zeros(n)], 1)
    x, y = xs[0].numpy().astype(float), ys[0].numpy().astype(float)
    k = 3
    logl = -((y[:k] - w @ x[:k].T) ** 2).sum(1) / (2 * sigma**2)
    wt = np.exp(logl - logl.max())
    wt /= wt.sum()
    f = w @ x[k]
    mc_mean = wt @ f
    mc_var = sigma**2 + wt @ (f - mc_mean) ** 2
    ess = 1 / (wt**2).sum()
    assert ess > 1e4
    assert abs(mean[0, k].item() - mc_mean) < 5 * math.sqrt(mc_var / ess)
    assert abs(var[0, k].item() / mc_var - 1) < 5 * math.sqrt(2 / ess) + 0.01


# ----------------------------------------------------------------------------- Gaussian linear in a basis


def fourier_basis_numpy(x, big_k, half):
    cols = [np.ones_like(x)] + [np.cos(k * np.pi * x / half) for k in range(1, big_k + 1)] + \
           [np.sin(k * np.pi * x / half) for k in range(1, big_k + 1)]
    return np.stack(cols, -1)


@pytest.mark.parametrize("sigma", [0.3, 0.0])
def test_fourier_posterior_equals_explicit_inverse(sigma):
    cfg = TaskConfig.of(name="fourier_series", n_points=12, fourier_freq=3, noise_std=sigma, prior_std=0.8)
    batch = sample_task(cfg, 3, gen(5))
    mean, var = fourier_posterior(batch.xs, batch.ys, 3, 5.0, sigma, 0.8)
    s = max(sigma, 1e-3)  # the documented jitter for the noiseless prior
    for b in range(3):
        phi = fourier_basis_numpy(batch.xs[b, :, 0].double().numpy(), 3, 5.0)
        y = batch.ys[b].double().numpy()
        for k in range(12):
            m, v = explicit_posterior(phi[:k], y[:k], phi[k], s, 0.8)
            assert abs(mean[b, k].item() - m) < 1e-6 * max(1, abs(m))
            assert abs(var[b, k].item() - v) < 1e-6 * max(1, v)


def test_noiseless_fourier_posterior_interpolates():
    # 7 coefficients: well past 7 noiseless points the jittered posterior reproduces f exactly.
    cfg = TaskConfig.of(name="fourier_series", n_points=20, fourier_freq=3, noise_std=0.0)
    batch = sample_task(cfg, 200, gen(5))
    mean, var = bayes_predictive(cfg)(batch.xs, batch.ys)
    err = ((mean - batch.ys.double()) ** 2).mean(0) / batch.y_var
    assert abs(err[0] - 1) < 0.5 and err[12:].max() < 1e-6  # k = 0: 5 SE of a mean of 200 χ²₁ draws
    assert (var[:, 12:] >= 1e-6).all()  # the jitter σ² = 1e-6 floors the predictive variance


def test_fourier_mixture_posterior_uses_explicit_marginal_likelihoods():
    sigma, tau, k_max = 0.2, 1.0, 4
    cfg = TaskConfig.of(name="fourier_mixture", n_points=9, fourier_freq=k_max, noise_std=sigma)
    batch = sample_task(cfg, 4, gen(6))
    mean, var, weights = fourier_mixture_posterior(batch.xs, batch.ys, k_max, 5.0, sigma, tau)
    for b in range(4):
        x, y = batch.xs[b, :, 0].double().numpy(), batch.ys[b].double().numpy()
        for k in range(1, 9):
            logml, preds = [], []
            for kk in range(1, k_max + 1):
                phi = fourier_basis_numpy(x, kk, 5.0)
                cov = sigma**2 * np.eye(k) + tau**2 * phi[:k] @ phi[:k].T
                logml.append(multivariate_normal(np.zeros(k), cov).logpdf(y[:k]))
                preds.append(explicit_posterior(phi[:k], y[:k], phi[k], sigma, tau)[0])
            post = np.exp(np.array(logml) - logsumexp(logml))
            np.testing.assert_allclose(weights[b, k].numpy(), post, atol=1e-7)
            assert abs(mean[b, k].item() - post @ np.array(preds)) < 1e-6


def test_fourier_mixture_weights_find_the_true_max_frequency():
    cfg = TaskConfig.of(name="fourier_mixture", n_points=40, fourier_freq=5, noise_std=0.0)
    batch = sample_task(cfg, 100, gen(7))
    weights = posterior_weights(cfg, batch.xs, batch.ys)
    found = weights[:, -1].argmax(-1) + 1
    assert (found == batch.params["max_freq"]).float().mean() > 0.95
    assert torch.allclose(weights[:, 0], torch.full((5,), 0.2).double())
    # Occam's razor: on K = 1 functions, 4 points already favour K = 1 over K = 5.
    one = batch.params["max_freq"] == 1
    assert one.sum() > 10 and (weights[one, 4, 0] > weights[one, 4, -1]).all()


def test_monomial_posterior_equals_explicit_inverse():
    cfg = TaskConfig.of(name="monomial_regression", d=4, n_points=10, n_monomials=5, noise_std=0.4, monomial_seed=3)
    batch = sample_task(cfg, 2, gen(8))
    from icl_lab.tasks.bayesian import monomial_pairs

    pairs = monomial_pairs(4, 5, 3)
    assert len({tuple(p) for p in pairs.tolist()}) == 5 and torch.equal(pairs, monomial_pairs(4, 5, 3))
    mean, var = monomial_posterior(batch.xs, batch.ys, pairs, 0.4, 1.0)
    assert torch.allclose(mean, bayes_predictive(cfg)(batch.xs, batch.ys)[0])
    for b in range(2):
        x, y = batch.xs[b].double().numpy(), batch.ys[b].double().numpy()
        phi = np.stack([x[:, i] * x[:, j] for i, j in pairs.tolist()], -1)
        for k in range(10):
            m, v = explicit_posterior(phi[:k], y[:k], phi[k], 0.4, 1.0)
            assert abs(mean[b, k].item() - m) < 1e-8 and abs(var[b, k].item() - v) < 1e-8


def test_prior_mean_shift_equals_explicit_formula():
    g = gen(9)
    phi, y, m0 = torch.randn(1, 6, 3, generator=g).double(), torch.randn(1, 6, generator=g).double(), torch.randn(3).double()
    mean, _ = gaussian_linear_predictive(phi, y, 0.5, 2.0, prior_mean=m0)
    p, yy = phi[0].numpy(), y[0].numpy()
    for k in range(6):
        cov = np.linalg.inv(p[:k].T @ p[:k] / 0.25 + np.eye(3) / 4)
        mu = cov @ (p[:k].T @ yy[:k] / 0.25 + m0.numpy() / 4)
        assert abs(mean[0, k].item() - p[k] @ mu) < 1e-10


# ----------------------------------------------------------------------------- sparse and family posteriors


def test_sparse_posterior_against_support_enumeration():
    d, s, sigma, tau = 4, 2, 0.3, 1.0
    cfg = TaskConfig.of(name="sparse_linear_regression", d=d, sparsity=s, n_points=6, noise_std=sigma)
    batch = sample_task(cfg, 2, gen(10))
    mean, _ = sparse_linear_posterior(batch.xs, batch.ys, s, tau, sigma)
    for b in range(2):
        x, y = batch.xs[b].double().numpy(), batch.ys[b].double().numpy()
        for k in range(6):
            logml, preds = [], []
            for sup in itertools.combinations(range(d), s):
                phi = x[:, list(sup)]
                logml.append(multivariate_normal(np.zeros(k), sigma**2 * np.eye(k) + tau**2 * phi[:k] @ phi[:k].T)
                             .logpdf(y[:k]) if k else 0.0)
                preds.append(explicit_posterior(phi[:k], y[:k], phi[k], sigma, tau)[0])
            post = np.exp(np.array(logml) - logsumexp(logml))
            assert abs(mean[b, k].item() - post @ np.array(preds)) < 1e-8


def test_family_posterior_identifies_dense_vs_sparse():
    cfg = TaskConfig.of(name="family_mixture", d=6, sparsity=2, n_points=20, noise_std=0.05,
                     families=("linear", "sparse_linear"))
    batch = sample_task(cfg, 300, gen(11))
    mean, var, weights = linear_families_posterior(batch.xs, batch.ys, cfg.families, 2, 0.05)
    assert torch.allclose(weights.sum(-1), torch.ones(()).double())
    assert torch.allclose(weights[:, 0], torch.tensor([0.5, 0.5]).double())
    hit = (weights[:, -1].argmax(-1) == batch.params["family"]).float().mean()
    assert hit > 0.95
    # The mixture posterior beats both specialists on the mixture (it is Bayes-optimal).
    err = lambda p: ((p - batch.ys.double()) ** 2)[:, 1:].mean().item()  # noqa: E731
    dense = gaussian_linear_predictive(batch.xs, batch.ys, 0.05, 1 / math.sqrt(6))[0]
    sparse = sparse_linear_posterior(batch.xs, batch.ys, 2, 1 / math.sqrt(2), 0.05)[0]
    assert err(mean) < min(err(dense), err(sparse))


def test_bayes_predictive_is_calibrated_on_its_own_prior():
    # E[(y − mean)² / var] = 1 for the exact posterior predictive; SE ≈ sqrt(2/n) per position.
    for name, extra in (("fourier_mixture", {"fourier_freq": 4, "noise_std": 0.3}),
                        ("gaussian_mixture_regression", {"d": 3, "noise_std": 0.5}),
                        ("monomial_regression", {"d": 4, "n_monomials": 6, "noise_std": 0.5})):
        cfg = TaskConfig.of(name=name, n_points=12, **extra)
        batch = sample_task(cfg, 4000, gen(12))
        mean, var = bayes_predictive(cfg)(batch.xs, batch.ys)
        z2 = (batch.ys.double() - mean) ** 2 / var  # [B, N]
        # Mixtures are not Gaussian but still have E[z²] = 1 (var is the exact predictive
        # variance); tolerance: 5 standard errors of the mean over 4000 prompts.
        se = z2.std(0) / math.sqrt(z2.shape[0])
        assert ((z2.mean(0) - 1).abs() < 5 * se).all(), (name, z2.mean(0), se)


def test_nested_models_share_one_factorisation():
    from icl_lab.baselines.bayes_gaussian import nested_gaussian_linear_predictive

    g = gen(13)
    phi, y = torch.randn(3, 7, 5, generator=g).double(), torch.randn(3, 7, generator=g).double()
    means, variances = nested_gaussian_linear_predictive(phi, y, 0.4, 1.3, sizes=[1, 3, 5])
    for c, p in enumerate([1, 3, 5]):
        m, v = gaussian_linear_predictive(phi[..., :p].contiguous(), y, 0.4, 1.3)
        for b in range(3):
            for k in range(7):
                em, ev = explicit_posterior(phi[b, :k, :p].numpy(), y[b, :k].numpy(), phi[b, k, :p].numpy(), 0.4, 1.3)
                assert abs(means[c, b, k].item() - em) < 1e-10 and abs(variances[c, b, k].item() - ev) < 1e-10
        assert torch.allclose(means[c], m) and torch.allclose(variances[c], v)
