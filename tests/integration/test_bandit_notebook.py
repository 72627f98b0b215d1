"""The bandits notebook runs top to bottom in quick mode."""

from tests.notebook_runner import execute_notebook


def test_bandits_notebook_executes_in_quick_mode():
    run = execute_notebook("05_bandits.ipynb")
    assert run.errors == 0
    assert "quick mode" in run.text
    assert "states solved in" in run.text and "bayes_optimal" in run.text
    assert "| dpt |" in run.text and "| thompson |" in run.text
    assert run.images >= 2  # classical regret curves, DPT online + offline
