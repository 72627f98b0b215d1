"""Task diversity: the model moves from dMMSE to ridge as the pretraining task pool grows (Raventós et al. 2023).

A sweep (``icl_lab.sweep``: one run per pretraining pool size M) of transformers trained on
tasks uniform over a fixed pool of M weight vectors. (a) Error on fresh Gaussian tasks (solid)
and on the pool's own tasks (dotted), averaged over k ≥ 1, for the model, dMMSE (the Bayes
predictor of the pool) and ridge (the Bayes predictor of the Gaussian prior). (b) Distance
Δ = mean_k (prediction difference)² / D from the model to dMMSE and to ridge on fresh tasks:
below the diversity threshold the model tracks dMMSE, above it ridge.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.baselines.bayes import dmmse
from icl_lab.baselines.regression import ridge
from icl_lab.evaluation.probes import spd
from icl_lab.evaluation.regression import eval_batch, model_learner
from icl_lab.figures.claims import AtMost
from icl_lab.pipelines.regression import load_trained_model
from icl_lab.sweep import (
    SweepLock,
    build_plan,
    check_existing_runs,
    make_executor,
    run_sweep,
    write_manifest,
    write_report,
)
from icl_lab.sweep.runner import SweepDisplay
from icl_lab.tasks.regression import task_pool

PAPER = "Raventós, Paul, Chen, Ganguli 2023 (arXiv:2306.15063), Fig. 2"
POOL_SIZES = {"smoke": "1,64", "quick": "1,4,16,64,256,1024,4096",
              "paper": ",".join(str(2**p) for p in range(0, 21, 2))}


def _ratio(results: dict, row: int, near: str, far: str) -> float:
    """Δ(model, near) / Δ(model, far) on fresh tasks at the ``row``-th pool size (< 1: closer to ``near``)."""
    r = results["rows"][row]
    return r[f"delta_fresh_{near}"] / r[f"delta_fresh_{far}"]


CLAIMS = (
    AtMost("Above the diversity threshold (the largest pool M) the model on fresh tasks is closer to ridge than "
           "to dMMSE: Δ(model, ridge) / Δ(model, dMMSE) ≤ 1",
           lambda r: _ratio(r, -1, "ridge", "dmmse"),
           paper_value="tracks ridge, departs from dMMSE for M > M* ≈ 2^11.5 (small model, D = 8)", bound=1.0),
    AtMost("Below the threshold (M = 1) the model on fresh tasks is closer to dMMSE than to ridge: "
           "Δ(model, dMMSE) / Δ(model, ridge) ≤ 1",
           lambda r: _ratio(r, 0, "dmmse", "ridge"),
           paper_value="tracks dMMSE (fails on fresh tasks) for M < M*", bound=1.0),
)


def sweep_dir(preset: str, runs: Path) -> Path:
    """Where the pool-size sweep of ``preset`` lives under the runs folder."""
    return Path(runs) / "sweeps" / f"task_diversity-{preset}"


def run_pool_sweep(preset: str, runs: Path) -> tuple[Path, list]:
    """Run (or resume) the pool-size sweep with the sweep runner; returns its directory and runs."""
    plan = build_plan("task_diversity", preset, [], [f"task.pool_size={POOL_SIZES[preset]}"], seeds=1)
    folder = sweep_dir(preset, runs)
    with SweepLock(folder):
        check_existing_runs(plan, folder)
        write_manifest(plan, folder)
        cpus = 1 if preset in ("smoke", "quick") else None
        summary = run_sweep(plan, folder, make_executor("local", workers=1, cpus_per_run=cpus),
                            display=SweepDisplay(len(plan.runs), tty=False))
    write_report(folder)
    if summary.failed:
        raise RuntimeError(f"task-diversity sweep: {len(summary.failed)} runs failed, e.g. "
                           f"{summary.failed[0].name}: {summary.failed[0].error}")
    return folder, list(plan.runs)


def _measure(run_dir: Path) -> dict:
    """Errors (k ≥ 1) and Δ to dMMSE / ridge for one run, on fresh and on pool tasks."""
    cfg, model = load_trained_model(run_dir)
    t = cfg.task
    pool = task_pool(t.pool_size, t.d, t.prior_std, t.pool_seed)
    out: dict = {"pool_size": t.pool_size}
    for where, task in (("fresh", t.with_values(pool_size=0)), ("pool", t)):
        batch = eval_batch(cfg, task)
        preds = {"model": model_learner(model)(batch.xs, batch.ys),
                 "dmmse": dmmse(batch.xs, batch.ys, pool, t.noise_std),
                 "ridge": ridge(batch.xs, batch.ys, lam=t.noise_std**2 / t.prior_std**2)}
        for name, p in preds.items():
            out[f"error_{where}_{name}"] = (((p.double() - batch.ys.double()) ** 2).mean(0)[1:] / batch.y_var).mean().item()
        for name in ("dmmse", "ridge"):
            out[f"delta_{where}_{name}"] = spd(preds["model"], preds[name], t.d)[1:].mean().item()
    return out


def compute(preset: str, runs: Path) -> dict:
    """Sweep the pretraining pool size (runs under ``runs/sweeps``); errors and Δs per pool size."""
    folder, planned = run_pool_sweep(preset, runs)
    rows = sorted((_measure(folder / run.name) for run in planned), key=lambda row: row["pool_size"])
    cfg, _ = load_trained_model(folder / planned[0].name)
    return {"d": cfg.task.d, "rows": rows}


def draw(results: dict, preset: str) -> plt.Figure:
    rows = results["rows"]
    m = [row["pool_size"] for row in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
    for name, color in (("model", "black"), ("dmmse", "tab:blue"), ("ridge", "tab:orange")):
        ax1.plot(m, [row[f"error_fresh_{name}"] for row in rows], marker="o", color=color, label=f"{name}, fresh tasks")
        ax1.plot(m, [row[f"error_pool_{name}"] for row in rows], ls=":", color=color, label=f"{name}, pool tasks")
    ax1.set(xscale="log", xlabel="pretraining task pool size M", ylabel="mean error over k ≥ 1 / Var(y)",
            title=f"task diversity (d = {results['d']}, {preset} preset)")
    ax1.legend(frameon=False, fontsize=8)
    for name, color in (("dmmse", "tab:blue"), ("ridge", "tab:orange")):
        ax2.plot(m, [row[f"delta_fresh_{name}"] for row in rows], marker="o", color=color, label=f"Δ(model, {name})")
    ax2.set(xscale="log", yscale="log", xlabel="pretraining task pool size M", ylabel="Δ on fresh tasks",
            title="which Bayes predictor does the model follow?")
    ax2.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig
