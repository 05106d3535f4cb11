"""Deadlines as people say them — "12月11日（周五）下班前", "剩余 3 个工作日", "已超期 1 个工作日" — and the
overdue tickets a supervisor's weekly notice names.

A limit in working days falls due at the end of its last working day (WorkCalendar.workday_end, 17:30);
that moment is said "下班前". A limit in hours falls due at a wall-clock time, said "14:05前".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from core import config, humanize
from core.calendar import WorkCalendar, load_calendar
from core.clock import to_local
from core.db import session
from tickets.models import OPEN_STATES, Ticket

LIMIT_LABELS = {"first_contact": "首次联系", "closure": "办结", "callback": "回访"}


def due_text(due: datetime, calendar: WorkCalendar, now: datetime | None = None) -> str:
    """12月11日（周五）下班前, or 12月11日（周五）14:05前 for a wall-clock limit; the year only when it is
    not the current one."""
    local = to_local(due)
    day = local.date()
    other_year = now is not None and to_local(now).year != day.year
    words = humanize.day_with_short_weekday(day, year=other_year)
    if local.time().replace(tzinfo=None) == calendar.workday_end and calendar.is_working_day(day):
        return f"{words}下班前"
    return f"{words}{local:%H:%M}前"


def _clock(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} 小时 {mins} 分钟"
    if hours:
        return f"{hours} 小时"
    return f"{mins} 分钟" if mins else "不足 1 分钟"


def remaining_text(due: datetime, now: datetime, calendar: WorkCalendar) -> str:
    """剩余 3 个工作日 / 剩余 2 小时 / 已超期 1 个工作日 / 已超期 40 分钟.

    Whole working days are counted after today (today's rest is not a day); on the due day itself, or
    when no working day lies between, the time is said in hours and minutes.
    """
    today, due_day = to_local(now).date(), to_local(due).date()
    wall_clock = to_local(due).time().replace(tzinfo=None) != calendar.workday_end
    if now <= due:
        days = calendar.working_days_after(today, due_day)
        if days == 0 or (wall_clock and due - now < timedelta(hours=24)):
            return f"剩余 {_clock(due - now)}"
        return f"剩余 {days} 个工作日"
    days = calendar.working_days_after(due_day, today)
    if days == 0 or (wall_clock and now - due < timedelta(hours=24)):
        return f"已超期 {_clock(now - due)}"
    return f"已超期 {days} 个工作日"


def working_days_overdue(due: datetime, now: datetime, calendar: WorkCalendar) -> int:
    return calendar.working_days_after(to_local(due).date(), to_local(now).date()) if now > due else 0


def current(ticket: Ticket, now: datetime, calendar: WorkCalendar) -> dict[str, Any] | None:
    """The limit that applies now, with its words: limit, label, due_at, due_text, remaining_text, overdue."""
    found = ticket.current_deadline()
    if found is None:
        return None
    limit, due = found
    return {"limit": limit, "label": LIMIT_LABELS[limit], "due_at": due, "due_text": due_text(due, calendar, now),
            "remaining_text": remaining_text(due, now, calendar), "overdue": now > due,
            "seconds_left": int((due - now).total_seconds())}


def texts(ticket: Ticket, now: datetime, calendar: WorkCalendar) -> dict[str, str | None]:
    """Each stored deadline of a ticket in words (None where the ticket has none)."""
    return {f"{name}_due_text": due_text(value, calendar, now) if value else None
            for name, value in (("first_contact", ticket.first_contact_due_at), ("closure", ticket.closure_due_at),
                                ("callback", ticket.callback_due_at))}


# --- overdue past the margin (the weekly notice) ---------------------------------------------------

@dataclass(frozen=True)
class Overdue:
    ticket: Ticket
    limit: str
    due: datetime
    days: int


def overdue_past_margin(now: datetime, margin: int, calendar: WorkCalendar | None = None) -> list[Overdue]:
    """Open tickets (and closed ones awaiting callback) overdue by more than `margin` working days, most
    overdue first."""
    calendar = calendar or load_calendar()
    tickets = session.execute(select(Ticket).where(Ticket.state.in_((*OPEN_STATES, "pending_callback")))
                              .order_by(Ticket.id)).scalars().all()
    found = []
    for t in tickets:
        current_limit = t.current_deadline()
        if current_limit is None:
            continue
        limit, due = current_limit
        days = working_days_overdue(due, now, calendar)
        if days > margin:
            found.append(Overdue(t, limit, due, days))
    return sorted(found, key=lambda o: (-o.days, o.ticket.number))


def overdue_paragraphs(now: datetime, margin: int | None = None, calendar: WorkCalendar | None = None) -> list[str]:
    """The weekly notice's lines on tickets overdue past the margin (HOTLINE_DEADLINE_OVERDUE_MARGIN_DAYS
    unless given; empty when there are none)."""
    if margin is None:
        margin = config.current("DEADLINE_OVERDUE_MARGIN_DAYS", 2)
    calendar = calendar or load_calendar()
    rows = overdue_past_margin(now, margin, calendar)
    if not rows:
        return []
    lines = [f"截至{humanize.day_with_short_weekday(to_local(now).date())}，超过时限{margin}个工作日以上仍未办结"
             f"（或未回访）的工单{len(rows)}件："]
    for o in rows:
        t = o.ticket
        owner = f"{t.unit.name}{t.first_owner.display_name}" if t.first_owner and t.unit else "尚未派单"
        lines.append(f"工单{t.number}（{t.kind_label}，{owner}），{LIMIT_LABELS[o.limit]}时限"
                     f"{due_text(o.due, calendar, now)}，已超期{o.days}个工作日。")
    lines.append("请相关单位立即办理，督查人员跟踪督办。")
    return lines
