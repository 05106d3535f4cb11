"""Disputed dispatch (派单异议): the first owner objects within a window of working days after the
dispatch; a supervisor upholds it (改派 to another owner) or rejects it (the owner keeps the ticket).

While an objection waits, the closure clock pauses by default (TICKET_DISPUTE_PAUSES_CLOSURE): on the
decision the first-contact and closure limits move later by each working day the objection was waiting on
(by the hours waited for a limit in hours), so neither owner loses days to the desk's deliberation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import clock
from core.calendar import WorkCalendar, load_calendar
from core.models import User
from tickets import deadlines, services
from tickets.models import Ticket, TicketRequest
from tickets.validation import TicketError, clean_text


@dataclass(frozen=True)
class DisputeSettings:
    #: Working days after the dispatch within which the first owner may object (TICKET_OBJECTION_WORKING_DAYS).
    window_working_days: int = 1
    #: Whether the closure clock pauses while an objection waits (TICKET_DISPUTE_PAUSES_CLOSURE).
    pauses_closure: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DisputeSettings:
        return cls(window_working_days=int(config.get("TICKET_OBJECTION_WORKING_DAYS", 1)),
                   pauses_closure=bool(config.get("TICKET_DISPUTE_PAUSES_CLOSURE", True)))


def objection_deadline(ticket: Ticket, settings: DisputeSettings, calendar: WorkCalendar | None = None
                       ) -> datetime | None:
    """The last moment the current first owner may object: the end of the window's last working day (下班前,
    never midnight), counted from the day after the latest dispatch like every other limit."""
    if ticket.dispatched_at is None:
        return None
    return (calendar or load_calendar()).due_after(ticket.dispatched_at, settings.window_working_days)


@services._guarded
def file_objection(*, actor: User, now: datetime, ticket: Ticket, version: Any, reason: str,
                   dispute_settings: DisputeSettings | None = None, calendar: WorkCalendar | None = None
                   ) -> TicketRequest:
    """派单异议: the first owner says the ticket is not their unit's, with a reason, within the window."""
    settings = dispute_settings or DisputeSettings()
    services._require_owner(actor, ticket, "提出派单异议")
    before = services._check(ticket, "object_dispatch", version)
    reason = clean_text(reason, "异议理由", "reason", required=True)
    calendar = calendar or load_calendar()
    deadline = objection_deadline(ticket, settings, calendar)
    if deadline is None or now > deadline:
        when = deadlines.due_text(deadline, calendar, now) if deadline else "派单时"
        raise TicketError(f"派单异议须在派单后{settings.window_working_days}个工作日内提出（截止{when}），"
                          "已超过期限，不能再提出；如确非本单位职责，请申请退单", code="too_late", field="reason")
    req = services._new_request(ticket, "objection", actor=actor, now=now, reason=reason)
    services._record(ticket, "object_dispatch", actor=actor, now=now, before=before, note=reason,
                     data={"request_id": req.id, "objection_deadline": deadline})
    services.notify(services.supervisor_ids(), ticket, "objection_filed",
                    f"派单异议待审核：{ticket.number}，{actor.name_and_unit}认为不属本单位职责", actor=actor, now=now)
    return req


