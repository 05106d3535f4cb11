"""Builders for test data: sensible defaults, override what the test is about."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from core import accounts, clock, units
from core.db import session
from core.models import Unit

_seq = itertools.count(1)


def some_unit(level: str = "county") -> Unit:
    return session.execute(select(Unit).where(Unit.level == level).order_by(Unit.id).limit(1)).scalar_one()


def make_unit(**overrides) -> Unit:
    n = next(_seq)
    values = {"name": f"测试单位{n}", "level": "township", "kind": "township", "area": "北林区",
              "parent_id": some_unit("county").id}
    values.update(overrides)
    return units.create_unit(actor=None, now=clock.now(), **values)


def make_user(role: str = "operator", password: str = "Passw0rd!", **overrides):
    n = next(_seq)
    values = {"username": f"{role}{n}", "display_name": f"测试{role}{n}", "unit_id": None}
    if role == "caseworker":
        values["unit_id"] = some_unit("county").id
    values.update(overrides)
    return accounts.create_user(actor=None, now=clock.now(), role=role, password=password, **values)
