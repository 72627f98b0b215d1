"""Training throughput: icl_lab's model against Garg et al.'s reference, same work.

Both sides: interleaved encoding (tokens x_1, [y_1, 0..], ..., 2N tokens), d = 20,
N = 41 points (T = 82 tokens), batch 64, fp32, same sizes (tiny 64/3/2, standard
256/12/8), same starting weights (the reference's copied into the lab's model), one
full train step = forward, MSE over every position, backward, Adam(W) step.

* lab: ``ICLRegressor`` (``encoding="interleaved"``), ``icl_lab.training.regression.training_loss``,
  ``icl_lab.training.regression.make_optimizer`` (AdamW, weight decay 0 = Adam), ``zero_grad(set_to_none)``.
* reference: ``benchmarks.reference.TransformerModel`` + its ``train_step`` (Adam).

Model FLOPs per train step (the same analytic count for every side; PaLM, Chowdhery et
al. 2022, appendix B):

    F = 6 · P · B·T  +  12 · L · E · T · B·T

``P`` = weights of the matrix multiplications (12·L·E² in the blocks + read-in d·E +
read-out E; no biases, LayerNorms or position table), ``B·T`` tokens per step,
``6 = 2`` (multiply-add) ``× 3`` (forward + two backward matmuls); the second term is
``QKᵀ`` and ``AV`` (``2·2·T·E`` per token and layer forward, ×3 for the backward),
counted over the full ``T × T`` square as is usual for MFU. Model FLOP utilisation
(MFU) = F / step time / (FLOP/s of a 2048³ fp32 matmul timed in the same rounds).

Clock: with one thread (the default), step times are this process's CPU time
(``time.process_time``), which other jobs' time-slicing of the shared cores does not
inflate; the wall-clock speedup is reported beside it (``train_speedup_<size>_wall``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import torch

from benchmarks.common import interleaved, median
from benchmarks.reference import (
    TransformerModel,
    copy_reference_into_lab,
    lab_twin,
    make_reference_optimizer,
    train_step,
)
from icl_lab.pipelines.regression import ExperimentConfig
from icl_lab.training.config import TrainConfig
from icl_lab.training.loop import make_optimizer
from icl_lab.training.regression import training_loss

SIZES = {"tiny": (64, 3, 2), "standard": (256, 12, 8)}
D, N_POINTS, BATCH = 20, 41, 64
MATMUL_N = 2048


def model_flops_per_step(n_embd: int, n_layer: int, d: int = D, n_points: int = N_POINTS,
                         batch: int = BATCH) -> float:
    """Analytic FLOPs of one train step of the interleaved model (see the module docstring)."""
    t = 2 * n_points  # interleaved tokens per prompt
    tokens = batch * t
    matmul_params = 12 * n_layer * n_embd**2 + d * n_embd + n_embd
    return 6.0 * matmul_params * tokens + 12.0 * n_layer * n_embd * t * tokens


def matmul_flops() -> float:
    return 2.0 * MATMUL_N**3


def _lab_config(lr: float = 1e-4) -> ExperimentConfig:
    return ExperimentConfig(train=TrainConfig(lr=lr, weight_decay=0.0))


def build_sides(size: str, device: torch.device, seed: int = 0, bf16: bool = False,
                compiled: bool = False) -> dict[str, Callable[[], float]]:
    """Train-step closures for each side, on fixed data (sampling is not timed). ``compiled`` adds
    ``lab_compiled``: the lab model under ``torch.compile(mode="reduce-overhead")``, which captures
    the forward and backward in CUDA graphs, so a small model's step is a few graph launches
    instead of hundreds of kernel launches (CUDA only: on a CPU it needs a C++ toolchain)."""
    n_embd, n_layer, n_head = SIZES[size]
    torch.manual_seed(seed)
    ref = TransformerModel(D, N_POINTS, n_embd, n_layer, n_head).to(device)
    lab = copy_reference_into_lab(ref, lab_twin(ref)).to(device)
    g = torch.Generator().manual_seed(seed + 1)
    xs = torch.randn(BATCH, N_POINTS, D, generator=g).to(device)
    ys = (xs.cpu() @ torch.randn(BATCH, D, 1, generator=g))[..., 0].to(device)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else nullcontext

    ref_opt = make_reference_optimizer(ref)

    def ref_step() -> float:
        with autocast():
            return train_step(ref, xs, ys, ref_opt)

    def lab_stepper(model: torch.nn.Module, opt: torch.optim.Optimizer) -> Callable[[], float]:
        def step() -> float:
            with autocast():
                loss = training_loss(model, xs, ys)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    sides = {"lab": lab_stepper(lab, make_optimizer(lab, _lab_config().train)), "reference": ref_step}
    if compiled:
        twin = copy_reference_into_lab(ref, lab_twin(ref)).to(device)
        sides["lab_compiled"] = lab_stepper(torch.compile(twin, mode="reduce-overhead"),
                                            make_optimizer(twin, _lab_config().train))
    return sides


def measure(size: str, rounds: int, repeat: int, device: torch.device | None = None,
            bf16: bool = False, clock: str = "cpu", log: Callable[[str], None] | None = None,
            tf32: bool = False, compiled: bool = False) -> dict[str, float]:
    """Steps/s, tokens/s, achieved FLOP/s and MFU of each side, with a matmul timed alongside.

    ``clock``: "cpu" (process CPU time; the default with one thread) or "wall"; figures
    for the other clock are reported with a ``_wall`` / ``_cpu`` suffix on the speedup.
    On CUDA the wall clock is used (CPU time does not see the GPU); ``tf32`` lets fp32
    matmuls use TensorFloat-32 (both sides alike; reset afterwards)."""
    device = device or torch.device("cpu")
    if device.type == "cuda":
        clock = "wall"
    if tf32:
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            figures = measure(size, rounds, repeat, device, bf16, clock, log, compiled=compiled)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
        tag = f"_{size}_{device.type}"
        return {key.replace(tag, tag + "_tf32"): value for key, value in figures.items()}
    sides = build_sides(size, device, bf16=bf16, compiled=compiled)
    dtype = torch.bfloat16 if bf16 else torch.float32
    a = torch.randn(MATMUL_N, MATMUL_N, device=device, dtype=dtype)
    b = torch.randn(MATMUL_N, MATMUL_N, device=device, dtype=dtype)
    fns: dict[str, Callable[[], object]] = {"matmul": lambda: a @ b, **sides}
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    for fn in fns.values():  # warm-up: allocator, optimizer state, kernels
        fn()
    wall, cpu = interleaved(fns, rounds=rounds, repeat=repeat, sync=sync)
    times, other = (cpu, wall) if clock == "cpu" else (wall, cpu)
    if log:
        log(f"  {size} ({device.type}{', bf16' if bf16 else ''}), {clock} clock: "
            + ", ".join(f"{k} {1e3 * median(v):.1f} ms" for k, v in times.items())
            + f"; wall/cpu of lab {median(wall['lab']) / max(1e-12, median(cpu['lab'])):.2f}")
    n_embd, n_layer, _ = SIZES[size]
    flops = model_flops_per_step(n_embd, n_layer)
    peak = matmul_flops() / median(times["matmul"])
    tokens = BATCH * 2 * N_POINTS
    suffix = size if device.type == "cpu" and not bf16 else f"{size}_{device.type}{'_bf16' if bf16 else ''}"
    out: dict[str, float] = {f"matmul_gflops_{suffix}": peak / 1e9, f"model_gflop_per_step_{suffix}": flops / 1e9}
    for name in sides:
        t = median(times[name])
        key = name
        out[f"{key}_steps_per_s_{suffix}"] = 1.0 / t
        out[f"{key}_tokens_per_s_{suffix}"] = tokens / t
        out[f"{key}_gflops_{suffix}"] = flops / t / 1e9
        out[f"{key}_mfu_{suffix}" if key != "lab" else f"mfu_{suffix}"] = flops / t / peak
    ref_t = median(times["reference"])
    out[f"train_speedup_{suffix}"] = ref_t / median(times["lab"])
    # per-round ratios show the spread of the speedup under the machine's load
    ratios = [r / l for r, l in zip(times["reference"], times["lab"])]
    out[f"train_speedup_{suffix}_min_round"] = min(ratios)
    out[f"train_speedup_{suffix}_max_round"] = max(ratios)
    other_name = "wall" if clock == "cpu" else "cpu"
    out[f"train_speedup_{suffix}_{other_name}"] = median(other["reference"]) / median(other["lab"])
    out[f"mfu_{suffix}_{other_name}"] = flops / median(other["lab"]) / (matmul_flops() / median(other["matmul"]))
    out[f"throughput_clock_{suffix}"] = clock
    out[f"throughput_rounds_{suffix}"] = rounds
    out[f"throughput_steps_per_round_{suffix}"] = repeat
    return out
