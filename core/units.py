"""Units (单位): the city bureau, county bureaus, townships and co-handling departments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from audit import services as audit
from core.db import session
from core.errors import DomainError, NotFound
from core.models import UNIT_KINDS, UNIT_LEVELS, Unit, User


class UnitError(DomainError):
    pass


def _snapshot(unit: Unit) -> dict:
    return {"code": unit.code, "name": unit.name, "level": unit.level, "kind": unit.kind, "area": unit.area,
            "parent_id": unit.parent_id, "phone": unit.phone, "address": unit.address, "active": unit.active}


def get_unit(unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"单位不存在:{unit_id}")
    return unit


def list_units(*, active_only: bool = False, level: str | None = None, area: str | None = None) -> list[Unit]:
    query = select(Unit)
    if active_only:
        query = query.where(Unit.active.is_(True))
    if level:
        query = query.where(Unit.level == level)
    if area:
        query = query.where(Unit.area == area)
    order = {"city": 0, "county": 1, "township": 2}
    units = list(session.execute(query).scalars())
    return sorted(units, key=lambda u: (u.kind == "department", u.area != "绥化市", u.area, order.get(u.level, 3), u.id))


def areas() -> list[str]:
    """The county-level areas, in seed order (city first)."""
    rows = session.execute(select(Unit.area, Unit.id).where(Unit.level.in_(("city", "county"))).order_by(Unit.id))
    seen: list[str] = []
    for area, _ in rows:
        if area not in seen:
            seen.append(area)
    return seen


def _check(name: str, level: str, kind: str, area: str, parent_id: int | None, unit_id: int | None = None) -> None:
    if not name.strip() or len(name) > 100:
        raise UnitError("单位名称不能为空,且不超过100字", field="name")
    if level not in UNIT_LEVELS:
        raise UnitError(f"层级无效:{level}", field="level")
    if kind not in UNIT_KINDS:
        raise UnitError(f"类型无效:{kind}", field="kind")
    if not area.strip():
        raise UnitError("请填写所属区域(县市区)", field="area")
    if parent_id is not None:
        if parent_id == unit_id:
            raise UnitError("上级单位不能是自己", field="parent_id")
        if session.get(Unit, parent_id) is None:
            raise UnitError(f"上级单位不存在:{parent_id}", field="parent_id")
    clash = session.execute(select(Unit).where(Unit.name == name.strip(), Unit.parent_id == parent_id,
                                               Unit.id != (unit_id or 0))).scalar_one_or_none()
    if clash is not None:
        raise UnitError(f"同一上级下已有同名单位:{name}", field="name")


def create_unit(*, actor: User | None, now: datetime, name: str, level: str, kind: str, area: str,
                parent_id: int | None = None, code: str | None = None, phone: str = "", address: str = "") -> Unit:
    _check(name, level, kind, area, parent_id)
    code = (code or "").strip() or None
    if code and session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none():
        raise UnitError(f"单位代码已存在:{code}", field="code")
    unit = Unit(name=name.strip(), level=level, kind=kind, area=area.strip(), parent_id=parent_id, code=code,
                phone=phone.strip(), address=address.strip(), active=True, created_at=now)
    session.add(unit)
    session.flush()
    audit.record("create", "unit", unit.id, actor=actor, now=now, changes={"after": _snapshot(unit)})
    return unit


def update_unit(*, actor: User, now: datetime, unit: Unit, name: str, phone: str, address: str,
                active: bool, area: str | None = None) -> Unit:
    _check(name, unit.level, unit.kind, area or unit.area, unit.parent_id, unit.id)
    if not active and unit.active:
        staff = session.execute(select(User).where(User.unit_id == unit.id, User.active.is_(True)).limit(1)).first()
        if staff:
            raise UnitError("该单位仍有在用账号,请先停用或调整这些账号")
    before = _snapshot(unit)
    unit.name, unit.phone, unit.address, unit.active = name.strip(), phone.strip(), address.strip(), active
    if area:
        unit.area = area.strip()
    session.flush()
    changes = audit.diff(before, _snapshot(unit))
    if changes["after"]:
        audit.record("update", "unit", unit.id, actor=actor, now=now, changes=changes)
    return unit
