"""Spot-check services know no HTTP: only the entry points (cli.py, jobs.py) import Flask."""

from __future__ import annotations

import ast
from pathlib import Path

import spotchecks

ENTRY_POINTS = {"cli.py", "jobs.py"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_spotcheck_module_but_its_entry_points_imports_flask():
    folder = Path(spotchecks.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert {"services.py", "hotlines.py", "rubric.py", "settings.py"} <= {m.name for m in modules}
    flask = {m.name for m in modules if any(n.split(".")[0].startswith("flask") for n in _imports(m))}
    assert flask <= ENTRY_POINTS, f"spotchecks modules importing Flask: {sorted(flask - ENTRY_POINTS)}"
