"""The foundation notebooks run top to bottom in quick mode."""

from tests.notebook_runner import execute_notebook


def test_quickstart_notebook_executes():
    run = execute_notebook("01_quickstart.ipynb")
    assert run.errors == 0
    assert run.images >= 2  # error curves and attention patterns
    assert "least_squares" in run.text and "blocks.0.attn.hook_pattern" in run.text
