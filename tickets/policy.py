"""Deadline policy: the first-contact, closure and callback limits of each kind and urgency of ticket.

The limits come from the active preset (tickets.presets); the defaults here apply while none is active
(a database not yet initialised). Working-day limits fall due at the end of their last working day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core.calendar import WorkCalendar
from core.db import session
from tickets.models import FIRST_CONTACT_UNITS, KINDS, URGENCIES, DeadlinePreset


@dataclass(frozen=True)
class Policy:
    kind: str
    urgency: str
    first_contact_amount: int
    first_contact_unit: str
    closure_amount: int
    closure_unit: str = "working_days"
    callback_working_days: int = 1

    @property
    def first_contact_label(self) -> str:
        return f"{self.first_contact_amount}{FIRST_CONTACT_UNITS[self.first_contact_unit]}"

    @property
    def closure_label(self) -> str:
        return f"{self.closure_amount}{FIRST_CONTACT_UNITS[self.closure_unit]}"

    @property
    def callback_label(self) -> str:
        return f"{self.callback_working_days}个工作日"


def _default_policy(kind: str, urgency: str) -> Policy:
    if urgency == "urgent":
        return Policy(kind, urgency, 2, "hours", 1)
    closure = {"consult": 3, "help": 5, "complaint": 13, "proxy_application": 5}.get(kind, 5)
    return Policy(kind, urgency, 1, "working_days", closure)


DEFAULT_POLICIES = {(k, u): _default_policy(k, u) for k in KINDS for u in URGENCIES}


def table_from_json(text: str) -> dict[tuple[str, str], Policy]:
    """A preset's stored table (canonical JSON rows, already validated when saved) by (kind, urgency)."""
    return {(r["kind"], r["urgency"]): Policy(**r) for r in json.loads(text or "[]")}


def active_table() -> dict[tuple[str, str], Policy]:
    text = session.execute(select(DeadlinePreset.table_json).where(DeadlinePreset.active.is_(True))
                           .order_by(DeadlinePreset.id).limit(1)).scalar_one_or_none()
    return table_from_json(text) if text else {}


def policy_for(kind: str, urgency: str) -> Policy:
    return active_table().get((kind, urgency)) or DEFAULT_POLICIES[(kind, urgency)]


def list_policies() -> list[Policy]:
    table = active_table()
    return [table.get(key, default) for key, default in DEFAULT_POLICIES.items()]


def limit_due(start: datetime, amount: int, unit: str, calendar: WorkCalendar) -> datetime:
    """Hours are wall-clock; working days end at the end of the last one (17:30 by default)."""
    if unit == "hours":
        return start + timedelta(hours=amount)
    return calendar.due_after(start, amount)


def deadlines_for(kind: str, urgency: str, start: datetime, calendar: WorkCalendar) -> tuple[datetime, datetime]:
    """(first contact due, closure due) for a ticket opened at `start`."""
    p = policy_for(kind, urgency)
    return (limit_due(start, p.first_contact_amount, p.first_contact_unit, calendar),
            limit_due(start, p.closure_amount, p.closure_unit, calendar))


def callback_due(closed_at: datetime, kind: str, urgency: str, calendar: WorkCalendar) -> datetime:
    """回访: by the end of the next working day after closure (the preset's callback limit, 1 by default)."""
    return calendar.due_after(closed_at, policy_for(kind, urgency).callback_working_days)
