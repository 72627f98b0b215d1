"""Compiled RASP programs (count, copy_unique) vs smoke-trained TokenLMs: the agreement tables."""

import csv

import torch

from icl_lab.pipelines.rasp_compare import AGREEMENT_COLUMNS, HEAD_COLUMNS, compare, compile_for, run_both, sample
from icl_lab.tasks.algorithmic import make_task
from icl_lab.training.tokens import load_token_model


def test_compare_smoke(tmp_path):
    result = compare(tmp_path, preset="smoke", log=None)  # 30 steps, L = 4; one thread
    assert result.task == "count" and result.train_length == 4
    assert [r["n"] for r in result.rows] == [4, 8, 12]  # L, 2L, 3L
    with (tmp_path / "rasp_compare.csv").open() as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == AGREEMENT_COLUMNS and len(table) == 3
    for row in result.rows:
        assert row["positions"] == row["examples"] * (row["n"] + 1)
        assert row["compiled_vs_reference"] == 1.0 and row["compiled_exact"] == 1.0
        # the compiled model is the reference, so these two must coincide
        assert row["trained_vs_compiled"] == row["trained_vs_reference"]
        assert 0.0 <= row["trained_exact"] <= row["trained_vs_reference"] <= 1.0
    assert result.compiled_heads == ["seen_sep", "two_back", "end"]
    assert len(result.trained_heads) == 8  # the quick preset's 2 layers x 4 heads
    assert len(result.heads) == 3 * 3 and set(result.heads[0]) == set(HEAD_COLUMNS)
    assert all(0.0 <= h["overlap"] <= h["best_overlap"] <= 1.0 + 1e-6 for h in result.heads)
    assert (tmp_path / "rasp_compare.md").read_text().count("\n|") >= 4
    pngs = {p.name for p in result.paths if p.suffix == ".png"}
    assert pngs == {"rasp_compare_attention.png", "rasp_compare_agreement.png"}
    assert all(p.stat().st_size > 0 for p in result.paths)

    # the same comparison from the finished run directory gives the same table
    again = compare(tmp_path / "again", run_dir=result.run_dir, plot=False, log=None)
    assert again.rows == result.rows



def test_compare_copy_unique_smoke(tmp_path):
    """The induction-head program, compiled, copies every test size exactly; its two heads are
    compared with the trained ones on the trained model's positions (the compiled BOS dropped)."""
    result = compare(tmp_path, task="copy_unique", preset="smoke", plot=False, log=None)
    assert result.task == "copy_unique" and [r["n"] for r in result.rows] == [4, 8, 12]
    for row in result.rows:
        assert row["positions"] == row["examples"] * (row["n"] + 1)  # x then EOS
        assert row["compiled_vs_reference"] == 1.0 and row["compiled_exact"] == 1.0
    assert result.compiled_heads == ["previous_token", "copy_unique"]
    assert all(0.0 <= h["best_overlap"] <= 1.0 + 1e-6 for h in result.heads)

    # alignment: at the query x_k (trained position n + 1 + k) the compiled induction head
    # attends to the source of x_{k+1}, trained position k + 1 = n positions back
    _, trained = load_token_model(result.run_dir)
    task = make_task("copy_unique", 12)
    n = 8
    res = run_both(trained, compile_for(task), task, sample(task, n, 5, 0), patterns=True)
    induction = res["compiled_patterns"][:, 1]
    assert induction.shape[-1] == res["trained_patterns"].shape[-1] == 2 * n + 2
    queries = torch.arange(n + 2, 2 * n + 1)
    assert torch.all(induction[:, queries, queries - n] > 0.99)


def test_compare_mode_smoke(tmp_path):
    """The running-mode program read at SEP gives the task's mode at every size (one answer
    token compared: after it the program's output is a running mode, not EOS)."""
    result = compare(tmp_path, task="mode", preset="smoke", plot=False, log=None)
    assert [r["n"] for r in result.rows] == [4, 8, 12]
    for row in result.rows:
        assert row["positions"] == row["examples"]
        assert row["compiled_vs_reference"] == 1.0 and row["compiled_exact"] == 1.0
    assert "top_count" in result.compiled_heads
