"""P(a* = a | D) by quadrature against independent computations: a closed form for two
Beta arms, large Monte Carlo for truncated-normal and normal posteriors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from icl_lab.baselines.bandit_posterior import optimal_arm_posterior, prefix_statistics, total_variation
from icl_lab.tasks.bandits import BanditEnvConfig


def beta_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """P(p_B > p_A) for p_A ~ Beta(a_a, b_a), p_B ~ Beta(a_b, b_b), integer a_b: the finite sum
    of E. Miller's closed form (a derivation independent of any quadrature)."""
    total = 0.0
    for i in range(a_b):
        total += np.exp(special.betaln(a_a + i, b_a + b_b) - np.log(b_b + i) - special.betaln(1 + i, b_b)
                        - special.betaln(a_a, b_a))
    return total


@pytest.mark.parametrize("counts,successes", [((3, 5), (2, 3)), ((0, 4), (0, 4)), ((20, 17), (9, 10))])
def test_two_beta_arms_match_the_closed_form(counts, successes):
    env = BanditEnvConfig(kind="bernoulli", n_arms=2)
    probs = optimal_arm_posterior(env, np.array([counts]), np.array([successes]))[0]
    exact = beta_b_beats_a(1 + successes[0], 1 + counts[0] - successes[0], 1 + successes[1], 1 + counts[1] - successes[1])
    assert probs[1] == pytest.approx(exact, abs=1e-6)
    assert probs.sum() == pytest.approx(1.0)


def monte_carlo_argmax(samplers, n: int) -> tuple[np.ndarray, float]:
    draws = np.stack([draw(n) for draw in samplers], 1)
    freq = np.bincount(draws.argmax(1), minlength=len(samplers)) / n
    return freq, 4 * np.sqrt(0.25 / n)  # 4 standard errors at worst


def test_truncated_normal_posterior_matches_monte_carlo():
    env = BanditEnvConfig(kind="gaussian", n_arms=4, noise_std=0.3)
    counts = np.array([0, 2, 5, 1])
    sums = np.array([0.0, 1.2, 2.0, 0.95])
    probs = optimal_arm_posterior(env, counts[None], sums[None])[0]
    rng = np.random.default_rng(0)

    def arm(k):
        if counts[k] == 0:
            return lambda n: rng.uniform(0, 1, n)
        m, s = sums[k] / counts[k], 0.3 / np.sqrt(counts[k])
        return lambda n: stats.truncnorm.rvs(-m / s, (1 - m) / s, loc=m, scale=s, size=n, random_state=rng)

    freq, tol = monte_carlo_argmax([arm(k) for k in range(4)], 1_000_000)
    assert np.abs(probs - freq).max() < tol


def test_gaussian_thompson_action_distribution_matches_monte_carlo():
    env = BanditEnvConfig(kind="gaussian", n_arms=3, noise_std=0.3)
    counts, sums = np.array([4, 1, 0]), np.array([2.4, 0.7, 0.0])
    probs = optimal_arm_posterior(env, counts[None], sums[None], prior="gaussian")[0]
    m0, v0 = env.gaussian_prior
    precision = 1 / v0 + counts / 0.09
    mean, std = (m0 / v0 + sums / 0.09) / precision, 1 / np.sqrt(precision)
    rng = np.random.default_rng(1)
    freq, tol = monte_carlo_argmax([lambda n, k=k: rng.normal(mean[k], std[k], n) for k in range(3)], 1_000_000)
    assert np.abs(probs - freq).max() < tol
    # the moment-matched normal prior is not the uniform prior: the two answers differ
    exact = optimal_arm_posterior(env, counts[None], sums[None])[0]
    assert total_variation(probs, exact) > 0.005


def test_no_data_is_uniform_and_far_outside_data_stays_finite():
    env = BanditEnvConfig(kind="gaussian", n_arms=5)
    assert np.allclose(optimal_arm_posterior(env, np.zeros((1, 5)), np.zeros((1, 5))), 0.2, atol=1e-9)
    # sample means far outside [0, 1] (possible with noise): still a distribution, most mass on arm 1
    probs = optimal_arm_posterior(env, np.array([[200, 200, 0, 0, 0]]), np.array([[-40.0, 250.0, 0, 0, 0]]))
    assert np.isfinite(probs).all() and probs.sum() == pytest.approx(1.0) and probs[0, 1] > 0.99


def test_prefix_statistics_counts_each_prefix():
    actions = np.array([[0, 2, 2, 1]])
    rewards = np.array([[1.0, 0.5, 0.25, 2.0]])
    counts, sums = prefix_statistics(actions, rewards, 3)
    assert counts.shape == (1, 5, 3)
    assert counts[0, 0].tolist() == [0, 0, 0] and counts[0, 3].tolist() == [1, 0, 2]
    assert sums[0, 4].tolist() == [1.0, 2.0, 0.75]
