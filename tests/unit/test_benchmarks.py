"""Correctness of the benchmark's pieces (no timings): the reference is faithful and the
per-prefix loops compute the same maths as the vectorised baselines."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("sklearn")

from benchmarks import loop_baselines as loop  # noqa: E402
from benchmarks.reference import (  # noqa: E402
    TransformerModel,
    copy_reference_into_lab,
    garg_curriculum,
    lab_twin,
    make_reference_optimizer,
    train_step,
)
from benchmarks.throughput import SIZES, model_flops_per_step  # noqa: E402
from icl_lab.baselines import regression as core  # noqa: E402
from icl_lab.models import ICLRegressor  # noqa: E402
from icl_lab.models.config import ModelConfig  # noqa: E402
from icl_lab.training.config import TrainConfig  # noqa: E402
from icl_lab.training.loop import make_optimizer  # noqa: E402
from icl_lab.training.regression import training_loss  # noqa: E402


def _randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """Weights far from the 0.02 initialisation, so every layer matters in the comparison."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm_gain = p.dim() == 1 and name.endswith("weight")  # LayerNorm weights: around 1
            p.copy_(0.3 * torch.randn(p.shape, generator=g) + float(is_norm_gain))


def _pair(activation: str = "gelu", d: int = 5, n: int = 7, size: tuple[int, int, int] = (16, 2, 2)):
    torch.manual_seed(0)
    ref = TransformerModel(d, n, *size, activation_function=activation)
    _randomise(ref)
    lab = copy_reference_into_lab(ref, lab_twin(ref))
    g = torch.Generator().manual_seed(1)
    xs = torch.randn(3, n, d, generator=g)
    ys = torch.randn(3, n, generator=g)
    return ref, lab, xs, ys


def test_reference_forward_equals_lab_with_copied_weights():
    ref, lab, xs, ys = _pair("gelu")  # exact GELU, as icl_lab's nn.GELU()
    with torch.no_grad():
        out_ref, out_lab = ref(xs, ys), lab(xs, ys)
    assert out_ref.shape == out_lab.shape == ys.shape
    assert out_ref.abs().max() > 0.1  # a non-trivial function
    torch.testing.assert_close(out_lab, out_ref, atol=1e-5, rtol=1e-5)


def test_reference_default_activation_differs_only_by_gelu_approximation():
    ref, lab, xs, ys = _pair("gelu_new")  # GPT2Config's default: tanh approximation
    with torch.no_grad():
        diff = (ref(xs, ys) - lab(xs, ys)).abs().max().item()
    assert 0 < diff < 0.05


def test_token_layout_and_readin_match():
    ref, lab, xs, ys = _pair()
    tokens = TransformerModel._combine(xs, ys)  # x_1, [y_1, 0..], x_2, ...
    assert torch.equal(tokens[:, 0::2], xs)
    assert torch.equal(tokens[:, 1::2, 0], ys) and not tokens[:, 1::2, 1:].any()
    with torch.no_grad():
        torch.testing.assert_close(lab.encoder(xs, ys), ref._read_in(tokens))


@pytest.mark.parametrize("size", sorted(SIZES))
def test_parameter_counts_equal(size):
    n_embd, n_layer, n_head = SIZES[size]
    ref = TransformerModel(20, 41, n_embd, n_layer, n_head)
    lab = lab_twin(ref)
    assert ref.num_parameters() == lab.num_parameters()  # wte is bypassed by inputs_embeds
    assert ref.num_parameters(include_unused=True) - ref.num_parameters() == 50257 * n_embd


