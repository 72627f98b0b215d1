"""The command line: JSON interfaces, and one clear line plus a non-zero exit on bad input."""

import json

import pytest
from typer.testing import CliRunner

from icl_lab.cli import app
from tests.conftest import EXPERIMENT, TINY

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def sets(overrides):
    return [part for o in overrides for part in ("--set", o)]


def test_baselines_json_shape():
    res = invoke("baselines", EXPERIMENT, *sets(["task.d=4", "task.n_points=9"]), "--prompts", 64, "--json")
    assert res.exit_code == 0, res.output
    curves = json.loads(res.stdout)
    for name in ("least_squares", "ridge", "bayes", "averaging", "knn", "lasso", "gd", "zero"):
        assert len(curves[name]) == 9
    assert curves["least_squares"][6] < 1e-6  # k = 6 > d = 4: exact interpolation
    assert curves["bayes"][0] == pytest.approx(curves["zero"][0])  # empty prompt predicts 0


def test_run_then_eval_json(tmp_path):
    out = tmp_path / "run"
    res = invoke("run", EXPERIMENT, *sets(TINY), "--out", out)
    assert res.exit_code == 0, res.output
    assert (out / "figure.png").stat().st_size > 0 and (out / "figure.pdf").stat().st_size > 0
    res = invoke("eval", out, "--json")
    assert res.exit_code == 0, res.output
    curves = json.loads(res.stdout)
    assert set(curves) == {"model", "least_squares", "ridge", "averaging", "knn"}
    assert all(len(v) == 7 for v in curves.values())


def one_error_line(res):
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


@pytest.mark.parametrize("override, fragment", [
    ("task.name=no_such_task", "task.name"),
    ("task.d=0", "task.d=0"),
    ("task.d=-3", "task.d=-3"),
    ("task.n_points=60", "max_points"),
    ("task.colour=3", "unknown key task.colour"),
])
def test_bad_config_gives_one_line(tmp_path, override, fragment):
    res = invoke("run", EXPERIMENT, *sets(TINY + [override]), "--out", tmp_path / "r")
    assert fragment in one_error_line(res)
    assert not (tmp_path / "r").exists()  # nothing written for a config that never validated


def test_missing_experiment_and_figure():
    assert "not found" in one_error_line(invoke("run", "no/such.toml"))
    assert "unknown figure" in one_error_line(invoke("figs", "fig99_nothing"))


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_checkpoint_is_reported_and_nothing_is_damaged(tmp_path, damage):
    out = tmp_path / "run"
    assert invoke("run", EXPERIMENT, *sets(TINY), "--out", out).exit_code == 0
    ckpt = out / "checkpoint.pt"
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a checkpoint" * 10)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    line = one_error_line(invoke("eval", out))
    assert "corrupt or truncated" in line
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert before == after


def test_finished_run_refused_without_force(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", EXPERIMENT, *sets(TINY), "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert "--force" in one_error_line(invoke("run", EXPERIMENT, *sets(TINY), "--out", out))
    assert before == {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert invoke("run", EXPERIMENT, *sets(TINY), "--out", out, "--force").exit_code == 0


def test_tasks_and_figs_listing():
    res = invoke("tasks")
    assert res.exit_code == 0 and "sparse_linear_regression" in res.stdout
    res = invoke("figs")
    assert res.exit_code == 0 and "fig01" in res.stdout


def test_baselines_with_a_task_pool_include_dmmse_and_bayes_is_ridge_without():
    common = ["task.d=3", "task.n_points=8", "task.noise_std=0.5", "task.prior_std=2.0"]
    res = invoke("baselines", EXPERIMENT, *sets(common + ["task.pool_size=16"]), "--prompts", 64, "--json")
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["dmmse"]) == 8
    # Gaussian prior: the Bayes posterior mean is ridge with λ = σ²/τ² = 0.25 / 4.
    res = invoke("baselines", EXPERIMENT, *sets(common + ["task.pool_size=0", "eval.ridge_lam=0.0625"]),
                 "--prompts", 64, "--json")
    curves = json.loads(res.stdout)
    assert "dmmse" not in curves
    assert curves["bayes"] == pytest.approx(curves["ridge"], abs=1e-6)
