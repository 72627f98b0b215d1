"""The looped-transformer figure scripts run end to end at smoke scale and write their files."""

import json
from pathlib import Path

import pytest

from tests.figure_scripts import load_figure_script as load


@pytest.mark.parametrize("stem", ["fig40_looped_linear_regression", "fig41_looped_sparse_linear_regression"])
def test_looped_figure_smoke(tmp_path, stem):
    written = load(stem).main("smoke", tmp_path / stem)
    assert all(Path(p).stat().st_size > 0 for p in written) and any(str(p).endswith(".png") for p in written)
    summary = json.loads(next(p for p in written if str(p).endswith(".json")).read_text())
    b = summary["b"]
    curve = next(iter(summary["iteration_curve"].values()))
    assert len(curve) == 20 * b  # error against iteration, far past the trained b
    assert any(name.endswith(f"{10 * b} iterations") for name in summary["error_at_k"])
    assert summary["params_looped"] < summary["params_standard"]
