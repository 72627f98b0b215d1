"""Each numeric closed form against a Monte Carlo estimate: |MC − formula| < 4 standard errors."""

from __future__ import annotations

import numpy as np
import pytest

from icl_lab.theory import closed_forms as cf
from icl_lab.theory import monte_carlo as mc

Z = 4.0  # standard errors allowed (two-sided false alarm ≈ 6e-5 per check; seeds are fixed anyway)
LAM = cf.spectrum_covariance([2.0, 1.2, 0.8, 0.6, 0.4])


@pytest.mark.parametrize("m", [5, 20, 60])
def test_lsa_risk_against_test_length(m):
    a = cf.lsa_predictor(LAM, 20)  # trained at N = 20, tested at M
    est = mc.mc_lsa_risk(a, LAM, m, 40_000, np.random.default_rng(m))
    assert est.z(cf.lsa_risk(a, LAM, m)) < Z


def test_lsa_risk_under_covariate_shift():
    a = cf.lsa_predictor(LAM, 20)
    shifted = cf.spectrum_covariance([0.4, 0.6, 0.8, 1.2, 2.0])
    est = mc.mc_lsa_risk(a, shifted, 40, 40_000, np.random.default_rng(7))
    formula = cf.lsa_risk(a, shifted, 40)
    assert est.z(formula) < Z
    # The failure: the shifted error stays above the in-distribution one, and its M → ∞ limit
    # is positive whereas least squares reaches 0 from M ≥ d noiseless examples.
    assert formula > 2 * cf.lsa_risk(a, LAM, 40)
    assert cf.lsa_risk(a, shifted, 10**12) > 0.5


def test_gamma_is_the_risk_minimiser_at_the_training_length():
    a = cf.lsa_predictor(LAM, 20)
    base = cf.lsa_risk(a, LAM, 20)
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert cf.lsa_risk(a + 1e-3 * rng.standard_normal(a.shape), LAM, 20) > base
    iso = np.eye(4)
    assert np.isclose(cf.gd_optimal_lr(iso, 20), 20 / 25)  # N/(N + d + 1)
    assert np.allclose(cf.lsa_predictor(iso, 20), cf.gd_optimal_lr(iso, 20) * iso)


def test_least_squares_excess_risk():
    est = mc.mc_ls_excess_risk(5, 14, 0.5, 60_000, np.random.default_rng(1), cov=LAM)
    assert est.z(cf.ls_excess_risk(5, 14, 0.5)) < Z


def test_min_norm_excess_risk():
    est = mc.mc_min_norm_excess_risk(20, 8, 0.5, 1.0, 40_000, np.random.default_rng(2))
    assert est.z(cf.min_norm_excess_risk(20, 8, 0.5, 1.0)) < Z


def test_ridge_risk_given_design():
    xs = np.random.default_rng(3).standard_normal((10, 6))
    est = mc.mc_ridge_risk_given_design(xs, 0.7, 0.5, 1.0, 60_000, np.random.default_rng(4))
    assert est.z(cf.ridge_risk_given_gram(np.linalg.eigvalsh(xs.T @ xs), 0.7, 0.5, 1.0)) < Z


@pytest.mark.parametrize("gamma,lam", [(0.5, None), (0.5, 0.1), (2.0, None)])
def test_ridge_risk_proportional_limit(gamma, lam):
    d = 100
    lam = cf.ridge_optimal_lambda(gamma, 0.5, 1.0) if lam is None else lam
    est = mc.mc_ridge_risk(d, int(d / gamma), lam, 0.5, 1.0, 300, np.random.default_rng(5))
    # A limit (d → ∞) checked at d = 100: its O(1/d) finite-size bias is below the SE here.
    assert est.z(cf.ridge_risk_asymptotic(gamma, lam, 0.5, 1.0)) < Z


def test_ridge_optimum_is_the_bayes_risk():
    for gamma in (0.3, 1.0, 3.0):
        ls = cf.ridge_optimal_lambda(gamma, 0.5, 2.0)
        best = cf.ridge_risk_asymptotic(gamma, ls, 0.5, 2.0)
        assert np.isclose(best, 0.5 * gamma * cf.mp_stieltjes(gamma, ls))
        assert best < min(cf.ridge_risk_asymptotic(gamma, ls * f, 0.5, 2.0) for f in (0.8, 1.25))
