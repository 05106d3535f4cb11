"""Disputed dispatch (派单异议): within the window of working days, upheld (改派) or rejected, time in dispute."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from core.calendar import load_calendar
from core.errors import Forbidden
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket, township
from tickets import disputes, metrics
from tickets.models import Notification
from tickets.validation import TicketError

#: Monday 2026-11-23 09:00 in Beijing.
MONDAY = clock.local_to_utc(datetime(2026, 11, 23, 9, 0))
FRIDAY = clock.local_to_utc(datetime(2026, 11, 27, 16, 0))


def _disputed(now=MONDAY, **overrides):
    owner = make_caseworker(unit=township(1))
    ticket = make_ticket("in_progress", owner=owner, now=now, **overrides)
    req = disputes.file_objection(actor=owner, now=now + timedelta(hours=2), ticket=ticket, version=ticket.version,
                                  reason="该户户籍在邻镇，不属本乡镇")
    return ticket, owner, req


def test_an_upheld_objection_reassigns_with_both_owners_on_the_timeline_and_in_the_audit(db):
    ticket, old_owner, _ = _disputed()
    new_owner = make_caseworker(unit=township(2))
    disputes.decide_objection(actor=make_user("supervisor"), now=MONDAY + timedelta(hours=4), ticket=ticket,
                              version=ticket.version, upheld=True, user_id=new_owner.id, note="户籍核实属实")
    assert ticket.first_owner_id == new_owner.id and ticket.state == "pending_accept"
    event = ticket.events[-1]
    assert event.action == "reassign"
    assert event.data["old_owner"]["id"] == old_owner.id and event.data["new_owner"]["id"] == new_owner.id
    audited = db.execute(select(AuditEvent).where(AuditEvent.entity_type == "ticket", AuditEvent.action == "reassign",
                                                  AuditEvent.entity_id == str(ticket.id))).scalar_one()
    assert str(old_owner.id) in audited.changes and str(new_owner.id) in audited.changes


def test_a_rejected_objection_leaves_the_ticket_with_its_owner(db):
    ticket, owner, req = _disputed()
    disputes.decide_objection(actor=make_user("supervisor"), now=MONDAY + timedelta(hours=4), ticket=ticket,
                              version=ticket.version, upheld=False, note="属本乡镇职责")
    assert ticket.first_owner_id == owner.id and ticket.state == "in_progress"
    assert req.state == "rejected" and ticket.events[-1].action == "reject_objection"
    assert ticket.events[-1].data["old_owner"]["id"] == owner.id


def test_an_objection_after_its_window_is_refused(db):
    owner = make_caseworker(unit=township(1))
    ticket = make_ticket("in_progress", owner=owner, now=MONDAY)
    with pytest.raises(TicketError, match="1个工作日内") as refused:
        disputes.file_objection(actor=owner, now=MONDAY + timedelta(days=2), ticket=ticket,
                                version=ticket.version, reason="不属本单位")
    assert refused.value.code == "too_late" and ticket.pending_request("objection") is None


def test_the_window_counts_working_days_so_a_friday_dispatch_may_be_disputed_on_monday(db):
    owner = make_caseworker(unit=township(1))
    ticket = make_ticket("in_progress", owner=owner, now=FRIDAY)
    monday = clock.local_to_utc(datetime(2026, 11, 30, 15, 0))
    req = disputes.file_objection(actor=owner, now=monday, ticket=ticket, version=ticket.version, reason="不属本单位")
    assert req.state == "pending"


def test_a_longer_window_is_a_setting(db):
    owner = make_caseworker(unit=township(1))
    ticket = make_ticket("in_progress", owner=owner, now=MONDAY)
    req = disputes.file_objection(actor=owner, now=MONDAY + timedelta(days=2), ticket=ticket, version=ticket.version,
                                  reason="不属本单位", dispute_settings=disputes.DisputeSettings(window_working_days=3))
    assert req.state == "pending"


def test_only_the_first_owner_objects_and_only_a_supervisor_decides(db):
    ticket = make_ticket("in_progress", now=MONDAY)
    with pytest.raises(Forbidden):
        disputes.file_objection(actor=make_caseworker(), now=MONDAY, ticket=ticket, version=ticket.version,
                                reason="不属本单位")
    ticket, _, _ = _disputed()
    with pytest.raises(Forbidden):
        disputes.decide_objection(actor=make_user("operator"), now=MONDAY, ticket=ticket, version=ticket.version,
                                  upheld=False)


def test_upholding_needs_a_new_owner(db):
    ticket, _, _ = _disputed()
    with pytest.raises(TicketError, match="改派给谁"):
        disputes.decide_objection(actor=make_user("supervisor"), now=MONDAY, ticket=ticket, version=ticket.version,
                                  upheld=True)


def test_the_closure_clock_pauses_a_working_day_for_each_working_day_in_dispute_and_stays_due_at_day_end(db):
    ticket, _, _ = _disputed()
    due = ticket.closure_due_at
    assert clock.to_local(due).strftime("%H:%M") == "17:30"
    decided = MONDAY + timedelta(hours=8)  # filed at +2h: six hours of Monday in dispute
    disputes.decide_objection(actor=make_user("supervisor"), now=decided, ticket=ticket, version=ticket.version,
                              upheld=False)
    calendar = load_calendar()
    assert ticket.closure_due_at == calendar.end_of_day(calendar.next_working_day(clock.to_local(due).date()))
    assert disputes.time_in_dispute(ticket, decided + timedelta(days=3)) == timedelta(hours=6)


def test_a_dispute_from_friday_to_monday_moves_a_working_day_limit_two_working_days(db):
    calendar = load_calendar()
    due = calendar.end_of_day(date(2026, 12, 2))  # Wednesday
    filed, decided = FRIDAY, clock.local_to_utc(datetime(2026, 11, 30, 10, 0))
    assert disputes.postponed(due, filed, decided, calendar) == calendar.end_of_day(date(2026, 12, 4))


def test_a_limit_in_hours_moves_by_the_hours_in_dispute(db):
    due = clock.local_to_utc(datetime(2026, 11, 23, 14, 5))
    moved = disputes.postponed(due, MONDAY, MONDAY + timedelta(hours=3), load_calendar())
    assert moved == due + timedelta(hours=3)


def test_the_objection_window_ends_at_the_end_of_its_last_working_day_and_the_refusal_says_so(db):
    owner = make_caseworker(unit=township(1))
    ticket = make_ticket("in_progress", owner=owner, now=MONDAY)
    deadline = disputes.objection_deadline(ticket, disputes.DisputeSettings())
    assert clock.to_local(deadline) == datetime(2026, 11, 24, 17, 30, tzinfo=clock.LOCAL)
    with pytest.raises(TicketError, match="截止11月24日（周二）下班前"):
        disputes.file_objection(actor=owner, now=deadline + timedelta(minutes=1), ticket=ticket,
                                version=ticket.version, reason="不属本单位")


def test_without_the_pause_the_closure_limit_stays(db):
    ticket, _, _ = _disputed()
    due = ticket.closure_due_at
    disputes.decide_objection(actor=make_user("supervisor"), now=MONDAY + timedelta(hours=8), ticket=ticket,
                              version=ticket.version, upheld=False,
                              dispute_settings=disputes.DisputeSettings(pauses_closure=False))
    assert ticket.closure_due_at == due


def test_rejected_objections_are_counted_by_unit_on_the_metrics(db):
    ticket, owner, _ = _disputed()
    disputes.decide_objection(actor=make_user("supervisor"), now=MONDAY + timedelta(hours=4), ticket=ticket,
                              version=ticket.version, upheld=False)
    figures = metrics.compute(date(2026, 11, 23), date(2026, 11, 23), MONDAY + timedelta(days=1))
    assert {"id": owner.unit_id, "name": owner.unit.name, "rejected": 1} in figures["rejected_objections"]


def test_the_supervisors_are_told_who_objected_by_name_and_unit(db):
    supervisor = make_user("supervisor")
    ticket, owner, _ = _disputed()
    sent = db.execute(select(Notification).where(Notification.user_id == supervisor.id,
                                                 Notification.ticket_id == ticket.id)).scalar_one()
    assert f"{owner.display_name}（{owner.unit.name}）认为不属本单位职责" in sent.message
