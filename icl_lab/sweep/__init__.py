"""Sweeps: a grid × seeds of ordinary runs, run locally or on a Ray cluster, resumable, aggregated.

Typical use (what ``icl-lab sweep`` does)::

    plan = build_plan("experiments/linear_regression.toml", "quick", [], ["task.d=5,10"], seeds=3)
    sweep_dir = plan.default_dir()
    with SweepLock(sweep_dir):
        check_existing_runs(plan, sweep_dir)
        write_manifest(plan, sweep_dir)
        summary = run_sweep(plan, sweep_dir, make_executor("local", workers=2))
    write_report(sweep_dir)

See ``docs/sweeps.md``.
"""

from icl_lab.sweep.executors import LocalExecutor, RayExecutor, check_options, import_ray, make_executor
from icl_lab.sweep.plan import (
                                GridAxis,
                                PlannedRun,
                                SweepError,
                                SweepPlan,
                                build_plan,
                                parse_grid,
                                parse_seeds,
                                run_name,
)
from icl_lab.sweep.report import collect, write_report
from icl_lab.sweep.runner import (
                                SweepDisplay,
                                SweepLock,
                                SweepSummary,
                                check_existing_runs,
                                read_manifest,
                                run_sweep,
                                write_manifest,
)
from icl_lab.sweep.worker import RunOutcome, RunSpec, execute_run

__all__ = [
    "GridAxis", "LocalExecutor", "PlannedRun", "RayExecutor", "RunOutcome", "RunSpec", "SweepDisplay", "SweepError",
    "SweepLock", "SweepPlan", "SweepSummary", "build_plan", "check_existing_runs", "check_options", "collect",
    "execute_run", "import_ray", "make_executor", "parse_grid", "parse_seeds", "read_manifest", "run_name",
    "run_sweep", "write_manifest", "write_report",
]
