"""The same closed forms written symbolically (sympy), plus derivations sympy can carry out.

Where :mod:`icl_lab.theory.closed_forms` states a result, this module either writes the
same expression independently or *derives* it: the LSA optimum Γ⁻¹ and the one-step GD
rate η* come from minimising the expected loss (built from the Wishart moment identity),
the ridge derivative m' from differentiating the explicit Stieltjes transform. The tests
check that these expressions, evaluated with :func:`numeric`, agree with the numerics.
"""

from __future__ import annotations

from typing import Callable, Sequence

import sympy as sp


# ----------------------------------------------------------------------------- LSA (ZFB 2024)
def gamma_sym(lam: sp.Matrix, n: sp.Expr) -> sp.Matrix:
    """Γ = (1 + 1/N) Λ + tr(Λ)/N · I."""
    return (1 + 1 / n) * lam + lam.trace() / n * sp.eye(lam.shape[0])


def lsa_risk_sym(a: sp.Matrix, lam: sp.Matrix, m: sp.Expr) -> sp.Expr:
    """E[(ŷ − y)²] of ŷ = (1/M) Σ y_i x_iᵀ A x_q, x ~ N(0, Λ), w ~ N(0, I), built from
    E[Λ̂SΛ̂] = (1 + 1/M) ΛSΛ + tr(SΛ)Λ/M with S = AΛAᵀ."""
    s = a * lam * a.T
    second = (1 + 1 / m) * lam * s * lam + (s * lam).trace() / m * lam  # E[Λ̂ S Λ̂]
    return second.trace() - 2 * (lam * a * lam).trace() + lam.trace()


def lsa_optimum_sym(eigs: Sequence[sp.Symbol], n: sp.Symbol) -> sp.Matrix:
    """Derive the risk-minimising A for Λ = diag(eigs) by solving ∂risk/∂A = 0 (a general d×d A).

    ZFB's theorem says the answer is Γ⁻¹; this derivation does not assume it.
    """
    d = len(eigs)
    a = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"a_{i}{j}"))
    risk = lsa_risk_sym(a, sp.diag(*eigs), n)
    solution = sp.solve([sp.diff(risk, v) for v in a], list(a), dict=True)[0]
    return a.subs(solution).applyfunc(sp.simplify)


def gd_optimal_lr_sym(lam: sp.Matrix, n: sp.Expr) -> sp.Expr:
    """η* derived by minimising the one-step-GD risk (A = ηI) over η."""
    eta = sp.Symbol("eta")
    risk = lsa_risk_sym(eta * sp.eye(lam.shape[0]), lam, n)
    return sp.simplify(sp.solve(sp.diff(risk, eta), eta)[0])


# ----------------------------------------------------------------------------- least squares
def ls_excess_risk_sym(d: sp.Expr, n: sp.Expr, sigma2: sp.Expr) -> sp.Expr:
    """σ² d/(n − d − 1), n > d + 1."""
    return sigma2 * d / (n - d - 1)


def min_norm_excess_risk_sym(d: sp.Expr, n: sp.Expr, sigma2: sp.Expr, tau2: sp.Expr) -> sp.Expr:
    """τ²(d − n) + σ² n/(d − n − 1), n < d − 1."""
    return tau2 * (d - n) + sigma2 * n / (d - n - 1)


# ----------------------------------------------------------------------------- ridge
def ridge_risk_given_gram_sym(gram_eigs: Sequence[sp.Expr], lam: sp.Expr, sigma2: sp.Expr,
                              tau2: sp.Expr) -> sp.Expr:
    """Bias τ²λ² Σ 1/(g + λ)² plus variance σ² Σ g/(g + λ)²."""
    return sum(tau2 * lam**2 / (g + lam) ** 2 + sigma2 * g / (g + lam) ** 2 for g in gram_eigs)


def mp_stieltjes_sym(gamma: sp.Expr, z: sp.Expr) -> sp.Expr:
    """Explicit Marchenko–Pastur Stieltjes transform m(z) = ∫ dμ(s)/(s − z), for real z < 0."""
    b = 1 - gamma - z
    return (-b + sp.sqrt(b**2 - 4 * gamma * z)) / (-2 * gamma * z)


def ridge_risk_asymptotic_sym(gamma: sp.Expr, lam: sp.Expr, sigma2: sp.Expr, alpha2: sp.Expr) -> sp.Expr:
    """α² λ² m'(−λ) + σ² γ (m(−λ) − λ m'(−λ)), with m' from sympy's derivative."""
    z = sp.Symbol("z")
    m = mp_stieltjes_sym(gamma, z)
    dm = sp.diff(m, z)
    at = {z: -lam}
    return alpha2 * lam**2 * dm.subs(at) + sigma2 * gamma * (m.subs(at) - lam * dm.subs(at))


# ----------------------------------------------------------------------------- evaluation
def numeric(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., float]:
    """A float function of ``symbols`` (numpy backend) for comparing with the numeric forms."""
    fn = sp.lambdify(list(symbols), expr, modules="numpy")
    return lambda *values: float(fn(*values))
