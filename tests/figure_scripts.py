"""Loading a figure script of paper_figs/ as a module, as `icl-lab figs` does."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_figure_script(stem: str) -> ModuleType:
    """The module ``paper_figs/<stem>.py`` (each exposes ``main(preset, out_dir)``)."""
    spec = importlib.util.spec_from_file_location(stem, ROOT / "paper_figs" / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
