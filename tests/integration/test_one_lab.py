"""The one-lab contract: every experiment file runs through `icl-lab run FILE --preset smoke`,
`icl-lab sweep` runs any pipeline, and a task family registered from outside the package runs
end to end with a baseline."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from icl_lab.cli import app
from icl_lab.core.config_files import bundled_experiments
from icl_lab.tasks import TASKS, Batch, register

runner = CliRunner()
EXPERIMENTS = bundled_experiments()


def test_every_bundled_experiment_is_found():
    assert len(EXPERIMENTS) >= 14 and {p.stem for p in EXPERIMENTS} >= {
        "linear_regression", "boolean", "bandits", "chain_of_thought", "length_generalization", "lsa_theory"}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_experiment_file_runs_with_the_smoke_preset(path, tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", str(path), "--preset", "smoke", "--out", str(out)])
    assert res.exit_code == 0, res.output
    # one run-directory shape for every kind
    for name in ("config.json", "command.txt", "version.json", "status.json", "results.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    for written in [*out.rglob("*.json"), *out.rglob("*.jsonl")]:  # strict JSON: no NaN / Infinity
        for line in (written.read_text().splitlines() if written.suffix == ".jsonl" else [written.read_text()]):
            json.loads(line, parse_constant=lambda c: pytest.fail(f"{written}: non-standard JSON {c}"))
    again = runner.invoke(app, ["run", str(path), "--preset", "smoke", "--out", str(out)])
    assert again.exit_code == 2 and "already holds a finished run" in again.output


@pytest.mark.parametrize("experiment, seed_key", [("linear_regression", "train.seed"), ("bandits", "train.seed"),
                                                 ("chain_of_thought", "seeds")])
def test_sweep_runs_any_pipeline(experiment, seed_key, tmp_path):
    out = tmp_path / "sweep"
    res = runner.invoke(app, ["sweep", experiment, "--preset", "smoke", "--seeds", "2", "--workers", "1",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "sweep.json").read_text())
    assert [r["seed"] for r in manifest["runs"]] == [0, 1]
    for entry in manifest["runs"]:
        run = out / entry["name"]
        assert json.loads((run / "status.json").read_text())["state"] == "finished"
        assert f"{seed_key}={entry['seed']}" in entry["overrides"]
    configs = [json.loads((out / r["name"] / "config.json").read_text()) for r in manifest["runs"]]
    assert configs[0] != configs[1]  # the seeds reached the configs


# A task family defined here, outside the package: y = 2·x₀ (noiseless), no parameters of its own.
def _toy_doubling(cfg, n_prompts: int, n_points: int, generator: torch.Generator,
                  active_dims: int | None = None) -> Batch:
    xs = torch.randn(n_prompts, n_points, cfg.d, generator=generator)
    return Batch(xs, 2 * xs[..., 0], {"w": torch.tensor([2.0] + [0.0] * (cfg.d - 1)).expand(n_prompts, -1)},
                 y_var=4.0)


@pytest.fixture
def toy_family():
    register("toy_doubling", "y = 2·x_0, x ~ N(0, I): a test family registered from outside", ("d", "n_points"))(
        _toy_doubling)
    yield "toy_doubling"
    del TASKS["toy_doubling"]  # other tests iterate over the registry


def test_a_task_family_registered_outside_the_package_runs_end_to_end(tmp_path, toy_family):
    assert toy_family in TASKS
    toml = tmp_path / "toy.toml"
    toml.write_text('kind = "regression"\n[task]\nname = "toy_doubling"\nd = 2\nn_points = 6\n'
                    '[model]\nn_embd = 16\nn_layer = 1\nn_head = 2\nmax_points = 6\n'
                    '[train]\nsteps = 3\nbatch_size = 8\nlog_every = 1\n'
                    '[eval]\nn_prompts = 16\nbootstrap = 10\nbaselines = ["least_squares"]\n')
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", str(toml), "--out", str(out)])
    assert res.exit_code == 0, res.output
    curves = json.loads((out / "results.json").read_text())["in_distribution"]
    assert set(curves) == {"model", "least_squares"}
    # least squares recovers y = 2·x_0 exactly once it has d = 2 examples (independent truth)
    assert max(curves["least_squares"]["mean"][2:]) < 1e-8
    assert curves["least_squares"]["mean"][0] == pytest.approx(1.0, rel=0.5)  # predicting 0: error ≈ Var(y)/4


def _numbers(results: dict) -> object:
    """The measured numbers of a results dict (timings and paths left out)."""
    if "in_distribution" in results:
        return {k: v["mean"] for k, v in results["in_distribution"].items()}
    if "settings" in results:
        return {s: {k: v["final_mean"] for k, v in r["online"].items()} for s, r in results["settings"].items()}
    timing = {"wall_s", "train_s", "eval_s"}
    return [{k: v for k, v in row.items() if k not in timing} for row in results["table"]]


@pytest.mark.parametrize("experiment", ["linear_regression", "bandits", "chain_of_thought", "length_generalization"])
def test_train_then_eval_equals_run_for_every_kind(experiment, tmp_path):
    trained, direct = tmp_path / "trained", tmp_path / "direct"
    res = runner.invoke(app, ["train", experiment, "--preset", "smoke", "--out", str(trained)])
    assert res.exit_code == 0, res.output
    assert json.loads((trained / "status.json").read_text())["state"] == "trained"
    assert not (trained / "results.json").exists()
    res = runner.invoke(app, ["eval", str(trained), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads((trained / "status.json").read_text())["state"] == "finished"
    assert runner.invoke(app, ["run", experiment, "--preset", "smoke", "--out", str(direct)]).exit_code == 0
    assert _numbers(json.loads((trained / "results.json").read_text())) == \
        _numbers(json.loads((direct / "results.json").read_text()))


def test_eval_of_an_unfinished_run_is_refused_and_leaves_it_resumable(tmp_path):
    from icl_lab.pipelines import regression
    from icl_lab.training.regression import train

    cfg = regression.load("linear_regression", "smoke", ["train.steps=6", "train.checkpoint_every=2"])

    def interrupt(step):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "r", on_step=interrupt, progress=False)
    before = (tmp_path / "r" / "status.json").read_text()
    res = runner.invoke(app, ["eval", str(tmp_path / "r")])
    assert res.exit_code == 2 and "is not trained (state 'interrupted' at step 3)" in res.output
    assert (tmp_path / "r" / "status.json").read_text() == before
    assert not (tmp_path / "r" / "results.json").exists()
    res = runner.invoke(app, ["run", "linear_regression", "--preset", "smoke", "--set", "train.steps=6",
                              "--set", "train.checkpoint_every=2", "--out", str(tmp_path / "r"), "--resume"])
    assert res.exit_code == 0, res.output
    assert [r["step"] for r in RunDir_metrics(tmp_path / "r")][-1] == 6


def RunDir_metrics(path):
    from icl_lab.core.runs import RunDir

    return RunDir(path).read_metrics()
