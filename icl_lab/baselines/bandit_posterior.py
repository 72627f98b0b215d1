"""The posterior over the optimal arm, P(a* = a | D), of a K-armed bandit, by quadrature.

DPT's theory (Lee et al. 2023, arXiv:2306.14892): when the pretraining contexts are drawn
independently of the optimal arm, the cross-entropy minimiser outputs exactly this
posterior, so sampling from it online is posterior (Thompson) sampling. This module gives
the reference every trained model is measured against.

Arms are independent a posteriori, so with f_b, F_b the posterior density and CDF of the
mean of arm b,

    P(a* = a | D) = ∫ f_a(x) ∏_{b ≠ a} F_b(x) dx,

a one-dimensional integral per arm, evaluated by the midpoint rule on a fixed grid: each arm's
log-density is formed in closed form up to its constant, exponentiated relative to its maximum
(no underflow however far the data lie from the prior's support), normalised on the grid, and
its CDF accumulated from the same weights. Posteriors:

* ``gaussian`` rewards N(μ, σ²), μ ~ U[low, high]: N(ȳ, σ²/n) truncated to [low, high] (the
  prior itself when n = 0);
* ``gaussian`` with a N(m₀, v₀) prior: the conjugate normal posterior (also the action
  distribution of Gaussian Thompson sampling with that prior);
* ``bernoulli`` with a Beta(a, b) prior: Beta(a + successes, b + failures).

The densities are smooth and at least ~6 nodes per standard deviation wide at the grid sizes
used (posterior widths down to σ/√500 ≈ 0.013). Measured against 8001-node quadrature with
exact normal / Beta CDFs: ≤ 3e-5 in total variation with up to 20 pulls per arm and ≤ 3e-4 with
up to 500, far below the distances this module is used to measure (≥ 0.01). The tests compare
with a closed form for two Beta arms and with large Monte Carlo.
"""

from __future__ import annotations

import numpy as np

from icl_lab.tasks.bandits import BanditEnvConfig

GRID = 1001  # midpoint nodes on the prior's support (or on ±8 prior standard deviations)


def _midpoints(low: float, high: float, grid: int) -> np.ndarray:
    return low + (np.arange(grid) + 0.5) * (high - low) / grid


def _probabilities(log_density: np.ndarray) -> np.ndarray:
    """∫ f_a ∏_{b≠a} F_b for every arm a, from unnormalised log-densities [B, K, G] on a uniform grid.

    Weights are normalised per arm (this is where truncation to the grid's interval happens);
    the CDF at a node counts half of the node's own weight (midpoint rule), and the product over
    the other arms is formed in logs (all arms / own), with CDFs kept away from 0."""
    weights = np.exp(log_density - log_density.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    cdf = np.cumsum(weights, -1) - 0.5 * weights
    log_cdf = np.log(np.maximum(cdf, 1e-300))
    others = np.exp(log_cdf.sum(1, keepdims=True) - log_cdf)  # ∏_{b≠a} F_b(x)   [B, K, G]
    probs = (weights * others).sum(-1)
    return probs / probs.sum(-1, keepdims=True)


def _normal_log_density(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """log N(x; mean, std²) up to a per-arm constant, [B, K, G] (std = inf: flat)."""
    return -0.5 * ((x - mean[..., None]) / std[..., None]) ** 2


def optimal_arm_posterior(env: BanditEnvConfig, counts: np.ndarray, sums: np.ndarray, *,
                          prior: str = "exact", grid: int = GRID) -> np.ndarray:
    """P(a* = a | D) [B, K] from per-arm pull counts and reward sums [B, K].

    ``prior="exact"``: the environment's own prior (uniform → truncated normal, normal →
    normal, Beta → Beta). ``prior="gaussian"`` (Gaussian arms only): the moment-matched normal
    prior of :attr:`BanditEnvConfig.gaussian_prior`, i.e. the action distribution of the lab's
    Gaussian Thompson sampler, which differs from the exact posterior under a uniform prior.
    """
    counts, sums = np.asarray(counts, dtype=float), np.asarray(sums, dtype=float)
    if env.kind == "linear":
        raise ValueError("optimal_arm_posterior: K-armed Gaussian or Bernoulli bandits only")
    if prior not in ("exact", "gaussian"):
        raise ValueError(f"invalid prior={prior!r}: expected 'exact' or 'gaussian'")
    if env.kind == "bernoulli":
        x = _midpoints(0.0, 1.0, grid)
        alpha, beta = env.beta_a + sums, env.beta_b + counts - sums
        return _probabilities((alpha[..., None] - 1) * np.log(x) + (beta[..., None] - 1) * np.log1p(-x))
    if prior == "gaussian" or env.mean_prior == "normal":
        m0, v0 = env.gaussian_prior
        precision = 1 / v0 + counts / env.noise_std ** 2
        mean = (m0 / v0 + sums / env.noise_std ** 2) / precision
        x = _midpoints(m0 - 8 * np.sqrt(v0), m0 + 8 * np.sqrt(v0), 2 * grid)  # the real line, where the prior lives
        return _probabilities(_normal_log_density(x, mean, 1 / np.sqrt(precision)))
    x = _midpoints(env.mean_low, env.mean_high, grid)  # truncation: the grid is the prior's support
    std = np.where(counts > 0, env.noise_std / np.sqrt(np.maximum(counts, 1)), np.inf)
    return _probabilities(_normal_log_density(x, sums / np.maximum(counts, 1), std))


def prefix_statistics(actions: np.ndarray, rewards: np.ndarray, n_arms: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts and reward sums [B, T + 1, K] after each prefix 0..T of logged (actions, rewards) [B, T]."""
    one_hot = np.eye(n_arms)[actions]  # [B, T, K]
    zeros = np.zeros((actions.shape[0], 1, n_arms))
    counts = np.concatenate((zeros, one_hot.cumsum(1)), 1)
    sums = np.concatenate((zeros, (one_hot * rewards[..., None]).cumsum(1)), 1)
    return counts, sums


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """½ Σ_a |p_a − q_a| over the last axis."""
    return 0.5 * np.abs(p - q).sum(-1)
