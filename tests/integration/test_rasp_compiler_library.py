"""Library programs compiled and verified against the interpreter (a fast subset).

Exhaustive programs check every input up to their maximum length; the full
table (all programs, more inputs) is what ``paper_figs/fig30_rasp_compiled.py``
produces. The two addition programs take longer to compile (tables of up to
27M entries) and are marked slow.
"""

import dataclasses

import pytest

from icl_lab.rasp.compiler import LIBRARY_SPECS, format_table, verify_library, verify_program
from tests.figure_scripts import make_smoke

EXHAUSTIVE = [n for n, s in LIBRARY_SPECS.items() if s.exhaustive]
RANDOM = ["count", "copy_unique"]
SLOW = ["addition_reverse_with_hints", "addition_forward_with_hints"]


@pytest.mark.parametrize("name", EXHAUSTIVE)
def test_every_input_matches_the_interpreter(name):
    spec = LIBRARY_SPECS[name]
    row = verify_program(name, spec)
    assert row["mismatches"] == 0, row["first_mismatch"]
    assert row["skipped"] == 0 and row["min_margin"] > 0.999 and row["max_error"] < 1e-9
    if spec.valid is None:
        assert row["checked"] == sum(len(spec.vocab) ** n for n in range(1, spec.max_len + 1))


@pytest.mark.parametrize("name", RANDOM)
def test_random_inputs_match_the_interpreter(name):
    spec = dataclasses.replace(LIBRARY_SPECS[name], n_random=300)
    row = verify_program(name, spec)
    assert row["checked"] == 600 and row["mismatches"] == 0, row["first_mismatch"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_addition_matches_the_interpreter(name):
    row = verify_program(name, LIBRARY_SPECS[name])
    assert row["checked"] == 2000 and row["mismatches"] == 0, row["first_mismatch"]


def test_verify_library_table():
    rows = verify_library("quick", names=["histogram", "mode"])
    assert [r["program"] for r in rows] == ["histogram", "mode"]
    assert rows[0]["checked"] == 363 and rows[0]["layers"] == 1 and rows[0]["heads"] == 1
    assert rows[1]["causal"] and rows[1]["layers"] == rows[1]["rasp_layers"] == 4
    table = format_table(rows)
    assert table.startswith("| program | causal | layers | heads |") and "| mode |" in table


def test_fig30_smoke(tmp_path):
    entry = make_smoke("fig30_rasp_compiled", tmp_path)
    programs = {p["program"]: p for p in entry.results["programs"]}
    assert list(programs) == ["histogram", "sort", "mode"]
    assert programs["histogram"]["checked"] == 363 and programs["histogram"]["layers"] == 1
    assert all(p["mismatches"] == 0 for p in programs.values())
    assert entry.checks[0].verdict == "PASS"  # compiled programs are exact at any scale
    assert len(entry.results["panels"]) == 4
    for panel in entry.results["panels"]:  # attention rows are distributions over the keys
        assert len(panel["pattern"]) == len(panel["labels"])
        assert all(abs(sum(row) - 1) < 1e-3 for row in panel["pattern"])
    vs = entry.results["vs_trained"]
    assert [r["n"] for r in vs["rows"]] == [4, 8, 12] and vs["L"] == 4
    assert all(r["compiled_exact"] == 1.0 for r in vs["rows"])
    assert (tmp_path / "runs" / "rasp_compare-count-smoke" / "count" / "seed0" / "checkpoint.pt").is_file()
