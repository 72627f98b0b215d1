"""Bandit environments and classical learners against hand computations and direct formulas."""

from __future__ import annotations

import numpy as np
import pytest

from icl_lab.baselines.bandits import (
    DPTUCB,
    UCB1,
    BanditPolicy,
    BetaThompson,
    GaussianThompson,
    LinearThompson,
    LinUCB,
    make_policy,
    offline_choice,
)
from icl_lab.evaluation.bandits import online_regret
from icl_lab.tasks.bandits import BanditEnvConfig, BanditTasks, pseudo_regret, reward_table, sample_tasks
from icl_lab.training.bandit_data import rollout


class Scripted(BanditPolicy):
    """Plays a fixed action sequence [B, T] (to test the accounting, not a learner)."""

    def __init__(self, actions: np.ndarray):
        self.script = actions

    def act(self, t: int) -> np.ndarray:
        return self.script[:, t]


def test_regret_of_a_hand_computed_trajectory():
    tasks = BanditTasks(BanditEnvConfig(n_arms=3), np.array([[0.2, 0.5, 0.9], [0.6, 0.1, 0.3]]))
    actions = np.array([[0, 2, 1, 2], [1, 0, 2, 0]])
    # task 0 gaps: 0.7, 0, 0.4, 0 ; task 1 gaps: 0.5, 0, 0.3, 0
    expected = np.array([[0.7, 0.7, 1.1, 1.1], [0.5, 0.5, 0.8, 0.8]])
    np.testing.assert_allclose(pseudo_regret(tasks, actions), expected)
    rewards = np.zeros((2, 4, 3))
    out = online_regret({"scripted": Scripted(actions)}, tasks, rewards, seed=0)["scripted"]
    np.testing.assert_allclose(out["mean"], expected.mean(0))
    # s.e. of two values a, b: |a - b| / 2
    np.testing.assert_allclose(out["se"], np.abs(expected[0] - expected[1]) / 2)
    assert out["final_mean"] == pytest.approx(0.95)


def test_rollout_reads_rewards_from_the_shared_table():
    tasks = sample_tasks(BanditEnvConfig(n_arms=4, horizon=6), 3, 0)
    table = reward_table(tasks, 6, 1)
    actions = np.array([[0, 1, 2, 3, 0, 1]] * 3)
    policy = Scripted(actions)
    rollout(policy, tasks, table, 0)
    sums = np.zeros((3, 4))
    for t in range(6):
        sums[np.arange(3), actions[:, t]] += table[np.arange(3), t, actions[:, t]]
    np.testing.assert_allclose(policy.sums, sums)


def test_seeds_are_reproducible_and_bernoulli_rewards_have_the_right_means():
    for kind in ("gaussian", "bernoulli", "linear"):
        cfg = BanditEnvConfig(kind=kind, n_arms=3, dim=2, fixed_arms=False)
        a, b, c = sample_tasks(cfg, 5, 7), sample_tasks(cfg, 5, 7), sample_tasks(cfg, 5, 8)
        np.testing.assert_array_equal(a.means, b.means)
        assert not np.allclose(a.means, c.means)
        np.testing.assert_array_equal(reward_table(a, 4, 3), reward_table(b, 4, 3))
    tasks = sample_tasks(BanditEnvConfig(kind="bernoulli", n_arms=2), 4, 0)
    table = reward_table(tasks, 20000, 1)
    assert set(np.unique(table)) <= {0.0, 1.0}
    np.testing.assert_allclose(table.mean(1), tasks.means, atol=0.015)  # s.e. <= 0.0036
    lin = sample_tasks(BanditEnvConfig(kind="linear", n_arms=3, dim=2), 4, 0)
    np.testing.assert_allclose(lin.means, np.einsum("bkd,bd->bk", lin.features, lin.theta))
    np.testing.assert_array_equal(lin.features[0], lin.features[3])  # fixed arms


def _grid_posterior(log_prior, loglik, grid):
    w = np.exp(log_prior + loglik - (log_prior + loglik).max())
    w /= w.sum()
    mean = (w * grid).sum()
    return mean, (w * (grid - mean) ** 2).sum()


def test_gaussian_thompson_posterior_matches_numerical_bayes():
    tasks = BanditTasks(BanditEnvConfig(n_arms=2), np.array([[0.3, 0.7]]))
    ts = GaussianThompson(prior_mean=0.5, prior_var=1 / 12, noise_std=0.3)
    ts.reset(tasks, 0)
    obs = {0: [0.1, 0.45, 0.2], 1: [0.9]}
    for arm, rs in obs.items():
        for r in rs:
            ts.update(np.array([arm]), np.array([r]))
    mean, var = ts.posterior()
    grid = np.linspace(-3, 4, 200001)
    for arm, rs in obs.items():
        loglik = sum(-(r - grid) ** 2 / (2 * 0.09) for r in rs)
        m, v = _grid_posterior(-(grid - 0.5) ** 2 / (2 / 12), loglik, grid)
        assert mean[0, arm] == pytest.approx(m, abs=1e-6)
        assert var[0, arm] == pytest.approx(v, rel=1e-4)


