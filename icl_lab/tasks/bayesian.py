"""Priors with exact Bayes predictors (Panwar et al. 2024; Yadlowsky et al. 2023; Panwar et al. 2024, arXiv:2306.04891; Yadlowsky et al. 2023, arXiv:2311.00871).

* ``gaussian_mixture_regression``: w ~ p·N(+m e_1, τ² I) + (1−p)·N(−m e_1, τ² I), y = wᵀx + ε.
* ``fourier_series``: x ~ U(−L, L) (d = 1), y = c_0 + Σ_{k≤K} a_k cos(kπx/L) + b_k sin(kπx/L),
  every coefficient N(0, τ²). ``fourier_mixture``: the same with K ~ Uniform{1..K_max} per prompt.
* ``monomial_regression``: y = Σ_{(i,j)∈S} w_ij x_i x_j, S a fixed set of degree-2 monomials
  drawn once from ``monomial_seed``, w ~ N(0, τ² I).
* ``family_mixture``: the family is drawn uniformly per prompt from ``families``; every family is
  scaled to Var(y) = 1 (dense w ~ N(0, I/d); ``sparsity`` coordinates N(0, 1/s); a ReLU net
  divided by √d; √2·sin(ω uᵀx + φ)), so errors are comparable across families.

The exact posteriors live in :mod:`icl_lab.baselines.bayes_priors`. ``y_var`` is Var(y) under
the prior (x ~ N(0, I) for the x-based families), as in :mod:`icl_lab.tasks.regression`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from icl_lab.core.errors import check
from icl_lab.tasks.base import Batch, register
from icl_lab.tasks.config import TaskConfig
from icl_lab.tasks.regression import Params, _sample

FAMILY_NAMES = ("linear", "sparse_linear", "relu_net", "sinusoid")
FOURIER_TASKS = ("fourier_series", "fourier_mixture")


@dataclass(frozen=True)
class GaussianMixtureParams:
    """w ~ mixture_weight·N(+mixture_mean·e_1, τ²I) + (1 − mixture_weight)·N(−mixture_mean·e_1, τ²I)."""

    prior_std: float = 1.0  # τ
    mixture_mean: float = 3.0
    mixture_weight: float = 0.5  # probability of the +e_1 component

    def __post_init__(self) -> None:
        check(self.prior_std > 0, "task.prior_std", self.prior_std, "a number > 0")
        check(self.mixture_mean >= 0, "task.mixture_mean", self.mixture_mean, "a number >= 0")
        check(0 < self.mixture_weight < 1, "task.mixture_weight", self.mixture_weight, "a number in (0, 1)")


@dataclass(frozen=True)
class FourierParams:
    """Fourier series of one real input x ~ U(−L, L): cos/sin(kπx/L) up to K = fourier_freq
    (fourier_mixture: K ~ U{1..fourier_freq}), N(0, τ²) coefficients."""

    FIXED_D: ClassVar[int] = 1  # functions of one real input
    prior_std: float = 1.0
    fourier_freq: int = 10
    fourier_half_period: float = 5.0  # L

    def __post_init__(self) -> None:
        check(self.prior_std > 0, "task.prior_std", self.prior_std, "a number > 0")
        check(1 <= self.fourier_freq <= 64, "task.fourier_freq", self.fourier_freq, "an integer in [1, 64]")
        check(self.fourier_half_period > 0, "task.fourier_half_period", self.fourier_half_period, "a number > 0")

    def check_with_task(self, task: TaskConfig) -> None:
        check(task.d == 1, "task.d", task.d, f"1 for {task.name} (a function of one real input)")


@dataclass(frozen=True)
class MonomialParams:
    """y = Σ_{(i,j)∈S} w_ij x_i x_j over a seed-fixed set S of ``n_monomials`` degree-2 monomials."""

    prior_std: float = 1.0
    n_monomials: int = 20
    monomial_seed: int = 0  # fixes the monomial set itself

    def __post_init__(self) -> None:
        check(self.prior_std > 0, "task.prior_std", self.prior_std, "a number > 0")
        check(self.n_monomials >= 1, "task.n_monomials", self.n_monomials, "an integer >= 1")

    def check_with_task(self, task: TaskConfig) -> None:
        n_pairs = task.d * (task.d + 1) // 2
        check(self.n_monomials <= n_pairs, "task.n_monomials", self.n_monomials,
              f"an integer in [1, d(d+1)/2={n_pairs}] (the number of distinct degree-2 monomials)")


@dataclass(frozen=True)
class FamilyMixtureParams:
    """The family (dense linear, sparse linear, ReLU net, sinusoid) drawn uniformly per prompt."""

    families: tuple[str, ...] = FAMILY_NAMES
    sparsity: int = 3  # sparse_linear
    hidden: int = 100  # relu_net

    def __post_init__(self) -> None:
        bad = [f for f in self.families if f not in FAMILY_NAMES]
        check(bool(self.families) and not bad and len(set(self.families)) == len(self.families),
              "task.families", list(self.families), f"distinct names from {list(FAMILY_NAMES)}")
        check(self.sparsity >= 1, "task.sparsity", self.sparsity, "an integer >= 1")
        check(1 <= self.hidden <= 100_000, "task.hidden", self.hidden, "an integer in [1, 100000]")

    def check_with_task(self, task: TaskConfig) -> None:
        if "sparse_linear" in self.families:
            check(self.sparsity <= task.d, "task.sparsity", self.sparsity, f"an integer in [1, d={task.d}]")
# Sinusoid family: angular frequency ω ~ U(SINE_FREQ_RANGE) along a random unit direction.
SINE_FREQ_RANGE = (0.5, 2.0)


# ----------------------------------------------------------------------------- Gaussian mixture


def mixture_components(cfg: TaskConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Component means [2, D] (±mixture_mean·e_1) and log prior weights [2]."""
    means = torch.zeros(2, cfg.d)
    means[0, 0], means[1, 0] = cfg.mixture_mean, -cfg.mixture_mean
    weights = torch.tensor([cfg.mixture_weight, 1.0 - cfg.mixture_weight])
    return means, weights.log()


