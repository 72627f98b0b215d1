"""Classical bandit algorithms, vectorised over tasks (numpy, float64).

Online policies share one protocol: ``reset(tasks, rng)``, then for t = 0..T-1
``act(t) -> actions [B]`` and ``update(actions [B], rewards [B])``. Loops run over time
steps only; every operation inside a step acts on all B tasks at once. Ties are broken
uniformly at random (with the policy's own generator), so e.g. greedy does not always
favour arm 0.

Conventions (those of the DPT code base, Lee et al. 2023):

* untried arms: greedy, ε-greedy and both UCBs pull an untried arm first (online);
* ``ucb1``       μ̂_k + c √(ln t / n_k)         (c = √2 is Auer et al.'s UCB1);
* ``ucb_dpt``    μ̂_k + c / √max(1, n_k)        (the UCB of the DPT code base, no ln t);
* ``thompson``   Gaussian TS with a Gaussian prior N(m0, v0) and known noise σ². For
  DPT's U[0, 1] means the prior is *not* Gaussian: TS uses the moment-matched
  N(1/2, 1/12) (DPT's choice), so it is not exactly Bayes-optimal-sampling there;
* ``thompson_exact``  Gaussian TS with the exact posterior of U[low, high] means: each arm's
  mean is drawn from N(ȳ, σ²/n) truncated to [low, high] (posterior sampling, the policy DPT's
  theory says a fully trained DPT runs);
* ``beta_ts``    Beta(a, b) TS for Bernoulli rewards (the exact prior);
* ``linucb``     θ̂ = A⁻¹b, A = λI + Σ x xᵀ, index x_kᵀθ̂ + α √(x_kᵀ A⁻¹ x_k);
* ``lin_ts``     exact Gaussian posterior for θ ~ N(0, s² I) and noise σ², one sample.

Offline choosers (:func:`offline_choice`) pick one arm from a logged dataset: empirical
mean, LCB μ̂ − c/√max(1, n) and the posterior-mean greedy arm.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import stats

from icl_lab.core.errors import ConfigError
from icl_lab.tasks.bandits import BanditTasks


def argmax_random_ties(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[B] argmax over the last axis of [B, K], ties broken uniformly at random."""
    best = values >= values.max(-1, keepdims=True)
    return (best * (1.0 + rng.random(values.shape))).argmax(-1)


def arm_statistics(actions: np.ndarray, rewards: np.ndarray, n_arms: int) -> tuple[np.ndarray, np.ndarray]:
    """Pull counts and reward sums [B, K] of a logged dataset (actions, rewards [B, n])."""
    onehot = actions[..., None] == np.arange(n_arms)  # [B, n, K]
    return onehot.sum(1).astype(np.float64), (onehot * rewards[..., None]).sum(1)


