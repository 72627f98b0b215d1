"""``python -m benchmarks [--quick] [--json PATH] [--device cuda]``: icl_lab's core against the reference recipe.

Sections (see each module), in this order: training throughput and MFU
(benchmarks.throughput), ensemble throughput against sequential runs (benchmarks.ensemble),
baseline cost (benchmarks.baselines), then time to quality
(benchmarks.time_to_quality; lab and reference side by side in two processes) with the
quick main job in the background for its peak memory (benchmarks.memory); on request the
task-diversity sweep with and without ensembles (``ensemble_sweep``). Every comparison runs
both sides alike and side by side; prints a table and writes a flat JSON object.
``--device cuda`` runs the GPU script instead (:func:`cuda_sections`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks import baselines, ensemble, throughput, time_to_quality
from benchmarks.common import machine_info, set_threads
from benchmarks.memory import MainJob

FULL = dict(ttq_cap_s=600.0, ttq_wall_cap_s=540.0, tiny_rounds=15, tiny_repeat=3, standard_rounds=3,
            standard_repeat=1, baseline_prompts=1280, baseline_rounds=5, lasso_loop_prompts=320, main_job_steps=None,
            ensemble_rounds={"quick": 5, "tiny": 5, "small": 3})
QUICK = dict(ttq_cap_s=45.0, ttq_wall_cap_s=60.0, tiny_rounds=3, tiny_repeat=2, standard_rounds=1, standard_repeat=1,
             baseline_prompts=128, baseline_rounds=2, lasso_loop_prompts=None, main_job_steps=200,
             ensemble_rounds={"quick": 2, "tiny": 2, "small": 1})
PAPER_STEPS = 500_000  # the Garg et al. paper preset (experiments/linear_regression.toml)

# (figure, comparison, threshold, description)
TARGETS = [
    ("train_speedup_tiny", ">=", 1.5, "training throughput vs reference, tiny"),
    ("train_speedup_standard", ">=", 1.3, "training throughput vs reference, standard"),
    ("mfu_standard", ">=", 0.65, "lab MFU at standard (fraction of fp32 matmul rate)"),
    ("time_to_quality_speedup", ">=", 5.0, "time to quality vs reference recipe"),
    ("ensemble_speedup_quick_k8", ">=", 0.9, "ensemble of 8 vs 8 sequential runs, quick model (no more than 10% slower)"),
    ("ensemble_batched_speedup_quick_k8", ">=", 0.9, "batched ensemble of 8 vs 8 sequential runs, quick model"),
    ("baselines_speedup", ">=", 20.0, "closed-form baselines vs per-prefix loop"),
    ("baselines_vectorised_s", "<=", 5.0, "all closed-form baselines incl. Lasso (s)"),
    ("main_job_peak_rss_gib", "<=", 1.5, "quick main job peak memory (GiB)"),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_time_to_quality(p: dict, threads: int, clock: str, work: Path) -> tuple[dict, dict]:
    """Lab and reference side by side, each in its own process."""
    kw = dict(check_every=50, n_prompts=512, threads=threads, clock=clock)
    lab = time_to_quality.start_side("lab", p["ttq_cap_s"], work / "lab.json", wall_cap_s=p["ttq_wall_cap_s"], **kw)
    ref = time_to_quality.start_side("reference", p["ttq_cap_s"], work / "reference.json",
                                     wall_cap_s=p["ttq_wall_cap_s"], **kw)
    lab.wait()
    log("  lab side done")
    ref.wait()
    if lab.returncode or ref.returncode:
        raise RuntimeError(f"time-to-quality side failed (lab rc={lab.returncode}, reference rc={ref.returncode})")
    lab_res = json.loads((work / "lab.json").read_text())
    ref_res = json.loads((work / "reference.json").read_text())
    figures = time_to_quality.summarize(lab_res, ref_res, kw["check_every"], kw["n_prompts"])
    return figures, {"lab": lab_res["history"], "reference": ref_res["history"]}


def fmt(v: object, digits: int = 3) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and math.isnan(v):
            return "n/a"
        if isinstance(v, int):
            return str(v)
        return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def table(r: dict) -> str:
    lines = []

    def row(name: str, lab: object = "", ref: object = "", ratio: object = "", note: str = "") -> None:
        lines.append(f"| {name} | {fmt(lab)} | {fmt(ref)} | {fmt(ratio)} | {note} |")

    lines += ["| figure | icl_lab | reference | ratio | note |", "|---|---|---|---|---|"]
    for size in ("tiny", "standard"):
        if f"train_speedup_{size}" not in r:
            continue
        row(f"train steps/s, {size} (B=64, T=82, fp32)", r[f"lab_steps_per_s_{size}"],
            r[f"reference_steps_per_s_{size}"], r[f"train_speedup_{size}"],
            f"per-round ratio {fmt(r[f'train_speedup_{size}_min_round'])}-{fmt(r[f'train_speedup_{size}_max_round'])}; "
            f"wall-clock ratio {fmt(r.get(f'train_speedup_{size}_wall', math.nan))}")
        row(f"train tokens/s, {size}", r[f"lab_tokens_per_s_{size}"], r[f"reference_tokens_per_s_{size}"])
        row(f"MFU, {size}", r[f"mfu_{size}"], r[f"reference_mfu_{size}"], "",
            f"model GFLOP/s {fmt(r[f'lab_gflops_{size}'])} vs {fmt(r[f'reference_gflops_{size}'])}; "
            f"matmul {fmt(r[f'matmul_gflops_{size}'])} GFLOP/s")
    for key in sorted(k for k in r if k.startswith("train_speedup_") and ("cuda" in k) and "round" not in k
                      and not k.endswith(("_cpu", "_wall"))):
        suffix = key.removeprefix("train_speedup_")
        row(f"train steps/s, {suffix}", r[f"lab_steps_per_s_{suffix}"], r[f"reference_steps_per_s_{suffix}"], r[key],
            f"MFU {fmt(r[f'mfu_{suffix}'])}")
    for tag, what in (("", "ensemble as trained here"), ("batched_", "batched ensemble")):
        for size in ("quick", "tiny", "small", "quick_cuda", "tiny_cuda", "small_cuda"):
            for k in ensemble.KS:
                key = f"ensemble_{tag}speedup_{size}_k{k}"
                if key in r:
                    row(f"member steps/s, {what} of {k} vs {k} runs one by one, {size}",
                        r[f"ensemble_{tag}member_steps_per_s_{size}_k{k}"],
                        r[f"sequential_{tag}member_steps_per_s_{size}_k{k}"], r[key],
                        f"per-round ratio {fmt(r[key + '_min_round'])}-{fmt(r[key + '_max_round'])}; "
                        "'reference' column: sequential")
    if "sweep_wall_s_ensemble" in r:
        row("quick task-diversity sweep wall time (s), ensembles vs --no-ensemble", r["sweep_wall_s_ensemble"],
            r["sweep_wall_s_alone"], r["sweep_wall_s_alone"] / r["sweep_wall_s_ensemble"],
            "7 pool sizes, one worker, one thread; 'reference' column: every run alone")
    for key in sorted(k for k in r if k.startswith("paper_preset_projected_hours_")):
        row(f"paper preset ({PAPER_STEPS} steps, standard) projected hours, {key.removeprefix('paper_preset_projected_hours_')}",
            r[key], "", "", "full-length prompts every step: an upper bound (the curriculum starts shorter)")
    if "time_to_quality_speedup" in r:
        lb = r["time_to_quality_speedup_is_lower_bound"]
        row(f"time to error<{r['ttq_target_error']} at k={r['ttq_k']}, d={r['ttq_d']} ({r['ttq_clock']} s)",
            r["lab_time_to_quality_s"], r["reference_time_to_quality_s"], r["time_to_quality_speedup"],
            (f"lower bound: reference not there when stopped ({r['reference_stopped_by']}) at step "
             f"{r['reference_steps']}, best error {fmt(r['reference_best_error'])}" if lb else
             f"reference reached it at step {r['reference_steps']}") + f"; lab at step {fmt(r['lab_steps_to_quality'])}")
        row("  same, wall clock (s)", r["lab_time_to_quality_wall_s"], r["reference_time_wall_s"])
        row("  ms per train step (recipes)", r["lab_ms_per_step"], r["reference_ms_per_step"])
        if "time_to_quality_speedup_curriculum_bound" in r:
            row("  reference time to step 6000 (first step with all 8 dims)", "",
                r["reference_s_until_full_curriculum"], r["time_to_quality_speedup_curriculum_bound"],
                "argued bound: before, x_8 = 0 in every prompt, its read-in column gets no gradient")
    if "baselines_speedup" in r:
        for name in baselines.NAMES:
            row(f"baseline {name} (s)", r[f"baseline_{name}_vectorised_s"], r[f"baseline_{name}_loop_s"],
                r[f"baseline_{name}_speedup"])
        row(f"all closed-form baselines (s), {r['baselines_prompts']}x{r['baselines_points']}x{r['baselines_d']}",
            r["baselines_vectorised_s"], r["baselines_loop_s"], r["baselines_speedup"],
            (f"loop Lasso timed on {r['loop_lasso_timed_prompts']} prompts, scaled; " if "loop_lasso_timed_prompts" in r else "")
            + f"wall-clock ratio {fmt(r.get('baselines_speedup_wall', math.nan))}")
        row("baselines peak extra memory (GiB)", r["baselines_vectorised_peak_extra_gib"],
            r["baselines_loop_peak_extra_gib"], "", "one pass over all, fresh process, above its RSS before")
    if "main_job_peak_rss_gib" in r:
        row("quick main job peak RSS (GiB)", r["main_job_peak_rss_gib"], "", "",
            f"steps: {r['main_job_steps']}, wall {fmt(r['main_job_wall_s'])} s (in the background of time to quality)")
    lines += ["", "| target | figure | value | pass |", "|---|---|---|---|"]
    for key, op, thr, desc in TARGETS:
        if key in r:
            v = r[key]
            ok = (v >= thr if op == ">=" else v <= thr) if not (isinstance(v, float) and math.isnan(v)) else False
            note = " (lower bound)" if key == "time_to_quality_speedup" and r.get(
                "time_to_quality_speedup_is_lower_bound") else ""
            lines.append(f"| {desc} {op} {thr} | {key} | {fmt(v)}{note} | {'PASS' if ok else 'FAIL'} |")
    return "\n".join(lines)


def cuda_sections(quick: bool) -> dict:
    """The GPU script: lab vs reference steps/s at tiny and standard (fp32, TF32, bf16 autocast; the lab
    also compiled with CUDA graphs, ``lab_compiled_steps_per_s_*``),
    the ensemble speedup (K = 1, 4, 8, 16), and the paper preset's projected wall time at the
    lab's standard-size rate. Sized to finish in under 8 minutes on one GPU."""
    cuda, r = torch.device("cuda"), {}
    rounds, repeat = (3, 5) if quick else (5, 20)
    log(f"GPU: {torch.cuda.get_device_name(0)}; lab vs reference (wall clock, synchronised)")
    for size in ("tiny", "standard"):
        for precision in ("fp32", "tf32", "bf16"):
            # lab_compiled: the same lab step under torch.compile + CUDA graphs, beside the eager one
            r.update(throughput.measure(size, rounds, repeat, device=cuda, bf16=precision == "bf16",
                                        tf32=precision == "tf32", log=log, compiled=True))
    log("ensemble throughput on the GPU")
    for size in ("quick", "tiny", "small"):
        r.update(ensemble.measure(size, rounds, device=cuda, log=log))
    for precision, tag in (("fp32", ""), ("tf32", "_tf32"), ("bf16", "_bf16")):
        rate = r[f"lab_steps_per_s_standard_cuda{tag}"]
        r[f"paper_preset_projected_hours_{precision}"] = PAPER_STEPS / rate / 3600
    return r


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short development run (minutes); figures are rough")
    ap.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads for every side (default 1: stable on a shared 2-core machine)")
    ap.add_argument("--sections", default="memory,ttq,throughput,ensemble,baselines",
                    help="comma-separated subset of memory, ttq, throughput, ensemble, baselines, ensemble_sweep "
                         "(the last, ~30 minutes, only when named)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: the GPU script (lab vs reference at tiny and standard in fp32, TF32 and bf16, "
                         "the ensemble speedup, the paper preset's projected wall time; under 8 minutes)")
    ap.add_argument("--clock", choices=("auto", "cpu", "wall"), default="auto",
                    help="timing clock; auto = process CPU time with one thread (robust to other jobs), else wall")
    ap.add_argument("--ttq-cap", type=float, default=None, help="seconds of reference training at most")
    a = ap.parse_args(argv)
    if a.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda: torch sees no CUDA device here (run it on a GPU machine; "
              "the CPU benchmarks are the default)", file=sys.stderr)
        raise SystemExit(2)
    p = dict(QUICK if a.quick else FULL)
    if a.ttq_cap is not None:
        p["ttq_cap_s"] = p["ttq_wall_cap_s"] = a.ttq_cap
    clock = a.clock if a.clock != "auto" else ("cpu" if a.threads == 1 else "wall")
    sections = {s.strip() for s in a.sections.split(",") if s.strip()}
    set_threads(a.threads)
    t0 = time.perf_counter()
    r: dict = {"mode": "quick" if a.quick else "full", "threads": a.threads, "clock": clock, **machine_info()}
    history = None
    job = None
    if a.device == "cuda":
        sections = set()  # the GPU script only
        r.update(cuda_sections(a.quick))
    if "throughput" in sections:
        log(f"training throughput (interleaved rounds, fp32, CPU, {clock} clock)")
        for size in ("tiny", "standard"):
            r.update(throughput.measure(size, p[f"{size}_rounds"], p[f"{size}_repeat"],
                                        clock=clock, log=log))
    if "ensemble" in sections:
        log(f"ensemble throughput (interleaved rounds, fp32, CPU, {clock} clock, K = {ensemble.KS})")
        for size, rounds in p["ensemble_rounds"].items():
            r.update(ensemble.measure(size, rounds, clock=clock, log=log))
    if "ensemble_sweep" in sections:
        log("quick task-diversity sweep with ensembles, then with every run alone")
        r["sweep_wall_s_ensemble"] = ensemble.sweep_wall(8, log=log)
        r["sweep_wall_s_alone"] = ensemble.sweep_wall(1, log=log)
    if "baselines" in sections:
        log(f"closed-form baselines ({p['baseline_prompts']} prompts x 41 points x d=20, {clock} clock)")
        r.update(baselines.measure(p["baseline_prompts"], p["baseline_rounds"], p["lasso_loop_prompts"],
                                   clock=clock, log=log))
    if "memory" in sections:  # in the background of time to quality only: the
        # throughput and baseline timings above ran on a quiet machine
        log(f"main job started in the background (memory; {p['main_job_steps'] or 'all'} steps)")
        job = MainJob(steps=p["main_job_steps"], nice=0)
    if "ttq" in sections:
        log(f"time to quality (lab and reference side by side; reference cap {p['ttq_cap_s']:.0f} s {clock}, "
            f"{p['ttq_wall_cap_s']:.0f} s wall)")
        with tempfile.TemporaryDirectory(prefix="icl_bench_ttq_") as work:
            figures, history = run_time_to_quality(p, a.threads, clock, Path(work))
        r.update(figures)
        log(f"  lab {fmt(r['lab_time_to_quality_s'])} s, reference {fmt(r['reference_time_to_quality_s'])} s "
            f"({'reached' if r['reference_reached_target'] else 'stopped by ' + r['reference_stopped_by']})")
    if job is not None:
        log("waiting for the main job")
        r.update(job.finish())
        log(f"  main job peak {fmt(r['main_job_peak_rss_gib'])} GiB")
    r["benchmark_wall_s"] = time.perf_counter() - t0
    print(table(r))
    print(f"\n{r['cpu_model']}, {r['cpu_cores']} cores, torch {r['torch_version']}, threads {a.threads}, "
          f"{clock} clock, {r['mode']} mode, {r['benchmark_wall_s']:.0f} s, "
          f"load average {r['load_average_1min_at_start']} at start")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(r, indent=1, default=str) + "\n")
        if history is not None:
            a.json.with_suffix(".ttq_history.json").write_text(json.dumps(history) + "\n")
    return r


if __name__ == "__main__":
    main()
