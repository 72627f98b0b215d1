"""Ensembles (icl_lab.training.ensemble): every member of a batched ensemble is its own single run —
same losses, weights, optimiser state and results to float tolerance — for mixed settings
(seed, learning rate, weight decay, clipping, task pool, noise), after an interrupt and resume,
through `train.ensemble = K` and through the sweep runner's grouping."""

from __future__ import annotations

import io
import json

import pytest
import torch

from icl_lab.core.checkpoint import read_checkpoint
from icl_lab.core.errors import ConfigError, RunError
from icl_lab.core.runs import RunDir
from icl_lab.pipelines import load_experiment
from icl_lab.pipelines.regression import evaluate_run, load, run, run_ensemble
from icl_lab.sweep import SweepDisplay, build_plan, run_sweep
from icl_lab.sweep.runner import group_specs
from icl_lab.sweep.worker import RunSpec
from icl_lab.training.ensemble import Ensemble, ensemble_key, train_ensemble
from icl_lab.training.regression import build_model, training_loss
from tests.conftest import EXPERIMENT, ROOT, TINY, InlineExecutor

BASE = [*TINY, "train.warmup_steps=2"]
MIXED = [  # one shape, every other kind of setting different
    ["train.seed=0"],
    ["train.seed=1", "train.lr=0.003", "task.noise_std=0.1"],
    ["train.seed=2", "task.pool_size=4", "train.weight_decay=0.01", "train.grad_clip=0.5", "train.schedule=constant"],
]


def configs(extra=(), members=MIXED):
    return [load(EXPERIMENT, "quick", [*BASE, *extra, *m]) for m in members]


def assert_same_run(ens_dir, single_dir, atol=1e-5):
    """The files of an ensemble member against those of its single run (independent training)."""
    a, b = RunDir(ens_dir), RunDir(single_dir)
    assert a.record() == b.record()
    assert {p.name for p in a.path.iterdir()} == {p.name for p in b.path.iterdir()}
    ma, mb = a.read_metrics(), b.read_metrics()
    assert [r["step"] for r in ma] == [r["step"] for r in mb]
    for ra, rb in zip(ma, mb):
        assert ra["loss"] == (rb["loss"] if atol == 0 else pytest.approx(rb["loss"], rel=1e-4, abs=1e-6))
        assert ra["lr"] == rb["lr"] and ra["n_points"] == rb["n_points"]
    ca, cb = read_checkpoint(a.checkpoint_path), read_checkpoint(b.checkpoint_path)
    assert ca["step"] == cb["step"] and ca["schedule"] == cb["schedule"]
    assert ca["model"].keys() == cb["model"].keys()
    for name in ca["model"]:
        if atol == 0:  # asked for the same arithmetic: the same bits
            assert torch.equal(ca["model"][name], cb["model"][name]), name
        torch.testing.assert_close(ca["model"][name], cb["model"][name], atol=atol, rtol=1e-4)
    for idx, state in ca["optimizer"]["state"].items():
        for key, value in state.items():
            torch.testing.assert_close(value, cb["optimizer"]["state"][idx][key], atol=atol, rtol=1e-3)
    assert ca["optimizer"]["param_groups"] == cb["optimizer"]["param_groups"]
    assert a.status()["state"] == b.status()["state"]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("encoding", ["compact", "interleaved"])