class BanditPolicy:
    """Base class; subclasses implement ``_start`` (per-task state) and ``act``."""

    name = "policy"

    def reset(self, tasks: BanditTasks, rng: np.random.Generator | int) -> None:
        """Start fresh on ``tasks`` (B tasks, K arms)."""
        self.tasks = tasks
        self.rng = np.random.default_rng(rng)
        b, k = tasks.n_tasks, tasks.n_arms
        self.counts = np.zeros((b, k))  # [B, K] pulls per arm
        self.sums = np.zeros((b, k))  # [B, K] reward sums per arm
        self.rows = np.arange(b)
        self._start()

    def _start(self) -> None:
        pass

    def act(self, t: int) -> np.ndarray:
        raise NotImplementedError

    def update(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        """Record the pulls ``actions [B]`` and their ``rewards [B]``."""
        self.counts[self.rows, actions] += 1
        self.sums[self.rows, actions] += rewards

    def _untried_first(self, values: np.ndarray) -> np.ndarray:
        """argmax of values [B, K], except that tasks with an untried arm pull one of them."""
        values = np.where(self.counts == 0, np.inf, values)
        return argmax_random_ties(values, self.rng)

    @property
    def empirical_means(self) -> np.ndarray:
        return self.sums / np.maximum(self.counts, 1)


class Uniform(BanditPolicy):
    name = "uniform"

    def act(self, t: int) -> np.ndarray:
        return self.rng.integers(self.tasks.n_arms, size=self.tasks.n_tasks)


class Greedy(BanditPolicy):
    """Each arm once, then the largest empirical mean."""

    name = "greedy"

    def act(self, t: int) -> np.ndarray:
        return self._untried_first(self.empirical_means)


class EpsilonGreedy(BanditPolicy):
    """Greedy, but a uniformly random arm with probability ε."""

    def __init__(self, epsilon: float = 0.1):
        if not 0 <= epsilon <= 1:
            raise ConfigError(f"invalid epsilon={epsilon!r}: expected a number in [0, 1]")
        self.epsilon = epsilon
        self.name = f"eps_greedy({epsilon:g})"

    def act(self, t: int) -> np.ndarray:
        greedy = self._untried_first(self.empirical_means)
        explore = self.rng.random(self.tasks.n_tasks) < self.epsilon
        return np.where(explore, self.rng.integers(self.tasks.n_arms, size=self.tasks.n_tasks), greedy)


class UCB1(BanditPolicy):
    """μ̂_k + c √(ln t / n_k), t = number of pulls so far (each arm once first)."""

    def __init__(self, c: float = math.sqrt(2)):
        self.c = c
        self.name = f"ucb1({c:g})"

    def act(self, t: int) -> np.ndarray:
        bonus = self.c * np.sqrt(math.log(max(t, 1)) / np.maximum(self.counts, 1))
        return self._untried_first(self.empirical_means + bonus)


class DPTUCB(BanditPolicy):
    """The UCB of the DPT code base: μ̂_k + c / √max(1, n_k) (each arm once first)."""

    def __init__(self, c: float = 1.0):
        self.c = c
        self.name = f"ucb({c:g})"

    def act(self, t: int) -> np.ndarray:
        return self._untried_first(self.empirical_means + self.c / np.sqrt(np.maximum(self.counts, 1)))


class GaussianThompson(BanditPolicy):
    """Thompson sampling with per-arm prior N(prior_mean, prior_var) and noise σ² known."""

    def __init__(self, prior_mean: float = 0.5, prior_var: float = 1 / 12, noise_std: float = 0.3):
        self.prior_mean, self.prior_var, self.noise_var = prior_mean, prior_var, noise_std ** 2
        self.name = "thompson"

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance [B, K] of every arm's mean (conjugate normal)."""
        precision = 1 / self.prior_var + self.counts / self.noise_var
        mean = (self.prior_mean / self.prior_var + self.sums / self.noise_var) / precision
        return mean, 1 / precision

    def act(self, t: int) -> np.ndarray:
        mean, var = self.posterior()
        return (mean + np.sqrt(var) * self.rng.normal(size=mean.shape)).argmax(-1)


class ExactThompson(BanditPolicy):
    """Posterior sampling for Gaussian arms with U[low, high] means (``tasks.cfg``) and known noise:
    one draw per arm from its truncated-normal posterior (the prior itself if unpulled)."""

    name = "thompson_exact"

    def act(self, t: int) -> np.ndarray:
        cfg = self.tasks.cfg
        low, high = cfg.mean_low, cfg.mean_high
        pulled = self.counts > 0
        mean = np.where(pulled, self.empirical_means, 0.5 * (low + high))
        std = np.where(pulled, cfg.noise_std / np.sqrt(np.maximum(self.counts, 1)), 1e9)  # ~flat when unpulled
        draw = stats.truncnorm.rvs((low - mean) / std, (high - mean) / std, loc=mean, scale=std,
                                   random_state=self.rng)
        return draw.argmax(-1)


class BetaThompson(BanditPolicy):
    """Thompson sampling for Bernoulli arms with a Beta(a, b) prior."""

    def __init__(self, a: float = 1.0, b: float = 1.0):
        self.a, self.b = a, b
        self.name = "beta_ts"

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Beta posterior parameters (α, β) [B, K]: prior + successes, prior + failures."""
        return self.a + self.sums, self.b + self.counts - self.sums

    def act(self, t: int) -> np.ndarray:
        alpha, beta = self.posterior()
        return self.rng.beta(alpha, beta).argmax(-1)


class _LinearPolicy(BanditPolicy):
    """Keeps the inverse Gram matrix by Sherman–Morrison rank-one updates (O(D²) per step)."""

    ridge = 1.0

    def _start(self) -> None:
        if self.tasks.features is None:
            raise ConfigError(f"{self.name} needs arm features: use it on linear bandits")
        b, _, d = self.tasks.features.shape
        self.a_inv = np.broadcast_to(np.eye(d) / self.ridge, (b, d, d)).copy()  # [B, D, D]
        self.xy = np.zeros((b, d))  # [B, D] Σ r x

    def update(self, actions: np.ndarray, rewards: np.ndarray) -> None:
        super().update(actions, rewards)
        x = self.tasks.features[self.rows, actions]  # [B, D]
        ax = np.einsum("bij,bj->bi", self.a_inv, x)  # A⁻¹x [B, D]
        denom = 1.0 + np.einsum("bi,bi->b", x, ax)
        self.a_inv -= ax[:, :, None] * ax[:, None, :] / denom[:, None, None]
        self.xy += rewards[:, None] * x


class LinUCB(_LinearPolicy):
    """LinUCB (Li et al. 2010; Abbasi-Yadkori et al. 2011 with a constant α)."""

    def __init__(self, lam: float = 1.0, alpha: float = 1.0):
        if lam <= 0:
            raise ConfigError(f"invalid LinUCB lambda={lam!r}: expected > 0")
        self.ridge, self.alpha = lam, alpha
        self.name = f"linucb({alpha:g})"

    def index(self) -> np.ndarray:
        """[B, K] the upper confidence bound of every arm."""
        feats = self.tasks.features  # [B, K, D]
        theta = np.einsum("bij,bj->bi", self.a_inv, self.xy)  # ridge estimate [B, D]
        width = np.einsum("bki,bij,bkj->bk", feats, self.a_inv, feats)
        return np.einsum("bkd,bd->bk", feats, theta) + self.alpha * np.sqrt(np.maximum(width, 0))

    def act(self, t: int) -> np.ndarray:
        return argmax_random_ties(self.index(), self.rng)


class LinearThompson(_LinearPolicy):
    """Linear TS with the exact posterior of θ ~ N(0, prior_std² I), noise N(0, σ²)."""

    def __init__(self, prior_std: float = 1.0, noise_std: float = 1.0):
        self.ridge = noise_std ** 2 / prior_std ** 2  # posterior cov = σ² (λI + XᵀX)⁻¹
        self.noise_std = noise_std
        self.name = "lin_ts"

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean [B, D] and covariance [B, D, D] of θ."""
        cov = self.noise_std ** 2 * self.a_inv
        return np.einsum("bij,bj->bi", self.a_inv, self.xy), 0.5 * (cov + cov.transpose(0, 2, 1))

    def act(self, t: int) -> np.ndarray:
        mean, cov = self.posterior()
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(cov.shape[-1]))
        theta = mean + np.einsum("bij,bj->bi", chol, self.rng.normal(size=mean.shape))
        return np.einsum("bkd,bd->bk", self.tasks.features, theta).argmax(-1)


