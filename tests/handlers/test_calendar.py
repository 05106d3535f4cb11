"""The working-day calendar's admin page at /calendar, and the old /tickets/calendar address."""

from sqlalchemy import select

from audit.models import AuditEvent
from core.models import WorkdayOverride


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_old_address_redirects_permanently_keeping_the_year(client, login):
    login("admin")
    r = client.get("/tickets/calendar?year=2027")
    assert r.status_code == 301
    assert r.headers["Location"].endswith("/calendar/?year=2027")
    assert client.post("/tickets/calendar?year=2027", data={}).status_code == 308


def test_admin_enters_and_removes_a_holiday(app, client, login, frozen_now):
    login("admin")
    page = _text(client.get("/calendar/?year=2027"))
    assert "工作日历 2027年" in page
    r = client.post("/calendar/?year=2027", data={"day": "2027-02-08", "working": "0", "note": "春节"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/calendar/?year=2027")
    with app.app_context():
        from core.db import session

        row = session.execute(select(WorkdayOverride).where(WorkdayOverride.note == "春节")).scalar_one()
        override_id = row.id
        assert session.execute(select(AuditEvent).where(AuditEvent.entity_type == "workday_override",
                                                        AuditEvent.action == "create")).first()
    assert client.post("/calendar/", data={"op": "delete", "override_id": str(override_id)}).status_code == 302
    assert "没有人工设置" in _text(client.get("/calendar/?year=2027"))
    assert client.post("/calendar/", data={"op": "delete", "override_id": str(override_id)}).status_code == 404
    assert client.post("/calendar/", data={"day": "2027-02-30"}).status_code == 400
    assert client.post("/calendar/", data={"day": ""}).status_code == 422


def test_only_admins_see_the_calendar(client, login):
    login("supervisor")
    assert client.get("/calendar/").status_code == 403


def test_navigation_points_admins_to_the_calendar(client, login):
    login("admin")
    assert 'href="/calendar/"' in _text(client.get("/"))
