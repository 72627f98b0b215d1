"""The bandit suite end to end at smoke scale: CLI, resumption, bad input, figure scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl_lab.cli import app
from tests.figure_scripts import load_figure_script

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


@pytest.mark.parametrize("stem", ["fig60_dpt_gaussian_bandit", "fig61_dpt_linear_bandit", "fig62_ad_linucb",
                                  "fig63_bernoulli_bayes_optimal"])
def test_figure_script_smoke(tmp_path, stem):
    module = load_figure_script(stem)
    written = module.main("smoke", tmp_path / stem)
    assert sorted(Path(p).suffix for p in written) == [".pdf", ".png"]
    assert all(Path(p).stat().st_size > 5000 for p in written)
    with pytest.raises(ValueError, match="invalid preset"):
        module.main("huge", tmp_path / "x")