# ----------------------------------------------------------------------------- offline


def offline_choice(method: str, counts: np.ndarray, sums: np.ndarray, *, c: float = 1.0,
                   prior_mean: float = 0.5, prior_var: float = 1 / 12, noise_std: float = 0.3) -> np.ndarray:
    """[B] the arm an offline learner recommends from pull counts and reward sums [B, K].

    ``empirical_mean``: largest μ̂ (an unpulled arm counts as 0, as in DPT);
    ``lcb``: largest μ̂ − c/√max(1, n) (pessimism: prefers well-sampled arms);
    ``posterior_mean``: largest Gaussian posterior mean (unpulled arms: the prior mean).
    Ties go to the lowest index (deterministic).
    """
    means = sums / np.maximum(counts, 1)
    if method == "empirical_mean":
        return means.argmax(-1)
    if method == "lcb":
        return (means - c / np.sqrt(np.maximum(counts, 1))).argmax(-1)
    if method == "posterior_mean":
        noise_var = noise_std ** 2
        return ((prior_mean / prior_var + sums / noise_var) / (1 / prior_var + counts / noise_var)).argmax(-1)
    raise ConfigError(f"unknown offline method {method!r}: expected empirical_mean, lcb or posterior_mean")


OFFLINE_METHODS = ("empirical_mean", "lcb", "posterior_mean")


# ----------------------------------------------------------------------------- registry


def make_policy(name: str, *, noise_std: float = 0.3, prior_mean: float = 0.5, prior_var: float = 1 / 12,
                theta_std: float = 1.0) -> BanditPolicy:
    """A policy from a short name: ``uniform``, ``greedy``, ``eps_greedy:0.1``, ``ucb1:1.41``,
    ``ucb:1.0`` (DPT's UCB), ``thompson``, ``thompson_exact``, ``beta_ts``, ``linucb:1,2`` (λ, α), ``lin_ts``."""
    kind, _, arg = name.partition(":")
    args = [float(a) for a in arg.split(",") if a]
    makers: dict[str, Callable[[], BanditPolicy]] = {
        "uniform": Uniform, "greedy": Greedy,
        "eps_greedy": lambda: EpsilonGreedy(*(args or [0.1])),
        "ucb1": lambda: UCB1(*(args or [math.sqrt(2)])),
        "ucb": lambda: DPTUCB(*(args or [1.0])),
        "thompson": lambda: GaussianThompson(prior_mean, prior_var, noise_std),
        "thompson_exact": ExactThompson,
        "beta_ts": lambda: BetaThompson(*(args or [1.0, 1.0])),
        "linucb": lambda: LinUCB(*(args or [1.0, 1.0])),
        "lin_ts": lambda: LinearThompson(theta_std, noise_std),
    }
    if kind not in makers:
        raise ConfigError(f"unknown bandit policy {name!r}: expected one of {', '.join(makers)}")
    try:
        policy = makers[kind]()
    except TypeError:
        raise ConfigError(f"invalid arguments in bandit policy {name!r}") from None
    if kind in ("linucb",) and len(args) == 2:
        policy.name = f"linucb({args[0]:g},{args[1]:g})"
    return policy
