"""催办: reminders at 75 % of a limit and at expiry reach the first owner and the supervisors once each, and
tickets overdue past the margin are listed on the weekly notice."""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from core import clock
from spotchecks import notices
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket
from tickets import deadlines, services
from tickets.jobs import deadline_warnings
from tickets.models import Notification


def local(*args) -> datetime:
    return clock.local_to_utc(datetime(*args))


def _kinds(db, user, ticket):
    """The reminders (not the dispatch notice) this user got about the ticket."""
    return sorted(n.kind for n in db.execute(select(Notification).where(
        Notification.user_id == user.id, Notification.ticket_id == ticket.id,
        Notification.kind.in_(("deadline_warning", "overdue")))).scalars())


def _contacted(owner, now):
    ticket = make_ticket("in_progress", owner=owner, now=now)
    services.record_contact(actor=owner, now=now, ticket=ticket, version=ticket.version)
    return ticket


def test_three_quarters_reminds_owner_and_supervisor_once_even_if_the_job_runs_twice(db):
    owner, supervisor = make_caseworker(), make_user("supervisor")
    ticket = _contacted(owner, local(2026, 12, 7, 9, 0))
    late = ticket.created_at + (ticket.closure_due_at - ticket.created_at) * 0.8
    assert "1 warned" in deadline_warnings(late)
    assert "0 warned" in deadline_warnings(late)
    assert _kinds(db, owner, ticket) == _kinds(db, supervisor, ticket) == ["deadline_warning"]
    message = db.execute(select(Notification.message).where(Notification.user_id == owner.id,
                                                            Notification.kind == "deadline_warning")).scalar_one()
    assert message.startswith(f"催办：工单{ticket.number}的办结时限将于12月14日（周一）下班前到期")


def test_expiry_reminds_owner_and_supervisor_once_even_if_the_job_runs_twice(db):
    owner, supervisor = make_caseworker(), make_user("supervisor")
    ticket = _contacted(owner, local(2026, 12, 7, 9, 0))
    after = ticket.closure_due_at + timedelta(minutes=1)
    deadline_warnings(after)
    assert "0 flagged" in deadline_warnings(after + timedelta(minutes=5))
    assert _kinds(db, owner, ticket) == _kinds(db, supervisor, ticket) == ["overdue"]


def test_the_weekly_notice_lists_tickets_overdue_past_the_margin(db):
    owner = make_caseworker()
    long_overdue = _contacted(owner, local(2026, 11, 23, 9, 0))  # due 30 November (Monday) 17:30
    just_overdue = _contacted(owner, local(2026, 11, 27, 9, 0))  # due 4 December (Friday) 17:30
    now = local(2026, 12, 7, 10, 0)
    listed = [o.ticket for o in deadlines.overdue_past_margin(now, 2)]
    assert long_overdue in listed and just_overdue not in listed
    _, body = notices.weekly_text(date(2026, 11, 30), now)
    assert "附：超期工单" in body
    assert (f"工单{long_overdue.number}（求助，{owner.unit.name}{owner.display_name}），办结时限"
            f"11月30日（周一）下班前，已超期5个工作日。") in body
    assert just_overdue.number not in body