def test_beta_thompson_posterior_matches_numerical_bayes():
    tasks = BanditTasks(BanditEnvConfig(kind="bernoulli", n_arms=2), np.array([[0.3, 0.7]]))
    ts = BetaThompson(2.0, 3.0)
    ts.reset(tasks, 0)
    for arm, r in [(0, 1), (0, 0), (0, 0), (1, 1), (1, 1), (0, 1), (1, 0)]:
        ts.update(np.array([arm]), np.array([float(r)]))
    alpha, beta = ts.posterior()
    grid = np.linspace(1e-6, 1 - 1e-6, 200001)
    for arm, (s, f) in {0: (2, 2), 1: (2, 1)}.items():
        m, v = _grid_posterior(np.log(grid) * (2 - 1) + np.log(1 - grid) * (3 - 1),
                               s * np.log(grid) + f * np.log(1 - grid), grid)
        a, b = alpha[0, arm], beta[0, arm]
        assert a / (a + b) == pytest.approx(m, abs=1e-6)
        assert a * b / ((a + b) ** 2 * (a + b + 1)) == pytest.approx(v, rel=1e-4)


def test_thompson_samples_follow_the_posterior():
    """P(TS picks arm 1) = P(μ_1 > μ_0) under the posterior = Φ(Δm / √(v0 + v1))."""
    from scipy.stats import norm

    n = 20000
    tasks = BanditTasks(BanditEnvConfig(n_arms=2), np.tile([[0.3, 0.7]], (n, 1)))
    ts = GaussianThompson(0.5, 1 / 12, 0.3)
    ts.reset(tasks, 0)
    ts.update(np.zeros(n, dtype=int), np.full(n, 0.4))
    ts.update(np.ones(n, dtype=int), np.full(n, 0.6))
    mean, var = ts.posterior()
    p = norm.cdf((mean[0, 1] - mean[0, 0]) / np.sqrt(var[0].sum()))
    assert (ts.act(2) == 1).mean() == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))


def test_linucb_matches_a_direct_matrix_implementation():
    cfg = BanditEnvConfig(kind="linear", n_arms=6, dim=3, fixed_arms=False, noise_std=0.5)
    tasks = sample_tasks(cfg, 4, 0)
    table = reward_table(tasks, 25, 1)
    lam, alpha = 0.7, 1.3
    policy = LinUCB(lam, alpha)
    policy.reset(tasks, 2)
    xs = [[] for _ in range(4)]
    ys = [[] for _ in range(4)]
    for t in range(25):
        index = policy.index()
        for b in range(4):  # direct: A = λI + Σ x xᵀ, θ = A⁻¹ Σ r x, ucb = xᵀθ + α √(xᵀ A⁻¹ x)
            X = np.array(xs[b]).reshape(-1, 3)
            A_inv = np.linalg.inv(lam * np.eye(3) + X.T @ X)
            theta = A_inv @ (X.T @ np.array(ys[b]))
            feats = tasks.features[b]
            direct = feats @ theta + alpha * np.sqrt(np.einsum("ki,ij,kj->k", feats, A_inv, feats))
            np.testing.assert_allclose(index[b], direct, rtol=1e-9, atol=1e-9)
        a = policy.act(t)
        np.testing.assert_array_equal(a, index.argmax(1))
        r = table[np.arange(4), t, a]
        policy.update(a, r)
        for b in range(4):
            xs[b].append(tasks.features[b, a[b]])
            ys[b].append(r[b])


def test_linear_thompson_posterior_is_the_exact_gaussian_posterior():
    cfg = BanditEnvConfig(kind="linear", n_arms=5, dim=2, noise_std=0.8)
    tasks = sample_tasks(cfg, 2, 0)
    prior_std, sigma = 0.6, 0.8
    policy = LinearThompson(prior_std, sigma)
    policy.reset(tasks, 0)
    rng = np.random.default_rng(3)
    actions = rng.integers(5, size=(2, 12))
    rewards = rng.normal(size=(2, 12))
    for t in range(12):
        policy.update(actions[:, t], rewards[:, t])
    mean, cov = policy.posterior()
    for b in range(2):
        X = tasks.features[b, actions[b]]
        post_cov = np.linalg.inv(np.eye(2) / prior_std ** 2 + X.T @ X / sigma ** 2)
        np.testing.assert_allclose(cov[b], post_cov, atol=1e-12)
        np.testing.assert_allclose(mean[b], post_cov @ X.T @ rewards[b] / sigma ** 2, atol=1e-12)


