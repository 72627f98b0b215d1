"""The looped-transformer figures are made end to end at smoke scale (compute, claims, draw)."""

import pytest

from tests.figure_scripts import make_smoke


@pytest.mark.parametrize("stem", ["fig40_looped_linear_regression", "fig41_looped_sparse_linear_regression"])
def test_looped_figure_smoke(tmp_path, stem):
    r = make_smoke(stem, tmp_path).results
    b, n = r["b"], r["n_points"]
    assert set(r["curves"]) >= {"looped", "looped_10b", "standard", "least_squares"}
    assert all(len(c["mean"]) == n for c in r["curves"].values())
    it = r["iterations"]
    assert it["t"][0] == 1 and it["t"][-1] == 20 * b and b in it["t"] and 10 * b in it["t"]  # far past the trained b
    assert all(len(curve) == len(it["t"]) for curve in [it["mean_k"], *it["at_k"].values()])
    fp = r["fixed_point"]
    assert fp["max_after_b"] >= max(fp["at_b"], fp["at_10b"], fp["at_20b"])  # the maximum over [b, 20b]
    assert fp["at_b"] == it["mean_k"][it["t"].index(b)]
    assert r["params_looped"] < r["params_standard"]
    # the looped model at b iterations is the run's own evaluation: its k = 0 error is finite and positive
    assert r["curves"]["looped"]["mean"][0] > 0


def test_looped_runs_are_shared(tmp_path):
    """fig40's standard model is the linear-regression run of fig01; fig41 trains its own standard run."""
    make_smoke("fig40_looped_linear_regression", tmp_path)
    make_smoke("fig41_looped_sparse_linear_regression", tmp_path)
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == ["linear_regression-smoke", "looped_linear_regression-smoke",
                     "looped_sparse_linear_regression-smoke", "sparse_linear_regression_standard-smoke"]


def test_fixed_point_figure_smoke(tmp_path):
    """fig46: every seed of both models runs to 20b; seed 0 of the looped model is fig40's run."""
    r = make_smoke("fig46_looped_fixed_point", tmp_path).results
    assert set(r["models"]) == {"looped", "algoformer"}
    for entry in r["models"].values():
        assert len(entry["seeds"]) >= 1
        for run in entry["seeds"].values():
            assert all(len(c) == len(r["t"]) for c in run["curves"].values())
            # at_multiple["1"] is the error at the trained b, the same number as the curve at t = b
            i = r["t"].index(entry["b"])
            assert all(run["at_multiple"][c]["1"] == run["curves"][c][i] for c in run["curves"])
    algo, looped = r["models"]["algoformer"]["seeds"]["0"], r["models"]["looped"]["seeds"]["0"]
    assert algo["params"] > looped["params"]  # AlgoFormer adds a pre and a post block
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert "looped_linear_regression-smoke" in names and "looped_linear_regression-smoke-seed1" in names
