"""The LSA / theory figure scripts run end to end at smoke scale and write their files."""

import json
from pathlib import Path

import pytest

from tests.figure_scripts import load_figure_script as load


@pytest.mark.parametrize("stem", ["fig42_lsa_gamma", "fig43_lsa_covariate_shift", "fig44_lsa_vs_gd",
                                  "fig45_theory_closed_forms"])
def test_lsa_figure_smoke(tmp_path, stem):
    written = load(stem).main("smoke", tmp_path / stem)
    assert all(Path(p).stat().st_size > 0 for p in written) and any(str(p).endswith(".png") for p in written)
    json.loads(next(p for p in written if str(p).endswith(".json")).read_text())


def test_lsa_runs_are_shared_between_figures(tmp_path):
    load("fig42_lsa_gamma").main("smoke", tmp_path / "fig42")
    cache = list((tmp_path / "runs").glob("*-gamma/results.json"))  # a run directory of the one result cache
    assert len(cache) == 1
    before = cache[0].stat().st_mtime_ns
    load("fig43_lsa_covariate_shift").main("smoke", tmp_path / "fig43")  # reuses the trained run
    assert cache[0].stat().st_mtime_ns == before
