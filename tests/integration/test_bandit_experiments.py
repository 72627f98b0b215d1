"""The bandit suite end to end at smoke scale: CLI, resumption, bad input, figure scripts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from icl_lab.cli import app
from paper_figs.gallery import load_figure
from tests.figure_scripts import make_smoke

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["bandits", *[str(a) for a in args]])


def invoke_run(*args, experiment="bandits"):
    """``icl-lab run experiments/bandits.toml ARGS``: bandit experiments run through the one run command."""
    return runner.invoke(app, ["run", experiment, *[str(a) for a in args]])


def sets(overrides):
    return [part for o in overrides for part in ("--set", o)]


def one_error_line(res):
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


SMOKE = ["settings.dpt_gaussian.offline_sizes=[0, 4]"]  # on top of the file's smoke preset


def test_cli_run_writes_results_resumes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "b"
    res = invoke_run("--preset", "smoke", *sets(SMOKE), "--out", out)
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    online = results["settings"]["dpt_gaussian"]["online"]
    assert {"dpt", "dpt_greedy", "thompson", "ucb:1", "uniform"} <= set(online)
    assert all(len(s["mean"]) == 8 and s["final_se"] > 0 for s in online.values())
    assert "| dpt_gaussian | 8 | " in res.stdout and (out / "table.md").is_file()
    assert (out / "dpt_gaussian" / "data" / "manifest.json").is_file()
    assert (out / "dpt_gaussian" / "run" / "checkpoint.pt").is_file()
    assert json.loads((out / "dpt_gaussian" / "run" / "status.json").read_text())["step"] == 15  # smoke size
    offline = results["settings"]["dpt_gaussian"]["offline"]
    assert set(offline) == {"empirical_mean", "lcb", "posterior_mean", "model_greedy"}
    # n = 0: no data, every chooser picks arm 0 (lowest index) except the model
    assert offline["lcb"]["mean"][0] == offline["empirical_mean"]["mean"][0]
    assert "already holds a finished run" in one_error_line(invoke_run("--preset", "smoke", *sets(SMOKE), "--out", out))
    again = invoke_run("--preset", "smoke", *sets(SMOKE), "--out", out, "--resume")
    assert again.exit_code == 0 and again.stdout.splitlines()[:-1] == res.stdout.splitlines()[:-1]


@pytest.mark.parametrize("override, fragment", [
    ("settings.dpt_gaussian.env.n_arms=1", "env.n_arms=1"),
    ("settings.dpt_gaussian.env.colour=3", "unknown key settings.dpt_gaussian.env.colour"),
    ("settings.dpt_gaussian.learners=[\"ucb9\"]", "unknown bandit policy 'ucb9'"),
    ("run=nothing", "invalid run"),
    ("model.n_head=3", "n_head"),
    ("settings.dpt_gaussian.offline_sizes=[0, 99]", "offline_sizes"),
    ("train.steps=0", "train.steps"),
])
def test_bad_config_gives_one_line_and_writes_nothing(tmp_path, override, fragment):
    res = invoke_run("--preset", "smoke", *sets(SMOKE + [override]), "--out", tmp_path / "r")
    assert fragment in one_error_line(res)
    assert not (tmp_path / "r").exists()


def test_unknown_preset_and_missing_file():
    assert "unknown preset" in one_error_line(invoke_run("--preset", "huge"))
    assert "not found" in one_error_line(invoke_run(experiment="no/such.toml"))


def test_bayes_optimal_command_prints_the_state_count():
    res = invoke("bayes-optimal", "--arms", "2", "--horizon", "10")
    assert res.exit_code == 0 and "states=1001" in res.stdout  # C(14, 4)
    assert "count states" in one_error_line(invoke("bayes-optimal", "--arms", "6", "--horizon", "300"))


HORIZON = 8  # every setting at the smoke preset


@pytest.mark.parametrize("stem", ["fig60_dpt_gaussian_bandit", "fig61_dpt_linear_bandit", "fig62_ad_linucb"])
def test_model_figure_smoke(tmp_path, stem):
    results = make_smoke(stem, tmp_path).results
    online = results["online"]
    method = results["method"]
    assert {method, f"{method}_greedy"} <= set(online) and results["n_eval_tasks"] == 40
    assert all(len(s["mean"]) == len(s["se"]) == HORIZON for s in online.values())
    # cumulative pseudo-regret never decreases, and its last value is the one the claims read
    assert all(s["final_mean"] == s["mean"][-1] and s["mean"] == sorted(s["mean"]) for s in online.values())
    module = load_figure(stem)
    assert (tmp_path / "runs" / "bandits-smoke" / module.SETTING / "run" / "checkpoint.pt").is_file()
    assert bool(results["offline"]) == (module.SETTING == "dpt_gaussian")  # offline regret: K-armed only
    if stem.startswith("fig62"):
        assert 0 <= results["imitation_accuracy"] <= 1
    with pytest.raises(ValueError, match="invalid preset"):
        module.compute("huge", tmp_path / "x")


def test_bernoulli_figure_smoke_and_shared_runs(tmp_path):
    panels = make_smoke("fig63_bernoulli_bayes_optimal", tmp_path).results["panels"]
    assert set(panels) == {"bernoulli_k2", "bernoulli_k3", "dpt_bernoulli"}
    for panel in panels.values():
        k, h = panel["env"]["n_arms"], panel["env"]["horizon"]
        # the uniform policy's Bayes regret under Beta(1, 1) is H (K/(K+1) − 1/2); the DP's is lower
        assert 0 < panel["bayes_optimal"]["exact_bayes_regret"] < h * (k / (k + 1) - 0.5)
        assert len(panel["online"]["bayes_optimal"]["mean"]) == h == HORIZON
    # dpt_bernoulli lives in the same runs folder as the other bandit figures and `icl-lab run bandits`
    assert sorted(p.name for p in (tmp_path / "runs" / "bandits-smoke").iterdir()) == sorted(panels)


def test_posterior_distance_figure_smoke(tmp_path):
    panels = make_smoke("fig64_posterior_distance", tmp_path).results["panels"]
    gauss = panels["dpt_gaussian"]["posterior"]
    assert set(gauss["tv"]) == {"dpt", "thompson"} and gauss["t"] == list(range(HORIZON))  # prefixes 0..H-1, those acted from
    for panel in panels.values():
        for curve in panel["posterior"]["tv"].values():
            assert all(0 <= m <= 1 for m in curve["mean"])
        # with no data every policy that is symmetric in the arms is uniform, as is the posterior
        ce = panel["posterior"]["cross_entropy"]
        assert ce["posterior"]["mean"][0] == pytest.approx(np.log(panel["env"]["n_arms"]), rel=1e-4)  # 5 digits kept
    assert gauss["tv"]["thompson"]["mean"][0] == pytest.approx(0.0, abs=1e-6)
    # the exact posterior is the lowest cross-entropy any predictor can reach, up to noise over 16 contexts
    assert np.mean(gauss["cross_entropy"]["posterior"]["mean"]) <= np.mean(gauss["cross_entropy"]["dpt"]["mean"])


def test_distribution_ratio_and_noise_shift_figures_smoke(tmp_path):
    panels = make_smoke("fig65_distribution_ratio", tmp_path).results["panels"]
    assert {"ad", "ad_greedy", "beta_ts", "uniform"} <= set(panels["ad_bernoulli_mix50"]["online"])
    shift = make_smoke("fig66_dpt_noise_shift", tmp_path).results["noise_shift"]
    assert sorted(shift, key=float) == ["0.1", "0.5"]  # the smoke preset's test noise levels
    assert {"dpt", "thompson"} <= set(shift["0.5"])
    # louder rewards make every learner's problem harder: uniform's regret does not depend on noise
    assert shift["0.1"]["uniform"]["final_mean"] == pytest.approx(shift["0.5"]["uniform"]["final_mean"], rel=0.3)