def test_the_ensemble_forward_and_gradients_are_each_members_own(encoding, batched):
    cfgs = configs([f"model.encoding={encoding}"])
    models = []
    for cfg in cfgs:
        torch.manual_seed(cfg.train.seed)
        models.append(build_model(cfg))
    ensemble = Ensemble(models, batched)
    g = torch.Generator().manual_seed(5)
    xs, ys = torch.randn(3, 8, 7, 3, generator=g), torch.randn(3, 8, 7, generator=g)
    out = ensemble(xs, ys)
    assert out.shape == (3, 8, 7) and not list(ensemble.parameters())  # the members own the weights
    ((out - ys) ** 2).mean((1, 2)).sum().backward()
    for k, model in enumerate(models):
        got = {n: p.grad.clone() for n, p in model.named_parameters()}
        model.zero_grad()
        torch.testing.assert_close(out[k], model(xs[k], ys[k]), atol=1e-6, rtol=1e-5)
        training_loss(model, xs[k], ys[k]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(got[name], p.grad, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("batched", [True, False])
def test_each_member_of_a_mixed_ensemble_equals_its_single_run(tmp_path, batched):
    cfgs = configs(["train.points_start=3", "train.points_inc=2", "train.curriculum_interval=4"])
    assert len({ensemble_key(c) for c in cfgs}) == 1
    dirs = [tmp_path / f"member{k}" for k in range(3)]
    train_ensemble(cfgs, dirs, batched=batched)
    results = [evaluate_run(d) for d in dirs]
    for k, cfg in enumerate(cfgs):
        single = run(cfg, tmp_path / f"single{k}")
        # one by one the arithmetic is the single run's; batched, products add in another order
        assert_same_run(dirs[k], tmp_path / f"single{k}", atol=1e-5 if batched else 0.0)
        for name, curve in single["in_distribution"].items():
            assert results[k]["in_distribution"][name]["mean"] == pytest.approx(curve["mean"], abs=1e-5)


def test_run_ensemble_evaluates_every_member_and_reuses_finished_ones(tmp_path):
    cfgs = configs()
    dirs = [tmp_path / f"m{k}" for k in range(3)]
    run(cfgs[0], dirs[0])  # finished alone before: the result cache, not retrained
    before = dirs[0].joinpath("checkpoint.pt").read_bytes()
    results = run_ensemble(cfgs, dirs, resume=True)
    assert dirs[0].joinpath("checkpoint.pt").read_bytes() == before
    assert [RunDir(d).status()["state"] for d in dirs] == ["finished"] * 3
    for r, d in zip(results, dirs):
        assert r["in_distribution"] == json.loads(RunDir(d).results_path.read_text())["in_distribution"]


@pytest.mark.parametrize("batched", [True, False])
def test_an_interrupted_ensemble_resumes_to_the_uninterrupted_one(tmp_path, batched):
    cfgs = configs()
    dirs = [tmp_path / "cut" / f"m{k}" for k in range(3)]

    def stop(step):
        if step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_ensemble(cfgs, dirs, on_step=stop, batched=batched)
    assert {RunDir(d).status()["state"] for d in dirs} == {"interrupted"}
    assert {read_checkpoint(RunDir(d).checkpoint_path)["step"] for d in dirs} == {6}
    train_ensemble(cfgs, dirs, resume=True, batched=batched)
    whole = [tmp_path / "whole" / f"m{k}" for k in range(3)]
    train_ensemble(cfgs, whole, batched=batched)
    for cut, full in zip(dirs, whole):
        a, b = read_checkpoint(RunDir(cut).checkpoint_path), read_checkpoint(RunDir(full).checkpoint_path)
        for name in a["model"]:
            assert torch.equal(a["model"][name], b["model"][name])  # same ensemble, same arithmetic
        assert [r["loss"] for r in RunDir(cut).read_metrics()] == [r["loss"] for r in RunDir(full).read_metrics()]
    # a member's directory is a single run's: `icl-lab run --resume` on it evaluates it as one
    results = run(cfgs[1], dirs[1], resume=True)
    assert RunDir(dirs[1]).status()["state"] == "finished"
    assert json.loads(RunDir(dirs[1]).results_path.read_text())["in_distribution"] == results["in_distribution"]


def test_members_at_different_steps_are_refused(tmp_path):
    cfgs = configs()[:2]
    dirs = [tmp_path / "a", tmp_path / "b"]
    run(cfgs[0], dirs[0], train_only=True)
    with pytest.raises(RunError, match="same step"):
        train_ensemble(cfgs, dirs, resume=True)


def test_train_ensemble_k_runs_the_seeds_as_single_runs(tmp_path):
    cfg = load(EXPERIMENT, "quick", [*BASE, "train.seed=3", "train.ensemble=2"])
    assert cfg.to_dict()["train"]["ensemble"] == 2
    assert "ensemble" not in load(EXPERIMENT, "quick", BASE).to_dict()["train"]  # single records unchanged
    results = run(cfg, tmp_path / "ens")
    assert set(results["members"]) == {"seed=3", "seed=4"}
    assert RunDir(tmp_path / "ens").status()["state"] == "finished"
    single = run(load(EXPERIMENT, "quick", [*BASE, "train.seed=4"]), tmp_path / "single")
    assert_same_run(tmp_path / "ens" / "seed=4", tmp_path / "single")
    assert results["members"]["seed=4"]["in_distribution"]["model"]["mean"] == pytest.approx(
        single["in_distribution"]["model"]["mean"], abs=1e-5)
    assert run(cfg, tmp_path / "ens", resume=True) == results  # the result cache


@pytest.mark.parametrize("overrides, match", [
    (["train.ensemble=0"], "train.ensemble"),
    (["train.ensemble=true"], "train.ensemble"),
    (["train.ensemble=2", "model.family=lstm"], "model.family = 'transformer'"),
    (["train.ensemble=2", "model.dropout=0.1"], "dropout"),
])
def test_bad_ensembles_are_refused_at_load(overrides, match):
    with pytest.raises(ConfigError, match=match):
        load(EXPERIMENT, "quick", [*BASE, *overrides])


def test_kinds_without_ensembles_refuse_the_key():
    with pytest.raises(ConfigError, match="one by one"):
        load_experiment(ROOT / "experiments" / "chain_of_thought.toml", "smoke", ["train.ensemble=2"])


def _quiet():
    return SweepDisplay(0, io.StringIO(), tty=False)


def test_the_sweep_groups_compatible_runs_and_matches_the_ungrouped_sweep(tmp_path):
    plan = build_plan(EXPERIMENT, "quick", BASE, ["train.lr=0.001,0.003", "model.encoding=compact,interleaved"], seeds=2)
    specs = [RunSpec(r.name, str(tmp_path / r.name), r.config.to_dict()) for r in plan.runs]
    units = group_specs(plan, specs, ensemble=8, slots=1)
    assert sorted(len(u.members) for u in units) == [4, 4]  # one ensemble per encoding
    configs_of = {r.name: r.config for r in plan.runs}
    for unit in units:
        assert len({ensemble_key(configs_of[m.name]) for m in unit.members}) == 1
        assert len({configs_of[m.name].model.encoding for m in unit.members}) == 1
    assert len(group_specs(plan, specs, ensemble=8, slots=2)) == 4  # both workers get work
    assert group_specs(plan, specs, ensemble=1, slots=1) == specs  # --no-ensemble

    small = build_plan(EXPERIMENT, "quick", BASE, ["train.lr=0.001,0.003"], seeds=2)
    inline = InlineExecutor()
    grouped = run_sweep(small, tmp_path / "grouped", inline, display=_quiet())
    assert [len(spec.members) for spec in inline.submitted] == [4]  # one ensemble trained them all
    alone = run_sweep(small, tmp_path / "alone", InlineExecutor(), display=_quiet(), ensemble=1)
    assert grouped.names("finished") == alone.names("finished") == [r.name for r in small.runs]
    for r in small.runs:
        assert_same_run(tmp_path / "grouped" / r.name, tmp_path / "alone" / r.name)
    assert run_sweep(small, tmp_path / "grouped", InlineExecutor(), display=_quiet()).names("skipped") == \
        [r.name for r in small.runs]


def test_the_sweep_trains_unsupported_families_alone(tmp_path):
    plan = build_plan(EXPERIMENT, "quick", [*BASE, "model.family=lstm"], [], seeds=2)
    specs = [RunSpec(r.name, str(tmp_path / r.name), r.config.to_dict()) for r in plan.runs]
    assert group_specs(plan, specs, ensemble=8, slots=1) == specs


def test_a_diverging_member_stops_alone_and_the_others_finish(tmp_path):
    base = ["train.warmup_steps=0", "train.grad_clip=0", "train.log_every=1"]
    cfgs = configs(base, [["train.seed=0"], ["train.seed=1", "task.noise_std=1e30"]])  # labels overflow: NaN loss
    dirs = [tmp_path / "ok", tmp_path / "bad"]
    with pytest.raises(RunError, match="1 of 2 ensemble members diverged.*loss is nan at step 1"):
        run_ensemble(cfgs, dirs)
    assert RunDir(dirs[1]).status()["state"] == "diverged" and RunDir(dirs[1]).read_metrics() == []
    assert RunDir(dirs[0]).status()["state"] == "finished"
    run(cfgs[0], tmp_path / "single")
    assert_same_run(dirs[0], tmp_path / "single", atol=0.0)  # the healthy member is untouched by the other
