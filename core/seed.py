"""Bundled reference data (units) and demo accounts; every loader is idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from core import accounts, units
from core.db import session, transaction
from core.models import Unit, User

DATA = Path(__file__).resolve().parent / "data"


def load_bundled(app, now: datetime, report: Callable[[str], object] = lambda _: None) -> None:
    """What `flask init` loads: the bundled units, then each area's bundled data (the loaders the areas
    register on the app as "hotline.init_loaders"), each in a transaction of its own; `report` is given
    what each step says as soon as it is done (an index build takes a while)."""
    with transaction():
        report(f"units added: {load_units(now=now)}")
    for loader in app.extensions.get("hotline.init_loaders", []):
        with transaction():
            report(loader(now))


def load_units(*, now: datetime) -> int:
    """Create the bundled units that are missing; never change ones an admin edited. Returns how many were added."""
    added = 0
    tree = yaml.safe_load((DATA / "units.yaml").read_text(encoding="utf-8"))
    by_code = {u.code: u for u in session.execute(select(Unit).where(Unit.code.is_not(None))).scalars()}
    city: Unit | None = None
    for item in tree:
        unit = by_code.get(item["code"])
        parent = by_code.get(item.get("parent")) if item.get("parent") else None
        if unit is None:
            kind = "civil_affairs"
            unit = units.create_unit(actor=None, now=now, name=item["name"], level=item["level"], kind=kind,
                                     area=item["area"], parent_id=parent.id if parent else None, code=item["code"])
            by_code[unit.code] = unit
            added += 1
        if item["level"] == "city":
            city = unit
        existing = {u.name for u in session.execute(select(Unit).where(Unit.parent_id == unit.id)).scalars()}
        for name in item.get("townships", []):
            if name not in existing:
                units.create_unit(actor=None, now=now, name=name, level="township", kind="township",
                                  area=item["area"], parent_id=unit.id)
                added += 1
    if city is not None:
        existing = {u.name for u in session.execute(select(Unit).where(Unit.parent_id == city.id)).scalars()}
        for name in yaml.safe_load((DATA / "departments.yaml").read_text(encoding="utf-8")):
            if name not in existing:
                units.create_unit(actor=None, now=now, name=name, level="city", kind="department",
                                  area=city.area, parent_id=city.id)
                added += 1
    return added


#: One demo account per role: (user name, display name, role, unit code or township name).
DEMO_ACCOUNTS = (
    ("operator", "王晓燕", "operator", "231200"),
    ("caseworker", "李建国", "caseworker", "231202"),
    ("supervisor", "赵丽娟", "supervisor", "231200"),
    ("editor", "孙志强", "kb_editor", "231200"),
    ("admin", "系统管理员", "admin", "231200"),
)


def create_demo_accounts(*, now: datetime) -> list[tuple[str, str, str]]:
    """Create missing demo accounts with random passwords; returns (user name, role, password) of new ones."""
    created = []
    for username, display, role, unit_code in DEMO_ACCOUNTS:
        if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
            continue
        unit = session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
        password = accounts.generate_password()
        accounts.create_user(actor=None, now=now, username=username, role=role, password=password,
                             display_name=display, unit_id=unit.id if unit else None)
        created.append((username, role, password))
    return created
