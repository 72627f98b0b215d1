"""Stochastic bandit environments, vectorised over many tasks at once (numpy, float64).

A :class:`BanditTasks` holds B tasks of one family:

* ``gaussian``  K arms, means ~ U[mean_low, mean_high] (DPT: U[0, 1]) or, with
  ``mean_prior="normal"``, N(prior_mean, prior_std²); rewards mean + N(0, noise_std²)
  (DPT: noise_std = 0.3);
* ``bernoulli`` K arms, means ~ Beta(beta_a, beta_b), rewards in {0, 1};
* ``linear``    K arms with features x_k ∈ R^D (fixed for all tasks, or redrawn per task),
  θ ~ N(0, theta_std² I), mean of arm k = x_kᵀθ, rewards mean + N(0, noise_std²).

Learners never draw rewards themselves: :func:`reward_table` pre-draws the reward of every
arm at every step, ``rewards [B, T, K]``, so that every learner evaluated on the same
table sees exactly the same noise (common random numbers) and differences between
learners are not drowned in reward noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icl_lab.core.errors import ConfigError

KINDS = ("gaussian", "bernoulli", "linear")


@dataclass(frozen=True)
class BanditEnvConfig:
    """A bandit task family. ``theta_std <= 0`` means 1/√D (so θ ~ N(0, I/D), as in DPT)."""

    kind: str = "gaussian"
    n_arms: int = 5
    horizon: int = 50
    noise_std: float = 0.3  # gaussian / linear only
    mean_prior: str = "uniform"  # gaussian: "uniform" (U[mean_low, mean_high]) or "normal"
    mean_low: float = 0.0
    mean_high: float = 1.0
    prior_mean: float = 0.5  # gaussian, mean_prior = "normal": means ~ N(prior_mean, prior_std²)
    prior_std: float = 0.5
    beta_a: float = 1.0  # bernoulli: means ~ Beta(beta_a, beta_b)
    beta_b: float = 1.0
    dim: int = 2  # linear only
    theta_std: float = 0.0
    fixed_arms: bool = True  # linear: one action set for every task (drawn from arm_seed)
    arm_seed: int = 0

    def __post_init__(self) -> None:
        if self.mean_prior not in ("uniform", "normal"):
            raise ConfigError(f"invalid env.mean_prior={self.mean_prior!r}: expected 'uniform' or 'normal'")
        if self.kind not in KINDS:
            raise ConfigError(f"invalid env.kind={self.kind!r}: expected one of {', '.join(KINDS)}")
        checks = {"n_arms": self.n_arms >= 2, "horizon": self.horizon >= 1, "dim": self.dim >= 1,
                  # Thompson sampling and LinTS divide by the noise variance
                  "noise_std": self.noise_std > 0 or self.kind == "bernoulli",
                  "mean_high": self.mean_high > self.mean_low,
                  "beta_a": self.beta_a > 0, "beta_b": self.beta_b > 0, "prior_std": self.prior_std > 0}
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"invalid env.{name}={getattr(self, name)!r} (n_arms >= 2, horizon >= 1, "
                                 "dim >= 1, noise_std > 0, mean_high > mean_low, beta_a, beta_b > 0)")

    @property
    def feature_dim(self) -> int:
        """Dimension of the arm features a learner sees (0 for K-armed bandits)."""
        return self.dim if self.kind == "linear" else 0

    @property
    def gaussian_prior(self) -> tuple[float, float]:
        """(mean, variance) of the Gaussian prior a K-armed Thompson sampler uses: exact for
        ``mean_prior="normal"``; moment-matched to U[low, high] otherwise (DPT's choice)."""
        if self.mean_prior == "normal":
            return self.prior_mean, self.prior_std ** 2
        return (self.mean_low + self.mean_high) / 2, (self.mean_high - self.mean_low) ** 2 / 12

    @property
    def prior_theta_std(self) -> float:
        return self.theta_std if self.theta_std > 0 else 1.0 / np.sqrt(self.dim)


@dataclass
class BanditTasks:
    """B bandit tasks of one family.

    means: [B, K] expected reward of every arm; features: [B, K, D] arm features (linear
    bandits; None otherwise); theta: [B, D] (linear bandits; None otherwise).
    """

    cfg: BanditEnvConfig
    means: np.ndarray
    features: np.ndarray | None = None
    theta: np.ndarray | None = None

    @property
    def n_tasks(self) -> int:
        return self.means.shape[0]

    @property
    def n_arms(self) -> int:
        return self.means.shape[1]

    @property
    def best_arm(self) -> np.ndarray:
        """[B] index of the arm with the largest mean."""
        return self.means.argmax(1)

    @property
    def best_mean(self) -> np.ndarray:
        """[B] μ* = max_k μ_k."""
        return self.means.max(1)

    def subset(self, index: np.ndarray | slice) -> "BanditTasks":
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return BanditTasks(self.cfg, self.means[index], pick(self.features), pick(self.theta))


def arm_features(cfg: BanditEnvConfig, n_tasks: int, rng: np.random.Generator) -> np.ndarray:
    """[B, K, D] arm features ~ N(0, I/D) (so |x| ≈ 1), shared or per task."""
    if cfg.fixed_arms:
        fixed = np.random.default_rng(cfg.arm_seed).normal(size=(cfg.n_arms, cfg.dim)) / np.sqrt(cfg.dim)
        return np.broadcast_to(fixed, (n_tasks, cfg.n_arms, cfg.dim)).copy()
    return rng.normal(size=(n_tasks, cfg.n_arms, cfg.dim)) / np.sqrt(cfg.dim)


def sample_tasks(cfg: BanditEnvConfig, n_tasks: int, rng: np.random.Generator | int) -> BanditTasks:
    """Draw ``n_tasks`` tasks from the family's prior; the same seed gives the same tasks."""
    rng = np.random.default_rng(rng)
    if cfg.kind == "gaussian" and cfg.mean_prior == "normal":
        return BanditTasks(cfg, rng.normal(cfg.prior_mean, cfg.prior_std, size=(n_tasks, cfg.n_arms)))
    if cfg.kind == "gaussian":
        return BanditTasks(cfg, rng.uniform(cfg.mean_low, cfg.mean_high, size=(n_tasks, cfg.n_arms)))
    if cfg.kind == "bernoulli":
        return BanditTasks(cfg, rng.beta(cfg.beta_a, cfg.beta_b, size=(n_tasks, cfg.n_arms)))
    features = arm_features(cfg, n_tasks, rng)
    theta = rng.normal(size=(n_tasks, cfg.dim)) * cfg.prior_theta_std
    return BanditTasks(cfg, np.einsum("bkd,bd->bk", features, theta), features, theta)


def reward_table(tasks: BanditTasks, horizon: int, rng: np.random.Generator | int) -> np.ndarray:
    """[B, T, K] the reward arm k would pay at step t; shared by every learner.

    Bernoulli rewards are 1{u < μ} with one uniform u per (task, step, arm), so a learner
    pulling arm k at step t gets the same coin as any other learner doing so.
    """
    rng = np.random.default_rng(rng)
    shape = (tasks.n_tasks, horizon, tasks.n_arms)
    if tasks.cfg.kind == "bernoulli":
        return (rng.random(shape) < tasks.means[:, None, :]).astype(np.float64)
    return tasks.means[:, None, :] + tasks.cfg.noise_std * rng.normal(size=shape)


def pseudo_regret(tasks: BanditTasks, actions: np.ndarray) -> np.ndarray:
    """[B, T] cumulative pseudo-regret Σ_{s<=t} (μ* − μ_{a_s}) of actions [B, T]."""
    gaps = tasks.best_mean[:, None] - np.take_along_axis(tasks.means, actions, axis=1)
    return np.cumsum(gaps, axis=1)


def mean_and_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over the first axis (tasks)."""
    n = values.shape[0]
    return values.mean(0), values.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(values[0])
