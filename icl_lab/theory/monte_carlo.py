"""Monte Carlo estimates of the closed forms, each with its standard error.

Every estimator simulates the whole pipeline — draw w, the prompt, the noise, fit the
learner, score a fresh query — and returns an :class:`Estimate` (mean over independent
prompts and the standard error of that mean). A closed form "matches" when it lies within
a few standard errors (the tests use 4, a false alarm rate of about 6e-5 per check).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Array = np.ndarray
_CHUNK = 20_000  # prompts per vectorised chunk (bounds memory)


class Estimate(NamedTuple):
    mean: float
    se: float

    def z(self, value: float) -> float:
        """How many standard errors ``value`` lies from the estimate."""
        return abs(value - self.mean) / max(self.se, 1e-300)


def _estimate(samples: list[Array]) -> Estimate:
    s = np.concatenate(samples)
    return Estimate(float(s.mean()), float(s.std(ddof=1) / np.sqrt(len(s))))


def _gaussian(rng: np.random.Generator, shape: tuple[int, ...], cov: Array | None) -> Array:
    z = rng.standard_normal(shape)
    return z if cov is None else z @ np.linalg.cholesky(np.asarray(cov, dtype=float)).T


def _chunks(total: int) -> list[int]:
    return [min(_CHUNK, total - i) for i in range(0, total, _CHUNK)]


def mc_lsa_risk(a: Array, lam_test: Array, m: int, n_prompts: int, rng: np.random.Generator) -> Estimate:
    """Squared error of ŷ = (1/M) Σ y_i x_iᵀ A x_q on noiseless prompts, x ~ N(0, Λ'), w ~ N(0, I)."""
    a = np.asarray(a, dtype=float)
    d = a.shape[0]
    out = []
    for p in _chunks(n_prompts):
        w = rng.standard_normal((p, d))
        xs = _gaussian(rng, (p, m, d), lam_test)
        xq = _gaussian(rng, (p, d), lam_test)
        ys = np.einsum("pmd,pd->pm", xs, w)
        h = np.einsum("pm,pmd->pd", ys, xs) / m  # (1/M) Σ y_i x_i
        pred = np.einsum("pd,de,pe->p", h, a, xq)
        out.append((pred - np.einsum("pd,pd->p", xq, w)) ** 2)
    return _estimate(out)


def mc_ls_excess_risk(d: int, n: int, sigma2: float, n_prompts: int, rng: np.random.Generator,
                      cov: Array | None = None) -> Estimate:
    """(x_qᵀ(ŵ − w))² of ordinary least squares from n noisy examples, x ~ N(0, cov)."""
    out = []
    for p in _chunks(n_prompts):
        w = rng.standard_normal((p, d))
        xs = _gaussian(rng, (p, n, d), cov)
        ys = np.einsum("pnd,pd->pn", xs, w) + np.sqrt(sigma2) * rng.standard_normal((p, n))
        gram = np.einsum("pnd,pne->pde", xs, xs)
        w_hat = np.linalg.solve(gram, np.einsum("pnd,pn->pd", xs, ys)[..., None])[..., 0]
        xq = _gaussian(rng, (p, d), cov)
        out.append(np.einsum("pd,pd->p", xq, w_hat - w) ** 2)
    return _estimate(out)


def mc_min_norm_excess_risk(d: int, n: int, sigma2: float, tau2: float, n_prompts: int,
                            rng: np.random.Generator) -> Estimate:
    """(x_qᵀ(ŵ − w))² of the minimum-norm interpolant ŵ = Xᵀ(XXᵀ)⁻¹y, n < d, x ~ N(0, I)."""
    out = []
    for p in _chunks(n_prompts):
        w = np.sqrt(tau2) * rng.standard_normal((p, d))
        xs = rng.standard_normal((p, n, d))
        ys = np.einsum("pnd,pd->pn", xs, w) + np.sqrt(sigma2) * rng.standard_normal((p, n))
        kernel = np.einsum("pid,pjd->pij", xs, xs)
        w_hat = np.einsum("pnd,pn->pd", xs, np.linalg.solve(kernel, ys[..., None])[..., 0])
        xq = rng.standard_normal((p, d))
        out.append(np.einsum("pd,pd->p", xq, w_hat - w) ** 2)
    return _estimate(out)


def mc_ridge_risk_given_design(xs: Array, lam: float, sigma2: float, tau2: float, n_prompts: int,
                               rng: np.random.Generator) -> Estimate:
    """(x_qᵀ(ŵ − w))² of ridge (XᵀX + λI)⁻¹Xᵀy for the fixed design ``xs`` [n, d]; w ~ N(0, τ²I)."""
    xs = np.asarray(xs, dtype=float)
    n, d = xs.shape
    solve = np.linalg.solve(xs.T @ xs + lam * np.eye(d), xs.T)  # [d, n]
    out = []
    for p in _chunks(n_prompts):
        w = np.sqrt(tau2) * rng.standard_normal((p, d))
        ys = w @ xs.T + np.sqrt(sigma2) * rng.standard_normal((p, n))
        xq = rng.standard_normal((p, d))
        out.append(np.einsum("pd,pd->p", xq, ys @ solve.T - w) ** 2)
    return _estimate(out)


def mc_ridge_risk(d: int, n: int, lam: float, sigma2: float, alpha2: float, n_designs: int,
                  rng: np.random.Generator) -> Estimate:
    """Excess risk of ridge (XᵀX/n + λI)⁻¹Xᵀy/n with a fresh design, w ~ N(0, α²/d · I) and noise
    per sample; the isotropic query is integrated out exactly (E_q[(x_qᵀΔ)²] = ‖Δ‖²), which
    keeps the estimator's variance O(1/d) at the large d the proportional limit needs."""
    out = np.empty(n_designs)
    for k in range(n_designs):
        xs = rng.standard_normal((n, d))
        w = np.sqrt(alpha2 / d) * rng.standard_normal(d)
        ys = xs @ w + np.sqrt(sigma2) * rng.standard_normal(n)
        w_hat = np.linalg.solve(xs.T @ xs / n + lam * np.eye(d), xs.T @ ys / n)
        out[k] = np.sum((w_hat - w) ** 2)
    return _estimate([out])
