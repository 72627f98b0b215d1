"""Each foundation figure script runs end to end at smoke scale and writes its files."""

from pathlib import Path

import pytest

from tests.figure_scripts import load_figure_script as load


@pytest.mark.parametrize("stem", ["fig01_garg_linear_regression", "fig02_garg_out_of_distribution"])
def test_figure_script_smoke(tmp_path, stem):
    written = load(stem).main("smoke", tmp_path / stem)
    assert written and all(Path(p).stat().st_size > 0 for p in written)
    assert any(str(p).endswith(".png") for p in written)