def test_one_train_step_is_the_same_update():
    """Adam (reference) and icl_lab's AdamW with weight decay 0, same loss: same parameters after a step."""
    ref, lab, xs, ys = _pair("gelu")
    opt_lab = make_optimizer(lab, TrainConfig(lr=1e-2, weight_decay=0.0))
    loss_ref = train_step(ref, xs, ys, make_reference_optimizer(ref, lr=1e-2))
    loss = training_loss(lab, xs, ys)
    opt_lab.zero_grad(set_to_none=True)
    loss.backward()
    opt_lab.step()
    assert math.isclose(loss.item(), loss_ref, rel_tol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(lab(xs, ys), ref(xs, ys), atol=1e-5, rtol=1e-5)


def test_flop_count_uses_the_model_matmul_weights():
    for size, (e, layers, heads) in SIZES.items():
        lab = ICLRegressor(ModelConfig(encoding="interleaved", n_embd=e, n_layer=layers, n_head=heads, max_points=41), 20)
        weights = sum(m.weight.numel() for m in lab.modules() if isinstance(m, torch.nn.Linear))
        tokens = 64 * 82
        assert model_flops_per_step(e, layers) == 6 * weights * tokens + 12 * layers * e * 82 * tokens


def test_garg_curriculum_scaled_to_d8():
    assert garg_curriculum(0, 8, 17) == (5, 11)
    assert garg_curriculum(1999, 8, 17) == (5, 11)
    assert garg_curriculum(2000, 8, 17) == (6, 13)
    assert garg_curriculum(6000, 8, 17) == (8, 17)
    assert garg_curriculum(60000, 8, 17) == (8, 17)
    assert garg_curriculum(0, 20, 41) == (5, 11) and garg_curriculum(30000, 20, 41) == (20, 41)


def _prompts(b=6, n=12, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(b, n, d, generator=g, dtype=torch.float64)
    ys = (xs @ torch.randn(b, d, 1, generator=g, dtype=torch.float64))[..., 0]
    return xs, ys


def test_loop_baselines_equal_vectorised():
    xs, ys = _prompts()
    pairs = {
        "least_squares": (loop.least_squares(xs, ys), core.least_squares(xs, ys)),
        "ridge": (loop.ridge(xs, ys, 0.1), core.ridge(xs, ys, 0.1)),
        "bayes_mean": (loop.bayes(xs, ys, 0.0, 1.0)[0], core.bayes(xs, ys, 0.0, 1.0)[0]),
        "bayes_var": (loop.bayes(xs, ys, 0.0, 1.0)[1], core.bayes(xs, ys, 0.0, 1.0)[1]),
        "bayes_noisy_mean": (loop.bayes(xs, ys, 0.5, 2.0)[0], core.bayes(xs, ys, 0.5, 2.0)[0]),
        "bayes_noisy_var": (loop.bayes(xs, ys, 0.5, 2.0)[1], core.bayes(xs, ys, 0.5, 2.0)[1]),
        "averaging": (loop.averaging(xs, ys), core.averaging(xs, ys)),
        "knn": (loop.knn(xs, ys, 3), core.knn(xs, ys, 3)),
        "gd": (loop.gd(xs, ys, 1), core.gd(xs, ys, 1)),
        "gd3": (loop.gd(xs, ys, 3), core.gd(xs, ys, 3)),
    }
    for name, (a, b) in pairs.items():
        np.testing.assert_allclose(a, b.numpy(), atol=1e-7, rtol=1e-7, err_msg=name)
    # Lasso: compared where the problem is over-determined (k > d). Below, scikit-learn's
    # coordinate descent may stop unconverged (100k sweeps) at a worse objective than the
    # core's homotopy, e.g. prompt 0, k = 2 here.
    d = xs.shape[2]
    a, b = loop.lasso(xs, ys, 0.01, tol=1e-12), core.lasso(xs, ys, 0.01)
    np.testing.assert_allclose(a[:, d + 1 :], b[:, d + 1 :].numpy(), atol=1e-7, rtol=1e-7, err_msg="lasso")


def test_time_to_quality_sides_run():
    from benchmarks import time_to_quality as ttq

    for side in ("lab", "reference"):
        res = ttq.run_side(side, cap_s=1e-6, check_every=2, n_prompts=16)
        assert res["steps"] == 2 and len(res["history"]) == 1
        assert math.isfinite(res["final_error"]) and res["final_error"] > 0
        assert res["stopped_by"] == "cap" and res["time_cpu_s"] > 0 and res["time_wall_s"] > 0
    common = {"clock": "cpu", "final_error": 0.5, "cap_s": 60}
    lab = {**common, "reached": True, "stopped_by": "target", "time_s": 10.0, "time_wall_s": 12.0, "steps": 100,
           "best_error": 0.05, "ms_per_step": 100.0}
    ref = {**common, "reached": False, "stopped_by": "cap", "time_s": 60.0, "time_wall_s": 70.0, "steps": 600,
           "best_error": 0.4, "ms_per_step": 100.0}
    summary = ttq.summarize(lab, ref, 50, 16)
    assert summary["time_to_quality_speedup"] == 6.0 and summary["time_to_quality_speedup_is_lower_bound"]
    assert summary["time_to_quality_speedup_curriculum_bound"] == 60.0  # 6000 steps x 0.1 s / 10 s


def test_main_job_peak_is_the_childs_own_not_the_parents(tmp_path):
    """ru_maxrss of a vfork'ed child carries the parent's high-water mark over exec; the
    benchmark reads the child's own VmHWM instead. A 1 GiB parent must not show up in it."""
    import os
    import subprocess
    import sys

    if not os.path.exists("/proc/self/status"):
        pytest.skip("VmHWM needs Linux /proc")
    ballast = np.ones(2**27)  # 1 GiB resident in the parent
    peak_file = tmp_path / "peak.txt"
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run_with_peak", "tasks"],
                            cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL,
                            env={**os.environ, "ICL_BENCH_PEAK_FILE": str(peak_file)})
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0 and ballast.sum() == 2**27
    child_peak_gib = int(peak_file.read_text()) / 2**20
    assert 0.01 < child_peak_gib < 0.9  # python + torch + icl_lab: a few hundred MiB


def test_ensemble_benchmark_sides_do_the_same_update():
    """Both sides of the ensemble benchmark train the same K models by the same rule: after one
    step each, the batched members' weights equal the one-by-one models' (float tolerance)."""
    from benchmarks import ensemble as bench

    sides, models = bench.build_sides(bench.size_config("quick"), 2, torch.device("cpu"), batched=True)
    for fn in sides.values():
        fn()
    for a, b in zip(models["ensemble"], models["sequential"]):
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-3)  # one AdamW step of lr 1e-3
    figures = bench.measure("quick", rounds=1, ks=(1, 2))
    assert figures["ensemble_speedup_quick_k2"] > 0 and figures["ensemble_batched_speedup_quick_k2"] > 0


def test_cuda_script_without_a_gpu_says_so_and_exits_2(capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the CUDA script would run (minutes), not refuse")
    from benchmarks.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["--device", "cuda"])
    assert stop.value.code == 2 and capsys.readouterr().err.startswith("error: --device cuda: torch sees no CUDA")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU script is tested where one is")
def test_cuda_script_projects_the_paper_preset():
    from benchmarks.__main__ import cuda_sections

    r = cuda_sections(quick=True)
    assert r["paper_preset_projected_hours_bf16"] > 0 and "ensemble_speedup_tiny_cuda_k8" in r


@pytest.mark.slow
def test_compiled_lab_step_matches_the_eager_one():
    """The GPU script's ``lab_compiled`` side (torch.compile, CUDA graphs on a GPU) trains the same model:
    its losses over two steps equal the eager lab side's. On a CPU compiling takes ~40 s, hence slow."""
    import torch

    from benchmarks.throughput import build_sides

    sides = build_sides("tiny", torch.device("cpu"), compiled=True)
    for _ in range(2):
        assert sides["lab_compiled"]() == pytest.approx(sides["lab"](), rel=1e-5)
