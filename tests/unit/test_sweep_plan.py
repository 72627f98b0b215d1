"""Sweep plans: grid parsing, run names, seeds, and bad grids failing before anything is written."""

import sys

import pytest
from typer.testing import CliRunner

from icl_lab.cli.sweep import sweep_app
from icl_lab.core.errors import ConfigError
from icl_lab.sweep import build_plan, parse_grid, parse_seeds, run_name
from icl_lab.sweep.plan import MAX_NAME_LENGTH, config_hash, sanitize, split_values
from tests.conftest import EXPERIMENT, TINY

runner = CliRunner()


def tiny_without(*keys):
    """TINY minus the keys a test sweeps (a key may not be both --set and --grid)."""
    return [o for o in TINY if o.split("=", 1)[0] not in keys]


def test_grid_times_seeds_gives_named_validated_runs():
    plan = build_plan(EXPERIMENT, "quick", tiny_without("model.n_layer"),
                      ["train.lr=0.001,3e-3", "model.n_layer=1,2"], seeds=2)
    assert [r.name for r in plan.runs][:3] == [
        "train.lr=0.001__model.n_layer=1__seed=0", "train.lr=0.001__model.n_layer=1__seed=1",
        "train.lr=0.001__model.n_layer=2__seed=0"]
    assert len(plan.runs) == 8 and len({r.config_hash for r in plan.runs}) == 8
    first = plan.runs[0].config
    assert (first.train.lr, first.model.n_layer, first.train.seed) == (0.001, 1, 0)
    assert plan.runs[-1].config.train.lr == 0.003  # "3e-3" parsed as TOML, checked as a float
    assert {r.config.eval.seed for r in plan.runs} == {first.eval.seed}  # same held-out prompts for every seed
    assert plan.default_dir().as_posix() == "runs/sweeps/linear_regression-quick"
    manifest = plan.manifest()
    assert manifest["grid"] == {"train.lr": ["0.001", "3e-3"], "model.n_layer": ["1", "2"]}
    assert manifest["seeds"] == [0, 1]
    assert manifest["runs"][-1]["params"] == {"train.lr": 0.003, "model.n_layer": 2}
    assert manifest["runs"][0]["config_hash"] == config_hash(first)


def test_vary_eval_seed_and_explicit_seeds():
    plan = build_plan(EXPERIMENT, "quick", TINY, [], seeds="3,7", vary_eval_seed=True)
    assert [r.name for r in plan.runs] == ["seed=3", "seed=7"]
    base = plan.base.eval.seed
    assert [r.config.eval.seed for r in plan.runs] == [base + 3, base + 7]


@pytest.mark.parametrize("text, seeds", [("1", (0,)), ("3", (0, 1, 2)), ("0,5,9", (0, 5, 9)), ("5,", (5,))])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["0", "-2", "x", "1,1", "-1,2"])
def test_bad_seeds(text):
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds(text)


def test_values_split_on_top_level_commas_only():
    assert split_values('1, 2 ,3') == ["1", "2", "3"]
    assert split_values('["ridge","knn"],["ridge"]') == ['["ridge","knn"]', '["ridge"]']
    assert split_values('"a,b",c') == ['"a,b"', "c"]
    assert parse_grid("eval.baselines=[\"ridge\",\"knn\"],[\"knn\"]").values == ('["ridge","knn"]', '["knn"]')


def test_names_are_file_system_safe():
    assert run_name((("eval.baselines", '["ridge","knn"]'),), 0) == "eval.baselines=-ridge-knn-__seed=0"
    assert run_name((("task.x_distribution", "a/b c"),), 1) == "task.x_distribution=a-b-c__seed=1"
    long = sanitize("task.name=" + "x" * 400)
    assert len(long) == MAX_NAME_LENGTH and long != sanitize("task.name=" + "x" * 401)


def one_error_line(res):
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


def sweep(tmp_path, *args, overrides=TINY):
    sets = [part for o in overrides for part in ("--set", o)]
    return runner.invoke(sweep_app, ["sweep", str(EXPERIMENT), *sets, *map(str, args), "--out", str(tmp_path / "sw")])


@pytest.mark.parametrize("args, fragment", [
    (["--grid", "task.colour=1,2"], "unknown key task.colour"),
    (["--grid", "train.lr="], "empty value list"),
    (["--grid", "train.lr=0.1,,0.2"], "empty value"),
    (["--grid", "train.lr=0.1,0.1"], "repeated value"),
    (["--grid", "train.warmup_steps=5,five"], "invalid train.warmup_steps='five': expected an integer"),
    (["--grid", "train.warmup_steps=5,2.5"], "expected an integer"),
    (["--grid", "model.n_head=2,3"], "model.n_head"),  # 3 does not divide n_embd=16
    (["--grid", "tsk.d=1,2"], "unknown key 'tsk'"),
    (["--grid", "train.lr"], "expected key=v1,v2"),
    (["--grid", "task.d=3,4"], "in both --set and --grid"),
    (["--grid", "train.lr=0.1", "--grid", "train.lr=0.2"], "given twice"),
    (["--grid", "train.seed=1,2"], "set by --seeds"),
    (["--grid", "train.lr=0.001,1e-3"], "same config"),
    (["--seeds", "0"], "--seeds"),
    (["--executor", "slurm"], "--executor"),
    (["--address", "auto"], "--address needs --executor ray"),
    (["--gpus-per-run", "1"], "--gpus-per-run needs --executor ray"),
    (["--workers", "0"], "--workers"),
    (["--retries", "-1"], "--retries"),
])
def test_bad_grid_fails_before_any_run_starts(tmp_path, args, fragment):
    assert fragment in one_error_line(sweep(tmp_path, *args))
    assert not (tmp_path / "sw").exists()


def test_missing_ray_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    line = one_error_line(sweep(tmp_path, "--grid", "train.lr=0.1,0.2", "--executor", "ray"))
    assert 'pip install -e ".[ray]"' in line
    assert not (tmp_path / "sw").exists()


def test_dry_run_lists_runs_and_writes_nothing(tmp_path):
    res = sweep(tmp_path, "--grid", "train.lr=0.1,0.2", "--seeds", "2", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "4 runs" in res.stdout and "train.lr=0.2__seed=1" in res.stdout
    assert not (tmp_path / "sw").exists()
