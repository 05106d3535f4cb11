"""Deadline policy: the first-contact, closure and callback limits of each kind and urgency of ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from audit import services as audit
from core.calendar import WorkCalendar
from core.db import session
from core.models import User
from tickets.models import FIRST_CONTACT_UNITS, KINDS, URGENCIES, DeadlinePolicy
from tickets.validation import TicketError


@dataclass(frozen=True)
class Policy:
    kind: str
    urgency: str
    first_contact_amount: int
    first_contact_unit: str
    closure_working_days: int
    callback_working_days: int = 1

    @property
    def first_contact_label(self) -> str:
        return f"{self.first_contact_amount}{FIRST_CONTACT_UNITS[self.first_contact_unit]}"


def _default_policy(kind: str, urgency: str) -> Policy:
    if urgency == "urgent":
        return Policy(kind, urgency, 2, "hours", 1)
    closure = {"consult": 3, "help": 5, "complaint": 13, "proxy_application": 5}.get(kind, 5)
    return Policy(kind, urgency, 1, "working_days", closure)


DEFAULT_POLICIES = {(k, u): _default_policy(k, u) for k in KINDS for u in URGENCIES}


def _policy_from_row(row: DeadlinePolicy) -> Policy:
    return Policy(row.kind, row.urgency, row.first_contact_amount, row.first_contact_unit,
                  row.closure_working_days, row.callback_working_days)


def policy_for(kind: str, urgency: str) -> Policy:
    row = session.execute(select(DeadlinePolicy).where(DeadlinePolicy.kind == kind,
                                                       DeadlinePolicy.urgency == urgency)).scalar_one_or_none()
    return _policy_from_row(row) if row else DEFAULT_POLICIES[(kind, urgency)]


def list_policies() -> list[Policy]:
    rows = {(r.kind, r.urgency): _policy_from_row(r) for r in session.execute(select(DeadlinePolicy)).scalars()}
    return [rows.get(key, default) for key, default in DEFAULT_POLICIES.items()]


def seed_policies(now: datetime) -> str:
    """Create the default policy rows that are missing (init loader; never changes an admin's edits)."""
    existing = {(r.kind, r.urgency) for r in session.execute(select(DeadlinePolicy)).scalars()}
    added = 0
    for (kind, urgency), p in DEFAULT_POLICIES.items():
        if (kind, urgency) not in existing:
            session.add(DeadlinePolicy(kind=kind, urgency=urgency, first_contact_amount=p.first_contact_amount,
                                       first_contact_unit=p.first_contact_unit,
                                       closure_working_days=p.closure_working_days,
                                       callback_working_days=p.callback_working_days, updated_at=now))
            added += 1
    session.flush()
    if added:
        audit.record("seed", "deadline_policy", "", actor=None, now=now, changes={"rows": added})
    return f"deadline policies added: {added}"


def update_policy(*, actor: User, now: datetime, kind: str, urgency: str, first_contact_amount: int,
                  first_contact_unit: str, closure_working_days: int, callback_working_days: int) -> Policy:
    if (kind, urgency) not in DEFAULT_POLICIES:
        raise TicketError(f"未知的工单类型或紧急程度:{kind}/{urgency}")
    if first_contact_unit not in FIRST_CONTACT_UNITS:
        raise TicketError("首次联系时限的单位应为小时或工作日", field="first_contact_unit")
    limit = 720 if first_contact_unit == "hours" else 60
    if not 1 <= first_contact_amount <= limit:
        raise TicketError(f"首次联系时限应在1到{limit}之间", field="first_contact_amount")
    if not 1 <= closure_working_days <= 120:
        raise TicketError("办结时限应为1到120个工作日", field="closure_working_days")
    if not 1 <= callback_working_days <= 30:
        raise TicketError("回访时限应为1到30个工作日", field="callback_working_days")
    row = session.execute(select(DeadlinePolicy).where(DeadlinePolicy.kind == kind,
                                                       DeadlinePolicy.urgency == urgency)).scalar_one_or_none()
    before = _policy_dict(_policy_from_row(row) if row else DEFAULT_POLICIES[(kind, urgency)])
    if row is None:
        row = DeadlinePolicy(kind=kind, urgency=urgency, updated_at=now)
        session.add(row)
    row.first_contact_amount, row.first_contact_unit = first_contact_amount, first_contact_unit
    row.closure_working_days, row.callback_working_days = closure_working_days, callback_working_days
    row.updated_at, row.updated_by_id = now, actor.id
    session.flush()
    after = _policy_from_row(row)
    changes = audit.diff(before, _policy_dict(after))
    if changes["after"]:
        audit.record("update", "deadline_policy", f"{kind}/{urgency}", actor=actor, now=now, changes=changes)
    return after


def _policy_dict(p: Policy) -> dict[str, Any]:
    return {"first_contact_amount": p.first_contact_amount, "first_contact_unit": p.first_contact_unit,
            "closure_working_days": p.closure_working_days, "callback_working_days": p.callback_working_days}


def deadlines_for(kind: str, urgency: str, start: datetime, calendar: WorkCalendar) -> tuple[datetime, datetime]:
    """(first contact due, closure due) for a ticket opened at `start`."""
    p = policy_for(kind, urgency)
    if p.first_contact_unit == "hours":
        first_contact = start + timedelta(hours=p.first_contact_amount)
    else:
        first_contact = calendar.add_working_days(start, p.first_contact_amount)
    return first_contact, calendar.add_working_days(start, p.closure_working_days)
