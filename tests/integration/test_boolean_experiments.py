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
from icl_lab.pipelines.boolean import SMOKE_CLASSES, mlp_positions
from icl_lab.tasks.boolean import BOOLEAN_CLASSES
from tests.figure_scripts import make_smoke

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


def test_boolean_figures_smoke(tmp_path):
    # One tmp dir: the four figures share trained runs and cached evaluations under tmp_path/runs.
    table = make_smoke("fig50_boolean_table", tmp_path).results
    assert table["classes"] == list(SMOKE_CLASSES) and table["n"] == 4
    assert table["table"]["teach_conjunction"]["bayes"] == 1.0
    assert table["table"]["parity"]["gf2"] == table["table"]["parity"]["bayes"]  # the closed form is GF(2)
    assert {"transformer", "lstm", "gru", "mlp", "bayes"} <= set(table["table"]["conjunction"])
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    curves = make_smoke("fig51_boolean_curves", tmp_path).results["curves"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == runs  # fig51 reuses fig50's runs
    assert set(curves) == set(SMOKE_CLASSES) and all(len(c) == 10 for c in curves["conjunction"].values())
    assert curves["conjunction"]["bayes"][-1] == table["table"]["conjunction"]["bayes"]
    teaching = make_smoke("fig52_boolean_teaching", tmp_path).results
    k = teaching["k_after_teaching"]
    assert k == 6 and teaching["curves"]["teach_signed_conjunction"]["bayes"][k] == 1.0  # the sequence reveals f
    parity = make_smoke("fig53_boolean_parity", tmp_path).results
    assert set(parity["curves"]) == {"parity", "sparse_parity"} and parity["sparse_k"] == 2
    assert parity["curves"]["parity"]["gf2"] == parity["curves"]["parity"]["bayes"]
    mlp = parity["curves"]["parity"]["mlp"]  # the prompt MLP is fitted at a few positions only
    assert [k for k, v in enumerate(mlp) if v is not None] == mlp_positions(10)


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