def linear_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    return (xs @ params["w"].unsqueeze(-1)).squeeze(-1)


@register("gaussian_mixture_regression",
          "y = wᵀx + ε, w ~ mixture_weight·N(+mixture_mean·e_1, τ²I) + (1−mixture_weight)·N(−mixture_mean·e_1, τ²I)",
          ("d", "n_points", "noise_std", "prior_std", "mixture_mean", "mixture_weight", "x_distribution"),
          linear_function, params=GaussianMixtureParams)
def gaussian_mixture_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                                active_dims: int | None = None) -> Batch:
    means, log_weights = mixture_components(cfg)

    def draw(b: int, active: int, g: torch.Generator) -> Params:
        component = (torch.rand(b, generator=g) >= log_weights[0].exp()).long()  # 0: +e_1, 1: −e_1
        w = means[component] + cfg.prior_std * torch.randn(b, cfg.d, generator=g)
        w[:, active:] = 0.0
        return {"w": w, "component": component}

    # E|w|² = dτ² + m² for either component; x ~ N(0, I).
    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, linear_function,
                   cfg.d * cfg.prior_std**2 + cfg.mixture_mean**2)


# ----------------------------------------------------------------------------- Fourier series


def fourier_features(xs: torch.Tensor, max_freq: int, half_period: float) -> torch.Tensor:
    """[..., N, 1] (or [..., N]) inputs -> [..., N, 2K+1] features [1, cos(kπx/L), sin(kπx/L) for k=1..K]."""
    x = xs[..., 0] if xs.ndim >= 2 and xs.shape[-1] == 1 else xs
    k = torch.arange(1, max_freq + 1, dtype=x.dtype, device=x.device)
    angle = x.unsqueeze(-1) * k * (math.pi / half_period)  # [..., N, K]
    return torch.cat((torch.ones_like(x).unsqueeze(-1), angle.cos(), angle.sin()), dim=-1)


