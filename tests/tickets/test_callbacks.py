"""Callback (回访) rules: satisfaction per GB/T 33358 with a reason for 不满意, the supervisor's decision on
reopening, and the satisfaction and reply-rate floors that flag units."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.errors import DomainError
from tests.builders import make_unit, make_user
from tests.tickets.builders import make_caseworker, make_ticket
from tickets import floors, services
from tickets.models import Notification


def local(*args) -> datetime:
    return clock.local_to_utc(datetime(*args))


def _closed(owner=None, now=None):
    owner = owner or make_caseworker()
    ticket = make_ticket("in_progress", owner=owner, now=now)
    services.close(actor=owner, now=now or clock.now(), ticket=ticket, version=ticket.version, resolution="已补发")
    return ticket


def test_dissatisfied_needs_a_reason_and_changes_nothing_without_one(db):
    ticket = _closed()
    with pytest.raises(DomainError, match="请填写不满意的原因"):
        services.callback(actor=make_user("operator"), now=clock.now(), ticket=ticket, version=ticket.version,
                          satisfaction="dissatisfied")
    assert ticket.satisfaction is None and ticket.requests == []


def test_dissatisfied_goes_to_the_supervisors_as_a_request_to_reopen(db):
    supervisor = make_user("supervisor")
    ticket = _closed()
    services.callback(actor=make_user("operator"), now=clock.now(), ticket=ticket, version=ticket.version,
                      satisfaction="dissatisfied", note="钱还没到账")
    request = ticket.pending_request("reopen")
    assert ticket.state == "pending_callback" and request is not None and request.reason == "钱还没到账"
    notes = db.execute(select(Notification).where(Notification.user_id == supervisor.id,
                                                  Notification.ticket_id == ticket.id)).scalars().all()
    assert [n.kind for n in notes] == ["dissatisfied"] and "审定是否重新办理" in notes[0].message


def test_the_supervisor_reopens_with_a_fresh_closure_limit(db):
    supervisor, owner = make_user("supervisor"), make_caseworker()
    ticket = _closed(owner, now=local(2026, 12, 7, 9, 0))
    services.callback(actor=make_user("operator"), now=local(2026, 12, 8, 9, 0), ticket=ticket,
                      version=ticket.version, satisfaction="dissatisfied", note="钱还没到账")
    services.decide_reopen(actor=supervisor, now=local(2026, 12, 8, 10, 0), ticket=ticket, version=ticket.version,
                           approved=True)
    assert ticket.state == "in_progress" and ticket.reopen_count == 1 and ticket.satisfaction is None
    assert ticket.closure_due_at == local(2026, 12, 15, 17, 30)  # help: 5 working days from Tuesday
    assert ticket.requests[-1].state == "approved"


def test_the_supervisor_may_keep_it_closed_with_a_reason(db):
    ticket = _closed()
    services.callback(actor=make_user("operator"), now=clock.now(), ticket=ticket, version=ticket.version,
                      satisfaction="dissatisfied", note="希望多给钱")
    supervisor = make_user("supervisor")
    with pytest.raises(DomainError, match="请填写审定意见"):
        services.decide_reopen(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version,
                               approved=False)
    services.decide_reopen(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version,
                           approved=False, note="已按政策标准足额发放")
    assert ticket.state == "closed" and ticket.satisfaction == "dissatisfied"
    assert ticket.events[-1].action == "reject_reopen"


def test_an_operator_cannot_decide_a_reopening(db):
    ticket = _closed()
    operator = make_user("operator")
    services.callback(actor=operator, now=clock.now(), ticket=ticket, version=ticket.version,
                      satisfaction="dissatisfied", note="没人联系我")
    with pytest.raises(DomainError):
        services.decide_reopen(actor=operator, now=clock.now(), ticket=ticket, version=ticket.version)
    assert ticket.state == "pending_callback"


def test_the_callback_decision_through_the_api(client, db, bearer):
    operator, supervisor = make_user("operator"), make_user("supervisor")
    ticket = _closed()
    t = client.post(f"/api/v1/tickets/{ticket.id}/actions", headers=bearer(operator), json={
        "action": "callback", "version": ticket.version, "satisfaction": "dissatisfied"})
    assert t.status_code == 422 and t.json["error"]["field"] == "note"
    t = client.post(f"/api/v1/tickets/{ticket.id}/actions", headers=bearer(operator), json={
        "action": "callback", "version": ticket.version, "satisfaction": "dissatisfied", "reason": "材料被退回"}).json
    assert t["requests"][-1]["kind"] == "reopen" and t["requests"][-1]["state"] == "pending"
    headers = {**bearer(supervisor), "Idempotency-Key": "reopen-1"}
    body = {"action": "decide_reopen", "version": t["version"], "approved": True}
    first = client.post(f"/api/v1/tickets/{ticket.id}/actions", headers=headers, json=body)
    again = client.post(f"/api/v1/tickets/{ticket.id}/actions", headers=headers, json=body)
    assert first.status_code == 200 and first.json["state"] == "in_progress"
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json["reopen_count"] == 1


def _callback(ticket, satisfaction, at):
    services.callback(actor=make_user("operator"), now=at, ticket=ticket, version=ticket.version,
                      satisfaction=satisfaction, note="" if satisfaction != "dissatisfied" else "不满意")


def test_floors_flag_a_unit_below_the_satisfaction_or_reply_rate(db):
    monday = local(2026, 11, 2, 9, 0)
    weak, strong = make_unit(level="county", kind="department"), make_unit(level="county", kind="department")
    weak_owner, strong_owner = make_caseworker(unit=weak), make_caseworker(unit=strong)
    for n in range(4):  # weak: 3 of 4 satisfied (75 %), one ticket closed late (3 of 4 on time)
        if n < 3:
            ticket = _closed(weak_owner, now=monday)
        else:
            ticket = make_ticket("in_progress", owner=weak_owner, now=monday)
            services.close(actor=weak_owner, now=ticket.closure_due_at + timedelta(hours=1), ticket=ticket,
                           version=ticket.version, resolution="已补发")
        _callback(ticket, "dissatisfied" if n == 0 else "satisfied", monday + timedelta(days=12))
    for _ in range(2):
        _callback(_closed(strong_owner, now=monday), "basic", monday + timedelta(days=1))
    rows = {r["unit_id"]: r for r in floors.unit_floors(date(2026, 11, 1), date(2026, 11, 30), local(2026, 12, 1, 9),
                                                        satisfaction_floor=85, reply_floor=92)}
    assert rows[weak.id]["flags"] == ["满意率", "回复率"]
    assert rows[weak.id]["satisfaction_text"] == "75%" and rows[weak.id]["reply_text"] == "75%"
    assert rows[strong.id]["flags"] == [] and rows[strong.id]["satisfaction_text"] == "100%"


def test_the_metrics_page_and_api_show_the_floors(app, client, db, login, frozen_now, bearer):
    supervisor = login("supervisor")
    page = client.get("/tickets/metrics").get_data(as_text=True)
    assert "满意率不低于85%，回复率不低于92%" in page
    body = client.get("/api/v1/metrics", headers=bearer(supervisor)).json
    assert body["floors"]["satisfaction_floor"] == 85 and body["floors"]["reply_rate_floor"] == 92
