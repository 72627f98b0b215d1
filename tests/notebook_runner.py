"""Execute a notebook from notebooks/ top to bottom in quick mode (ICL_LAB_QUICK=1)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Executed:
    text: str  # every stream and text/plain output, concatenated
    images: int  # number of PNG outputs
    errors: int  # number of error outputs


def execute_notebook(name: str, timeout: int = 300) -> Executed:
    """Run ``notebooks/<name>`` with cwd at the repo root; the kernel inherits ICL_LAB_QUICK=1."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    saved = {k: os.environ.get(k) for k in ("ICL_LAB_QUICK", "MPLBACKEND")}
    os.environ.update(ICL_LAB_QUICK="1", MPLBACKEND="Agg")
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    errors = sum(o.get("output_type") == "error" for o in outputs)
    return Executed(text, images, errors)
