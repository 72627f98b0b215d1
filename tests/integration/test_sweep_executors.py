"""A tiny sweep (2 grid values × 2 seeds) killed mid-run, resumed by the local executor, and
re-run on Ray: the resumed runs equal uninterrupted ones, and both executors agree exactly.

One sweep serves all checks, to keep process start-ups (torch imports, Ray) few on 2 cores.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from icl_lab.cli.sweep import sweep_app
from icl_lab.pipelines.regression import config_of_run
from icl_lab.sweep.plan import config_hash
from tests.conftest import EXPERIMENT, ROOT, TINY

runner = CliRunner()
STEPS = 100
# Long enough to be caught mid-run, short enough to stay cheap on 2 busy cores.
OVERRIDES = [o for o in TINY if not o.startswith(("train.steps", "train.log_every", "train.checkpoint_every",
                                                    "eval.n_prompts"))]
OVERRIDES += [f"train.steps={STEPS}", "train.log_every=5", "train.checkpoint_every=10"]
# The swept key changes only the evaluation, so n_prompts=17 runs are uninterrupted twins
# of the n_prompts=16 runs that get killed.
GRID = ["--grid", "eval.n_prompts=16,17", "--seeds", "2"]
NAMES = [f"eval.n_prompts={n}__seed={s}" for n in (16, 17) for s in (0, 1)]
KILLED, TWIN = NAMES[0], NAMES[2]


def sweep_args(out, *extra, workers=2):
    sets = [part for o in OVERRIDES for part in ("--set", o)]
    return ["sweep", str(EXPERIMENT), *sets, *GRID, "--out", str(out), "--workers", str(workers), "--cpus-per-run", "1",
            *map(str, extra)]


def sweep(out, *extra):
    res = runner.invoke(sweep_app, sweep_args(out, *extra))
    assert res.exit_code == 0, res.output
    return res


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def curves(run_dir):
    return json.loads((run_dir / "results.json").read_text())["in_distribution"]


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Start the sweep in its own process group and SIGKILL the group at the first checkpoint."""
    out = tmp_path_factory.mktemp("local") / "sweep"
    log_path = out.parent / "killed.log"
    with open(log_path, "w") as log:
        # One worker and no ensembles: runs start one by one in plan order, so TWIN has not started
        # when KILLED checkpoints (with two, a slow worker start let the other run finish and TWIN
        # begin: seen in CI). The re-run below groups what is left into ensembles.
        proc = subprocess.Popen([sys.executable, "-m", "icl_lab.cli.sweep",
                                 *sweep_args(out, "--no-report", "--no-ensemble", workers=1)],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        checkpoint, deadline = out / KILLED / "checkpoint.pt", time.monotonic() + 120
        try:
            while not checkpoint.exists():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "no checkpoint appeared"
                time.sleep(0.005)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # driver and workers: no chance to clean up
            proc.wait()
    step = torch.load(checkpoint, weights_only=True)["step"]
    lines = (out / KILLED / "metrics.jsonl").read_text().splitlines()
    kept = [line for line in lines if json.loads(line)["step"] <= step]
    return out, step, kept


@pytest.fixture(scope="module")
def local_sweep(killed):
    """The same sweep command again: it resumes the killed runs and finishes the rest."""
    out = killed[0]
    partial = runner.invoke(sweep_app, ["sweep-report", str(out)])
    assert partial.exit_code == 0, partial.output
    report = json.loads((out / "report.json").read_text())
    assert not report["complete"] and KILLED in report["unfinished"] and TWIN in report["missing"]
    return out, sweep(out)


def test_killed_run_was_mid_run(killed):
    out, step, _ = killed
    assert json.loads((out / KILLED / "status.json").read_text())["state"] == "running"
    assert 0 < step < STEPS


def test_rerun_resumes_killed_run_from_its_checkpoint(killed, local_sweep):
    out, _, kept = killed
    assert f"started {KILLED} (resuming)" in local_sweep[1].stderr
    resumed, twin = read_jsonl(out / KILLED / "metrics.jsonl"), read_jsonl(out / TWIN / "metrics.jsonl")
    assert [m["step"] for m in resumed] == list(range(5, STEPS + 1, 5))  # continuous, no repeats
    assert [m["loss"] for m in resumed] == [m["loss"] for m in twin]  # equal to an uninterrupted run
    # Records up to the checkpoint are the killed process's own: the run resumed, it did not restart.
    assert (out / KILLED / "metrics.jsonl").read_text().splitlines()[:len(kept)] == kept


def test_sweep_writes_runs_manifest_and_complete_report(local_sweep):
    out = local_sweep[0]
    manifest = json.loads((out / "sweep.json").read_text())
    assert [r["name"] for r in manifest["runs"]] == NAMES
    for entry in manifest["runs"]:
        run = out / entry["name"]
        assert json.loads((run / "status.json").read_text())["state"] == "finished"
        assert config_hash(config_of_run(run)) == entry["config_hash"]
        assert set(curves(run)) == {"model", "least_squares", "ridge", "averaging", "knn"}
    report = json.loads((out / "report.json").read_text())
    assert report["complete"] and report["states"] == {"finished": 4}
    assert [row["n_seeds"] for row in report["summary"]] == [2, 2]
    assert (out / "report.png").stat().st_size > 0 and (out / "report.pdf").stat().st_size > 0
    header = (out / "report.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["run", "eval.n_prompts", "seed", "state"] and "error_k=d" in header and "k6" in header


def test_rerun_skips_finished_runs(local_sweep):
    out = local_sweep[0]
    before = {name: (out / name / "results.json").read_bytes() for name in NAMES}
    res = sweep(out, "--no-report")
    assert "0 finished, 4 already finished, 0 failed" in res.stdout
    assert {name: (out / name / "results.json").read_bytes() for name in NAMES} == before


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason='ray is not installed (pip install -e ".[ray]"); CI installs it')
def test_ray_sweep_matches_local_sweep_exactly(local_sweep, tmp_path):
    out = tmp_path / "ray"
    # No --address: the executor starts a private local Ray instance (2 CPUs) and shuts it down.
    sweep(out, "--executor", "ray", "--no-report")
    for name in NAMES:
        assert curves(out / name) == curves(local_sweep[0] / name), name
        ray_losses = [m["loss"] for m in read_jsonl(out / name / "metrics.jsonl")]
        assert ray_losses == [m["loss"] for m in read_jsonl(local_sweep[0] / name / "metrics.jsonl")], name
