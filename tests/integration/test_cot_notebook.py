"""The chain-of-thought notebook runs top to bottom in quick mode."""

from tests.notebook_runner import execute_notebook


def test_notebook_executes_in_quick_mode():
    run = execute_notebook("06_chain_of_thought.ipynb")
    assert run.errors == 0
    assert "quick mode" in run.text
    assert run.text.count("verifier: ok") == 4
    assert "corrupted: (False" in run.text
    assert "| task | size | CoT-2 | Direct-2 |" in run.text
    assert run.images == 1
