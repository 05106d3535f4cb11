from datetime import timedelta

from sqlalchemy import select

import composition
from core import clock
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket
from tickets import queries, services
from tickets.jobs import deadline_warnings
from tickets.models import Notification


def _notes(db, user, kind):
    return db.execute(select(Notification).where(Notification.user_id == user.id,
                                                 Notification.kind == kind)).scalars().all()


def test_owner_warned_once_at_three_quarters_of_the_limit(db):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner, kind="complaint")
    services.record_contact(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version)
    span = ticket.closure_due_at - ticket.created_at
    early = ticket.created_at + span * 0.5
    assert "0 warned" in deadline_warnings(early)
    late = ticket.created_at + span * 0.8
    assert "1 warned" in deadline_warnings(late)
    assert "0 warned" in deadline_warnings(late + timedelta(minutes=5))
    assert len(_notes(db, owner, "deadline_warning")) == 1
    db.refresh(ticket)
    assert ticket.events[-1].action == "warn" and "办结时限将于" in ticket.events[-1].note


def test_overdue_flagged_to_supervisors_once(db):
    supervisor, owner = make_user("supervisor"), make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    after = ticket.closure_due_at + timedelta(hours=1)
    result = deadline_warnings(after)
    assert "flagged" in result and "0 flagged" not in result
    deadline_warnings(after + timedelta(hours=1))
    assert len([n for n in _notes(db, supervisor, "overdue") if n.ticket_id == ticket.id]) == 2  # contact + closure
    db.refresh(ticket)
    assert ticket.closure_overdue_at is not None and ticket.is_overdue(after)
    assert queries.count_overdue(after) >= 1


def test_approved_extension_rearms_the_warnings(db):
    owner, supervisor = make_caseworker(), make_user("supervisor")
    ticket = make_ticket("in_progress", owner=owner)
    span = ticket.closure_due_at - ticket.created_at
    deadline_warnings(ticket.created_at + span * 0.9)
    db.refresh(ticket)
    assert ticket.closure_warned_at is not None
    services.request_extension(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, days=5,
                               reason="等材料")
    services.decide_extension(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version)
    assert ticket.closure_warned_at is None


def test_job_is_registered_with_the_scheduler():
    job = next(j for j in composition.JOBS if j.name == "ticket_deadlines")
    assert job.func is deadline_warnings and job.catch_up
