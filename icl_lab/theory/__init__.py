"""Closed-form theory of in-context linear regression, each result written three ways.

* :mod:`~icl_lab.theory.closed_forms` — numeric (numpy): the converged linear-self-attention
  predictor Γ⁻¹ and its risk against test length and under covariate shift (Zhang, Frei &
  Bartlett 2024), the one-step-GD rate η*, least squares (n > d + 1) and minimum-norm least
  squares (n < d − 1) excess risks, ridge risk given the design and in the proportional limit.
* :mod:`~icl_lab.theory.symbolic` — the same expressions in sympy, with derivations
  (Γ⁻¹ and η* obtained by minimising the expected loss, not assumed).
* :mod:`~icl_lab.theory.monte_carlo` — simulation estimates with standard errors.
* :mod:`~icl_lab.theory.gd_construction` — hand-set LSA weights that run GD in context.
"""

from icl_lab.theory.closed_forms import (
    gamma_matrix,
    gd_optimal_lr,
    ls_excess_risk,
    lsa_predictor,
    lsa_risk,
    lsa_trained_risk,
    min_norm_excess_risk,
    ridge_risk_asymptotic,
    ridge_risk_given_gram,
)

__all__ = [
    "gamma_matrix",
    "gd_optimal_lr",
    "ls_excess_risk",
    "lsa_predictor",
    "lsa_risk",
    "lsa_trained_risk",
    "min_norm_excess_risk",
    "ridge_risk_asymptotic",
    "ridge_risk_given_gram",
]
