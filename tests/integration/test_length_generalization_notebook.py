"""The RASP / length-generalization notebook runs top to bottom in quick mode."""

from tests.notebook_runner import execute_notebook


def test_notebook_executes_in_quick_mode():
    run = execute_notebook("07_rasp_length_generalization.ipynb")
    assert run.errors == 0
    assert "quick mode" in run.text
    assert "RASP-L: ok" in run.text and "not RASP-L" in run.text
    assert "| task | rasp_l |" in run.text
