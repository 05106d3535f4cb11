"""The hotline registry: the published assistance hotlines (社会救助热线), their checks, and the bundled list.

The only code that changes hotlines; the public directory (directory.py) and the spreadsheet import and
export (transfer.py) read and write through it. Like every service it takes the actor and the time,
records the audit event in the same transaction and flushes.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from audit import services as audit
from core.db import session
from core.models import Unit, User
from spotchecks import planner
from spotchecks.common import SpotcheckError, clean_text, get_or_404
from spotchecks.models import Hotline

DATA = Path(__file__).resolve().parent / "data"
NUMBER_RE = re.compile(r"^0\d{2,3}-[2-9]\d{6,7}$")


def hotline_snapshot(h: Hotline) -> dict:
    return {"unit_id": h.unit_id, "name": h.name, "number": h.number, "level": h.level,
            "service_hours": h.service_hours, "contact": h.contact, "leader": h.leader,
            "leader_title": h.leader_title, "active": h.active}


def find_unit(area: str, name: str) -> Unit | None:
    """A unit by its name within a county-level area (township names repeat across counties)."""
    rows = session.execute(select(Unit).where(Unit.area == area.strip(), Unit.name == name.strip())
                           .order_by(Unit.kind == "department", Unit.id)).scalars().all()
    return rows[0] if rows else None


def check_number(number: Any) -> str:
    text = str(number or "").strip().replace("—", "-").replace("－", "-")
    if not NUMBER_RE.fullmatch(text):
        raise SpotcheckError(f"电话号码格式不正确:{text or '(空)'};应为区号-号码,如 0455-8331481", field="number")
    return text


def check_service_hours(text: Any) -> str:
    raw = str(text or "").strip()
    try:
        opens, closes = planner.parse_service_hours(raw)
    except ValueError as err:
        raise SpotcheckError(str(err), field="service_hours") from None
    if planner.is_round_the_clock(opens, closes):
        return "00:00-24:00"
    return f"{opens:%H:%M}-{closes:%H:%M}"


def clean_hotline(data: dict[str, Any], *, hotline_id: int | None = None) -> dict[str, Any]:
    """Validate one hotline's fields (form, import row or bundled item); the unit must exist."""
    unit_id = data.get("unit_id")
    unit = session.get(Unit, int(unit_id)) if str(unit_id or "").isdigit() else None
    if unit is None and data.get("unit") and data.get("area"):
        unit = find_unit(str(data["area"]), str(data["unit"]))
    if unit is None:
        where = f"{data.get('area', '')}{data.get('unit', '')}".strip()
        raise SpotcheckError(f"找不到所属单位:{where or '(未选择)'}", field="unit")
    cleaned = {
        "unit_id": unit.id,
        "level": unit.level if unit.level in ("city", "county", "township") else "city",
        "name": clean_text(data.get("name"), "热线名称", "name", required=True, limit=100),
        "number": check_number(data.get("number")),
        "service_hours": check_service_hours(data.get("service_hours")),
        "contact": clean_text(data.get("contact"), "联系人", "contact", limit=50),
        "leader": clean_text(data.get("leader"), "分管领导", "leader", limit=50),
        "leader_title": clean_text(data.get("leader_title"), "领导职务", "leader_title", limit=50),
        "active": bool(data.get("active", True)),
    }
    for column, label in (("number", "电话号码"), ("name", "热线名称")):
        clash = session.execute(select(Hotline.id).where(getattr(Hotline, column) == cleaned[column],
                                                         Hotline.id != (hotline_id or 0))).first()
        if clash:
            raise SpotcheckError(f"{label}已被另一条热线使用:{cleaned[column]}", field=column)
    return cleaned


def create_hotline(*, actor: User | None, now: datetime, data: dict[str, Any], bundle_key: str | None = None) -> Hotline:
    cleaned = clean_hotline(data)
    hotline = Hotline(**cleaned, bundle_key=bundle_key, created_at=now, updated_at=now)
    session.add(hotline)
    session.flush()
    audit.record("create", "hotline", hotline.id, actor=actor, now=now, changes={"after": hotline_snapshot(hotline)})
    return hotline


def update_hotline(*, actor: User | None, now: datetime, hotline: Hotline, data: dict[str, Any],
                   before: dict[str, Any] | None = None) -> Hotline:
    """Change a hotline; `before` is its state before an import parked its number and name."""
    cleaned = clean_hotline(data, hotline_id=hotline.id)
    before = before or hotline_snapshot(hotline)
    for key, value in cleaned.items():
        setattr(hotline, key, value)
    changes = audit.diff(before, hotline_snapshot(hotline))
    if changes["after"]:
        hotline.updated_at = now
    session.flush()
    if changes["after"]:
        audit.record("update", "hotline", hotline.id, actor=actor, now=now, changes=changes)
    return hotline


def load_hotlines(*, now: datetime) -> str:
    """Init loader: create the bundled hotlines that are missing; never touch one that exists (admins edit them)."""
    items = yaml.safe_load((DATA / "hotlines.yaml").read_text(encoding="utf-8"))
    known = set(session.execute(select(Hotline.bundle_key)).scalars())
    numbers = set(session.execute(select(Hotline.number)).scalars())
    names = set(session.execute(select(Hotline.name)).scalars())
    added, skipped = 0, []
    for item in items:
        if item["name"] in known or item["number"] in numbers or item["name"] in names:
            continue
        if find_unit(item["area"], item["unit"]) is None:
            skipped.append(f"{item['area']}{item['unit']}")
            continue
        create_hotline(actor=None, now=now, data=item, bundle_key=item["name"])
        added += 1
    message = f"hotlines: {added} added, {len(items) - added - len(skipped)} already present"
    if skipped:
        message += f"; {len(skipped)} skipped (unit not found: {', '.join(skipped[:5])})"
    return message


def get_hotline(hotline_id: int) -> Hotline:
    return get_or_404(Hotline, hotline_id, "热线不存在")


def hotlines(*, active_only: bool = False) -> list[Hotline]:
    """In directory order: city, then each county's bureau followed by its townships."""
    query = select(Hotline).join(Unit, Hotline.unit_id == Unit.id).options(contains_eager(Hotline.unit))
    if active_only:
        query = query.where(Hotline.active.is_(True))
    rows = session.execute(query).scalars().all()
    areas = {area: index for index, area in enumerate(area_order())}
    level_order = {"city": 0, "county": 1, "township": 2}
    return sorted(rows, key=lambda h: (areas.get(h.unit.area, 99), level_order.get(h.level, 3), h.unit_id, h.id))


def area_order() -> list[str]:
    from core import units

    return units.areas()


def units_for_hotlines() -> list[Unit]:
    """Units a hotline may belong to: the city bureau, county bureaus and townships (not departments)."""
    from core import units

    return [u for u in units.list_units(active_only=True) if u.kind != "department"]
