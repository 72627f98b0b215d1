"""The Bayesian-lens figure scripts run end to end at smoke scale and write what they promise."""

import json
from pathlib import Path

import pytest

from tests.figure_scripts import load_figure_script as load


def run(tmp_path, stem):
    written = load(stem).main("smoke", tmp_path / stem)
    assert all(Path(p).stat().st_size > 0 for p in written) and any(str(p).endswith(".png") for p in written)
    return json.loads(next(p for p in written if str(p).endswith(".json")).read_text())


def test_fig10_task_diversity_uses_the_sweep_runner(tmp_path):
    summary = run(tmp_path, "fig10_task_diversity")
    assert [row["pool_size"] for row in summary["rows"]] == [1, 64]
    sweep = Path(summary["sweep_dir"])
    assert (sweep / "sweep.json").is_file() and (sweep / "report.csv").is_file()
    one = summary["rows"][0]  # with one pool task, dMMSE knows w on pool prompts: far better than on fresh ones
    assert one["error_pool_dmmse"] < one["error_fresh_dmmse"]


def test_fig11_bayesian_prism(tmp_path):
    summary = run(tmp_path, "fig11_bayesian_prism")
    weights = summary["gmm"]["true_component_weight"]
    assert weights[0] == pytest.approx(0.5) and weights[-1] > 0.9
    assert abs(sum(summary["fourier"]["posterior_over_K"][0]) - 1) < 1e-9
    assert set(summary["gmm"]["spd_to_model"]) >= {"mixture PME (Bayes)", "least squares"}
    bayes_spectrum = summary["fourier"]["spectrum"]["Bayes"][0]  # energy shares up to K_max + 2
    assert 0.9 < sum(bayes_spectrum) <= 1 + 1e-9 and bayes_spectrum[-1] < 1e-6  # PME has no energy past K_max


@pytest.mark.parametrize("stem", ["fig12_data_mixtures", "fig13_which_algorithm", "fig14_uncertainty"])
def test_bayesian_lens_figure_smoke(tmp_path, stem):
    run(tmp_path, stem)


def test_fig15_depth_sweep_trains_one_model_per_depth(tmp_path):
    summary = run(tmp_path, "fig15_which_algorithm_depth")
    assert summary["depths"] == [1, 2]
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["which_algorithm-smoke-L1", "which_algorithm-smoke-L2"]  # distinct runs, not one reused
    for fam, spds in summary["median_spd"].items():
        assert len(spds) == 2 and all(s >= 0 for s in spds), fam
