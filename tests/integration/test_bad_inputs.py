"""Bad input, over every command: one line starting ``error:``, exit code 2, no traceback, and
the file tree under the working directory byte-identical before and after (nothing created,
changed or removed — runs, results and the user's own files included)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl_lab.cli import app

runner = CliRunner()
R = ["run", "linear_regression", "--preset", "smoke"]  # a valid run command to spoil
BIG = "100000000"

CASES: list[tuple[str, list[str], str]] = [
    # --- experiment files and presets
    ("missing file", ["run", "no_such_experiment"], "not found"),
    ("missing path", ["run", "nowhere/x.toml"], "not found"),
    ("directory as file", ["run", "keep"], "directory"),
    ("unparsable toml", ["run", "broken.toml"], "cannot parse"),
    ("unknown preset", ["run", "linear_regression", "--preset", "huge"], "unknown preset 'huge'"),
    ("no presets table", ["run", "nopresets.toml", "--preset", "quick"], "no [presets] table"),
    ("preset not a table", ["run", "badpreset.toml"], "presets"),
    ("unknown kind", ["run", "badkind.toml"], "kind"),
    ("name with separator", ["run", "badname.toml"], "plain name"),
    ("name with dotdot", [*R, "--set", "name=../../x"], "plain name"),
    ("absolute name", [*R, "--set", "name=/tmp/x"], "plain name"),
    ("empty name", [*R, "--set", "name="], "plain name"),
    # --- --set syntax and types
    ("override without =", [*R, "--set", "task.d"], "expected key=value"),
    ("override empty key", [*R, "--set", "=3"], "expected key=value"),
    ("unknown section", [*R, "--set", "tsk.d=3"], "unknown key 'tsk'"),
    ("unknown task key", [*R, "--set", "task.bogus=1"], "unknown key task.bogus"),
    ("key of another family", [*R, "--set", "task.sparsity=2"], "unknown key task.sparsity"),
    ("unknown model key", [*R, "--set", "model.width=3"], "unknown key model.width"),
    ("unknown train key", [*R, "--set", "train.stepz=3"], "unknown key train.stepz"),
    ("unknown eval key", [*R, "--set", "eval.prompts=3"], "unknown key eval.prompts"),
    ("string for int", [*R, "--set", "task.d=many"], "task.d"),
    ("float for int", [*R, "--set", "task.d=2.5"], "task.d"),
    ("bool for int", [*R, "--set", "train.steps=true"], "train.steps"),
    ("int for bool", [*R, "--set", "train.bf16=1"], "train.bf16"),
    ("string for float", [*R, "--set", "train.lr=fast"], "train.lr"),
    ("section not a table", [*R, "--set", "task=3"], "task"),
    # --- values out of range, non-finite
    ("zero d", [*R, "--set", "task.d=0"], "task.d"),
    ("negative d", [*R, "--set", "task.d=-3"], "task.d"),
    ("zero points", [*R, "--set", "task.n_points=0"], "task.n_points"),
    ("points beyond context", [*R, "--set", "task.n_points=500"], "max_points"),
    ("negative noise", [*R, "--set", "task.noise_std=-1"], "task.noise_std"),
    ("infinite noise", [*R, "--set", "task.noise_std=inf"], "task.noise_std"),
    ("nan noise", [*R, "--set", "task.noise_std=nan"], "task.noise_std"),
    ("infinite prior", [*R, "--set", "task.prior_std=inf"], "task.prior_std"),
    ("zero prior", [*R, "--set", "task.prior_std=0"], "task.prior_std"),
    ("huge pool", [*R, "--set", "task.pool_size=100000000"], "task.pool_size"),
    ("unknown task family", [*R, "--set", "task.name=cubic"], "task.name"),
    ("unknown x distribution", [*R, "--set", "task.x_distribution=cauchy"], "task.x_distribution"),
    ("infinite lr", [*R, "--set", "train.lr=inf"], "train.lr"),
    ("nan lr", [*R, "--set", "train.lr=nan"], "train.lr"),
    ("zero lr", [*R, "--set", "train.lr=0"], "train.lr"),
    ("zero steps", [*R, "--set", "train.steps=0"], "train.steps"),
    ("zero batch", [*R, "--set", "train.batch_size=0"], "train.batch_size"),
    ("bad schedule", [*R, "--set", "train.schedule=step"], "train.schedule"),
    ("bad optimizer", [*R, "--set", "train.optimizer=lion"], "train.optimizer"),
    ("bad betas", [*R, "--set", "train.betas=[0.9]"], "train.betas"),
    ("beta of one", [*R, "--set", "train.betas=[0.9, 1.0]"], "train.betas"),
    ("negative clip", [*R, "--set", "train.grad_clip=-1"], "train.grad_clip"),
    ("negative warmup", [*R, "--set", "train.warmup_steps=-1"], "train.warmup_steps"),
    ("bad device", [*R, "--set", "train.device=tpu"], "train.device"),
    ("cuda without cuda", [*R, "--set", "train.device=cuda"], "cuda"),
    ("negative train seed", [*R, "--set", "train.seed=-1"], "train.seed"),
    ("huge train seed", [*R, "--set", "train.seed=9223372036854775807"], "train.seed"),
    ("negative threads", [*R, "--set", "train.cpu_threads=-1"], "train.cpu_threads"),
    ("zero ensemble", [*R, "--set", "train.ensemble=0"], "train.ensemble"),
    ("ensemble of a recurrent net", [*R, "--set", "train.ensemble=2", "--set", "model.family=gru"], "train.ensemble"),
    ("ensemble of another kind", ["run", "chain_of_thought", "--preset", "smoke", "--set", "train.ensemble=2"],
     "one by one"),
    ("zero ensemble size", ["sweep", "linear_regression", "--preset", "smoke", "--ensemble-size", "0"],
     "--ensemble-size"),
    ("zero log cadence", [*R, "--set", "train.log_every=0"], "train.log_every"),
    ("bad min lr ratio", [*R, "--set", "train.min_lr_ratio=2"], "train.min_lr_ratio"),
    ("unknown model family", [*R, "--set", "model.family=mamba"], "model.family"),
    ("unknown size", [*R, "--set", "model.size=huge"], "model.size"),
    ("heads do not divide", [*R, "--set", "model.n_head=3"], "model.n_head"),
    ("dropout of one", [*R, "--set", "model.dropout=1"], "model.dropout"),
    ("bad encoding", [*R, "--set", "model.encoding=sparse"], "model.encoding"),
    ("gaussian head on lstm", [*R, "--set", "model.head=gaussian", "--set", "model.family=lstm"], "model.head"),
    ("huge model", [*R, "--set", "model.n_embd=1000000", "--set", "model.n_head=1"], "model.n_embd"),
    ("huge context", [*R, "--set", "model.max_points=100000000"], "model.max_points"),
    ("huge d", [*R, "--set", "task.d=100000000"], "task.d"),
    ("huge hidden", ["run", "relu.toml", "--set", f"task.hidden={BIG}"], "task.hidden"),
    ("unknown baseline", [*R, "--set", "eval.baselines=oracle"], "eval.baselines"),
    ("boolean baseline on regression", [*R, "--set", "eval.baselines=gf2"], "gf2"),
    ("dmmse without pool", [*R, "--set", "eval.baselines=dmmse"], "dmmse"),
    ("unknown ood", [*R, "--set", "eval.ood=martian"], "eval.ood"),
    ("one eval prompt", [*R, "--set", "eval.n_prompts=1"], "eval.n_prompts"),
    ("huge eval prompts", [*R, "--set", f"eval.n_prompts={BIG}"], "eval.n_prompts"),
    ("negative eval seed", [*R, "--set", "eval.seed=-5"], "eval.seed"),
    ("few bootstrap", [*R, "--set", "eval.bootstrap=3"], "eval.bootstrap"),
    ("huge bootstrap", [*R, "--set", f"eval.bootstrap={BIG}"], "eval.bootstrap"),
    ("zero knn", [*R, "--set", "eval.knn_k=0"], "eval.knn_k"),
    # --- run directories and the user's files
    ("force on a user folder", [*R, "--out", "keep", "--force"], "not a run directory"),
    ("into a user folder", [*R, "--out", "keep"], "not a run directory"),
    ("out is a file", [*R, "--out", "user.txt"], "is a file"),
    ("finished run without force", [*R, "--out", "runs/done"], "already holds a finished run"),
    ("resume another config", [*R, "--out", "runs/done", "--resume", "--set", "train.steps=9"], "differs"),
    ("train into a user folder", ["train", "linear_regression", "--preset", "smoke", "--out", "keep"], "not a run"),
    ("eval of a non-run", ["eval", "keep"], "not a run directory"),
    ("eval of a missing run", ["eval", "runs/nothing"], "not a run directory"),
    ("eval of an unfinished run", ["eval", "runs/half"], "is not trained"),
    # --- other kinds
    ("bandits unknown key", ["run", "bandits", "--preset", "smoke", "--set", "colour=3"], "unknown key colour"),
    ("bandits bad arms", ["run", "bandits", "--preset", "smoke", "--set", "settings.dpt_gaussian.env.n_arms=1"],
     "n_arms"),
    ("bandits unknown setting", ["run", "bandits", "--preset", "smoke", "--set", "run=nothing"], "invalid run"),
    ("bandits unknown context", ["run", "bandits", "--preset", "smoke", "--set",
                                 "settings.dpt_gaussian.context=thompson"], "context"),
    ("bandits uniform share above 1", ["run", "bandits", "--preset", "smoke", "--set",
                                       "settings.ad_bernoulli_mix50.uniform_share=1.5"], "uniform_share"),
    ("bandits noise shift on Bernoulli arms", ["run", "bandits", "--preset", "smoke", "--set",
                                               "settings.ad_bernoulli_ts.noise_shift=[0.5]"], "noise_shift"),
    ("bandits posterior on a linear bandit", ["run", "bandits", "--preset", "smoke", "--set",
                                              "settings.ad_linucb.posterior_contexts=10"], "posterior_contexts"),
    ("bandits heads not dividing the width", ["run", "bandits", "--preset", "smoke", "--set",
                                              "settings.ad_linucb.n_head=3"], "n_head"),
    ("bandits unknown policy", ["run", "bandits", "--preset", "smoke", "--set",
                                'settings.dpt_gaussian.learners=["ucb9"]'], "ucb9"),
    ("bandits negative seed", ["run", "bandits", "--preset", "smoke", "--set", "eval_seed=-1"], "eval_seed"),
    ("cot unknown task", ["run", "chain_of_thought", "--preset", "smoke", "--set", "tasks=sorting"], "sorting"),
    ("cot bad variant", ["run", "chain_of_thought", "--preset", "smoke", "--set", "variants=fast2"], "fast2"),
    ("cot bad modulus", ["run", "chain_of_thought", "--preset", "smoke", "--set", "arithmetic.modulus=9"],
     "modulus"),
    ("cot negative seed", ["run", "chain_of_thought", "--preset", "smoke", "--set", "seeds=-1"], "seeds"),
    ("length-gen unknown task", ["run", "length_generalization", "--preset", "smoke", "--set", "tasks=nope"], "nope"),
    ("length-gen negative seed", ["run", "length_generalization", "--preset", "smoke", "--set", "seeds=-2"],
     "seeds"),
    ("length-gen huge length", ["run", "length_generalization", "--preset", "smoke", "--set",
                                f"train_length={BIG}"], "train_length"),
    ("lsa wrong spectrum", ["run", "lsa_theory", "--preset", "smoke", "--set", "spectrum=[1.0]"], "spectrum"),
    ("lsa negative lr", ["run", "lsa_theory", "--preset", "smoke", "--set", "lr=-1"], "lr"),
    ("train of another kind's bad key", ["train", "bandits", "--preset", "smoke", "--set", "colour=3"], "colour"),
    # --- baselines, sweeps, figures and the small tools
    ("baselines unknown", ["baselines", "linear_regression", "--baseline", "oracle"], "oracle"),
    ("baselines unavailable", ["baselines", "linear_regression", "--baseline", "dmmse"], "dmmse"),
    ("baselines boolean-only", ["baselines", "linear_regression", "--baseline", "gf2"], "gf2"),
    ("baselines huge prompts", ["baselines", "linear_regression", "--prompts", BIG], "eval.n_prompts"),
    ("baselines negative seed", ["baselines", "linear_regression", "--seed", "-3"], "eval.seed"),
    ("baselines sparse enumeration too large", ["baselines", "linear_regression", "--set",
                                                "task.name=sparse_linear_regression", "--set", "task.d=40", "--set",
                                                "task.sparsity=20", "--baseline", "sparse_bayes"], "supports"),
    ("cot run untokenisable costs", ["run", "chain_of_thought", "--preset", "smoke", "--set", "tasks=edit_distance",
                                     "--set", "edit_distance.sizes=40", "--set", "edit_distance.insert_cost=9",
                                     "--set", "edit_distance.delete_cost=9"], "vocabulary"),
    ("sweep-report unknown learner", ["sweep-report", "runs/sweep", "--learner", "nosuch"], "nosuch"),
    ("sweep bad grid", ["sweep", "linear_regression", "--grid", "task.d"], "--grid"),
    ("sweep empty grid values", ["sweep", "linear_regression", "--grid", "task.d="], "empty"),
    ("sweep seed in grid", ["sweep", "linear_regression", "--grid", "train.seed=1,2"], "train.seed"),
    ("sweep bad seeds", ["sweep", "linear_regression", "--seeds", "0"], "--seeds"),
    ("sweep negative seeds", ["sweep", "linear_regression", "--seeds", "-1,2"], "--seeds"),
    ("sweep bad executor", ["sweep", "linear_regression", "--executor", "slurm"], "executor"),
    ("sweep-report missing", ["sweep-report", "nowhere"], "nowhere"),
    ("sweep-report of a user folder", ["sweep-report", "keep"], "keep"),
    ("figs unknown", ["figs", "fig99"], "unknown figure"),
    ("figs bad preset", ["figs", "fig01", "--preset", "huge"], "--preset"),
    ("figs from missing results", ["figs", "fig01", "--from-results", "--results", "keep"], "no results"),
    ("figs from corrupt results", ["figs", "fig01", "--from-results", "--results", "badgallery"], "not valid JSON"),
    ("figs from another figure's results", ["figs", "fig02", "--from-results", "--results", "badgallery"],
     "not a gallery entry"),
    ("figs from results, one missing", ["figs", "fig01", "fig10", "--from-results", "--results", "badgallery"],
     "not valid JSON"),
    ("reproduce nothing named", ["reproduce"], "--all"),
    ("reproduce unknown", ["reproduce", "fig99"], "unknown figure"),
    ("reproduce bad preset", ["reproduce", "--all", "--preset", "huge"], "--preset"),
    ("rasp check unknown", ["rasp", "check", "nope"], "unknown program"),
    ("rasp check huge dynamic", ["rasp", "check", "count", "--dynamic", BIG], "--dynamic"),
    ("rasp compile too long", ["rasp", "compile", "histogram", "--max-len", "30"], "would run"),
    ("rasp compile unknown", ["rasp", "compile", "nope", "--max-len", "3"], "unknown program"),
    ("cot show unknown task", ["cot", "show", "sorting"], "sorting"),
    ("cot show bad size", ["cot", "show", "equations", "--size", "99"], "size"),
    ("cot show bad parameter", ["cot", "show", "arithmetic", "--set", "prime=7"], "prime"),
    ("cot show untokenisable costs", ["cot", "show", "edit_distance", "--size", "40", "--set", "insert_cost=9",
                                      "--set", "delete_cost=9", "--set", "substitute_cost=9"], "vocabulary"),
    ("bayes-optimal zero horizon", ["bandits", "bayes-optimal", "--horizon", "0"], "horizon=0"),
    ("bayes-optimal huge", ["bandits", "bayes-optimal", "--arms", "1000000", "--horizon", "1000000000"], "states"),
]


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (the lock files of runs aside) with its content hash."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".run.lock"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A working directory with a finished run, an interrupted one and the user's own files."""
    root = tmp_path_factory.mktemp("ws")
    (root / "keep").mkdir()
    (root / "keep" / "notes.txt").write_text("my notes\n")
    (root / "user.txt").write_text("mine\n")
    (root / "broken.toml").write_text("kind = \n[task\n")
    (root / "nopresets.toml").write_text('kind = "regression"\n[task]\nd = 3\n')
    (root / "badpreset.toml").write_text('kind = "regression"\n[presets]\nquick = 3\n')
    (root / "badkind.toml").write_text('kind = "poetry"\n')
    (root / "badname.toml").write_text('kind = "regression"\nname = "a/b"\n')
    (root / "badgallery").mkdir()
    (root / "badgallery" / "fig01_garg_linear_regression.json").write_text("{")
    (root / "badgallery" / "fig02_garg_out_of_distribution.json").write_text('{"figure": "fig01", "results": {}}')
    (root / "relu.toml").write_text('kind = "regression"\n[task]\nname = "relu_net_regression"\nd = 4\n')
    cwd = Path.cwd()
    try:
        import os

        os.chdir(root)
        assert runner.invoke(app, [*R, "--out", "runs/done"]).exit_code == 0
        assert runner.invoke(app, ["sweep", "linear_regression", "--preset", "smoke", "--out", "runs/sweep"]).exit_code == 0
        from icl_lab.pipelines import regression
        from icl_lab.training.regression import train

        def stop(step):
            if step == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            train(regression.load("linear_regression", "smoke"), "runs/half", on_step=stop, progress=False)
    finally:
        os.chdir(cwd)
    return root


