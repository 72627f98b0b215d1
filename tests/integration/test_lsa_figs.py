"""The LSA / theory figures are made end to end at smoke scale (compute, claims, draw)."""

import pytest

from paper_figs import gallery
from tests.figure_scripts import make_smoke


@pytest.mark.parametrize("stem", ["fig42_lsa_gamma", "fig43_lsa_covariate_shift", "fig44_lsa_vs_gd"])
def test_lsa_figure_smoke(tmp_path, stem):
    r = make_smoke(stem, tmp_path).results
    assert r["d"] == 5 and r["n_context"] == 20
    if stem == "fig44_lsa_vs_gd":
        assert abs(r["eta_star"] - 20 / (20 + 5 + 1)) < 1e-4  # η* = N/(N + d + 1) for Λ = I
        h = r["history"]
        assert len(h["step"]) == len(h["pred_diff"]) == len(h["sensitivity_cos"]) >= 2
        assert all(-1 - 1e-6 <= c <= 1 + 1e-6 for c in h["sensitivity_cos"])
        return
    block = r["risk"] if stem == "fig42_lsa_gamma" else r["shift"]
    assert block["M"] == [5, 20, 80] and len(block["mean"]) == len(block["se"]) == 3
    assert all(s > 0 for s in block["se"])
    if stem == "fig42_lsa_gamma":  # the risk of Γ⁻¹ is the best linear-in-context risk: falls with M
        f = block["formula_gamma"]
        assert f[0] > f[1] > f[2] > 0
        assert r["history"]["step"][0] == 0
    else:  # least squares is exact once M ≥ d; the shifted LSA's limit is positive
        assert block["least_squares"][-1] < 1e-6 and block["limit"] > 0
        assert r["var_y_shift"] == pytest.approx(5.0)


def test_lsa_runs_are_shared_between_figures(tmp_path):
    """fig42-44 read one run, the experiment's own (`icl-lab run lsa_theory` and the notebook make the same)."""
    runs = tmp_path / "runs"
    gallery.make("fig42_lsa_gamma", "smoke", runs)
    results = runs / "lsa_theory-smoke" / "results.json"
    assert sorted(p.name for p in runs.iterdir()) == ["lsa_theory-smoke"] and results.is_file()
    before = results.stat().st_mtime_ns
    for stem in ("fig43_lsa_covariate_shift", "fig44_lsa_vs_gd"):  # both reuse the finished run
        gallery.make(stem, "smoke", runs)
    assert results.stat().st_mtime_ns == before
    assert sorted(p.name for p in runs.iterdir()) == ["lsa_theory-smoke"]


def test_theory_figure_smoke(tmp_path):
    r = make_smoke("fig45_theory_closed_forms", tmp_path).results
    assert [row["n"] for row in r["least_squares"]] == [2, 6, 10, 14, 17, 23, 26, 30, 40, 60, 80]
    assert len(r["ridge"]) == 10 and all(row["se"] > 0 for row in r["least_squares"] + r["ridge"])
    assert not (tmp_path / "runs").exists()  # no training, nothing under runs
