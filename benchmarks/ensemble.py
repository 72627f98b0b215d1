"""Ensemble throughput: K members trained as one batched module (icl_lab.training.ensemble)
against the same K models trained one after the other, same work.

Both sides do, per round, one training step of each of the K models: forward, the task loss,
backward, per-model gradient clipping (1.0) and the per-model fused AdamW step, on fixed data
(sampling is not timed; the two sides sample alike). Ensemble = ``Ensemble`` + ``member_losses``
(what ``fit_members`` runs); sequential = ``training_loss`` per model
(what ``fit`` runs). ``ensemble_speedup_<size>_k<K>`` = sequential time / ensemble time
(> 1: the ensemble is faster) for the ensemble the lab trains on that device (batched on CUDA,
members one by one within the step on a CPU); ``ensemble_batched_speedup_<size>_k<K>`` is the
batched forward's, on any device. Sizes:

* ``quick``: the quick preset of experiments/linear_regression.toml (tiny model, compact
  encoding, d = 8, 25 points, batch 64);
* ``tiny`` / ``small``: Garg et al.'s sizes (64/3/2, 128/6/4), interleaved, d = 20, 41 points, batch 64.

``sweep_wall`` times the quick task-diversity sweep (paper_figs/fig10_task_diversity.py's pool
sizes) with and without the sweep runner's ensembles (``--sections ensemble_sweep``: ~30 minutes
on 2 cores, so not in the default sections).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from benchmarks.common import EXPERIMENT, interleaved, median
from icl_lab.pipelines.regression import ExperimentConfig, load
from icl_lab.training.ensemble import Ensemble, member_losses
from icl_lab.training.loop import make_optimizer
from icl_lab.training.regression import build_model, training_loss

SIZES = {"quick": [], "tiny": ["model.size=tiny"], "small": ["model.size=small"]}
GARG = ["model.encoding=interleaved", "task.d=20", "task.n_points=41", "model.max_points=41"]
KS = (1, 4, 8, 16)


def size_config(size: str) -> ExperimentConfig:
    """The benchmarked model and task of ``size`` (quick preset, Garg sizes at d = 20, 41 points)."""
    return load(EXPERIMENT, "quick", SIZES[size] + ([] if size == "quick" else GARG))


def build_sides(cfg: ExperimentConfig, k: int, device: torch.device, batched: bool | None = None
                ) -> tuple[dict[str, Callable[[], None]], dict[str, list[nn.Module]]]:
    """One step of K models, batched and one by one, and each side's models (the same K
    initialisations on both sides, each side with its own copies and optimisers)."""
    def members() -> list[nn.Module]:
        out = []
        for seed in range(k):
            torch.manual_seed(seed)
            out.append(build_model(cfg).to(device))
        return out

    g = torch.Generator().manual_seed(0)
    b, n, d = cfg.train.batch_size, cfg.task.n_points, cfg.task.d
    xs = torch.randn(k, b, n, d, generator=g).to(device)
    ys = torch.randn(k, b, n, generator=g).to(device)
    batched_models, alone = members(), members()
    ensemble = Ensemble(batched_models, batched)
    opt_batched = [make_optimizer(m, cfg.train) for m in batched_models]
    opt_alone = [make_optimizer(m, cfg.train) for m in alone]

    def ensemble_step() -> None:
        losses = member_losses(ensemble(xs, ys), ys)
        for opt in opt_batched:
            opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        for model, opt in zip(batched_models, opt_batched):
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    def sequential_step() -> None:
        for i, (model, opt) in enumerate(zip(alone, opt_alone)):
            loss = training_loss(model, xs[i], ys[i])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    return ({"ensemble": ensemble_step, "sequential": sequential_step},
            {"ensemble": batched_models, "sequential": alone})


def measure(size: str, rounds: int, ks: tuple[int, ...] = KS, device: torch.device | None = None,
            clock: str = "cpu", log: Callable[[str], None] | None = None) -> dict[str, float]:
    """Member steps/s of both sides and the speedup for each K (interleaved rounds, medians), for
    the device's own ensemble and (on a CPU, where that one runs members one by one) the batched one."""
    device = device or torch.device("cpu")
    clock = "wall" if device.type == "cuda" else clock
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    cfg = size_config(size)
    suffix = size if device.type == "cpu" else f"{size}_{device.type}"
    out: dict[str, float] = {}
    paths = {"": None} if device.type == "cuda" else {"": None, "batched_": True}
    for k in ks:
        for tag, batched in paths.items():
            sides, _ = build_sides(cfg, k, device, batched)
            for fn in sides.values():  # warm-up: allocator, optimiser state
                fn()
            wall, cpu = interleaved(sides, rounds=rounds, sync=sync)
            times = cpu if clock == "cpu" else wall
            ens, seq = median(times["ensemble"]), median(times["sequential"])
            key = f"ensemble_{tag}speedup_{suffix}_k{k}"
            out[f"ensemble_{tag}member_steps_per_s_{suffix}_k{k}"] = k / ens
            out[f"sequential_{tag}member_steps_per_s_{suffix}_k{k}"] = k / seq
            out[key] = seq / ens
            ratios = [s / e for s, e in zip(times["sequential"], times["ensemble"])]
            out[f"{key}_min_round"], out[f"{key}_max_round"] = min(ratios), max(ratios)
            if log:
                how = "batched" if tag else ("batched" if device.type == "cuda" else "one by one")
                log(f"  {size} K={k} {how} ({device.type}, {clock} clock): ensemble {1e3 * ens:.1f} ms, "
                    f"sequential {1e3 * seq:.1f} ms per step of all K; speedup {seq / ens:.2f}")
    out[f"ensemble_rounds_{suffix}"] = rounds
    return out


def sweep_wall(ensemble: int, preset: str = "quick", log: Callable[[str], None] | None = None) -> float:
    """Wall seconds of the task-diversity sweep of ``preset`` (fig10's pool sizes, one worker,
    one thread) with ensembles of at most ``ensemble`` runs (1: every run alone)."""
    from icl_lab.sweep import SweepLock, build_plan, make_executor, run_sweep, write_manifest
    from icl_lab.sweep.runner import SweepDisplay
    from paper_figs.fig10_task_diversity import POOL_SIZES

    plan = build_plan("task_diversity", preset, [], [f"task.pool_size={POOL_SIZES[preset]}"], seeds=1)
    with tempfile.TemporaryDirectory(prefix="icl_bench_sweep_") as work:
        folder = Path(work)
        t0 = time.perf_counter()
        with SweepLock(folder):
            write_manifest(plan, folder)
            summary = run_sweep(plan, folder, make_executor("local", workers=1, cpus_per_run=1),
                                display=SweepDisplay(len(plan.runs), tty=False, quiet=True), ensemble=ensemble)
        seconds = time.perf_counter() - t0
    if summary.failed:
        raise RuntimeError(f"sweep failed: {summary.failed[0].name}: {summary.failed[0].error}")
    if log:
        log(f"  task-diversity {preset} sweep, {len(plan.runs)} runs, ensemble {ensemble}: {seconds:.0f} s")
    return seconds
