"""The symbolic forms (and derivations) agree with the numeric ones."""

from __future__ import annotations

import numpy as np
import sympy as sp

from icl_lab.theory import closed_forms as cf
from icl_lab.theory import symbolic as S


def test_derived_lsa_optimum_is_gamma_inverse():
    l1, l2, n = sp.symbols("lambda1 lambda2 N", positive=True)
    derived = S.lsa_optimum_sym([l1, l2], n)  # minimiser of the expected loss, not assumed
    assert sp.simplify(derived - S.gamma_sym(sp.diag(l1, l2), n).inv()) == sp.zeros(2, 2)


def test_lsa_risk_and_gamma_agree_numerically():
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    lam = cf.spectrum_covariance([1.7, 0.9, 0.4], q)  # a rotated, non-diagonal Λ
    a = rng.standard_normal((3, 3))
    lam_s, a_s = sp.Matrix(lam), sp.Matrix(a)
    gamma_s = np.array(S.gamma_sym(lam_s, sp.Integer(17)).evalf(), dtype=float)
    assert np.allclose(gamma_s, cf.gamma_matrix(lam, 17), rtol=1e-12)
    for m in (3, 17, 200):
        assert np.isclose(float(S.lsa_risk_sym(a_s, lam_s, sp.Integer(m))), cf.lsa_risk(a, lam, m), rtol=1e-10)


def test_gd_optimal_lr_derivation():
    l1, l2, l3, n = sp.symbols("l1 l2 l3 N", positive=True)
    eta = S.numeric(S.gd_optimal_lr_sym(sp.diag(l1, l2, l3), n), [l1, l2, l3, n])
    assert np.isclose(eta(1.5, 0.7, 0.3, 11), cf.gd_optimal_lr(np.diag([1.5, 0.7, 0.3]), 11), rtol=1e-12)


def test_least_squares_forms():
    d, n, s2, t2 = sp.symbols("d n sigma2 tau2", positive=True)
    ls = S.numeric(S.ls_excess_risk_sym(d, n, s2), [d, n, s2])
    mn = S.numeric(S.min_norm_excess_risk_sym(d, n, s2, t2), [d, n, s2, t2])
    assert np.isclose(ls(10, 25, 0.3), cf.ls_excess_risk(10, 25, 0.3))
    assert np.isclose(mn(30, 12, 0.3, 2.0), cf.min_norm_excess_risk(30, 12, 0.3, 2.0))


def test_ridge_forms():
    g = np.array([0.3, 2.0, 5.5])
    lam, s2, t2 = sp.symbols("lambda sigma2 tau2", positive=True)
    given = S.numeric(S.ridge_risk_given_gram_sym(list(sp.Matrix(g)), lam, s2, t2), [lam, s2, t2])
    assert np.isclose(given(0.4, 0.5, 1.3), cf.ridge_risk_given_gram(g, 0.4, 0.5, 1.3), rtol=1e-12)
    gamma, a2 = sp.symbols("gamma alpha2", positive=True)
    expr = S.ridge_risk_asymptotic_sym(gamma, lam, s2, a2)  # m' by sympy, not by the implicit formula
    asym = S.numeric(expr, [gamma, lam, s2, a2])
    for args in [(0.5, 0.3, 0.5, 1.0), (2.0, 0.05, 0.2, 3.0), (1.0, 1.0, 1.0, 1.0)]:
        assert np.isclose(asym(*args), cf.ridge_risk_asymptotic(*args), rtol=1e-10)
    # The optimum λ* = σ²γ/α² is a stationary point of the symbolic risk.
    slope = S.numeric(sp.diff(expr, lam).subs(lam, s2 * gamma / a2), [gamma, s2, a2])
    assert abs(slope(0.7, 0.4, 1.3)) < 1e-12