def test_ucb_indices_and_offline_choices_by_hand():
    tasks = BanditTasks(BanditEnvConfig(n_arms=3), np.array([[0.0, 0.0, 0.0]]))
    pulls = [(0, 1.0), (0, 0.0), (0, 1.0), (0, 1.0), (1, 0.6), (2, 0.5), (2, 0.5)]
    # after 7 pulls: means .75, .6, .5 ; counts 4, 1, 2
    ucb1 = lambda c: [0.75 + c * np.sqrt(np.log(7) / 4), 0.6 + c * np.sqrt(np.log(7)),  # noqa: E731
                      0.5 + c * np.sqrt(np.log(7) / 2)]
    dpt_ucb = [0.75 + 1 / 2, 0.6 + 1, 0.5 + 1 / np.sqrt(2)]  # 1.25, 1.6, 1.21
    for policy, index in ((UCB1(2.0), ucb1(2.0)), (UCB1(0.1), ucb1(0.1)), (DPTUCB(1.0), dpt_ucb)):
        policy.reset(tasks, 0)
        for a, r in pulls:
            policy.update(np.array([a]), np.array([r]))
        assert policy.act(7)[0] == int(np.argmax(index))
    assert np.argmax(ucb1(0.1)) == 0 and np.argmax(dpt_ucb) == 1  # the cases differ
    counts, sums = np.array([[4.0, 1.0, 2.0]]), np.array([[3.0, 0.6, 1.0]])
    assert offline_choice("empirical_mean", counts, sums)[0] == 0
    # LCB: .75 - 1/2 = .25, .6 - 1 = -.4, .5 - .707 = -.21 -> arm 0
    assert offline_choice("lcb", counts, sums, c=1.0)[0] == 0
    counts2, sums2 = np.array([[1.0, 30.0]]), np.array([[1.0, 21.0]])  # 1.0 once vs 0.7 thirty times
    assert offline_choice("empirical_mean", counts2, sums2)[0] == 0
    assert offline_choice("lcb", counts2, sums2, c=1.0)[0] == 1
    # posterior means: (0.5·12 + 1/0.09) / (12 + 1/0.09) = 0.740 > (6 + 21/0.09) / (12 + 30/0.09) = 0.693
    assert offline_choice("posterior_mean", counts2, sums2)[0] == 0


def test_make_policy_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown bandit policy"):
        make_policy("ucb2")
    assert make_policy("linucb:1,2").name == "linucb(1,2)"


def test_thompson_prior_is_exact_for_normal_means_and_moment_matched_for_uniform():
    from icl_lab.pipelines.bandits import SettingConfig, make_learners

    normal = BanditEnvConfig(mean_prior="normal", prior_mean=0.2, prior_std=0.7, noise_std=0.4)
    means = sample_tasks(normal, 20000, 0).means
    assert means.mean() == pytest.approx(0.2, abs=0.01) and means.std() == pytest.approx(0.7, abs=0.01)
    ts = make_learners(SettingConfig(env=normal, method="none", learners=("thompson",)))["thompson"]
    assert (ts.prior_mean, ts.prior_var, ts.noise_var) == pytest.approx((0.2, 0.49, 0.16))
    uniform = BanditEnvConfig(mean_low=0.0, mean_high=2.0)
    ts = make_learners(SettingConfig(env=uniform, method="none", learners=("thompson",)))["thompson"]
    assert (ts.prior_mean, ts.prior_var) == pytest.approx((1.0, 4 / 12))  # U[0, 2]: mean 1, var 1/3


def test_exact_thompson_samples_the_exact_optimal_arm_posterior():
    """Posterior sampling under the uniform prior draws arm a with probability P(a* = a | D), computed
    independently by quadrature (icl_lab.baselines.bandit_posterior)."""
    from icl_lab.baselines.bandit_posterior import optimal_arm_posterior

    env = BanditEnvConfig(kind="gaussian", n_arms=3, noise_std=0.3)
    n = 60_000
    tasks = BanditTasks(env, np.full((n, 3), 0.5))
    policy = make_policy("thompson_exact")
    policy.reset(tasks, 0)
    policy.counts[:] = [0, 2, 5]
    policy.sums[:] = [0.0, 1.3, 2.9]
    freq = np.bincount(policy.act(0), minlength=3) / n
    exact = optimal_arm_posterior(env, policy.counts[:1], policy.sums[:1])[0]
    assert np.abs(freq - exact).max() < 4 * np.sqrt(0.25 / n)
