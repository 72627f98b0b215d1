"""The Gaussian linear model in any feature basis, and finite mixtures of such models.

Model: y = φ(x)ᵀw + N(0, σ²), w ~ N(m_0, τ² I). For every prompt and prefix k at once, the
posterior predictive of y_k given examples j < k is Gaussian with

    mean_k = φ_kᵀ(m_0 + w_k),  w_k = (G_k + λI)⁻¹ Σ_{j<k} φ_j (y_j − φ_jᵀm_0),  λ = σ²/τ²,
    var_k  = σ² (1 + φ_kᵀ(G_k + λI)⁻¹φ_k),       G_k = Σ_{j<k} φ_j φ_jᵀ,

computed from exclusive cumulative sums and one batched Cholesky per prefix (which also serves
every nested model using a leading subset of the features). The chain rule
turns these one-step predictives into marginal likelihoods, log p(y_<k) = Σ_{j<k} log N(y_j;
mean_j, var_j), so a mixture of Gaussian priors needs nothing more: its posterior component
weights at prefix k are softmax_c(log π_c + log p_c(y_<k)).
"""

from __future__ import annotations

import math

import torch

# σ = 0 is replaced by this jitter: the posterior then tends to the noiseless one (the
# Occam factor between models is ~log(τ²/σ²) per extra parameter, which is what noiseless
# Bayes means for nested feature sets) while every Cholesky stays well conditioned.
MIN_NOISE_STD = 1e-3
_CHUNK_ELEMS = 2**22  # float64 elements per chunk of prompts (32 MiB)


def _exclusive_cumsum(t: torch.Tensor, dim: int) -> torch.Tensor:
    """out[..., k, ...] = Σ_{j<k} t[..., j, ...] along ``dim``."""
    return torch.cumsum(t, dim=dim) - t


def _nested_chunk(phi: torch.Tensor, resid: torch.Tensor, lam: float, sigma2: float,
                  sizes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """phi [b, N, P], resid [b, N] (y minus prior mean) -> posterior-mean corrections and
    variances [b, N, C] of the nested models using the first ``sizes[c]`` features.

    mean = φᵀ(G + λI)⁻¹h = (L⁻¹φ)ᵀ(L⁻¹h), L the Cholesky factor. The factor of a leading
    principal block is the leading block of L and forward substitution is prefix-consistent,
    so every nested model's mean and variance are partial sums of z = L⁻¹φ and u = L⁻¹h.
    """
    gram = _exclusive_cumsum(phi.unsqueeze(-1) * phi.unsqueeze(-2), dim=1)  # [b, N, P, P]
    xty = _exclusive_cumsum(phi * resid.unsqueeze(-1), dim=1)  # [b, N, P]
    eye = torch.eye(phi.shape[-1], dtype=phi.dtype, device=phi.device)
    chol = torch.linalg.cholesky(gram + lam * eye)
    zu = torch.linalg.solve_triangular(chol, torch.stack((phi, xty), dim=-1), upper=False)  # [b, N, P, 2]
    z, u = zu[..., 0], zu[..., 1]
    mean = torch.cumsum(z * u, dim=-1)[..., sizes - 1]
    return mean, sigma2 * (1.0 + torch.cumsum(z * z, dim=-1)[..., sizes - 1])


def nested_gaussian_linear_predictive(features: torch.Tensor, ys: torch.Tensor, noise_std: float, prior_std: float,
                                      sizes: list[int] | tuple[int, ...], prior_mean: torch.Tensor | None = None,
                                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """One-step predictives (mean, var) [C, ..., N] of the nested models that use the first
    ``sizes[c]`` feature columns, all from one Cholesky factorisation per prefix (float64).

    features [..., N, P]; ys [..., N]; prior_mean [P] or [..., P] (default 0; only with the single
    size P). Entry 0 is the prior predictive. σ below :data:`MIN_NOISE_STD` is raised to it.
    """
    if prior_std <= 0 or noise_std < 0:
        raise ValueError(f"need prior_std > 0 and noise_std >= 0, got {prior_std}, {noise_std}")
    *lead, n, p = features.shape
    size_idx = torch.as_tensor(list(sizes), dtype=torch.long)
    if size_idx.numel() == 0 or size_idx.min() < 1 or size_idx.max() > p:
        raise ValueError(f"nested sizes must lie in [1, {p}], got {list(sizes)}")
    if prior_mean is not None and list(sizes) != [p]:
        raise ValueError("a prior mean is supported for the full model only (sizes = [P])")
    phi = features.double().reshape(-1, n, p)
    y = ys.double().reshape(-1, n)
    prior_term = torch.zeros_like(y)
    if prior_mean is not None:
        prior_term = (phi * prior_mean.double().expand(*lead, p).reshape(-1, 1, p)).sum(-1)  # φ_kᵀ m_0
    sigma2 = max(noise_std, MIN_NOISE_STD) ** 2
    lam = sigma2 / prior_std**2
    mean = torch.empty(y.shape[0], n, len(size_idx), dtype=torch.float64)
    var = torch.empty_like(mean)
    step = max(1, _CHUNK_ELEMS // (n * p * p))
    for s in range(0, phi.shape[0], step):  # chunks of prompts bound memory; no loop over prefixes
        sl = slice(s, s + step)
        corr, var[sl] = _nested_chunk(phi[sl], y[sl] - prior_term[sl], lam, sigma2, size_idx)
        mean[sl] = prior_term[sl].unsqueeze(-1) + corr
    shape = (len(size_idx), *lead, n)
    return mean.permute(2, 0, 1).reshape(shape), var.permute(2, 0, 1).reshape(shape)


def gaussian_linear_predictive(features: torch.Tensor, ys: torch.Tensor, noise_std: float, prior_std: float,
                               prior_mean: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior predictive (mean, var) of y_k from examples j < k, each [..., N], in float64.

    features [..., N, P]; ys [..., N]; prior_mean [P] or [..., P] (default 0). Entry 0 is the
    prior predictive. σ below :data:`MIN_NOISE_STD` is raised to it (see the note there).
    """
    mean, var = nested_gaussian_linear_predictive(features, ys, noise_std, prior_std, (features.shape[-1],),
                                                  prior_mean)
    return mean[0], var[0]


def log_predictive_density(ys: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """log N(y; mean, var), elementwise."""
    return -0.5 * (torch.log(2 * math.pi * var) + (ys.double() - mean) ** 2 / var)


def log_evidence(ys: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """log p(y_<k) [..., N] from one-step predictives (chain rule); entry 0 is 0."""
    return _exclusive_cumsum(log_predictive_density(ys, mean, var), dim=-1)


def mixture_predictive(ys: torch.Tensor, means: torch.Tensor, variances: torch.Tensor,
                       log_prior: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Posterior predictive of a mixture of Gaussian-linear components.

    ys [B, N]; means, variances [C, B, N] (each component's one-step predictive); log_prior [C].
    Returns (mean [B, N], var [B, N], weights [B, N, C]): weights[:, k] is the posterior over
    components given examples j < k (the prior at k = 0); var is the mixture variance
    Σ_c w_c (v_c + (m_c − mean)²).
    """
    logw = log_prior.double().view(-1, 1, 1) + log_evidence(ys.unsqueeze(0), means, variances)  # [C, B, N]
    weights = torch.softmax(logw, dim=0)
    mean = (weights * means).sum(0)
    var = (weights * (variances + (means - mean) ** 2)).sum(0)  # law of total variance
    return mean, var, weights.permute(1, 2, 0)
