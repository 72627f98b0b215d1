"""The figures of the reproduced papers: discover, compute, check, draw, and write the gallery.

Every ``paper_figs/figNN_*.py`` module is one figure and exposes

- ``PAPER``: the paper and figure it reproduces (authors, year, arXiv id, figure/table);
- ``CLAIMS``: the paper's statements as :mod:`icl_lab.figures.claims` predicates over the results;
- ``compute(preset, runs) -> dict``: trains or reuses the runs behind the figure (under the
  folder ``runs``; figures that need the same trained model share one run) and returns the
  compact, JSON-able results the figure is drawn from;
- ``draw(results, preset) -> matplotlib Figure``: the figure from those results alone, so it can
  be redrawn in seconds without a trained model (``icl-lab figs NAME --from-results``).

A gallery entry is ``<name>.json`` (results, claim checks, wall time, the command that made it)
and ``<name>.png``; a preset other than quick adds its name: ``<name>.<preset>.json``.
"""

from __future__ import annotations

import importlib
import json
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib.pyplot as plt
import seaborn as sns

from icl_lab.core.errors import ConfigError
from icl_lab.core.runs import atomic_write_bytes, dumps
from icl_lab.figures.claims import FAIL, NOT_AT_SCALE, PASS, ClaimCheck, check_claims, overall_verdict
from icl_lab.figures.plotting import save_png

GALLERY = Path("docs/gallery")
PRESETS = ("smoke", "quick", "cpu", "paper")  # "cpu": the longer CPU runs (≤ 30 min per figure) of figures whose effect needs them
ENTRY_VERSION = 1
_VERDICTS = (PASS, FAIL, NOT_AT_SCALE)


def figure_names() -> list[str]:
    """Every figure, by module stem (``figNN_*``), in order."""
    folder = Path(__file__).parent
    return [p.stem for p in sorted(folder.glob("fig*.py"))]


def load_figure(name: str) -> ModuleType:
    """The module of figure ``name`` (exact stem)."""
    return importlib.import_module(f"paper_figs.{name}")


def select(names: list[str] | None, all_: bool = False) -> list[str]:
    """Figure stems named by ``names`` (exact or prefix match, e.g. ``fig01``) or all of them."""
    known = figure_names()
    if all_:
        return known
    chosen: list[str] = []
    for name in names or []:
        matches = [s for s in known if s == name or s.startswith(name)]
        if not matches:
            raise ConfigError(f"unknown figure {name!r}: available are {', '.join(known)}")
        chosen.extend(matches)
    return list(dict.fromkeys(chosen))


def check_preset(preset: str) -> str:
    if preset not in PRESETS:
        raise ConfigError(f"invalid --preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return preset


def title(module: ModuleType) -> str:
    """The first line of the figure module's docstring."""
    return ((module.__doc__ or "").strip().splitlines() or [""])[0]


@dataclass
class Entry:
    """One figure made at one preset: its results and the verdicts of its claims."""

    name: str
    preset: str
    results: dict[str, Any]
    checks: list[ClaimCheck]
    wall_s: float
    paper: str = ""
    title: str = ""
    command: str = ""
    machine: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return overall_verdict(self.checks)

    def summary(self) -> dict[str, Any]:
        """What ``reproduce --json`` prints for the figure: the headline claim first, then all."""
        head = self.checks[0]
        return {"claim": head.statement, "verdict": self.verdict, "lab_value": head.lab_value,
                "paper_value": head.paper_value, "wall_s": round(self.wall_s, 1), "preset": self.preset,
                "paper": self.paper, "claims": [c.to_dict() for c in self.checks]}

    def to_dict(self) -> dict[str, Any]:
        return {"version": ENTRY_VERSION, "figure": self.name, "title": self.title, "command": self.command,
                "machine": self.machine, **self.summary(), "results": self.results}


def machine() -> dict[str, Any]:
    """The CPU the entry was computed on (timings compare only on one machine)."""
    import os

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count()}


def make(name: str, preset: str, runs: Path) -> Entry:
    """Compute figure ``name`` at ``preset`` (training or reusing runs under ``runs``) and check its claims."""
    module = load_figure(name)
    t0 = time.perf_counter()
    results = module.compute(preset, Path(runs))
    results = compact(json.loads(dumps(results)))  # what is checked is exactly what is written
    wall = time.perf_counter() - t0
    return Entry(name, preset, results, check_claims(module.CLAIMS, results, preset), wall, paper=module.PAPER,
                 title=title(module), command=f"icl-lab reproduce {name} --preset {preset}", machine=machine())


