"""Notebooks use only the public API: they import the top-level ``icl_lab`` package, never a
submodule, and every name they take from it is in ``icl_lab.__all__``."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

import icl_lab

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def code_of(path: Path) -> str:
    """The notebook's code cells as one Python module (IPython magics and shell lines dropped)."""
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    lines = [line for cell in cells for line in cell.splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines) + "\n"


def public_uses(tree: ast.AST) -> tuple[list[str], list[str]]:
    """(modules of icl_lab that are imported, names taken from icl_lab) in the tree."""
    modules, names = [], []
    aliases = {"icl_lab"}  # names bound to the package itself
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "icl_lab":
                    modules.append(alias.name)
                    if alias.name == "icl_lab":
                        aliases.add(alias.asname or "icl_lab")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "icl_lab":
            modules.append(node.module)
            names += [alias.name for alias in node.names]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            names.append(node.attr)
    return modules, names


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_the_public_api(path: Path):
    modules, names = public_uses(ast.parse(code_of(path), filename=str(path)))
    assert modules, f"{path.name} does not use icl_lab"
    assert set(modules) == {"icl_lab"}, f"{path.name} imports submodules: {sorted(set(modules) - {'icl_lab'})}"
    missing = sorted(set(names) - set(icl_lab.__all__))
    assert not missing, f"{path.name} uses names not in icl_lab.__all__: {missing}"


def test_public_names_resolve():
    for name in icl_lab.__all__:
        assert getattr(icl_lab, name) is not None, name


def test_checker_catches_submodule_imports():
    tree = ast.parse("import icl_lab.tasks\nfrom icl_lab.rasp import select\nimport icl_lab as lab\nlab.nope\n")
    modules, names = public_uses(tree)
    assert modules == ["icl_lab.tasks", "icl_lab.rasp", "icl_lab"]
    assert set(names) == {"select", "nope"}