@services._guarded
def decide_objection(*, actor: User, now: datetime, ticket: Ticket, version: Any, upheld: Any = None,
                     user_id: Any = None, note: str = "", dispute_settings: DisputeSettings | None = None
                     ) -> Ticket:
    """Uphold (改派 to `user_id`, both owners recorded) or reject (the owner keeps it) a pending objection."""
    settings = dispute_settings or DisputeSettings()
    services._require_role(actor, "supervisor", action="审核派单异议")
    before = services._check(ticket, "decide_objection", version)
    req = services._pending_request(ticket, "objection")
    if upheld in (None, ""):
        raise TicketError("请选择支持异议（改派）或驳回异议", field="upheld")
    ok = services._decision(upheld)
    new_owner = services._caseworker(user_id) if ok and user_id not in (None, "") else None
    if ok and new_owner is None:
        raise TicketError("支持异议须选择改派给谁", field="user_id")
    if new_owner is not None and new_owner.id == ticket.first_owner_id:
        raise TicketError("改派对象不能是原首派责任人", field="user_id")
    note = clean_text(note, "审核意见", "note")
    services._settle(req, ok, actor=actor, now=now, note=note)
    waited = now - req.requested_at
    old_owner = ticket.first_owner
    data: dict[str, Any] = {"request_id": req.id, "reason": req.reason, "objection": True,
                            "old_owner": services._person(old_owner) if old_owner else None,
                            "dispute_seconds": int(waited.total_seconds()), "paused": settings.pauses_closure}
    if settings.pauses_closure:
        calendar = load_calendar()
        if ticket.closure_due_at is not None:
            ticket.closure_due_at = postponed(ticket.closure_due_at, req.requested_at, now, calendar)
            data["closure_due_at"] = ticket.closure_due_at
        if ticket.first_contact_at is None and ticket.first_contact_due_at is not None:
            ticket.first_contact_due_at = postponed(ticket.first_contact_due_at, req.requested_at, now, calendar)
    if ok:
        ticket.first_owner, ticket.unit, ticket.state = new_owner, new_owner.unit, "pending_accept"
        ticket.dispatched_at, ticket.accepted_at = now, None
        data["new_owner"] = services._person(new_owner)
        services._record(ticket, "reassign", actor=actor, now=now, before=before, note=note or req.reason, data=data)
        services.notify([new_owner.id], ticket, "dispatched", f"改派工单待签收：{ticket.number}", actor=actor, now=now)
    else:
        services._record(ticket, "reject_objection", actor=actor, now=now, before=before, note=note, data=data)
    services.notify([req.requested_by_id], ticket, "objection_decided",
                    f"派单异议{'已支持，工单已改派' if ok else '被驳回，请继续办理'}：{ticket.number}", actor=actor, now=now)
    return ticket


def postponed(due: datetime, filed: datetime, decided: datetime, calendar: WorkCalendar) -> datetime:
    """A limit moved later for the time an objection waited. A limit in working days (due at the end of a
    working day) moves by the working days the dispute touched, so it still falls due 下班前; a limit in
    hours moves by the hours waited."""
    local_due = clock.to_local(due)
    if local_due.time().replace(tzinfo=None) != calendar.workday_end or not calendar.is_working_day(local_due.date()):
        return due + (decided - filed)
    first, last = clock.to_local(filed).date(), clock.to_local(decided).date()
    days = calendar.working_days_after(first, last) + calendar.is_working_day(first)
    day = local_due.date()
    for _ in range(days):
        day = calendar.next_working_day(day)
    return calendar.end_of_day(day)


def time_in_dispute(ticket: Ticket, now: datetime) -> timedelta:
    """All the time the ticket's objections waited for a decision (a pending one up to now)."""
    total = timedelta(0)
    for r in ticket.requests:
        if r.kind == "objection":
            total += (r.decided_at or now) - r.requested_at
    return total


def dispute_summary(ticket: Ticket, now: datetime, settings: DisputeSettings) -> dict[str, Any]:
    """What the ticket page and the API show of its objections."""
    objections = [r for r in ticket.requests if r.kind == "objection"]
    deadline = objection_deadline(ticket, settings) if ticket.state in ("pending_accept", "in_progress") else None
    return {"count": len(objections), "pending": any(r.state == "pending" for r in objections),
            "seconds": int(time_in_dispute(ticket, now).total_seconds()), "pauses_closure": settings.pauses_closure,
            "objection_deadline": deadline.isoformat() if deadline else None,
            "objections": [{"id": r.id, "state": r.state, "state_label": {"approved": "已支持（改派）",
                                                                         "rejected": "已驳回"}.get(r.state, "待审核"),
                            "reason": r.reason, "requested_at": r.requested_at.isoformat(),
                            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
                            "decision_note": r.decision_note} for r in objections]}

