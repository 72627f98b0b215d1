"""A tiny end-to-end length-generalization run, through the library and the CLI."""

import dataclasses
import json
from pathlib import Path

import pytest
from scipy.stats import sem
from typer.testing import CliRunner

from icl_lab.cli import app
from icl_lab.cli.rasp import rasp_app
from icl_lab.pipelines.length_generalization import (
    classify,
    format_table,
    load_config,
    plot_length_generalization,
    run_length_generalization,
    standard_error,
)
from tests.figure_scripts import make_smoke

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "length_generalization.toml"
TINY = ["tasks=count,parity", "seeds=0,1", "train_length=4", "train.steps=15", "n_eval=8",
        "n_embd=16", "n_layer=1", "n_head=2", "test_factors=1,2,3", "train.log_every=5"]
COLUMNS = ["task", "rasp_l", "paper", "L", "EM@L", "EM@2L", "EM@3L", "SE@L", "SE@2L", "SE@3L", "DNS@3L",
           "measured", "train_s", "eval_s"]
SHOWN = [c for c in COLUMNS if not c.startswith("SE@")]  # the Markdown table folds s.e. into EM cells


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
    assert table.startswith("| " + " | ".join(SHOWN) + " |")
    assert (out / "table.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    saved = json.loads((out / "results.json").read_text())
    assert saved["tasks"]["count"]["sizes"] == [4, 8, 12]
    assert set(saved["tasks"]["parity"]["per_seed"]) == {"0", "1"}
    assert (out / "count" / "seed1" / "checkpoint.pt").is_file()


def test_resume_reuses_finished_runs(tiny_run):
    cfg, out, results = tiny_run
    again = run_length_generalization(cfg, out, resume=True, progress=False, log=None)
    assert again["table"] == results["table"]


def test_workers_give_the_same_results_as_one_process(tiny_run, tmp_path):
    """Models trained two at a time in spawned processes: every per-seed curve is identical."""
    cfg, _, results = tiny_run
    parallel = run_length_generalization(dataclasses.replace(cfg, workers=2), tmp_path / "par",
                                         progress=False, log=None)
    for task, t in results["tasks"].items():
        assert {s: r["curves"] for s, r in parallel["tasks"][task]["per_seed"].items()} == \
            {s: r["curves"] for s, r in t["per_seed"].items()}


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
    with_se = format_table([{"task": "t", "EM@2L": 0.5, "SE@2L": 0.125}])
    assert with_se.splitlines()[0] == "| task | EM@2L |" and with_se.splitlines()[2] == "| t | 50.0 ± 12.5 |"


def test_standard_error_over_seeds_matches_scipy(tiny_run):
    _, _, results = tiny_run
    count = results["tasks"]["count"]
    for i, n in enumerate(count["sizes"]):
        per_seed = [r["curves"][str(n)]["exact_match"] for r in count["per_seed"].values()]
        assert count["mean"]["exact_match_se"][i] == pytest.approx(float(sem(per_seed)), abs=1e-12)
    assert standard_error([0.3]) == 0.0  # one seed: no spread estimated


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


@pytest.mark.parametrize("stem, tasks, far", [
    ("fig20_length_generalization", ["mode", "count", "parity"], 3.0),
    ("fig21_task_hinting", ["sort_repeat", "sort_repeat+successor", "sort_unique", "sort_unique+successor"], 5.0)])
def test_figure_smoke(stem, tasks, far, tmp_path):
    entry = make_smoke(stem, tmp_path)
    assert list(entry.results["tasks"]) == tasks
    for name, t in entry.results["tasks"].items():
        assert t["sizes"][-1] == round(far * t["L"]) and len(t["exact_match"]) == len(t["sizes"])
        assert all(0 <= v <= 1 for v in t["exact_match"] + t["did_not_stop"])
        # the mean curve is the mean of the seeds' curves
        assert t["exact_match"] == pytest.approx([sum(c) / len(c) for c in zip(*t["seeds"])], abs=1e-4)
    assert all(c.lab_value is not None for c in entry.checks)  # every claim has its numbers
    if stem.startswith("fig20"):  # count has a compiled program: its heads against the trained ones
        heads = entry.results["heads"]
        assert list(heads) == ["mode", "count"]
        assert heads["count"]["compiled_heads"] == ["seen_sep", "two_back", "end"]
        assert heads["count"]["sizes"] == entry.results["tasks"]["count"]["sizes"]
        assert all(0 <= v <= 1 + 1e-6 for row in heads["count"]["best_overlap"] for v in row)
    runs = [p.name for p in (tmp_path / "runs").iterdir()]
    assert runs == [f"length_generalization-{'smoke' if stem.startswith('fig20') else 'hinting_smoke'}"]
    again = make_smoke(stem, tmp_path)  # finished runs are reused: the same results
    assert again.results == entry.results
