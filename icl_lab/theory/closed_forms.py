"""Closed forms of in-context linear regression, numerically (numpy, float64).

Each function here has a symbolic twin in :mod:`icl_lab.theory.symbolic` and a Monte Carlo
check in :mod:`icl_lab.theory.monte_carlo`; the tests compare all three.

Notation. Prompts hold n (or M) examples x_i ~ N(0, Λ), y_i = wᵀx_i + ε_i; the query is
x_q ~ N(0, Λ). "Excess risk" is E[(x_qᵀ(ŵ − w))²], the prediction risk minus the noise σ².

The single identity behind the LSA formulas (Gaussian fourth moments / Wishart): with
Λ̂ = (1/M) Σ_{i≤M} x_i x_iᵀ and any symmetric S,

    E[Λ̂ S Λ̂] = (1 + 1/M) Λ S Λ + (1/M) tr(SΛ) Λ.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


# ----------------------------------------------------------------------------- LSA (ZFB 2024)
def gamma_matrix(lam: Array, n: int) -> Array:
    """Γ = (1 + 1/N) Λ + tr(Λ)/N · I: the converged single-layer LSA predicts x_qᵀ Γ⁻¹ (1/N) Σ y_i x_i."""
    lam = np.asarray(lam, dtype=float)
    return (1 + 1 / n) * lam + np.trace(lam) / n * np.eye(lam.shape[0])


def lsa_predictor(lam: Array, n: int) -> Array:
    """Γ⁻¹: the effective matrix A of ŷ = (1/N) Σ y_i x_iᵀ A x_q that minimises the risk at length N."""
    return np.linalg.inv(gamma_matrix(lam, n))


def lsa_risk(a: Array, lam_test: Array, m: int) -> float:
    """Risk E[(ŷ − y_q)²] of ŷ = (1/M) Σ y_i x_iᵀ A x_q on noiseless prompts of length M.

    w ~ N(0, I), x ~ N(0, Λ') (prompt and query): with S = A Λ' Aᵀ the risk is
    (1 + 1/M) tr(Λ'SΛ') + (1/M) tr(SΛ') tr(Λ') − 2 tr(Λ'AΛ') + tr(Λ').
    With A = Γ⁻¹(Λ, N) this is ZFB's risk as a function of the test length M (Λ' = Λ) and
    their covariate-shift error (Λ' ≠ Λ); as M → ∞ it tends to ‖(Λ'A − I) Λ'^{1/2}‖_F², which
    is 0 only when A = Λ'⁻¹, whereas least squares reaches 0 under any covariance.
    """
    a, lt = np.asarray(a, dtype=float), np.asarray(lam_test, dtype=float)
    s = a @ lt @ a.T
    return float((1 + 1 / m) * np.trace(lt @ s @ lt) + np.trace(s @ lt) * np.trace(lt) / m
                 - 2 * np.trace(lt @ a @ lt) + np.trace(lt))


def lsa_trained_risk(lam_train: Array, n_train: int, m: int, lam_test: Array | None = None) -> float:
    """Risk at test length M (under test covariance ``lam_test``, default Λ) of the LSA trained at N."""
    return lsa_risk(lsa_predictor(lam_train, n_train), lam_train if lam_test is None else lam_test, m)


def gd_optimal_lr(lam: Array, n: int) -> float:
    """η* minimising the risk of one GD step from 0, ŷ = (η/N) Σ y_i x_iᵀ x_q (A = ηI):
    η* = tr(Λ²) / [(1 + 1/N) tr(Λ³) + tr(Λ²) tr(Λ)/N]; for Λ = I it is N/(N + d + 1) = Γ⁻¹."""
    lam = np.asarray(lam, dtype=float)
    t1, t2, t3 = np.trace(lam), np.trace(lam @ lam), np.trace(lam @ lam @ lam)
    return float(t2 / ((1 + 1 / n) * t3 + t2 * t1 / n))


# ----------------------------------------------------------------------------- least squares
def ls_excess_risk(d: int, n: int, sigma2: float) -> float:
    """Ordinary least squares, n > d + 1, x ~ N(0, Σ) (any Σ): σ² d / (n − d − 1).

    From E[(XᵀX)⁻¹] = Σ⁻¹/(n − d − 1) (inverse-Wishart mean); independent of w."""
    if n <= d + 1:
        raise ValueError(f"need n > d + 1, got n={n}, d={d}")
    return sigma2 * d / (n - d - 1)


def min_norm_excess_risk(d: int, n: int, sigma2: float, tau2: float) -> float:
    """Minimum-norm least squares, n < d − 1, x ~ N(0, I), w ~ N(0, τ² I):
    τ² (d − n) + σ² n / (d − n − 1) — the bias of the unseen directions plus the noise
    fitted through E tr((XXᵀ)⁻¹) = n/(d − n − 1)."""
    if n >= d - 1:
        raise ValueError(f"need n < d − 1, got n={n}, d={d}")
    return tau2 * (d - n) + sigma2 * n / (d - n - 1)


# ----------------------------------------------------------------------------- ridge
def ridge_risk_given_gram(gram_eigs: Array, lam: float, sigma2: float, tau2: float) -> float:
    """Excess risk of ridge ŵ = (XᵀX + λI)⁻¹Xᵀy given the eigenvalues g of XᵀX (x_q ~ N(0, I),
    w ~ N(0, τ²I)): τ² λ² Σ 1/(g + λ)² + σ² Σ g/(g + λ)²  (bias + variance, exact for any n)."""
    g = np.asarray(gram_eigs, dtype=float)
    return float(tau2 * lam**2 * np.sum(1 / (g + lam) ** 2) + sigma2 * np.sum(g / (g + lam) ** 2))


def mp_stieltjes(gamma: float, lam: float) -> float:
    """m(−λ) = ∫ dμ(s)/(s + λ) for the Marchenko–Pastur law of ratio γ = d/n (unit variance):
    the positive root of γλm² + (1 − γ + λ)m − 1 = 0."""
    b = 1 - gamma + lam
    return float((-b + np.sqrt(b * b + 4 * gamma * lam)) / (2 * gamma * lam))


def mp_stieltjes_derivative(gamma: float, lam: float) -> float:
    """m'(z) = ∫ dμ(s)/(s − z)² at z = −λ, by implicit differentiation of the quadratic:
    m' = (γm² + m) / ((1 − γ + λ) + 2γλm)."""
    m = mp_stieltjes(gamma, lam)
    return float((gamma * m * m + m) / ((1 - gamma + lam) + 2 * gamma * lam * m))


def ridge_risk_asymptotic(gamma: float, lam: float, sigma2: float, alpha2: float) -> float:
    """Proportional limit (d, n → ∞, d/n → γ) of ridge ŵ = (XᵀX/n + λI)⁻¹Xᵀy/n with x ~ N(0, I),
    w ~ N(0, α²/d · I): excess risk α² λ² m'(−λ) + σ² γ (m(−λ) − λ m'(−λ)) (Dobriban & Wager 2018).
    At λ* = σ²γ/α² (the posterior mean) it equals σ² γ m(−λ*)."""
    m, dm = mp_stieltjes(gamma, lam), mp_stieltjes_derivative(gamma, lam)
    return float(alpha2 * lam**2 * dm + sigma2 * gamma * (m - lam * dm))


def ridge_optimal_lambda(gamma: float, sigma2: float, alpha2: float) -> float:
    """λ* = σ² γ / α² (normalised scale): ridge equals the Bayes posterior mean."""
    return sigma2 * gamma / alpha2


# ----------------------------------------------------------------------------- helpers
def spectrum_covariance(eigs: Array, rotation: Array | None = None) -> Array:
    """Λ = U diag(eigs) Uᵀ (U = I by default)."""
    eigs = np.asarray(eigs, dtype=float)
    u = np.eye(len(eigs)) if rotation is None else np.asarray(rotation, dtype=float)
    return u @ np.diag(eigs) @ u.T


def scale_free_distance(a: Array, b: Array) -> float:
    """‖A/‖A‖_F − B/‖B‖_F‖_F: how far A is from B after normalising scale (0 = parallel)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)))


def relative_distance(a: Array, b: Array) -> float:
    """‖A − B‖_F / ‖B‖_F."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))
