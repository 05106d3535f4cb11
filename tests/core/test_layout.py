"""The import rules of the layout, read from the source with ast: core knows no area, the two wings
(tickets, spotchecks) have no door between them, and domain modules know no HTTP (Flask) except their
`cli.py` and `jobs.py` entry points."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AREAS = ("kb", "eligibility", "tickets", "spotchecks")
DOMAIN = ("audit", "kb", "eligibility", "tickets", "spotchecks")
#: The only domain modules that may import Flask: how the app, the CLI and the scheduler start them.
ENTRY_POINTS = ("cli.py", "jobs.py")
WEB = ("flask", "flask_login", "flask_wtf", "werkzeug")

def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (relative imports resolved)."""
    found: set[str] = set()
    package = path.relative_to(ROOT).parent.parts
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _flask_users(packages: tuple[str, ...]) -> dict[str, list[str]]:
    return {_rel(path): sorted(m for m in _imports(path) if _top(m) in WEB)
            for package in packages for path in _modules(package)
            if path.name not in ENTRY_POINTS and any(_top(m) in WEB for m in _imports(path))}


def test_the_walker_sees_imports_inside_functions():
    sample = ROOT / "core" / "cli.py"
    assert "core.scheduler" in _imports(sample)  # imported inside the scheduler command


def test_core_imports_no_area():
    found = {_rel(path): sorted(m for m in _imports(path) if _top(m) in AREAS)
             for path in _modules("core")}
    assert {path: modules for path, modules in found.items() if modules} == {}


def test_tickets_and_spotchecks_do_not_import_each_other():
    found = {}
    for package, other in (("tickets", "spotchecks"), ("spotchecks", "tickets")):
        for path in _modules(package):
            modules = sorted(m for m in _imports(path) if _top(m) == other)
            if modules:
                found[_rel(path)] = modules
    assert found == {}


def test_domain_modules_know_no_flask_outside_their_entry_points():
    assert _flask_users(DOMAIN) == {}


def _audit_record_calls(path: Path) -> int:
    """Calls of audit.record (or a bare `record` imported from audit.services) in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported_bare = any(isinstance(n, ast.ImportFrom) and n.module == "audit.services"
                        and any(a.name == "record" for a in n.names) for n in ast.walk(tree))
    calls = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "record" and \
                    isinstance(func.value, ast.Name) and func.value.id == "audit" or imported_bare and isinstance(func, ast.Name) and func.id == "record":
                calls += 1
    return calls


def test_the_audit_call_finder_finds_a_call():
    assert _audit_record_calls(ROOT / "kb" / "transfer.py") >= 1


def test_handlers_and_cli_never_write_audit_events_themselves():
    """Services (and the export builders) record what they do; entry points only call them."""
    entry_points = [*_modules("handlers"), *(p for package in ("core", *DOMAIN) for p in _modules(package)
                                            if p.name == "cli.py")]
    assert {_rel(p): n for p in entry_points if (n := _audit_record_calls(p))} == {}


def test_the_knowledge_base_knows_neither_wing():
    found = {_rel(path): sorted(m for m in _imports(path) if _top(m) in ("tickets", "spotchecks"))
             for path in _modules("kb")}
    assert {path: modules for path, modules in found.items() if modules} == {}
