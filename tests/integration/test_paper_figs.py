"""Each foundation figure script runs end to end at smoke scale and writes its files."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(stem):
    spec = importlib.util.spec_from_file_location(stem, ROOT / "paper_figs" / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stem", ["fig01_garg_linear_regression", "fig02_garg_out_of_distribution"])
def test_figure_script_smoke(tmp_path, stem):
    written = load(stem).main("smoke", tmp_path / stem)
    assert written and all(Path(p).stat().st_size > 0 for p in written)
    assert any(str(p).endswith(".png") for p in written)