def compact(obj: Any, digits: int = 5) -> Any:
    """``obj`` with every float rounded to ``digits`` significant digits (small, diffable JSON)."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: compact(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [compact(v, digits) for v in obj]
    return obj


def recheck(data: dict[str, Any]) -> Entry:
    """An entry rebuilt from its JSON: claims re-checked on the stored results (no training)."""
    name, preset = data["figure"], data["preset"]
    module = load_figure(name)
    return Entry(name, preset, data["results"], check_claims(module.CLAIMS, data["results"], preset),
                 float(data.get("wall_s", 0.0)), paper=module.PAPER, title=title(module),
                 command=data.get("command", ""), machine=data.get("machine", {}))


def entry_stem(name: str, preset: str) -> str:
    return name if preset == "quick" else f"{name}.{preset}"


def read_entry(folder: Path, name: str, preset: str = "quick") -> dict[str, Any]:
    """The stored JSON of figure ``name`` at ``preset`` in ``folder``."""
    path = Path(folder) / f"{entry_stem(name, preset)}.json"
    if not path.is_file():
        raise ConfigError(f"no results for {name} ({preset}) in {folder}: run `icl-lab reproduce {name} "
                          f"--preset {preset}` first")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"results file {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("figure") != name or "results" not in data:
        raise ConfigError(f"results file {path} is not a gallery entry of {name}")
    return data


def draw(entry: Entry, folder: Path, dpi: int = 80) -> Path:
    """Draw ``entry`` from its results into ``folder`` as a PNG sized for a README."""
    plt.rcdefaults()  # one look for every figure, whatever was drawn before in this process
    sns.set_theme(style="whitegrid", context="notebook")
    fig = load_figure(entry.name).draw(entry.results, entry.preset)
    try:
        return save_png(fig, Path(folder) / f"{entry_stem(entry.name, entry.preset)}.png", dpi=dpi)
    finally:
        plt.close(fig)


def write(entry: Entry, folder: Path) -> list[Path]:
    """Write the entry's JSON and PNG into ``folder`` (each atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry_stem(entry.name, entry.preset)}.json"
    atomic_write_bytes(path, (dumps(entry.to_dict(), indent=1) + "\n").encode())
    return [path, draw(entry, folder)]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _number(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def readme(folder: Path) -> str:
    """The gallery table of every entry in ``folder``, figure by figure."""
    rows = []
    entries = [json.loads(p.read_text()) for p in Path(folder).glob("fig*.json")]
    entries = sorted(entries, key=lambda d: (d["figure"], PRESETS.index(d["preset"])))
    total = {p: sum(d["wall_s"] for d in entries if d["preset"] == p) for p in PRESETS}
    for d in entries:
        stem = entry_stem(d["figure"], d["preset"])
        for i, c in enumerate(d["claims"]):
            first = i == 0
            rows.append("| " + " | ".join([
                f"[<img src=\"{stem}.png\" width=\"220\">]({stem}.png)" if first else "",
                f"**{d['figure']}** ({d['preset']})<br>{_cell(d['paper'])}" if first else "",
                _cell(c["claim"]), _cell(c["paper_value"] or "—"), _number(c["lab_value"]),
                f"**{c['verdict']}**<br>{_cell(c['reason'])}",
                f"`{d['command']}`" if first else "", f"{d['wall_s']:.0f} s" if first else ""]) + " |")
    cpus = sorted({d.get("machine", {}).get("cpu", "?") for d in entries})
    counts = {p: Counter(d["verdict"] for d in entries if d["preset"] == p) for p in PRESETS}
    claim_counts = {p: Counter(c["verdict"] for d in entries if d["preset"] == p for c in d["claims"]) for p in PRESETS}
    tallies = [f"{p}: {sum(counts[p].values())} figures — " + ", ".join(f"{counts[p][v]} {v}" for v in _VERDICTS)
               + " (claims: " + ", ".join(f"{claim_counts[p][v]} {v}" for v in _VERDICTS) + ")"
               for p in PRESETS if counts[p]]
    lines = [
        "# Gallery",
        "",
        "Every figure of `icl-lab figs`, made by `icl-lab reproduce --all --preset quick` and checked against",
        "the paper's claim. Verdicts: **PASS** (the claim holds), **FAIL** (it does not; the reason is the",
        "lab's number against the threshold), **NOT-AT-THIS-SCALE** (it does not hold at this preset and the",
        "claim says why the effect needs a larger run). Redraw any figure from its JSON in seconds:",
        "`icl-lab figs NAME --from-results`. Timing per figure and the measured run-to-run spread:",
        "[benchmarks/README.md](../../benchmarks/README.md).",
        "",
        f"Machine: {', '.join(cpus)}. Wall time per figure counts its training unless an earlier figure",
        "already trained the run it shares. Total: "
        + ", ".join(f"{p} {total[p] / 60:.1f} min" for p in PRESETS if total[p]) + ".",
        "",
        *(f"Verdicts, {t}." for t in tallies),
        "",
        "| figure | paper | claim | paper's number | lab's number | verdict | command | wall |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    return "\n".join(lines)


def write_readme(folder: Path) -> Path:
    path = Path(folder) / "README.md"
    atomic_write_bytes(path, readme(folder).encode())
    return path
