"""Disputed dispatch (派单异议): within the window of working days, upheld (改派) or rejected, time in dispute."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from core.errors import Forbidden
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket, township
from tickets import disputes, metrics
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


def test_the_closure_clock_pauses_for_the_time_in_dispute_by_default(db):
    ticket, _, _ = _disputed()
    due = ticket.closure_due_at
    decided = MONDAY + timedelta(hours=8)  # filed at +2h: six hours in dispute
    disputes.decide_objection(actor=make_user("supervisor"), now=decided, ticket=ticket, version=ticket.version,
                              upheld=False)
    assert ticket.closure_due_at == due + timedelta(hours=6)
    assert disputes.time_in_dispute(ticket, decided + timedelta(days=3)) == timedelta(hours=6)


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
