"""Raventós et al. 2023: task diversity shortens the path to non-Bayesian in-context learning.

A sweep (``icl_lab.sweep``: one run per pretraining pool size M) of transformers trained on
tasks uniform over a fixed pool of M weight vectors. (a) Error on fresh Gaussian tasks (solid)
and on the pool's own tasks (dotted), averaged over k ≥ 1, for the model, dMMSE (the Bayes
predictor of the pool) and ridge (the Bayes predictor of the Gaussian prior). (b) Distance
Δ = mean_k (prediction difference)² / D from the model to dMMSE and to ridge on fresh tasks:
below the diversity threshold the model tracks dMMSE, above it ridge.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from icl_lab.baselines.bayes import dmmse
from icl_lab.baselines.regression import ridge
from icl_lab.evaluation.probes import spd
from icl_lab.evaluation.regression import eval_batch, model_learner
from icl_lab.figures.plotting import save_figure
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

POOL_SIZES = {"smoke": "1,64", "quick": "1,4,16,64,256,1024,4096",
              "paper": ",".join(str(2**p) for p in range(0, 21, 2))}


def run_pool_sweep(preset: str, out_dir: Path) -> tuple[Path, list]:
    """Run (or resume) the pool-size sweep with the sweep runner; returns its directory and runs."""
    plan = build_plan("task_diversity", preset, [], [f"task.pool_size={POOL_SIZES[preset]}"], seeds=1)
    sweep_dir = Path(out_dir).parent / "runs" / "sweeps" / f"task_diversity-{preset}"
    with SweepLock(sweep_dir):
        check_existing_runs(plan, sweep_dir)
        write_manifest(plan, sweep_dir)
        cpus = 1 if preset in ("smoke", "quick") else None
        summary = run_sweep(plan, sweep_dir, make_executor("local", workers=1, cpus_per_run=cpus),
                            display=SweepDisplay(len(plan.runs), tty=False))
    write_report(sweep_dir)
    if summary.failed:
        raise RuntimeError(f"task-diversity sweep: {len(summary.failed)} runs failed, e.g. "
                           f"{summary.failed[0].name}: {summary.failed[0].error}")
    return sweep_dir, list(plan.runs)


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


def main(preset: str = "quick", out_dir: Path = Path("figs_out/fig10_task_diversity")) -> list[Path]:
    """Sweep the pretraining pool size with the sweep runner and draw errors and distances against M."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_dir, runs = run_pool_sweep(preset, out_dir)
    rows = sorted((_measure(sweep_dir / run.name) for run in runs), key=lambda row: row["pool_size"])
    m = [row["pool_size"] for row in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.3))
    for name, color in (("model", "black"), ("dmmse", "tab:blue"), ("ridge", "tab:orange")):
        ax1.plot(m, [row[f"error_fresh_{name}"] for row in rows], marker="o", color=color, label=f"{name}, fresh tasks")
        ax1.plot(m, [row[f"error_pool_{name}"] for row in rows], ls=":", color=color, label=f"{name}, pool tasks")
    ax1.set(xscale="log", xlabel="pretraining task pool size M", ylabel="mean error over k ≥ 1 / Var(y)",
            title=f"task diversity ({preset})")
    ax1.legend(frameon=False, fontsize=7)
    for name, color in (("dmmse", "tab:blue"), ("ridge", "tab:orange")):
        ax2.plot(m, [row[f"delta_fresh_{name}"] for row in rows], marker="o", color=color, label=f"Δ(model, {name})")
    ax2.set(xscale="log", yscale="log", xlabel="pretraining task pool size M", ylabel="Δ on fresh tasks",
            title="which Bayes predictor does the model follow?")
    ax2.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    written = save_figure(fig, out_dir / "fig10")
    (out_dir / "fig10.json").write_text(json.dumps({"sweep_dir": str(sweep_dir), "rows": rows}, indent=1))
    return written + [out_dir / "fig10.json"]


if __name__ == "__main__":
    import typer

    typer.run(main)

