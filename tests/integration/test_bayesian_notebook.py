"""notebooks/02_bayesian_lens.ipynb runs top to bottom in quick mode."""

from tests.notebook_runner import execute_notebook


def test_bayesian_lens_notebook_executes():
    run = execute_notebook("02_bayesian_lens.ipynb")
    assert run.errors == 0, run.text[-2000:]
    assert run.images >= 4  # mixture weights, Fourier posterior, calibration, closest algorithm
    assert "ridge(λ=0.25)" in run.text  # σ = 0.5: the Bayes target is ridge with λ = σ²/τ² = 0.25
    assert "mean_z2" in run.text and "blocks.0.hook_resid_post" in run.text
