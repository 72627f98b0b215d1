"""Boolean experiments end to end: the CLI's baselines command, figure scripts (smoke), notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from typer.testing import CliRunner

from icl_lab.baselines.registry import BOOLEAN_CLOSED_FORM
from icl_lab.cli import app
from icl_lab.tasks.boolean import BOOLEAN_CLASSES
from tests.figure_scripts import load_figure_script as load

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "boolean.toml"


@pytest.mark.parametrize("cls", BOOLEAN_CLASSES)
def test_cli_baselines_print_every_boolean_baseline(cls):
    args = ["baselines", str(EXPERIMENT), "--set", f"task.function_class={cls}", "--set", "task.d=5",
            "--set", "task.n_points=12", "--set", "task.nn_start=4", "--prompts", "24", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    curves = json.loads(res.stdout)
    assert set(BOOLEAN_CLOSED_FORM) <= set(curves)
    assert all(len(c) == 12 and all(0 <= a <= 1 for a in c) for c in curves.values())
    assert curves["bayes"][-1] >= max(curves["constant"][-1], 0.5) - 0.1


def test_boolean_figure_scripts_smoke(tmp_path):
    # One tmp dir: the scripts share trained runs and cached evaluations under tmp_path/runs.
    for stem in ("fig50_boolean_table", "fig51_boolean_curves", "fig52_boolean_teaching", "fig53_boolean_parity"):
        written = load(stem).main("smoke", tmp_path / stem)
        assert written and all(Path(p).stat().st_size > 0 for p in written)
        assert any(str(p).endswith(".png") for p in written)
    table = json.loads((tmp_path / "fig50_boolean_table" / "fig50.json").read_text())["table"]
    assert table["teach_conjunction"]["bayes"] == 1.0 and table["parity"]["gf2"] == table["parity"]["bayes"]


def test_boolean_notebook_executes():
    path = ROOT / "notebooks" / "04_boolean.ipynb"
    nb = nbformat.read(path, as_version=4)
    os.environ["ICL_LAB_QUICK"] = "1"
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        os.environ.pop("ICL_LAB_QUICK", None)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)