@pytest.mark.parametrize("argv, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(argv, fragment, workspace, tmp_path, monkeypatch):
    work = tmp_path / "ws"
    shutil.copytree(workspace, work, ignore=shutil.ignore_patterns(".run.lock"))
    monkeypatch.chdir(work)
    before = _tree(work)
    res = runner.invoke(app, argv)
    output = res.output.strip()
    assert res.exit_code == 2, (res.exit_code, output, res.exception)
    assert output.startswith("error: ") and len(output.splitlines()) == 1, output
    assert fragment in output, output
    assert _tree(work) == before


def test_the_table_is_large():
    assert len(CASES) >= 100 and len({c[0] for c in CASES}) == len(CASES)


def test_a_second_process_on_a_run_directory_is_refused_naming_the_holder(workspace, tmp_path, monkeypatch):
    import subprocess
    import sys

    work = tmp_path / "ws"
    shutil.copytree(workspace, work, ignore=shutil.ignore_patterns(".run.lock"))
    monkeypatch.chdir(work)
    code = ("import sys, time; from icl_lab.core.runs import RunDir; RunDir(sys.argv[1]).acquire(); "
            "print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, "runs/half"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = _tree(work)
        for argv in ([*R, "--out", "runs/half", "--resume"], [*R, "--out", "runs/half", "--force"]):
            res = runner.invoke(app, argv)
            assert res.exit_code == 2 and res.output.strip() == (
                f"error: runs/half is in use by process {holder.pid}; wait for it to stop (or stop it), then retry")
        assert _tree(work) == before
    finally:
        holder.kill()
        holder.wait()
    res = runner.invoke(app, [*R, "--out", "runs/half", "--resume"])  # the holder is gone: resumes
    assert res.exit_code == 0, res.output
