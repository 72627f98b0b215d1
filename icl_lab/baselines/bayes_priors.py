"""Exact Bayes predictors of the priors in :mod:`icl_lab.tasks.bayesian`, vectorised over prompts and prefixes.

Every prior here is a Gaussian linear model in some feature basis or a finite mixture of them,
so each posterior is assembled from :mod:`icl_lab.baselines.bayes_gaussian`:

* Gaussian mixture of linear regressions: one component per mixture mean (prior mean ±m e_1).
* Fourier series: features [1, cos, sin up to K]; the mixture over K weighs each K by its
  marginal likelihood (a Bayesian Occam razor: low K wins until the data need more).
* Degree-2 monomials: features x_i x_j of the fixed set S.
* Sparse linear: a uniform mixture over all C(d, s) supports, each a Gaussian model on x_S.
* Family mixture restricted to linear families: dense and sparse components together.

Functions return float64 tensors ``(mean [B, N], var [B, N])`` and, for mixtures, the
posterior ``weights [B, N, C]`` after examples j < k.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import torch

from icl_lab.baselines.bayes_gaussian import (
    gaussian_linear_predictive,
    mixture_predictive,
    nested_gaussian_linear_predictive,
)
from icl_lab.tasks.bayesian import fourier_features, mixture_components, monomial_features, monomial_pairs

if TYPE_CHECKING:
    from icl_lab.tasks.config import TaskConfig

Predictive = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
MAX_SUPPORTS = 20_000  # sparse posteriors enumerate C(d, s) supports
_MIXTURE_CHUNK_ELEMS = 2**22  # components × prompts × positions per chunk


def gaussian_mixture_posterior(xs: torch.Tensor, ys: torch.Tensor, means: torch.Tensor, log_weights: torch.Tensor,
                               noise_std: float, prior_std: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """w ~ Σ_c π_c N(means[c], τ² I): predictive (mean, var) and component weights [B, N, C]."""
    comps = [gaussian_linear_predictive(xs, ys, noise_std, prior_std, prior_mean=m) for m in means]  # C is small
    return mixture_predictive(ys, torch.stack([c[0] for c in comps]), torch.stack([c[1] for c in comps]),
                              log_weights)


def _frequency_ordered(xs: torch.Tensor, max_freq: int, half_period: float) -> torch.Tensor:
    """Fourier features [..., N, 2K+1] ordered 1, cos 1, sin 1, cos 2, sin 2, …: the first 2k+1
    columns are the basis of max frequency k (the isotropic prior makes the order irrelevant)."""
    feats = fourier_features(xs.double(), max_freq, half_period)
    order = [0] + [c for k in range(1, max_freq + 1) for c in (k, max_freq + k)]
    return feats[..., order]


def fourier_posterior(xs: torch.Tensor, ys: torch.Tensor, max_freq: int, half_period: float,
                      noise_std: float, prior_std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior predictive for a Fourier series of max frequency K with N(0, τ²) coefficients."""
    return gaussian_linear_predictive(fourier_features(xs.double(), max_freq, half_period), ys, noise_std, prior_std)


