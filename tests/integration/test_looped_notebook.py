"""notebooks/03_looped_and_theory.ipynb runs top to bottom in quick mode."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def test_looped_and_theory_notebook_executes():
    nb = nbformat.read(ROOT / "notebooks" / "03_looped_and_theory.ipynb", as_version=4)
    os.environ["ICL_LAB_QUICK"] = "1"
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        os.environ.pop("ICL_LAB_QUICK", None)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the figures were drawn
    text = "".join(o.get("text", "") for o in outputs)
    assert "max |LSA − (η/N) Σ y_i x_iᵀ x_q|" in text
