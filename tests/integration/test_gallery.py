"""The committed gallery (docs/gallery) covers every figure, its verdicts follow from its stored
results under today's claims, and a figure redraws from its JSON in seconds with no model."""

import json
import time
from pathlib import Path

import pytest

from paper_figs import gallery

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "docs" / "gallery"


def test_every_figure_has_a_gallery_entry_and_a_row():
    table = (GALLERY / "README.md").read_text()
    for name in gallery.figure_names():
        data = gallery.read_entry(GALLERY, name, "quick")
        assert (GALLERY / f"{name}.png").stat().st_size > 1000, name
        assert f"**{name}** (quick)" in table, name
        assert data["verdict"] in ("PASS", "FAIL", "NOT-AT-THIS-SCALE") and data["wall_s"] >= 0


@pytest.mark.parametrize("path", sorted(GALLERY.glob("fig*.json")), ids=lambda p: p.stem)
def test_stored_verdicts_are_what_the_claims_give_on_the_stored_results(path):
    """A claim edited without regenerating its entry (or a hand-edited verdict) fails here; every
    stored entry is checked, the quick ones and those of longer presets (``<name>.cpu.json``)."""
    data = json.loads(path.read_text())
    rechecked = gallery.recheck(data)
    assert [c.to_dict() for c in rechecked.checks] == data["claims"]
    assert rechecked.verdict == data["verdict"]


@pytest.mark.parametrize("name", ["fig10_task_diversity", "fig30_rasp_compiled", "fig50_boolean_table",
                                  "fig60_dpt_gaussian_bandit", "fig70_cot_table"])
def test_redraw_from_committed_results_takes_seconds(name, tmp_path):
    data = json.loads((GALLERY / f"{name}.json").read_text())
    t0 = time.perf_counter()
    png = gallery.draw(gallery.recheck(data), tmp_path)
    assert png.stat().st_size > 1000
    assert time.perf_counter() - t0 < 30  # drawing only; a training run would take minutes
