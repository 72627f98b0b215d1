"""The small tools of the command line, each with --json: rasp compile / check, cot show,
bandits bayes-optimal. Numbers are checked against independent counts."""

from __future__ import annotations

import json
import math

from typer.testing import CliRunner

from icl_lab.cli import app

runner = CliRunner()


def _json(*args: str) -> dict:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_rasp_compile_verifies_every_input_up_to_max_len():
    row = _json("rasp", "compile", "histogram", "--max-len", "4", "--json")
    assert row["checked"] == sum(3**n for n in range(1, 5))  # every sequence over {0, 1, 2} of length 1..4
    assert row["mismatches"] == 0 and row["inputs"] == "all" and row["layers"] == 1
    listing = runner.invoke(app, ["rasp", "compile", "histogram", "--max-len", "3"])
    assert listing.exit_code == 0 and f"verified on {3 + 9 + 27} inputs (all): 0 mismatches" in listing.stdout


def test_rasp_compile_refuses_what_it_cannot_do_in_one_line():
    for args, words in ((["histogram", "--max-len", "30"], "would run"), (["nosuch", "--max-len", "3"], "unknown program"),
                        (["histogram", "--max-len", "0"], "--max-len=0")):
        res = runner.invoke(app, ["rasp", "compile", *args])
        assert res.exit_code == 2 and res.output.startswith("error: ") and words in res.output
        assert len(res.output.strip().splitlines()) == 1


def test_rasp_check_json():
    report = _json("rasp", "check", "count", "--json")
    assert report["report"].startswith("RASP-L: ok") and report["layers"] == len(report["attention"])


def test_cot_show_json_is_verified_and_the_direct_answer_ends_the_chain():
    shown = _json("cot", "show", "equations", "--size", "2", "--json")
    assert shown["verified"] is True
    answer = shown["direct"].split("<ans>")[1]
    assert shown["cot"].endswith(answer)


def test_bandits_bayes_optimal_json_counts_the_states():
    row = _json("bandits", "bayes-optimal", "--arms", "2", "--horizon", "10", "--json")
    # posterior states of K Bernoulli arms with at most H pulls: C(H + 2K, 2K)
    assert row["states"] == math.comb(10 + 4, 4) and row["bayes_regret"] > 0
