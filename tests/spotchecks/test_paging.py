"""The rectification ledger and the notices list grow every week: they are paged, keeping the filters."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core import clock
from handlers import common
from spotchecks.models import Notice, Rectification
from tests.spotchecks.builders import make_fault, make_plan


@pytest.fixture
def page_of_two(monkeypatch):
    monkeypatch.setattr(common, "PAGE_SIZE", 2)


def _text(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_rectification_ledger_is_paged_with_its_filter_kept(app, client, db, login, page_of_two):
    plan = make_plan()
    calls = [make_fault(plan, index).id for index in range(3)]
    db.commit()
    codes = [rect.code for rect in db.execute(select(Rectification).where(Rectification.call_id.in_(calls))).scalars()]
    assert len(codes) == 3
    login("supervisor")
    first = _text(client.get("/spotchecks/rectifications", query_string={"state": "open"}))
    second = _text(client.get("/spotchecks/rectifications", query_string={"state": "open", "page": 2}))
    assert sum(code in first for code in codes) == 2 and sum(code in second for code in codes) == 1
    assert "state=open&amp;page=2" in first and "下一页" in first and "下一页" not in second
    assert "state=open&amp;page=1" in second


def test_the_notices_list_is_paged_latest_first(app, client, db, login, page_of_two):
    now = clock.now()
    for day in range(3):
        start = date(2026, 11, 23) + timedelta(days=day)
        db.add(Notice(kind="daily", period_start=start, period_end=start, title=f"第{day + 1}期抽查通报",
                      recipients="各县（市、区）民政局", body="", created_at=now, updated_at=now))
    db.commit()
    login("supervisor")
    first = _text(client.get("/spotchecks/notices"))
    second = _text(client.get("/spotchecks/notices", query_string={"page": 2}))
    assert "第3期抽查通报" in first and "第2期抽查通报" in first and "第1期抽查通报" not in first
    assert "第1期抽查通报" in second and "第3期抽查通报" not in second