def fourier_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    feats = fourier_features(xs, cfg.fourier_freq, cfg.fourier_half_period)  # [B, N, 2K+1]
    return (feats @ params["coefficients"].unsqueeze(-1)).squeeze(-1)


def _fourier(cfg: TaskConfig, b: int, n: int, g: torch.Generator, mixture: bool) -> Batch:
    big_k, half = cfg.fourier_freq, cfg.fourier_half_period
    xs = (2 * torch.rand(b, n, 1, generator=g) - 1) * half
    coefficients = cfg.prior_std * torch.randn(b, 2 * big_k + 1, generator=g)
    if mixture:  # K ~ U{1..K_max}: frequencies above K are switched off
        max_freq = torch.randint(1, big_k + 1, (b,), generator=g)
    else:
        max_freq = torch.full((b,), big_k)
    freq = torch.cat((torch.zeros(1), torch.arange(1, big_k + 1).repeat(2).float()))  # [2K+1]
    coefficients = coefficients * (freq[None] <= max_freq[:, None])
    params = {"coefficients": coefficients, "max_freq": max_freq}
    ys = fourier_function(params, xs, cfg)
    if cfg.noise_std > 0:
        ys = ys + cfg.noise_std * torch.randn(b, n, generator=g)
    # E_x[cos²] = E_x[sin²] = 1/2 over a whole period: Var(y) = τ²(1 + E[K]) + σ².
    mean_k = (big_k + 1) / 2 if mixture else big_k
    return Batch(xs, ys, params, cfg.prior_std**2 * (1 + mean_k) + cfg.noise_std**2)


@register("fourier_series", "x ~ U(−L, L), y = Fourier series up to frequency K = fourier_freq, N(0, τ²) coefficients "
          "(d is 1)", ("n_points", "noise_std", "prior_std", "fourier_freq", "fourier_half_period"),
          fourier_function, params=FourierParams)
def fourier_series(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                   active_dims: int | None = None) -> Batch:
    return _fourier(cfg, n_prompts, n_points, generator, mixture=False)


@register("fourier_mixture", "Fourier series whose max frequency K ~ U{1..fourier_freq} per prompt (d is 1)",
          ("n_points", "noise_std", "prior_std", "fourier_freq", "fourier_half_period"), fourier_function,
          params=FourierParams)
def fourier_mixture(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                    active_dims: int | None = None) -> Batch:
    return _fourier(cfg, n_prompts, n_points, generator, mixture=True)


# ----------------------------------------------------------------------------- monomials


@functools.lru_cache(maxsize=16)
def monomial_pairs(d: int, n_monomials: int, seed: int) -> torch.Tensor:
    """The fixed monomial set S: [S, 2] index pairs (i ≤ j), drawn without replacement from ``seed``."""
    i, j = torch.triu_indices(d, d)  # all d(d+1)/2 pairs with i ≤ j
    pick = torch.randperm(i.numel(), generator=torch.Generator().manual_seed(20_011 + seed))[:n_monomials]
    return torch.stack((i[pick], j[pick]), dim=1)


