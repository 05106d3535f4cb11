"""The audit trail as people read it: who (by name and unit, or which part of the system), what (labels, not
codes), on what, and each change as "字段：旧值 → 新值". Used by the audit page and its exports alike.

Codes that belong to an area (a ticket's state, a fault type) are told to `Reader` by whoever composes it
(the audit page's handler), since the audit trail knows no area.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from audit import labels
from audit.models import AuditEvent
from core.clock import to_local
from core.db import session
from core.models import ROLES, Unit, User

#: Fields whose value is a user's id, shown as the person's name and unit.
USER_FIELDS = frozenset({"actor_id", "user_id", "first_owner_id", "operator_id", "supervisor_id", "assignee_id",
                         "previous_owner_id"})
#: Fields whose value is a unit's id, shown as the unit's name.
UNIT_FIELDS = frozenset({"unit_id", "parent_id", "township_id"})
#: Stored changes are canonical JSON (keys sorted); they are shown in this order: what names the record
#: first, then the labelled fields in the order `labels.FIELDS` lists them, then any others.
_FIRST = ("name", "title", "display_name", "number", "question", "state", "status")
_ORDER = {key: index for index, key in reversed(list(enumerate((*_FIRST, *labels.FIELDS))))}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
#: A change's field is on the entity itself, or, for codes that mean the same on every entity, on None.
#: An event as the page reads it (an ORM object) or as an export reads it (a row of the table's columns).
EventLike = AuditEvent | Row
ValueLabels = Mapping[tuple[str | None, str], Mapping[str, str]]


@dataclass(frozen=True)
class Change:
    """One line of an event's changes: `old` is None for a field that is only stated (a new record's value)."""

    label: str
    new: str
    old: str | None = None

    def text(self) -> str:
        return f"{self.label}：{self.new}" if self.old is None else f"{self.label}：{self.old} → {self.new}"


@dataclass(frozen=True)
class EventView:
    seq: int
    at: datetime
    who: str
    unit: str
    role: str
    #: True when no person acted (the scheduler, a command, someone not logged in).
    system: bool
    action: str
    action_label: str
    entity_type: str
    entity_label: str
    entity_id: str
    changes: list[Change] = field(default_factory=list)
    origin: str = ""
    client_addr: str = ""
    request_id: str = ""
    hash: str = ""

    @property
    def local_time(self) -> str:
        return to_local(self.at).strftime("%Y-%m-%d %H:%M:%S")

    def changes_text(self) -> str:
        return "；".join(c.text() for c in self.changes)


def _origin(request_id: str) -> str:
    if request_id.startswith("job:"):
        return f"定时任务 {request_id[4:]}"
    if request_id.startswith("cli:"):
        return f"命令行 {request_id[4:]}"
    return "网页或接口" if request_id else ""


class Reader:
    """Turns events into what people read; the people and units they name are loaded once per batch."""

    def __init__(self, value_labels: ValueLabels | None = None, *, text_limit: int | None = None) -> None:
        self.value_labels = value_labels or {}
        self.text_limit = text_limit
        self.users: dict[int, User] = {}
        self.units: dict[int, Unit] = {}

    # --- loading ---------------------------------------------------------------------------------------

    def _load(self, events: list[EventLike], parsed: list[dict[str, Any]]) -> None:
        user_ids = {ev.actor_id for ev in events if ev.actor_id is not None}
        unit_ids: set[int] = set()
        for data in parsed:
            for key, value in _leaves(data):
                if isinstance(value, int) and not isinstance(value, bool):
                    if key in USER_FIELDS:
                        user_ids.add(value)
                    elif key in UNIT_FIELDS:
                        unit_ids.add(value)
        missing = user_ids - self.users.keys()
        if missing:
            for user in session.execute(select(User).where(User.id.in_(missing))).scalars():
                self.users[user.id] = user
        unit_ids |= {u.unit_id for u in self.users.values() if u.unit_id is not None}
        missing = unit_ids - self.units.keys()
        if missing:
            for unit in session.execute(select(Unit).where(Unit.id.in_(missing))).scalars():
                self.units[unit.id] = unit

    def read(self, events: Iterable[EventLike]) -> list[EventView]:
        """Events, or rows of the event table's columns (an export's)."""
        rows = list(events)
        parsed = [_parse(ev.changes) for ev in rows]
        self._load(rows, parsed)
        return [self._view(ev, data) for ev, data in zip(rows, parsed, strict=True)]

    # --- people -----------------------------------------------------------------------------------------

    def unit_name(self, unit_id: int | None) -> str:
        unit = self.units.get(unit_id) if unit_id is not None else None
        return unit.full_name if unit is not None else (f"单位#{unit_id}" if unit_id is not None else "")

    def person(self, user_id: int) -> str:
        user = self.users.get(user_id)
        if user is None:
            return f"用户#{user_id}"
        unit = self.unit_name(user.unit_id)
        return f"{user.display_name}（{unit}）" if unit else user.display_name

    # --- values -------------------------------------------------------------------------------------------

    def value(self, entity_type: str, key: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "（空）"
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, int) and key in USER_FIELDS:
            return self.person(value)
        if isinstance(value, int) and key in UNIT_FIELDS:
            return self.unit_name(value)
        if isinstance(value, dict):
            if "name" in value and "id" in value:  # a person as ticket services describe one
                unit = self.unit_name(value.get("unit_id"))
                return f"{value['name']}（{unit}）" if unit else str(value["name"])
            return "；".join(f"{labels.field_label(k, entity_type)}：{self.value(entity_type, k, v)}"
                            for k, v in _ordered(value).items())
        if isinstance(value, list):
            return "、".join(self.value(entity_type, key, v) for v in value)
        if isinstance(value, str):
            named = self._named(entity_type, key, value)
            if named is not None:
                return named
            if _ISO_TIME.match(value):
                try:
                    return to_local(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
                except ValueError:
                    return value
            if self.text_limit is not None and len(value) > self.text_limit:
                return value[:self.text_limit] + "…"
            return value
        return str(value)

    def _named(self, entity_type: str, key: str, code: str) -> str | None:
        for scope in (entity_type, None):
            table = self.value_labels.get((scope, key))
            if table is not None and code in table:
                return table[code]
        own = {"role": ROLES, "action": labels.ACTIONS, "entity_type": labels.ENTITIES}.get(key)
        return own.get(code) if own is not None else None

    # --- events -------------------------------------------------------------------------------------------

    def changes(self, entity_type: str, data: dict[str, Any]) -> list[Change]:
        data = _ordered(data)
        before, after = data.get("before"), data.get("after")
        lines: list[Change] = []
        rest = data
        if isinstance(before, dict) or isinstance(after, dict):
            old = _ordered(before) if isinstance(before, dict) else {}
            new = _ordered(after) if isinstance(after, dict) else {}
            for key in [*new, *(k for k in old if k not in new)]:
                label = labels.field_label(key, entity_type)
                if key in new and key in old:
                    lines.append(Change(label, self.value(entity_type, key, new[key]),
                                        self.value(entity_type, key, old[key])))
                elif key in new:
                    lines.append(Change(label, self.value(entity_type, key, new[key])))
                else:
                    lines.append(Change(label, "（删除）", self.value(entity_type, key, old[key])))
            rest = {k: v for k, v in data.items() if k not in ("before", "after")}
        for key, value in rest.items():
            lines.append(Change(labels.field_label(key, entity_type), self.value(entity_type, key, value)))
        return lines

    def who(self, ev: EventLike) -> tuple[str, str, bool]:
        """Name, unit, and whether no person acted."""
        if ev.actor_id is None:
            return labels.system_label(ev.request_id), "", True
        user = self.users.get(ev.actor_id)
        if user is None:
            return f"用户#{ev.actor_id}", "", False
        return user.display_name, self.unit_name(user.unit_id), False

    def _view(self, ev: EventLike, data: dict[str, Any]) -> EventView:
        name, unit, system = self.who(ev)
        return EventView(
            seq=ev.seq, at=ev.at, who=name, unit=unit, role=ROLES.get(ev.actor_role, ev.actor_role) if not system else "",
            system=system, action=ev.action, action_label=labels.action_label(ev.action), entity_type=ev.entity_type,
            entity_label=labels.entity_label(ev.entity_type), entity_id=ev.entity_id,
            changes=self.changes(ev.entity_type, data), origin=_origin(ev.request_id), client_addr=ev.client_addr,
            request_id=ev.request_id, hash=ev.hash)


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(data.items(), key=lambda item: _ORDER.get(item[0], len(_ORDER))))


def _parse(changes: str) -> dict[str, Any]:
    try:
        data = json.loads(changes or "{}")
    except ValueError:
        return {"data": changes}
    return data if isinstance(data, dict) else {"data": data}


def _leaves(data: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, str(k))
    elif isinstance(data, list):
        for v in data:
            yield from _leaves(v, key)
    else:
        yield key, data


def filter_choices() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The audit page's person and unit pickers: every account by name and unit, and every unit that has
    accounts (read from the small user and unit tables, never from the trail)."""
    rows = session.execute(select(User.id, User.display_name, Unit).outerjoin(Unit, User.unit_id == Unit.id)
                           .order_by(Unit.area.is_(None), Unit.area, Unit.name, User.display_name)).all()
    people = [(uid, f"{name}（{unit.full_name}）" if unit is not None else name) for uid, name, unit in rows]
    units: dict[int, str] = {}
    for _uid, _name, unit in rows:
        if unit is not None:
            units.setdefault(unit.id, unit.full_name)
    return people, list(units.items())
