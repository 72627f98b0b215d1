"""Chain-of-thought experiments end to end: KV-cache decoding on CoT prompts, a tiny run,
the CLI, and the smoke figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from icl_lab.cli import app
from icl_lab.models.token_lm import TokenLM, TokenLMConfig, generate
from icl_lab.pipelines.cot import evaluate_model, load_config, run_chain_of_thought
from icl_lab.tasks.cot import make_task, parse_output, training_batch
from icl_lab.tasks.cot_vocab import EOS_ID, PAD_ID, VOCAB_SIZE
from icl_lab.training.config import TrainConfig
from icl_lab.training.tokens import train_tokens
from tests.figure_scripts import make_smoke

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "chain_of_thought.toml"
TINY = ["tasks=arithmetic,equations", "variants=cot1,direct1", "arithmetic.sizes=2", "equations.sizes=2",
        "arithmetic.modulus=5", "equations.modulus=3", "n_embd=16", "n_head=2", "train.steps=6",
        "train.batch_size=8", "arithmetic.steps=6", "arithmetic.batch_size=8",  # the preset sets both
        "train.log_every=2", "n_eval=12", "eval_batch_size=5"]
runner = CliRunner()


@pytest.fixture(scope="module")
def trained_cot_model(tmp_path_factory) -> TokenLM:
    """A small model trained briefly on equation CoT, so its continuations are not noise."""
    task = make_task("equations", modulus=3)
    cfg = TokenLMConfig(VOCAB_SIZE, task.context_len(2, "cot", 4), 32, 2, 2)
    return train_tokens(cfg, TrainConfig.for_tokens(steps=40, batch_size=16, lr=3e-3, warmup_steps=5, log_every=20),
                        lambda rng: training_batch(task, 2, "cot", 16, rng), tmp_path_factory.mktemp("lm") / "run",
                        progress=False)


@pytest.mark.parametrize("task_name, n", [("equations", 2), ("arithmetic", 3), ("edit_distance", 3)])
def test_kv_cache_generation_equals_no_cache_on_cot_prompts(trained_cot_model, task_name, n):
    task = make_task(task_name, **({"modulus": 3} if task_name != "edit_distance" else {}))
    rng = np.random.default_rng(5)
    sizes = [n, max(1, n - 1), n]  # different prompt lengths: left padding is exercised
    prompts = [task.sample(k, rng).encoded("cot")[0] for k in sizes]
    budget = trained_cot_model.cfg.context_len - max(len(p) for p in prompts) + 1
    for model in (trained_cot_model, _random_model(trained_cot_model.cfg)):
        cached = generate(model, prompts, budget, EOS_ID, use_cache=True, pad_token=PAD_ID)
        plain = generate(model, prompts, budget, EOS_ID, use_cache=False, pad_token=PAD_ID)
        assert cached == plain


def _random_model(cfg: TokenLMConfig) -> TokenLM:
    torch.manual_seed(1)
    return TokenLM(cfg).eval()


def test_trained_model_writes_chain_of_thought_shaped_output(trained_cot_model):
    task = make_task("equations", modulus=3)
    example = task.sample(2, np.random.default_rng(11))
    prompt, target = example.encoded("cot")
    out = generate(trained_cot_model, [prompt], len(target) + 4, EOS_ID, pad_token=PAD_ID)[0]
    steps, _ = parse_output(out)
    assert steps and all("x1" in s for s in steps)  # 40 steps suffice to learn the format
    metrics = evaluate_model(trained_cot_model, task, [example] * 3, "cot", 2, 4)
    assert set(metrics) == {"accuracy", "teacher_forced", "valid_chain"}
    # a verified chain ends in the unique solution, so it cannot beat the answer accuracy
    assert metrics["valid_chain"] <= metrics["accuracy"]


def test_tiny_experiment_writes_results_and_resumes(tmp_path):
    cfg = load_config(EXPERIMENT, "quick", TINY)
    results = run_chain_of_thought(cfg, tmp_path, progress=False, log=None)
    assert len(results["cells"]) == 4 and len(results["table"]) == 2
    assert [r["chance"] for r in results["table"]] == [pytest.approx(1 / 5), pytest.approx(1 / 9)]
    for cell in results["cells"]:
        for key in ("accuracy", "teacher_forced"):
            assert 0 <= cell[key] <= 1 and (cell[key] * 12) == pytest.approx(round(cell[key] * 12))
        assert ("valid_chain" in cell) == cell["variant"].startswith("cot")
    table = (tmp_path / "table.md").read_text()
    assert table.startswith("| task | size | CoT-1 | Direct-1 | TF CoT-1 | TF Direct-1 | chance | wall s |")
    assert (tmp_path / "cot_table.png").stat().st_size > 0
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["table"] == results["table"]
    stamp = (tmp_path / "arithmetic" / "n2" / "cot1" / "seed0" / "checkpoint.pt").stat().st_mtime_ns
    again = run_chain_of_thought(cfg, tmp_path, resume=True, log=None)
    assert again["cells"] == results["cells"]
    assert (tmp_path / "arithmetic" / "n2" / "cot1" / "seed0" / "checkpoint.pt").stat().st_mtime_ns == stamp
    with pytest.raises(Exception, match="already holds"):
        run_chain_of_thought(cfg, tmp_path, log=None)  # never silently overwritten


def test_cli_runs_and_reports_bad_input_in_one_line(tmp_path):
    args = ["run", str(EXPERIMENT), "--preset", "quick", "--out", str(tmp_path / "r")]
    res = runner.invoke(app, [*args, *[p for o in TINY for p in ("--set", o)]])
    assert res.exit_code == 0, res.output
    assert "| arithmetic | 2 |" in res.stdout and (tmp_path / "r" / "results.json").is_file()
    for bad, message in ((["--set", "variants=cot3,fast"], "invalid variants entry 'fast'"),
                         (["--preset", "huge"], "unknown preset 'huge'")):
        res = runner.invoke(app, ["run", str(EXPERIMENT), "--out", str(tmp_path / "x"), *bad])
        assert res.exit_code == 2
        assert res.output.strip().splitlines() == [f"error: {res.output.strip()[7:]}"]
        assert message in res.output
    res = runner.invoke(app, ["cot", "show", "equations", "--size", "2", "--set", "modulus=5"])
    assert res.exit_code == 0 and "verifier: ok" in res.stdout and "<ans>" in res.stdout


def test_smoke_figures_share_one_run(tmp_path):
    fig70 = make_smoke("fig70_cot_table", tmp_path)
    assert fig70.results["variants"] == ["CoT-1", "Direct-1"]
    rows = fig70.results["table"]
    assert [(r["task"], r["size"]) for r in rows] == [("arithmetic", 2), ("equations", 2), ("lis", 4),
                                                      ("edit_distance", 3)]
    for r in rows:
        assert all(0 <= r[k] <= 1 for k in ("CoT-1", "Direct-1", "tf CoT-1", "tf Direct-1"))
    assert rows[0]["chance"] == pytest.approx(1 / 7, abs=1e-4) and rows[2]["chance"] is None
    checkpoint = tmp_path / "runs" / "chain_of_thought-smoke" / "lis" / "n4" / "cot1" / "seed0" / "checkpoint.pt"
    stamp = checkpoint.stat().st_mtime_ns
    fig71 = make_smoke("fig71_cot_accuracy_vs_size", tmp_path)
    assert checkpoint.stat().st_mtime_ns == stamp  # fig71 reuses fig70's finished runs
    assert fig71.results == fig70.results
    # one size per task at smoke: the fall with size has no value (a FAIL that says why)
    assert fig71.checks[0].verdict == "FAIL" and "one size only" in fig71.checks[0].reason
    assert fig71.checks[1].lab_value == pytest.approx(min(r["CoT-1"] - r["Direct-1"] for r in rows), abs=1e-4)
