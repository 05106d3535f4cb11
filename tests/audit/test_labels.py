"""Every action and entity type the code records has a Chinese label: read from the source with ast, so a new
`record(...)` call with a code that has no label fails here before anyone sees the code on the audit page."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from audit import labels

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "kb", "eligibility", "tickets", "spotchecks", "audit", "handlers")
TOP_FILES = ("app.py", "composition.py")
#: The audit trail's own writers: every event goes through one of them (audit/services.py).
SERVICES = ROOT / "audit" / "services.py"
BASE = {"_append": ("action", "entity_type"), "record": ("action", "entity_type")}


def _sources() -> list[Path]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(files + [ROOT / name for name in TOP_FILES])


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


@dataclass
class Recorder:
    """A function that writes an audit event with the action and entity type it is given (or fixes one)."""

    params: list[str]
    action: str | None
    entity: str | None
    #: Wrappers are matched by name only in the file that defines them (their names are not unique).
    path: Path | None


def _params(fn: ast.FunctionDef) -> list[str]:
    args = fn.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _argument(call: ast.Call, recorder: Recorder, role: str) -> ast.expr | None:
    param = recorder.action if role == "action" else recorder.entity
    if param is None:
        return None
    for kw in call.keywords:
        if kw.arg == param:
            return kw.value
    index = recorder.params.index(param)
    return call.args[index] if index < len(call.args) else None


def _functions(tree: ast.AST) -> Iterator[tuple[ast.FunctionDef | None, ast.Call]]:
    """Every call with the function it is in (None at module level)."""
    def walk(node: ast.AST, fn: ast.FunctionDef | None) -> Iterator[tuple[ast.FunctionDef | None, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            if isinstance(child, ast.Call):
                yield fn, child
            yield from walk(child, inner)
    yield from walk(tree, None)


class Collector:
    def __init__(self) -> None:
        self.trees = {path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in _sources()}
        self.recorders: dict[str, list[Recorder]] = {}
        services = self.trees[SERVICES]
        for node in ast.walk(services):
            if isinstance(node, ast.FunctionDef) and node.name in BASE:
                action, entity = BASE[node.name]
                self.recorders.setdefault(node.name, []).append(Recorder(_params(node), action, entity, None))
        self._find_wrappers()

    def _recorder_for(self, call: ast.Call, path: Path) -> Recorder | None:
        for rec in self.recorders.get(_name(call), []):
            if rec.path is None or rec.path == path:
                return rec
        return None

    def _find_wrappers(self) -> None:
        """A function that passes one of its own parameters on as the action or entity type is a recorder too."""
        changed = True
        while changed:
            changed = False
            for path, tree in self.trees.items():
                for fn, call in _functions(tree):
                    rec = self._recorder_for(call, path)
                    if fn is None or rec is None or (fn.name in BASE and path == SERVICES):
                        continue
                    params = _params(fn)
                    passed = {role: arg.id for role in ("action", "entity")
                              if isinstance(arg := _argument(call, rec, role), ast.Name) and arg.id in params}
                    if passed and not any(r.path == path and r.params == params for r in self.recorders.get(fn.name, [])):
                        self.recorders.setdefault(fn.name, []).append(
                            Recorder(params, passed.get("action"), passed.get("entity"), path))
                        changed = True

    def _assigned(self, scope: ast.AST, name: str) -> list[ast.expr]:
        return [node.value for node in ast.walk(scope) if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)]

    def _strings(self, node: ast.expr, fn: ast.FunctionDef | None, path: Path) -> set[str] | None:
        """The strings an argument can be, or None when this test cannot tell (then it fails: use a literal)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            body, orelse = self._strings(node.body, fn, path), self._strings(node.orelse, fn, path)
            return None if body is None or orelse is None else body | orelse
        if isinstance(node, ast.Name):
            values = self._assigned(fn, node.id) if fn is not None else []
            values = values or self._assigned(self.trees[path], node.id)
            found: set[str] = set()
            for value in values:
                strings = self._strings(value, None, path)
                if strings is None:
                    return None
                found |= strings
            return found or None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.value, ast.Name):
            # e.g. security["action"] for g.security_event = {"action": "csrf_failed", ...} anywhere
            key, found = node.slice.value, set()
            for tree in self.trees.values():
                for assign in ast.walk(tree):
                    if (isinstance(assign, ast.Assign) and isinstance(assign.value, ast.Dict)
                            and any(node.value.id in ast.unparse(t) for t in assign.targets)):
                        for k, v in zip(assign.value.keys, assign.value.values, strict=True):
                            if isinstance(k, ast.Constant) and k.value == key and isinstance(v, ast.Constant):
                                found.add(v.value)
            return found or None
        return None

    def codes(self) -> tuple[set[str], set[str], list[str]]:
        actions: set[str] = set()
        entities: set[str] = set()
        unknown: list[str] = []
        for path, tree in self.trees.items():
            for fn, call in _functions(tree):
                rec = self._recorder_for(call, path)
                if rec is None:
                    continue
                for role, into in (("action", actions), ("entity", entities)):
                    arg = _argument(call, rec, role)
                    if arg is None:
                        continue
                    if isinstance(arg, ast.Name) and fn is not None and arg.id in _params(fn) and any(
                            (r.path or SERVICES) == path for r in self.recorders.get(fn.name, [])):
                        continue  # a wrapper passing its parameter on: its callers are read instead
                    strings = self._strings(arg, fn, path)
                    if strings is None:
                        unknown.append(f"{path.relative_to(ROOT)}:{call.lineno} {role} {ast.unparse(arg)}")
                    else:
                        into |= strings
        return actions, entities, unknown


