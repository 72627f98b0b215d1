"""Making a figure of paper_figs/ at smoke scale, as `icl-lab reproduce` does, and checking its files."""

from __future__ import annotations

import json
from pathlib import Path

from paper_figs import gallery
from paper_figs.gallery import Entry


def make_smoke(stem: str, tmp_path: Path) -> Entry:
    """Make figure ``stem`` at the smoke preset (runs under ``tmp_path/runs``), write its entry to
    ``tmp_path/gallery``, and check what every entry must hold: a PNG, JSON that round-trips,
    one verdict per claim, and a redraw from the JSON alone."""
    entry = gallery.make(stem, "smoke", tmp_path / "runs")
    json_path, png = gallery.write(entry, tmp_path / "gallery")
    assert png.suffix == ".png" and png.stat().st_size > 1000
    stored = gallery.read_entry(tmp_path / "gallery", stem, "smoke")
    assert stored["results"] == entry.results and len(stored["claims"]) == len(entry.checks) >= 1
    assert all(c["verdict"] in ("PASS", "FAIL", "NOT-AT-THIS-SCALE") for c in stored["claims"])
    redrawn = gallery.draw(gallery.recheck(json.loads(json_path.read_text())), tmp_path / "redrawn")
    assert redrawn.stat().st_size > 1000
    return entry
