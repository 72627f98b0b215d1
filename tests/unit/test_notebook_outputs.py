"""The notebooks are committed with their outputs (run at the quick preset, loading the runs of
``icl-lab reproduce --all --preset quick``), so their plots show on the code host: every code cell
executed, at least one PNG figure, no error output, and no temporary paths in the saved text.
Re-save a notebook after executing it top to bottom (``jupyter nbconvert --execute --inplace``)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
MAX_BYTES = 400_000  # one notebook; figures at a moderate resolution


def output_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps ``nb`` from being a notebook saved with its outputs (empty: none)."""
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    unexecuted = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    if unexecuted:
        problems.append(f"code cells {unexecuted} were not executed")
    outputs = [o for c in code for o in c.get("outputs", [])]
    if not any("image/png" in o.get("data", {}) for o in outputs):
        problems.append("no image/png output")
    for o in outputs:
        if o.get("output_type") == "error":
            problems.append(f"error output: {o.get('ename')}: {o.get('evalue')}")
        text = o.get("text", "") + "".join(o.get("traceback", []))
        text += "".join(v for k, v in o.get("data", {}).items() if k.startswith("text/") and isinstance(v, str))
        if "/tmp/" in text:
            problems.append("a temporary path (/tmp/) in the output: " + text[text.index("/tmp/"):][:80])
    return problems


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_with_outputs(path: Path):
    problems = output_problems(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: " + "; ".join(problems)
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size:,} bytes"


def test_check_fails_on_a_notebook_without_outputs():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    problems = output_problems(nb)
    assert any("not executed" in p for p in problems) and "no image/png output" in problems


def test_check_fails_on_errors_and_temporary_paths():
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("1 / 0", execution_count=1, outputs=[
            v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]),
        v4.new_code_cell("print(run_dir)", execution_count=2, outputs=[
            v4.new_output("stream", name="stdout", text="/tmp/tmpab12/quickstart\n"),
            v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]),
    ])
    problems = output_problems(nb)
    assert any(p.startswith("error output: ZeroDivisionError") for p in problems)
    assert any("/tmp/tmpab12" in p for p in problems)
    assert "no image/png output" not in problems