@pytest.fixture(scope="module")
def recorded() -> tuple[set[str], set[str], list[str]]:
    return Collector().codes()


def test_the_reader_finds_the_codes_behind_wrappers_and_variables(recorded):
    actions, entities, _ = recorded
    assert {"login", "close_out", "publish"} <= actions  # plain literals
    assert {"dispatch", "reassign", "approve_return", "reject_return"} <= actions  # tickets' _record and its variable
    assert {"warn", "overdue"} <= actions  # the deadline job's _log
    assert {"csrf_failed", "permission_denied"} <= actions  # the refused request's security event
    assert "seal" in actions  # the audit trail's own seal, through a module constant
    assert {"ticket", "ticket_metrics", "request", "audit_event"} <= entities  # record_export(what=...) too


def test_every_recorded_code_is_one_the_reader_can_tell(recorded):
    assert recorded[2] == []


def test_every_recorded_action_has_a_label(recorded):
    assert sorted(recorded[0] - labels.ACTIONS.keys()) == []


def test_every_recorded_entity_type_has_a_label(recorded):
    assert sorted(recorded[1] - labels.ENTITIES.keys()) == []


def test_labels_are_chinese_with_no_code_left_over():
    for table in (labels.ACTIONS, labels.ENTITIES, labels.FIELDS, labels.ENTITY_FIELDS):
        assert all(label and not label.isascii() for label in table.values())


def test_a_new_action_without_a_label_is_caught():
    collector = Collector()
    collector.trees[ROOT / "spotchecks" / "probe.py"] = ast.parse(
        'from audit import services as audit\n'
        'def probe(actor, now):\n    audit.record("frobnicate", "gizmo", 1, actor=actor, now=now)\n')
    actions, entities, unknown = collector.codes()
    assert "frobnicate" in actions - labels.ACTIONS.keys() and "gizmo" in entities - labels.ENTITIES.keys()
    assert unknown == []


def test_entity_field_labels_name_known_entities():
    assert {entity for entity, _ in labels.ENTITY_FIELDS} <= labels.ENTITIES.keys()
    assert labels.field_label("number", "hotline") == "电话号码" and labels.field_label("number", "ticket") == "工单编号"
    assert labels.field_label("number") == "编号" and labels.field_label("no_such_field") == "no_such_field"
