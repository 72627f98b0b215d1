"""`icl-lab reproduce` writes gallery entries with verdicts; `icl-lab figs --from-results` redraws
from them without a trained model; figures built on one trained model share its run."""

import json
import shutil
import time

from typer.testing import CliRunner

from icl_lab.cli import app
from paper_figs import gallery

runner = CliRunner()
FIGS = ["fig01_garg_linear_regression", "fig02_garg_out_of_distribution"]


def test_reproduce_json_gallery_and_redraw(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["reproduce", "fig01", "fig02", "--preset", "smoke", "--gallery", "gal", "--runs", "runs",
                              "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert list(summary) == FIGS
    for name, row in summary.items():
        assert {"claim", "verdict", "lab_value", "paper_value", "wall_s"} <= set(row)
        assert row["verdict"] in ("PASS", "FAIL", "NOT-AT-THIS-SCALE") and row["preset"] == "smoke"
        stored = json.loads((tmp_path / "gal" / f"{name}.smoke.json").read_text())
        assert stored["verdict"] == row["verdict"] and stored["claims"] == row["claims"]
        assert (tmp_path / "gal" / f"{name}.smoke.png").stat().st_size > 1000
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["linear_regression-smoke"]  # one shared run
    table = (tmp_path / "gal" / "README.md").read_text()
    assert all(f"**{name}** (smoke)" in table for name in FIGS) and "| verdict |" in table

    shutil.rmtree(tmp_path / "runs")  # redrawing needs no trained model
    t0 = time.perf_counter()
    res = runner.invoke(app, ["figs", "fig01", "fig02", "--from-results", "--results", "gal", "--preset", "smoke",
                              "--out", "redrawn"])
    assert res.exit_code == 0, res.output
    assert time.perf_counter() - t0 < 60  # seconds, not a training run; a loose bound for a loaded CI box
    assert sorted(p.name for p in (tmp_path / "redrawn").iterdir()) == [f"{n}.smoke.png" for n in FIGS]
    assert not (tmp_path / "runs").exists()


def test_from_results_rechecks_the_claims_on_the_stored_numbers(tmp_path):
    """Editing a stored result changes the verdict: the verdict is recomputed, not read back."""
    entry = gallery.make(FIGS[0], "smoke", tmp_path / "runs")
    gallery.write(entry, tmp_path / "gal")
    data = gallery.read_entry(tmp_path / "gal", FIGS[0], "smoke")
    d = data["results"]["d"]
    for curve in data["results"]["curves"].values():
        curve["mean"] = [0.0] * len(curve["mean"])
    assert gallery.recheck(data).verdict == "PASS"
    data["results"]["curves"]["model"]["mean"][2 * d] = 0.5
    rechecked = gallery.recheck(data)
    assert rechecked.verdict == "NOT-AT-THIS-SCALE"  # smoke is below the claims' scale
    data["preset"] = "quick"
    assert gallery.recheck(data).verdict == "FAIL"


def test_every_figure_has_paper_claims_compute_and_draw():
    for name in gallery.figure_names():
        module = gallery.load_figure(name)
        assert "arXiv:" in module.PAPER, name
        assert module.CLAIMS and all(c.statement for c in module.CLAIMS), name
        assert callable(module.compute) and callable(module.draw), name
        assert gallery.title(module), name
