"""Scheduled ticket work: deadline warnings at 75% of a limit and overdue flags, the transcripts' purge (repeat-safe)."""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app
from sqlalchemy import select, update

from audit import services as audit
from core.calendar import load_calendar
from core.db import session
from core.scheduler import Job
from tickets import deadlines, live
from tickets.models import OPEN_STATES, Ticket, TicketEvent
from tickets.services import notify, supervisor_ids

#: Share of a limit after which the owner and the supervisors are reminded.
WARN_AT = 0.75
LIMIT_LABELS = deadlines.LIMIT_LABELS


def _mark(ticket_id: int, column: str, now: datetime) -> bool:
    """Set a warning mark only if it is still empty: True for exactly one of any number of runs."""
    table = Ticket.__table__
    result = session.execute(update(table).where(table.c.id == ticket_id, table.c[column].is_(None))
                             .values({column: now}))
    return result.rowcount == 1


def _log(ticket: Ticket, action: str, limit: str, due: datetime, now: datetime, note: str) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, at=now, actor_id=None, actor_name="系统", action=action,
                            note=note, data_json=audit.canonical({"limit": limit, "deadline": due})))
    audit.record(action, "ticket", ticket.id, actor=None, now=now,
                 changes={"number": ticket.number, "limit": limit, "due_at": due})


def _passed(start: datetime | None, due: datetime, now: datetime) -> float:
    if start is None or due <= start:
        return 1.0
    return (now - start) / (due - start)


def deadline_warnings(now: datetime) -> str:
    """催办: at 75% of the first-contact and closure limits and when any limit passes, the first owner and the
    supervisors are told once (the marks are set conditionally, so a second or parallel run sends nothing)."""
    warned = flagged = 0
    tickets = session.execute(select(Ticket).where(Ticket.state.in_((*OPEN_STATES, "pending_callback")))
                              .order_by(Ticket.id)).scalars().all()
    supervisors: list[int] | None = None
    calendar = load_calendar()
    for t in tickets:
        checks: list[tuple[str, datetime, datetime | None, str, str]] = []
        if t.state in OPEN_STATES:
            if t.first_contact_at is None and t.first_contact_due_at is not None:
                checks.append(("first_contact", t.first_contact_due_at, t.created_at,
                               "first_contact_warned_at", "first_contact_overdue_at"))
            if t.closure_due_at is not None:
                checks.append(("closure", t.closure_due_at, t.closure_started_at or t.created_at,
                               "closure_warned_at", "closure_overdue_at"))
        elif t.callback_at is None and t.callback_due_at is not None:
            checks.append(("callback", t.callback_due_at, None, "", "callback_overdue_at"))
        owner = t.first_owner_id or t.created_by_id
        for limit, due, start, warn_col, overdue_col in checks:
            label, when = LIMIT_LABELS[limit], deadlines.due_text(due, calendar, now)
            if now > due:
                if _mark(t.id, overdue_col, now):
                    if supervisors is None:
                        supervisors = supervisor_ids()
                    message = f"催办：工单{t.number}已超过{label}时限（{when}）"
                    notify([owner, *supervisors], t, "overdue", message, actor=None, now=now)
                    _log(t, "overdue", limit, due, now, message)
                    flagged += 1
            elif warn_col and _passed(start, due, now) >= WARN_AT and _mark(t.id, warn_col, now):
                if supervisors is None:
                    supervisors = supervisor_ids()
                message = (f"催办：工单{t.number}的{label}时限将于{when}到期，"
                           f"{deadlines.remaining_text(due, now, calendar)}")
                notify([owner, *supervisors], t, "deadline_warning", message, actor=None, now=now)
                _log(t, "warn", limit, due, now, message)
                warned += 1
    return f"deadline warnings: {warned} warned, {flagged} flagged overdue"


def purge_transcripts(now: datetime) -> str:
    """Delete transcripts older than HOTLINE_TRANSCRIPT_RETENTION_DAYS (one audit event per run)."""
    days = current_app.config["TRANSCRIPT_RETENTION_DAYS"]
    calls, segments = live.purge_transcripts(now=now, days=days)
    return f"purged the transcripts of {calls} calls ({segments} segments) older than {days} days" if calls else ""


JOBS: list[Job] = [
    Job("ticket_deadlines", deadline_warnings, lambda app: IntervalTrigger(minutes=5), catch_up=True),
    Job("purge_transcripts", purge_transcripts, lambda app: CronTrigger(hour=3, minute=37)),
]