def monomial_features(xs: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """[..., N, D] -> [..., N, S] features x_i x_j for each (i, j) in ``pairs``."""
    return xs[..., pairs[:, 0]] * xs[..., pairs[:, 1]]


def _pairs(cfg: TaskConfig) -> torch.Tensor:
    return monomial_pairs(cfg.d, cfg.n_monomials, cfg.monomial_seed)


def monomial_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    return (monomial_features(xs, _pairs(cfg)) @ params["w"].unsqueeze(-1)).squeeze(-1)


@register("monomial_regression", "y = Σ_{(i,j)∈S} w_ij x_i x_j, S a fixed set of n_monomials degree-2 monomials "
          "(monomial_seed), w ~ N(0, τ²I)", ("d", "n_points", "noise_std", "prior_std", "n_monomials",
                                              "monomial_seed"), monomial_function, params=MonomialParams)
def monomial_regression(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                        active_dims: int | None = None) -> Batch:
    draw = lambda b, a, g: {"w": cfg.prior_std * torch.randn(b, cfg.n_monomials, generator=g)}  # noqa: E731
    pairs = _pairs(cfg)
    squares = int((pairs[:, 0] == pairs[:, 1]).sum())
    # x ~ N(0, I): E[(x_i x_j)²] = 1 for i ≠ j and E[x_i⁴] = 3.
    signal = cfg.prior_std**2 * (cfg.n_monomials - squares + 3 * squares)
    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, monomial_function, signal)


# ----------------------------------------------------------------------------- family mixture


def family_outputs(params: Params, xs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Noiseless y [B, N] of every family for every prompt (the caller selects each prompt's own)."""
    d = xs.shape[-1]
    project = lambda w: (xs @ w.unsqueeze(-1)).squeeze(-1)  # noqa: E731  [B, D] -> [B, N]
    hidden = torch.relu(xs @ params["w1"])  # [B, N, H]
    relu = (hidden @ params["w2"].unsqueeze(-1)).squeeze(-1) * math.sqrt(2.0 / params["w1"].shape[-1])
    return {"linear": project(params["w_dense"]),
            "sparse_linear": project(params["w_sparse"]),
            "relu_net": relu / math.sqrt(d),  # E[relu²] sums to |x|²: /√d gives Var(y) = 1
            "sinusoid": math.sqrt(2) * torch.sin(params["freq"][:, None] * project(params["u"]) + params["phase"][:, None])}


def family_mixture_function(params: Params, xs: torch.Tensor, cfg: TaskConfig) -> torch.Tensor:
    outs = family_outputs(params, xs)
    stacked = torch.stack([outs[name] for name in cfg.families], dim=0)  # [F, B, N]
    index = params["family"][None, :, None].expand(1, *stacked.shape[1:])
    return stacked.gather(0, index)[0]


@register("family_mixture", "the family (from task.families: linear, sparse_linear, relu_net, sinusoid) drawn "
          "uniformly per prompt, each scaled to Var(y) = 1", ("d", "n_points", "noise_std", "families",
                                                                "sparsity", "hidden"), family_mixture_function,
          params=FamilyMixtureParams)
def family_mixture(cfg: TaskConfig, n_prompts: int, n_points: int, generator: torch.Generator,
                   active_dims: int | None = None) -> Batch:
    def draw(b: int, active: int, g: torch.Generator) -> Params:
        d, s = cfg.d, min(cfg.sparsity, active)
        w_dense = torch.randn(b, d, generator=g) / math.sqrt(d)
        w_dense[:, active:] = 0.0
        order = torch.rand(b, active, generator=g).argsort(dim=1)
        keep = torch.zeros(b, d, dtype=torch.bool).scatter_(1, order[:, :s], True)
        w_sparse = torch.randn(b, d, generator=g) / math.sqrt(cfg.sparsity) * keep
        w1 = torch.randn(b, d, cfg.hidden, generator=g)
        w1[:, active:] = 0.0
        u = torch.randn(b, d, generator=g)
        u[:, active:] = 0.0
        lo, hi = SINE_FREQ_RANGE
        return {"family": torch.randint(0, len(cfg.families), (b,), generator=g),
                "w_dense": w_dense, "w_sparse": w_sparse, "w1": w1,
                "w2": torch.randn(b, cfg.hidden, generator=g), "u": u / u.norm(dim=1, keepdim=True),
                "freq": lo + (hi - lo) * torch.rand(b, generator=g),
                "phase": 2 * math.pi * torch.rand(b, generator=g)}

    return _sample(cfg, n_prompts, n_points, generator, active_dims, draw, family_mixture_function, 1.0)
