"""The RASP-compiler notebook runs top to bottom in quick mode."""

from tests.notebook_runner import execute_notebook


def test_notebook_executes():
    run = execute_notebook("08_rasp_compiler.ipynb")
    assert run.errors == 0 and "Traceback" not in run.text
    assert "mismatches=0" in run.text
    assert run.images >= 2  # compiled attention patterns and the compiled-vs-trained figures
