"""Cost of the closed-form baselines: icl_lab's vectorised ones against a per-prefix loop.

Data: noiseless linear regression, 1280 prompts x 41 points x d = 20 (float32, as the
evaluation feeds them). Baselines and hyper-parameters are the lab's defaults (EvalConfig):
least squares, ridge (lam 0.1), Bayes (the task's prior: noise 0, prior std 1), averaging,
3-NN, Lasso (alpha 0.01), GD (1 step). Each pair is timed in alternating rounds (vectorised,
loop, loop, vectorised, ...); medians are summed over the baselines.

The scikit-learn Lasso loop (one fit per prompt and prefix, ~52k fits) dominates the
loop's time; its fits are independent, so its cost is exactly linear in the number of
prompts, and it may be timed on a subset (``lasso_loop_prompts``) and scaled up (stated
in the output as ``loop_lasso_timed_prompts``).

Peak memory: one pass over all baselines of a side in a fresh child process; the figure
is the process's high-water mark above its RSS before the pass (data included before).

Clock: with one thread, CPU time of this process (``time.process_time``), robust to
other jobs' time-slicing; the wall-clock totals are reported beside it (``_wall``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import torch

from benchmarks import loop_baselines as loop
from benchmarks.common import ROOT, PeakRSS, interleaved, median
from icl_lab.baselines import regression as core
from icl_lab.evaluation.config import EvalConfig
from icl_lab.tasks import sample_task
from icl_lab.tasks.config import TaskConfig

NAMES = ("least_squares", "ridge", "bayes", "averaging", "knn", "lasso", "gd")


def data(n_prompts: int = 1280, n_points: int = 41, d: int = 20, seed: int = 7) -> tuple[torch.Tensor, torch.Tensor, TaskConfig]:
    task = TaskConfig.of(d=d, n_points=n_points)
    batch = sample_task(task, n_prompts, torch.Generator().manual_seed(seed))
    return batch.xs, batch.ys, task


def vectorised(task: TaskConfig, ev: EvalConfig) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    return {
        "least_squares": core.least_squares,
        "ridge": lambda xs, ys: core.ridge(xs, ys, lam=ev.ridge_lam),
        "bayes": lambda xs, ys: core.bayes(xs, ys, noise_std=task.noise_std, prior_std=task.prior_std)[0],
        "averaging": core.averaging,
        "knn": lambda xs, ys: core.knn(xs, ys, k=ev.knn_k),
        "lasso": lambda xs, ys: core.lasso(xs, ys, alpha=ev.lasso_alpha),
        "gd": lambda xs, ys: core.gd(xs, ys, steps=ev.gd_steps),
    }


def per_prefix_loop(task: TaskConfig, ev: EvalConfig) -> dict[str, Callable]:
    return {
        "least_squares": loop.least_squares,
        "ridge": lambda xs, ys: loop.ridge(xs, ys, ev.ridge_lam),
        "bayes": lambda xs, ys: loop.bayes(xs, ys, task.noise_std, task.prior_std)[0],
        "averaging": loop.averaging,
        "knn": lambda xs, ys: loop.knn(xs, ys, ev.knn_k),
        "lasso": lambda xs, ys: loop.lasso(xs, ys, ev.lasso_alpha),
        "gd": lambda xs, ys: loop.gd(xs, ys, ev.gd_steps),
    }


def measure(n_prompts: int = 1280, rounds: int = 3, lasso_loop_prompts: int | None = None,
            clock: str = "cpu", log: Callable[[str], None] | None = None) -> dict[str, float]:
    xs, ys, task = data(n_prompts)
    ev = EvalConfig()
    vec, lp = vectorised(task, ev), per_prefix_loop(task, ev)
    out: dict[str, float] = {"baselines_prompts": n_prompts, "baselines_points": xs.shape[1], "baselines_d": xs.shape[2]}
    tot = {"vectorised": 0.0, "loop": 0.0}
    tot_other = {"vectorised": 0.0, "loop": 0.0}
    max_diff = 0.0
    for name in NAMES:
        results: dict[str, object] = {}

        def timed(side: str, fn: Callable, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
            def call() -> None:
                results[side] = fn(x, y)
            return call

        scale = 1.0
        lx, ly = xs, ys
        if name == "lasso" and lasso_loop_prompts and lasso_loop_prompts < n_prompts:
            lx, ly, scale = xs[:lasso_loop_prompts], ys[:lasso_loop_prompts], n_prompts / lasso_loop_prompts
            out["loop_lasso_timed_prompts"] = lasso_loop_prompts
        fns = {"vectorised": timed("vectorised", vec[name], xs, ys), "loop": timed("loop", lp[name], lx, ly)}
        loop_rounds = 1 if name == "lasso" else max(1, rounds - 1)
        wall, cpu = interleaved(fns, rounds=loop_rounds)
        if rounds > loop_rounds:  # further rounds without the (slow) loop
            more_wall, more_cpu = interleaved({k: f for k, f in fns.items() if k != "loop"},
                                              rounds=rounds - loop_rounds)
            for k in more_wall:
                wall[k] += more_wall[k]
                cpu[k] += more_cpu[k]
        times, other = (cpu, wall) if clock == "cpu" else (wall, cpu)
        tot_other["vectorised"] += median(other["vectorised"])
        tot_other["loop"] += scale * median(other["loop"])
        t_vec, t_loop = median(times["vectorised"]), scale * median(times["loop"])
        out[f"baseline_{name}_vectorised_s"] = t_vec
        out[f"baseline_{name}_loop_s"] = t_loop
        out[f"baseline_{name}_speedup"] = t_loop / t_vec
        tot["vectorised"] += t_vec
        tot["loop"] += t_loop
        a = np.asarray(results["vectorised"].double().numpy())[: lx.shape[0]]
        diff = float(np.abs(a - np.asarray(results["loop"])).max())
        out[f"baseline_{name}_max_abs_diff"] = diff
        if name != "lasso":  # sklearn's default tol (1e-4) is looser than the core's (1e-8)
            max_diff = max(max_diff, diff)
        if log:
            log(f"  {name:<14} vectorised {t_vec:7.3f} s   loop {t_loop:8.2f} s   x{t_loop / t_vec:6.1f}")
    out["baselines_vectorised_s"] = tot["vectorised"]
    out["baselines_loop_s"] = tot["loop"]
    out["baselines_speedup"] = tot["loop"] / tot["vectorised"]
    other_name = "wall" if clock == "cpu" else "cpu"
    out[f"baselines_vectorised_s_{other_name}"] = tot_other["vectorised"]
    out[f"baselines_speedup_{other_name}"] = tot_other["loop"] / tot_other["vectorised"]
    out["baselines_clock"] = clock
    out["baselines_max_abs_diff_excl_lasso"] = max_diff
    for side in ("vectorised", "loop"):
        out.update(peak_memory(side, n_prompts))
    return out


def peak_memory(side: str, n_prompts: int, lasso_loop_prompts: int = 32) -> dict[str, float]:
    """Peak memory of one pass over every baseline of ``side``, in a fresh process (the
    benchmark's own heap is full of freed-but-cached blocks from the other sections)."""
    cmd = [sys.executable, "-m", "benchmarks.baselines", side, "--prompts", str(n_prompts),
           "--lasso-loop-prompts", str(lasso_loop_prompts)]
    try:
        res = json.loads(subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True,
                                        timeout=600).stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return {f"baselines_{side}_peak_extra_gib": float("nan")}
    return {f"baselines_{side}_peak_extra_gib": res["extra_gib"], f"baselines_{side}_peak_rss_gib": res["peak_gib"]}


def _peak_main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Peak memory of one pass over the baselines (child process).")
    ap.add_argument("side", choices=("vectorised", "loop"))
    ap.add_argument("--prompts", type=int, default=1280)
    ap.add_argument("--lasso-loop-prompts", type=int, default=32)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    xs, ys, task = data(a.prompts)
    fns = (vectorised if a.side == "vectorised" else per_prefix_loop)(task, EvalConfig())
    fns["least_squares"](xs[:2], ys[:2])  # first-call allocations (libraries) before the baseline reading
    with PeakRSS() as p:
        for name, fn in fns.items():
            if a.side == "loop" and name == "lasso":
                fn(xs[: a.lasso_loop_prompts], ys[: a.lasso_loop_prompts])  # per-prompt fits: small, slow
            else:
                fn(xs, ys)
    print(json.dumps({"extra_gib": p.extra_gib, "peak_gib": p.peak_gib, "start_gib": p.start_gib}))


if __name__ == "__main__":
    _peak_main()
