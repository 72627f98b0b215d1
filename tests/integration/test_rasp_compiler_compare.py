"""Compiled RASP ``count`` vs a (smoke-trained) TokenLM: the agreement table."""

import csv

from icl_lab.pipelines.rasp_compare import AGREEMENT_COLUMNS, HEAD_COLUMNS, compare_count


def test_compare_count_smoke(tmp_path):
    result = compare_count(tmp_path, preset="smoke", log=None)  # 30 steps, L = 4; one thread
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
    again = compare_count(tmp_path / "again", run_dir=result.run_dir, plot=False, log=None)
    assert again.rows == result.rows
