"""A tiny end-to-end length-generalization run, through the library and the CLI."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl_lab.cli import app
from icl_lab.cli.rasp import rasp_app
from icl_lab.pipelines.length_generalization import (
    classify,
    format_table,
    load_config,
    plot_length_generalization,
    run_length_generalization,
)
from tests.figure_scripts import load_figure_script

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "length_generalization.toml"
TINY = ["tasks=count,parity", "seeds=0,1", "train_length=4", "train.steps=15", "n_eval=8",
        "n_embd=16", "n_layer=1", "n_head=2", "test_factors=1,2,3", "train.log_every=5"]
COLUMNS = ["task", "rasp_l", "paper", "L", "EM@L", "EM@2L", "EM@3L", "DNS@3L", "measured",
           "train_s", "eval_s"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lengthgen")
    cfg = load_config(EXPERIMENT, "quick", TINY)
    return cfg, out, run_length_generalization(cfg, out, progress=False, log=None)


def test_table_has_the_expected_columns_and_verdicts(tiny_run):
    _, out, results = tiny_run
    rows = {r["task"]: r for r in results["table"]}
    assert list(rows) == ["count", "parity"]
    assert list(rows["count"]) == COLUMNS
    assert rows["count"]["rasp_l"] is True and rows["parity"]["rasp_l"] is False
    for row in rows.values():
        assert 0 <= row["EM@L"] <= 1 and 0 <= row["DNS@3L"] <= 1
    table = (out / "table.md").read_text()
    assert table.startswith("| " + " | ".join(COLUMNS) + " |")
    assert (out / "table.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    saved = json.loads((out / "results.json").read_text())
    assert saved["tasks"]["count"]["sizes"] == [4, 8, 12]
    assert set(saved["tasks"]["parity"]["per_seed"]) == {"0", "1"}
    assert (out / "count" / "seed1" / "checkpoint.pt").is_file()


def test_resume_reuses_finished_runs(tiny_run):
    cfg, out, results = tiny_run
    again = run_length_generalization(cfg, out, resume=True, progress=False, log=None)
    assert again["table"] == results["table"]


def test_figure_is_written(tiny_run, tmp_path):
    written = plot_length_generalization(tiny_run[2], tmp_path / "fig")
    assert sorted(p.suffix for p in written) == [".pdf", ".png"]
    assert all(p.stat().st_size > 1000 for p in written)


def test_classify():
    assert classify(1.0, 0.95) == "generalizes"
    assert classify(1.0, 0.0) == "fails"
    assert classify(0.96, 0.55, chance=0.5) == "fails"
    assert classify(1.0, 0.5) == "partial"
    assert classify(0.2, 0.0) == "not learned"
    assert format_table([{"task": "t", "rasp_l": True, "EM@L": 0.5}]).splitlines()[2] == "| t | yes | 50.0 |"


def test_cli_length_gen_and_errors(tmp_path):
    runner = CliRunner()
    args = ["run", str(EXPERIMENT), "--preset", "quick", "--out", str(tmp_path / "o")]
    tiny = [a for s in TINY[:1] + ["seeds=0"] + TINY[2:] for a in ("--set", s)]
    first = runner.invoke(app, args + tiny)
    assert first.exit_code == 0, first.output
    assert "| task | rasp_l | paper | L | EM@L |" in first.output
    again = runner.invoke(app, args + tiny)
    assert again.exit_code == 2 and "already holds a finished run" in again.output
    bad = runner.invoke(app, args + ["--set", "tasks=nope"])
    assert bad.exit_code == 2 and "invalid tasks entry 'nope'" in bad.output


def test_cli_check():
    runner = CliRunner()
    ok = runner.invoke(rasp_app, ["check", "count"])
    assert ok.exit_code == 0 and "RASP-L: ok" in ok.output and "layers: 1" in ok.output
    no = runner.invoke(rasp_app, ["check", "parity_by_counting"])
    assert no.exit_code == 0 and "not RASP-L" in no.output and "index-arithmetic" in no.output
    dyn = runner.invoke(rasp_app, ["check", "copy_unique", "--dynamic", "5"])
    assert dyn.exit_code == 0 and "RASP-L: ok" in dyn.output
    unknown = runner.invoke(rasp_app, ["check", "nope"])
    assert unknown.exit_code == 2 and "available are" in unknown.output


@pytest.mark.parametrize("stem", ["fig20_length_generalization", "fig21_task_hinting"])
def test_figure_scripts_write_figures_and_tables(stem, tmp_path):
    module = load_figure_script(stem)
    written = module.main("smoke", tmp_path)
    assert sorted(p.suffix for p in written) == [".csv", ".md", ".pdf", ".png"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert module.main("smoke", tmp_path) == written  # finished runs are reused
    with pytest.raises(ValueError, match="quick"):
        module.main("fast", tmp_path)