def fourier_mixture_posterior(xs: torch.Tensor, ys: torch.Tensor, max_freq: int, half_period: float,
                              noise_std: float, prior_std: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """K ~ Uniform{1..K_max}: predictive (mean, var) and posterior over K, weights [B, N, K_max].

    The bases are nested, so one Cholesky per prefix gives every K's predictive."""
    sizes = [2 * k + 1 for k in range(1, max_freq + 1)]
    means, variances = nested_gaussian_linear_predictive(_frequency_ordered(xs, max_freq, half_period), ys,
                                                         noise_std, prior_std, sizes)
    log_prior = torch.full((max_freq,), -math.log(max_freq))
    return mixture_predictive(ys, means, variances, log_prior)


def monomial_posterior(xs: torch.Tensor, ys: torch.Tensor, pairs: torch.Tensor, noise_std: float,
                       prior_std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior predictive for y = Σ_{(i,j)∈pairs} w_ij x_i x_j + ε, w ~ N(0, τ² I)."""
    return gaussian_linear_predictive(monomial_features(xs.double(), pairs), ys, noise_std, prior_std)


def _support_components(xs: torch.Tensor, ys: torch.Tensor, sparsity: int, coef_std: float,
                        noise_std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One-step predictives of every support S (|S| = sparsity): means, vars [C, B, N]."""
    d = xs.shape[-1]
    supports = torch.combinations(torch.arange(d), sparsity) if sparsity < d else torch.arange(d)[None]
    if supports.shape[0] > MAX_SUPPORTS:
        raise ValueError(f"exact sparse posterior needs C(d={d}, s={sparsity}) = {supports.shape[0]} supports "
                         f"(at most {MAX_SUPPORTS})")
    feats = xs.double()[..., supports].permute(2, 0, 1, 3)  # [C, B, N, s]
    return gaussian_linear_predictive(feats, ys.expand(supports.shape[0], *ys.shape), noise_std, coef_std)


def linear_families_posterior(xs: torch.Tensor, ys: torch.Tensor, families: tuple[str, ...], sparsity: int,
                              noise_std: float, dense_std: float | None = None, sparse_std: float | None = None,
                              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Uniform mixture over ``families`` ⊆ {"linear", "sparse_linear"}: (mean, var, family weights [B, N, F]).

    Dense: w ~ N(0, dense_std² I) (default 1/√d); sparse: a uniform support of size ``sparsity``
    with N(0, sparse_std²) coefficients (default 1/√s): the family_mixture scalings.
    """
    bad = [f for f in families if f not in ("linear", "sparse_linear")]
    if bad or not families:
        raise ValueError(f"the exact family posterior covers linear and sparse_linear only, not {bad or 'nothing'}")
    d, b, n = xs.shape[-1], *ys.shape
    dense_std = dense_std or 1 / math.sqrt(d)
    sparse_std = sparse_std or 1 / math.sqrt(sparsity)
    n_supports = math.comb(d, sparsity) if "sparse_linear" in families else 0
    step = max(1, _MIXTURE_CHUNK_ELEMS // ((1 + n_supports) * n))
    mean, var = torch.empty(b, n, dtype=torch.float64), torch.empty(b, n, dtype=torch.float64)
    weights = torch.empty(b, n, len(families), dtype=torch.float64)
    for s in range(0, b, step):  # chunks of prompts bound memory (components × prompts × positions)
        x, y = xs[s:s + step], ys[s:s + step]
        means, variances, log_prior, owner = [], [], [], []
        for f, family in enumerate(families):
            if family == "linear":
                m, v = gaussian_linear_predictive(x, y, noise_std, dense_std)
                m, v = m[None], v[None]
            else:
                m, v = _support_components(x, y, sparsity, sparse_std, noise_std)
            means.append(m), variances.append(v)
            log_prior.append(torch.full((m.shape[0],), -math.log(len(families)) - math.log(m.shape[0])))
            owner.append(torch.full((m.shape[0],), f))
        mean[s:s + step], var[s:s + step], w = mixture_predictive(y, torch.cat(means), torch.cat(variances),
                                                                  torch.cat(log_prior))
        per_family = torch.zeros(*w.shape[:2], len(families), dtype=w.dtype)
        weights[s:s + step] = per_family.index_add_(2, torch.cat(owner), w)  # sum support weights per family
    return mean, var, weights


def sparse_linear_posterior(xs: torch.Tensor, ys: torch.Tensor, sparsity: int, coef_std: float,
                            noise_std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact posterior predictive when w has a uniform random support of size ``sparsity``, N(0, coef_std²) on it."""
    mean, var, _ = linear_families_posterior(xs, ys, ("sparse_linear",), sparsity, noise_std, sparse_std=coef_std)
    return mean, var


# ----------------------------------------------------------------------------- per-task dispatch


def exact_family_posterior(task: "TaskConfig") -> bool:
    """True when family_mixture's Bayes predictor is computable (only linear families)."""
    return set(task.families) <= {"linear", "sparse_linear"}


def posterior_weights(task: "TaskConfig", xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Posterior mixture weights [B, N, C] for the task's prior: mixture components (+e_1, −e_1),
    max frequencies K = 1..K_max, or families."""
    if task.name == "gaussian_mixture_regression":
        means, log_w = mixture_components(task)
        return gaussian_mixture_posterior(xs, ys, means, log_w, task.noise_std, task.prior_std)[2]
    if task.name == "fourier_mixture":
        return fourier_mixture_posterior(xs, ys, task.fourier_freq, task.fourier_half_period,
                                         task.noise_std, task.prior_std)[2]
    if task.name == "family_mixture" and exact_family_posterior(task):
        return linear_families_posterior(xs, ys, task.families, task.sparsity, task.noise_std)[2]
    raise ValueError(f"task {task.name!r} has no computable mixture weights")


def bayes_predictive(task: "TaskConfig") -> Predictive:
    """The exact posterior predictive (mean, var) of the task's own prior, as a function of (xs, ys)."""
    from icl_lab.baselines.regression import bayes

    name = task.name
    if name == "gaussian_mixture_regression":
        means, log_w = mixture_components(task)
        return lambda xs, ys: gaussian_mixture_posterior(xs, ys, means, log_w, task.noise_std, task.prior_std)[:2]
    if name == "fourier_series":
        return lambda xs, ys: fourier_posterior(xs, ys, task.fourier_freq, task.fourier_half_period,
                                                task.noise_std, task.prior_std)
    if name == "fourier_mixture":
        return lambda xs, ys: fourier_mixture_posterior(xs, ys, task.fourier_freq, task.fourier_half_period,
                                                        task.noise_std, task.prior_std)[:2]
    if name == "monomial_regression":
        pairs = monomial_pairs(task.d, task.n_monomials, task.monomial_seed)
        return lambda xs, ys: monomial_posterior(xs, ys, pairs, task.noise_std, task.prior_std)
    if name == "family_mixture":
        if not exact_family_posterior(task):
            raise ValueError(f"no exact Bayes predictor for family_mixture with families {list(task.families)}: "
                             "only linear and sparse_linear have one (use the specialists)")
        return lambda xs, ys: linear_families_posterior(xs, ys, task.families, task.sparsity, task.noise_std)[:2]
    # Gaussian prior (the linear families): ridge mean, exact noiseless limit at σ = 0. (For
    # sparse_linear_regression this stays the Gaussian posterior; its exact one is "sparse_bayes".)
    return lambda xs, ys: tuple(t.double() for t in bayes(xs, ys, task.noise_std, task.prior_std))  # type: ignore[return-value]


def feature_map(task: "TaskConfig") -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The task's feature basis φ (Fourier or monomial), or None for tasks linear in x."""
    if task.name in ("fourier_series", "fourier_mixture"):
        return lambda xs: fourier_features(xs, task.fourier_freq, task.fourier_half_period)
    if task.name == "monomial_regression":
        pairs = monomial_pairs(task.d, task.n_monomials, task.monomial_seed)
        return lambda xs: monomial_features(xs, pairs)
    return None
