"""The RASP / length-generalization notebook runs top to bottom in quick mode."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "07_rasp_length_generalization.ipynb"


def test_notebook_executes_in_quick_mode(monkeypatch):
    monkeypatch.setenv("ICL_LAB_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "quick mode" in outputs
    assert "RASP-L: ok" in outputs and "not RASP-L" in outputs
    assert "| task | rasp_l |" in outputs
