"""The foundation figures (Garg et al.) are made end to end at smoke scale and share one run."""

import pytest

from tests.figure_scripts import make_smoke


@pytest.mark.parametrize("stem", ["fig01_garg_linear_regression", "fig02_garg_out_of_distribution"])
def test_figure_smoke(tmp_path, stem):
    entry = make_smoke(stem, tmp_path)
    assert entry.results["d"] == 8 and entry.preset == "smoke"
