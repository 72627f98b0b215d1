"""The sweep runner: skips finished runs, retries and reports failures, survives killed workers."""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys

import pytest

from icl_lab.core.runs import RunDir
from icl_lab.sweep import (
    LocalExecutor,
    RunOutcome,
    SweepDisplay,
    SweepError,
    build_plan,
    check_existing_runs,
    execute_run,
    run_sweep,
    write_manifest,
    write_report,
)
from tests.conftest import EXPERIMENT, TINY, InlineExecutor


def die_on_first_attempt(spec):
    """A worker function that SIGKILLs its own process the first time (module level: spawn pickles it)."""
    if spec.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return RunOutcome(spec.name, "finished", attempt=spec.attempt)


def quiet():
    return SweepDisplay(0, io.StringIO(), tty=False)


def files(path):
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}


def test_failed_run_is_retried_then_reported_and_finished_runs_stay_untouched(tmp_path):
    plan = build_plan(EXPERIMENT, "quick", TINY, ["train.lr=0.001,0.003"])
    good, bad = (tmp_path / run.name for run in plan.runs)
    RunDir(bad).prepare(plan.runs[1].config.to_dict())
    (bad / "checkpoint.pt").write_bytes(b"not a checkpoint" * 8)  # resuming it must fail
    write_manifest(plan, tmp_path)
    executor = InlineExecutor()
    summary = run_sweep(plan, tmp_path, executor, retries=1, display=quiet())
    assert summary.names("finished") == [good.name]
    [failure] = summary.failed
    assert failure.name == bad.name and "corrupt or truncated" in failure.error and failure.attempt == 2
    assert [s.name for s in executor.submitted].count(bad.name) == 2  # first try + one retry
    status = RunDir(bad).status()
    assert status["state"] == "failed" and "corrupt or truncated" in status["error"]
    assert "Traceback" in (bad / "error.txt").read_text()
    report = write_report(tmp_path)
    assert not report["complete"] and report["failed"] == [{"run": bad.name, "error": status["error"]}]
    rows = (tmp_path / "report.csv").read_text().splitlines()
    assert any(row.startswith(bad.name) and "failed" in row for row in rows)

    before = files(good)
    again = run_sweep(plan, tmp_path, InlineExecutor(), retries=0, display=quiet())
    assert again.names("skipped") == [good.name] and again.names("failed") == [bad.name]
    assert files(good) == before  # a finished run is never rewritten


def test_a_run_dir_with_another_config_is_refused_before_running(tmp_path):
    plan = build_plan(EXPERIMENT, "quick", TINY, ["train.lr=0.001,0.003"])
    other = build_plan(EXPERIMENT, "quick", TINY + ["train.steps=13"], ["train.lr=0.001,0.003"])
    RunDir(tmp_path / plan.runs[0].name).prepare(other.runs[0].config.to_dict())
    with pytest.raises(SweepError, match="different config"):
        check_existing_runs(plan, tmp_path)
    check_existing_runs(other, tmp_path)  # the matching sweep may continue it


def test_killed_local_worker_is_retried_in_a_fresh_pool(tmp_path):
    plan = build_plan(EXPERIMENT, "quick", TINY, [])
    executor = LocalExecutor(1, 1, fn=die_on_first_attempt)
    summary = run_sweep(plan, tmp_path, executor, retries=1, display=quiet())
    [outcome] = summary.outcomes.values()
    assert outcome.state == "finished" and outcome.attempt == 2
    # The driver recorded the death in status.json: the run stays resumable, and visible.
    status = RunDir(tmp_path / plan.runs[0].name).status()
    assert status["state"] == "failed" and "worker process died" in status["error"]


def test_display_one_updating_line_on_a_tty_plain_lines_otherwise():
    tty = io.StringIO()
    display = SweepDisplay(4, tty, tty=True)
    display.event("started a")  # not shown: the line says it
    display.set_counts(1, 2, 0)
    display.event("failed b: boom", keep=True)
    display.set_counts(2, 1, 1)
    display.close()
    text = tty.getvalue()
    assert "started a" not in text and "failed b: boom" in text
    assert "\r\033[Ksweep: 2/4 done, 1 running, 1 failed, elapsed 0:00" in text and text.endswith("\n")
    plain = io.StringIO()
    display = SweepDisplay(4, plain, tty=False)
    display.event("started a")
    display.set_counts(1, 1, 0)
    display.close()
    assert plain.getvalue() == "[0:00] started a\n"


def test_report_on_an_empty_sweep_lists_every_run_missing(tmp_path):
    plan = build_plan(EXPERIMENT, "quick", TINY, ["train.lr=0.001,0.003"], seeds=2)
    write_manifest(plan, tmp_path)
    report = write_report(tmp_path)
    assert report["missing"] == [r.name for r in plan.runs] and report["summary"] == []
    assert json.loads((tmp_path / "report.json").read_text())["states"] == {"missing": 4}


def test_a_run_locked_by_a_live_writer_is_not_touched(tmp_path):
    from icl_lab.core.runs import RunDir
    from icl_lab.sweep.worker import RunSpec

    plan = build_plan(EXPERIMENT, "quick", TINY, [])
    run = plan.runs[0]
    RunDir(tmp_path / run.name).prepare(run.config.to_dict())
    RunDir(tmp_path / run.name).release()
    spec = RunSpec(run.name, str(tmp_path / run.name), run.config.to_dict())
    with holder_process(spec.run_dir) as pid:  # e.g. a worker orphaned by a killed sweep, still training
        outcome = execute_run(spec)
    assert outcome.state == "failed" and f"in use by process {pid}" in outcome.error
    assert RunDir(spec.run_dir).status()["state"] == "created"  # the other writer's status is left alone


def test_report_marks_unreadable_results(tmp_path):
    plan = build_plan(EXPERIMENT, "quick", TINY, [])
    write_manifest(plan, tmp_path)
    run = RunDir(tmp_path / plan.runs[0].name)
    run.prepare(plan.runs[0].config.to_dict())
    run.set_status("finished", step=12)
    run.results_path.write_text("{torn")
    run.metrics_path.write_text('{"step": 2, "loss": 1.5}\n{"step": 4, "lo')
    [record] = write_report(tmp_path)["runs"]
    assert record["state"] == "unreadable" and "results.json" in record["error"]
    assert (record["step"], record["final_loss"]) == (12, 1.5)


def test_one_sweep_process_per_directory(tmp_path):
    from icl_lab.sweep import SweepLock

    with SweepLock(tmp_path):
        with pytest.raises(SweepError, match=f"another sweep process \\(pid {os.getpid()}\\)"):
            SweepLock(tmp_path).__enter__()
    with SweepLock(tmp_path):  # released with its holder
        pass


@contextlib.contextmanager
def holder_process(run_dir):
    """Another live process holding ``run_dir``'s lock for the block; yields its pid."""
    code = ("import sys, time; from icl_lab.core.runs import RunDir; RunDir(sys.argv[1]).acquire(); "
            "print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()
