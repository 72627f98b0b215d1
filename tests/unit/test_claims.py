"""Claims can fail: each kind is fed results that violate it, and the verdict rules are exact."""

import math

import pytest

from icl_lab.figures.claims import (
    FAIL,
    NOT_AT_SCALE,
    PASS,
    AtLeast,
    AtMost,
    ClaimCheck,
    Within,
    check_claims,
    overall_verdict,
)

VALUE = lambda r: r["x"]  # noqa: E731

KINDS = [  # (claim, a value that satisfies it, a value that violates it)
    (AtMost("x ≤ 0.05", VALUE, bound=0.05), 0.05, 0.0501),
    (AtLeast("x ≥ 0.9", VALUE, bound=0.9), 0.9, 0.8999),
    (Within("|x - 1| ≤ 0.1", VALUE, target=1.0, tol=0.1), 1.1, 1.1001),
    (Within("|x| ≤ 0.03", VALUE, target=0.0, tol=0.03), -0.03, -0.031),
]


@pytest.mark.parametrize(("claim", "good", "bad"), KINDS)
def test_each_kind_passes_and_fails(claim, good, bad):
    assert claim.check({"x": good}, "quick").verdict == PASS
    failed = claim.check({"x": bad}, "quick")
    assert failed.verdict == FAIL and failed.lab_value == bad
    assert "needs" in failed.reason  # the reason shows the threshold beside the lab's number


@pytest.mark.parametrize(("claim", "good", "bad"), KINDS)
def test_a_failure_below_the_claims_scale_is_not_a_pass(claim, good, bad):
    small = claim.__class__(**{**claim.__dict__, "shows_at": ("paper",), "scale_note": "needs 500k steps"})
    check = small.check({"x": bad}, "quick")
    assert check.verdict == NOT_AT_SCALE and "needs 500k steps" in check.reason
    assert small.check({"x": bad}, "paper").verdict == FAIL  # at the claimed scale it is a plain FAIL
    assert small.check({"x": good}, "quick").verdict == PASS


@pytest.mark.parametrize("results", [{}, {"x": float("nan")}, {"x": math.inf}, {"x": "n/a"}, {"x": None}])
def test_a_value_that_cannot_be_computed_fails(results):
    check = AtMost("x ≤ 1", VALUE, bound=1.0).check(results, "quick")
    assert check.verdict == FAIL and check.reason


def test_overall_verdict_is_the_worst():
    checks = [ClaimCheck("a", 1.0, "", PASS), ClaimCheck("b", 1.0, "", NOT_AT_SCALE)]
    assert overall_verdict(checks) == NOT_AT_SCALE
    assert overall_verdict([*checks, ClaimCheck("c", 2.0, "", FAIL)]) == FAIL
    assert overall_verdict(checks[:1]) == PASS
    with pytest.raises(ValueError):
        check_claims((), {}, "quick")


def test_a_figures_claim_fails_on_results_that_violate_it():
    """fig01's headline (error at k = 2d ≤ 0.05) on curves where the transformer stalls at 0.5."""
    from paper_figs import fig01_garg_linear_regression as fig

    d = 4
    flat = {"mean": [0.5] * (2 * d + 1)}
    ls = {"mean": [1.0 - k / d if k < d else 0.0 for k in range(2 * d + 1)]}
    checks = check_claims(fig.CLAIMS, {"d": d, "curves": {"model": flat, "least_squares": ls}}, "quick")
    assert [c.verdict for c in checks][:2] == [FAIL, FAIL]
    good = {"d": d, "curves": {"model": ls, "least_squares": ls}}
    assert overall_verdict(check_claims(fig.CLAIMS, good, "quick")) == PASS
