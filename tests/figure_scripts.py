"""Loading a figure script of paper_figs/ as a module, as `icl-lab figs` does."""

from __future__ import annotations

import importlib
from types import ModuleType


def load_figure_script(stem: str) -> ModuleType:
    """The module ``paper_figs.<stem>`` (each exposes ``main(preset, out_dir)``)."""
    return importlib.import_module(f"paper_figs.{stem}")
