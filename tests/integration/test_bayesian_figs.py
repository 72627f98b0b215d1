"""The Bayesian-lens figures are made end to end at smoke scale and hold what they promise."""

import pytest

from tests.figure_scripts import make_smoke


def test_fig10_task_diversity_uses_the_sweep_runner(tmp_path):
    results = make_smoke("fig10_task_diversity", tmp_path).results
    assert [row["pool_size"] for row in results["rows"]] == [1, 64]
    sweep = tmp_path / "runs" / "sweeps" / "task_diversity-smoke"
    assert (sweep / "sweep.json").is_file() and (sweep / "report.csv").is_file()
    one = results["rows"][0]  # with one pool task, dMMSE knows w on pool prompts: far better than on fresh ones
    assert one["error_pool_dmmse"] < one["error_fresh_dmmse"]
    assert all(row[f"delta_fresh_{b}"] >= 0 for row in results["rows"] for b in ("dmmse", "ridge"))


def test_fig11_bayesian_prism(tmp_path):
    results = make_smoke("fig11_bayesian_prism", tmp_path).results
    weights = results["gmm"]["true_component_weight"]
    assert weights["mean"][0] == pytest.approx(0.5) and weights["mean"][-1] > 0.9
    assert all(0 <= lo <= hi <= 1 + 1e-9 for lo, hi in zip(weights["q10"], weights["q90"]))
    assert abs(sum(results["fourier"]["posterior_over_K"][0]) - 1) < 1e-4
    assert set(results["gmm"]["spd_to_model"]) >= {"mixture PME (Bayes)", "least squares"}
    assert {"model", "bayes"} <= set(results["fourier"]["curves"])
    bayes_spectrum = results["fourier"]["spectrum"]["Bayes"][0]  # energy shares up to K_max + 2
    assert 0.9 < sum(bayes_spectrum) <= 1 + 1e-4 and bayes_spectrum[-1] < 1e-6  # PME has no energy past K_max


def test_fig12_data_mixtures(tmp_path):
    results = make_smoke("fig12_data_mixtures", tmp_path).results
    groups = results["families"] + ["mixture"]
    assert set(results["mean_error"]) == set(groups) and results["specialists"]["linear"] == ["dense_bayes"]
    for group in groups:
        assert results["specialists"][group] and set(results["specialists"][group]) <= set(results["mean_error"][group])
    # ridge is the Bayes predictor of dense linear prompts: no other linear learner beats it by much
    linear = results["mean_error"]["linear"]
    assert linear["dense_bayes"] <= linear["posterior over linear families"] + 0.05


def test_fig13_which_algorithm(tmp_path):
    results = make_smoke("fig13_which_algorithm", tmp_path).results
    d, n = results["d"], len(results["closest"]["k"])
    assert set(results["families"]) == {"least_squares", "ridge", "gd", "bayes"}
    assert all(len(curve) == n for curve in results["families"].values())
    # the closest candidate overall is at least as close as each family's tuned best
    for k in range(1, n):
        assert results["closest"]["spd"][k] <= min(c[k] for c in results["families"].values()) + 1e-9
    assert 2 * d in results["ilwd_positions"] and results["gd_name"] in results["ilwd"]


def test_fig16_probes_by_layer_with_controls(tmp_path):
    """Both encodings are trained and probed at every layer with every probe kind; the random control
    fails and the planted linear readout succeeds even on smoke-scale models."""
    results = make_smoke("fig16_which_algorithm_probes", tmp_path).results
    assert set(results["encodings"]) == {"compact", "interleaved"}
    for enc in results["encodings"].values():
        assert list(enc["r2"]) == [f"L{i}" for i in range(enc["n_layer"] + 1)]
        for layer in enc["r2"].values():
            assert set(layer) == {"position", "query", "pooled", "pooled_mlp"}
            assert all(layer[kind]["random"] < 0.05 for kind in layer)
            assert all(layer[kind]["planted"] > 0.9 for kind in ("position", "query", "pooled"))
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == ["which_algorithm_probes-smoke", "which_algorithm_probes-smoke-interleaved"]


def test_fig14_uncertainty(tmp_path):
    results = make_smoke("fig14_uncertainty", tmp_path).results
    bayes = results["in_distribution"]["Bayes"]  # exact Bayes predictive: calibrated whatever the model
    assert 0.75 < bayes["coverage_90"] < 1.0 and 0.5 < bayes["mean_z2"] < 1.6
    shifted = results["task_shift"]["Bayes"]  # twice the prior std: the training-prior predictive is overconfident
    assert shifted["mean_z2"] > bayes["mean_z2"]
    assert sum(results["in_distribution"]["model"]["bins"]["count"]) > 0


def test_fig15_depth_sweep_trains_one_model_per_depth(tmp_path):
    results = make_smoke("fig15_which_algorithm_depth", tmp_path).results
    assert results["depths"] == [1, 2, 8]
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["which_algorithm-smoke-L1", "which_algorithm-smoke-L2", "which_algorithm-smoke-L8"]
    for depth, families in results["per_depth"].items():
        assert set(families) == {"gd", "ridge", "least_squares", "bayes"}, depth
        assert all(s >= 0 for spds in families.values() for s in spds), depth
