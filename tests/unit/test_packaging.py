"""Packaging: every package ships, and an installed (non-editable) lab finds its experiment
files and figure scripts from any working directory."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("icl_lab", "paper_figs") for p in (ROOT / top).rglob("__init__.py")}
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"
    assert "icl_lab.experiments" in listed


def test_installed_wheel_finds_experiments_and_figures_anywhere(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(tmp_path / "wheel")], check=True, capture_output=True)
    wheel = next((tmp_path / "wheel").glob("icl_lab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).stem for n in names if n.startswith("icl_lab/experiments/") and n.endswith(".toml")}
    assert shipped == {p.stem for p in (ROOT / "experiments").glob("*.toml")}
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = ("import icl_lab, paper_figs.fig01_garg_linear_regression as f; "
             "from icl_lab.core.config_files import find_experiment; "
             "print(icl_lab.__file__); print(find_experiment('bandits')); print(f.__file__)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}).stdout.splitlines()
    assert all(line.startswith(str(tmp_path / "site")) for line in out), out
