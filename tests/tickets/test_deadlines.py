"""Ticket deadlines counted on the working-day calendar (core.calendar)."""

from datetime import datetime

from core import clock


def local(*args) -> datetime:
    return clock.local_to_utc(datetime(*args))


def test_help_ticket_deadline_on_the_calendar(db):
    from tests.tickets.builders import make_ticket

    ticket = make_ticket(now=local(2026, 9, 30, 10, 0), kind="help", urgency="normal")
    assert ticket.closure_due_at == local(2026, 10, 13, 10, 0)
    assert ticket.first_contact_due_at == local(2026, 10, 8, 10, 0)


def test_urgent_first_contact_is_two_wall_clock_hours(db):
    from tests.tickets.builders import make_ticket

    ticket = make_ticket(now=local(2026, 10, 2, 22, 0), urgency="urgent")
    assert ticket.first_contact_due_at == local(2026, 10, 3, 0, 0)
    assert ticket.closure_due_at == local(2026, 10, 9, 0, 0)


def test_a_2027_ticket_gets_deadlines_from_the_fallback(db):
    from tests.tickets.builders import make_ticket

    ticket = make_ticket(now=local(2027, 2, 5, 9, 0), kind="consult")  # a Friday
    assert ticket.closure_due_at == local(2027, 2, 10, 9, 0)
