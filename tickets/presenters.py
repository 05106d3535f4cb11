"""Tickets and calls as JSON and spreadsheet rows, masked for the person looking."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import IO, Any

from core import clock, humanize, xlsx
from core.calendar import shared_calendar
from core.clock import to_local
from core.masking import mask_numbers
from core.models import User
from eligibility import services as eligibility
from tickets import actions, deadlines, disputes, queries
from tickets.models import SATISFACTION, STATES, Call, Ticket, TicketEvent


def iso(value: datetime | None) -> str | None:
    """Beijing time with its offset (2026-11-23T09:00:00+08:00)."""
    return to_local(value).isoformat() if value else None


def person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.id, "name": user.display_name, "unit_id": user.unit_id} if user else None


def time_left(ticket: Ticket, now: datetime) -> dict[str, Any] | None:
    """The current limit: ISO time, and beside it the words people say (due_text, remaining_text)."""
    current = deadlines.current(ticket, now, shared_calendar())
    if current is None:
        return None
    return {"limit": current["limit"], "due_at": iso(current["due_at"]), "due_text": current["due_text"],
            "remaining_text": current["remaining_text"], "seconds_left": current["seconds_left"],
            "overdue": current["overdue"]}


def ticket_summary(ticket: Ticket, viewer: User | None, now: datetime) -> dict[str, Any]:
    return {
        "id": ticket.id, "number": ticket.number, "state": ticket.state, "state_label": ticket.state_label,
        "version": ticket.version, "kind": ticket.kind, "urgency": ticket.urgency,
        "citizen_name": ticket.citizen_name,
        "citizen_phone": queries.phone_for(viewer, ticket.citizen_phone, ticket),
        "township": {"id": ticket.township_id, "name": ticket.township.name},
        "first_owner": person(ticket.first_owner), "created_at": iso(ticket.created_at),
        "time_left": time_left(ticket, now), "overdue": ticket.is_overdue(now),
    }


def ticket_json(ticket: Ticket, viewer: User | None, now: datetime) -> dict[str, Any]:
    full = queries.sees_full_numbers(viewer, ticket)

    def text(value: str | None) -> str:
        return queries.text_for(viewer, value, ticket)

    return {
        **ticket_summary(ticket, viewer, now),
        "kind_label": ticket.kind_label, "urgency_label": ticket.urgency_label,
        "call_id": ticket.call_id, "topic": ticket.topic, "description": text(ticket.description),
        "citizen": {"name": ticket.citizen_name,
                    "phone": queries.phone_for(viewer, ticket.citizen_phone, ticket),
                    "id_number": queries.id_number_for(viewer, ticket.citizen_id_number, ticket),
                    "masked": not full},
        "unit": {"id": ticket.unit.id, "name": ticket.unit.name} if ticket.unit else None,
        "tasks": [{"id": t.id, "unit_id": t.unit_id, "unit": t.unit.name, "assignee": person(t.assignee),
                   "request": text(t.request), "state": t.state, "state_label": t.state_label,
                   "due_at": iso(t.due_at), "report": text(t.report), "finished_at": iso(t.finished_at)}
                  for t in ticket.tasks],
        "requests": [{"id": r.id, "kind": r.kind, "state": r.state, "reason": text(r.reason), "days": r.days,
                      "requested_at": iso(r.requested_at), "decided_at": iso(r.decided_at),
                      "decision_note": text(r.decision_note)} for r in ticket.requests],
        "deadlines": {"first_contact_due_at": iso(ticket.first_contact_due_at),
                      "closure_due_at": iso(ticket.closure_due_at),
                      "callback_due_at": iso(ticket.callback_due_at),
                      **deadlines.texts(ticket, now, shared_calendar()),
                      "current": time_left(ticket, now)},
        "first_contact_at": iso(ticket.first_contact_at), "accepted_at": iso(ticket.accepted_at),
        "closed_at": iso(ticket.closed_at), "callback_at": iso(ticket.callback_at),
        "finished_at": iso(ticket.finished_at), "resolution": text(ticket.resolution),
        "satisfaction": ticket.satisfaction, "escalation_count": ticket.escalation_count,
        "reopen_count": ticket.reopen_count, "updated_at": iso(ticket.updated_at),
        "eligibility_check": eligibility.check_json(eligibility.for_ticket(ticket.id)),
        "attachments": [{"id": a.id, "filename": a.filename, "size": a.size, "content_type": a.content_type,
                         "uploaded_at": iso(a.uploaded_at)} for a in ticket.attachments],
        "merged_into": {"id": ticket.merged_into.id, "number": ticket.merged_into.number}
        if ticket.merged_into else None,
        "merged_requests": [{"contact_id": c.id, "ticket_id": c.source.id, "number": c.source.number,
                             "citizen_name": c.source.citizen_name,
                             "citizen_phone": queries.phone_for(viewer, c.source.citizen_phone, ticket),
                             "merged_at": iso(c.merged_at), "split_at": iso(c.split_at),
                             "callback_at": iso(c.callback_at), "satisfaction": c.satisfaction}
                            for c in ticket.contacts],
        "dispute_seconds": int(disputes.time_in_dispute(ticket, now).total_seconds()),
        "timeline": [{"id": e.id, "at": iso(e.at), "actor": {"id": e.actor_id, "name": e.actor_name},
                      "action": e.action, "label": actions.label(e.action),
                      "from_state": e.from_state, "to_state": e.to_state, "note": text(e.note),
                      "data": _masked_data(e.data, text), "summary": text(event_summary(e))}
                     for e in ticket.events],
    }


#: Keys of an event's data that hold what someone typed.
FREE_TEXT_KEYS = ("reason", "note", "request", "report", "resolution", "description", "decision_note")


def _masked_data(data: dict[str, Any], text) -> dict[str, Any]:
    """An event's data with the free text in it (reasons, notes) masked like the rest of the ticket."""
    return {k: text(v) if k in FREE_TEXT_KEYS and isinstance(v, str) else v for k, v in (data or {}).items()}


def call_json(call: Call, viewer: User | None, *, with_tickets: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": call.id, "external_id": call.external_id, "status": call.status,
        "caller_number": queries.call_number_for(viewer, call), "caller_name": call.caller_name,
        "question": call.question if queries.sees_call_numbers(viewer, call) else mask_numbers(call.question),
        "outcome": call.outcome, "outcome_label": call.outcome_label,
        "duration_seconds": call.duration_seconds, "kb_entry_ids": call.kb_entry_ids,
        "operator_id": call.operator_id, "started_at": iso(call.started_at), "recorded_at": iso(call.recorded_at),
        "status_label": call.status_label, "answered_at": iso(call.answered_at), "ended_at": iso(call.ended_at),
        "ring_seconds": call.ring_seconds, "talk_seconds": call.talk_seconds, "wrap_seconds": call.wrap_seconds,
        "ticket_ids": [t.id for t in call.tickets],
        "callbacks": [{"at": iso(a.at), "outcome": a.outcome, "outcome_label": a.outcome_label,
                       "note": a.note if queries.sees_call_numbers(viewer, call) else mask_numbers(a.note),
                       "by": person(a.by)} for a in call.callbacks],
        "callback_done_at": iso(call.callback_done_at),
    }
    if with_tickets:
        data["open_tickets"] = open_tickets_json(call.caller_number, viewer)
    return data


def open_tickets_json(number: str, viewer: User | None) -> list[dict[str, Any]]:
    return [{"id": t.id, "number": t.number, "state": t.state, "state_label": t.state_label,
             "kind_label": t.kind_label, "township": t.township.name,
             "description": queries.text_for(viewer, t.description, t)[:80],
             "first_owner": person(t.first_owner), "created_at": iso(t.created_at)}
            for t in queries.open_tickets_for_number(number)]


BOARD_HEADER = ["工单编号", "创建时间", "类型", "紧急程度", "状态", "群众姓名", "联系电话", "身份证号", "乡镇(街道)",
                "问题类别", "诉求内容", "首派责任人", "主办单位", "办结时限", "是否超期", "督办次数", "办结时间",
                "满意度"]


def board_row(t: Ticket, viewer: User | None, now: datetime) -> list[Any]:
    fmt = "%Y-%m-%d %H:%M"
    return [
        t.number, to_local(t.created_at).strftime(fmt), t.kind_label, t.urgency_label, t.state_label,
        t.citizen_name, queries.phone_for(viewer, t.citizen_phone, t),
        queries.id_number_for(viewer, t.citizen_id_number, t), t.township.name, t.topic,
        queries.text_for(viewer, t.description, t),
        t.first_owner.display_name if t.first_owner else "", t.unit.name if t.unit else "",
        to_local(t.closure_due_at).strftime(fmt) if t.closure_due_at else "",
        "是" if t.is_overdue(now) else "否", t.escalation_count,
        to_local(t.closed_at).strftime(fmt) if t.closed_at else "", t.satisfaction_label,
    ]


BOARD_WIDTHS = (14, 17, 8, 8, 8, 10, 14, 20, 18, 14, 40, 10, 18, 17, 8, 8, 17, 10)


def board_xlsx(tickets: Iterable[Ticket], viewer: User | None, now: datetime, out: IO[bytes], *,
               progress: Callable[[int], None] | None = None) -> int:
    """The supervisor board as a workbook, written row by row; phone and ID numbers masked unless the
    viewer may see them."""
    rows = (board_row(t, viewer, now) for t in tickets)
    return xlsx.stream_sheet(out, "工单台账", BOARD_HEADER, rows, widths=BOARD_WIDTHS, progress=progress)


def state_label(state: str) -> str:
    return STATES.get(state, state)


def event_summary(event: TicketEvent) -> str:
    """One readable line of what an event's data says (owners, deadlines, satisfaction)."""
    data = event.data
    parts: list[str] = []
    if "owner" in data and data["owner"]:
        parts.append(f"首派责任人：{data['owner']['name']}（{data['owner'].get('unit', '')}）")
    if data.get("old_owner") and data.get("new_owner"):
        parts.append(f"原责任人：{data['old_owner']['name']} → 新责任人：{data['new_owner']['name']}")
    elif data.get("old_owner") and event.action == "approve_return":
        parts.append(f"原责任人：{data['old_owner']['name']}，退回待派单")
    if data.get("old_owner") and event.action == "reject_objection":
        parts.append(f"异议被驳回，{data['old_owner']['name']}继续办理")
    if data.get("reason") and event.action in ("reassign", "approve_return", "reject_return", "reject_objection"):
        parts.append(f"{'异议' if data.get('objection') else '退单'}理由：{data['reason']}")
    if "dispute_seconds" in data:
        parts.append(f"争议用时：{humanize.duration(data['dispute_seconds'])}" + ("，时限顺延" if data.get("paused") else ""))
    if data.get("objection_deadline"):
        parts.append(f"异议期限：{_local(data['objection_deadline'])}")
    if data.get("into"):
        parts.append(f"并入工单：{data['into']['number']}")
    if data.get("merged") and event.action == "merge_in":
        parts.append(f"并入：{data['merged']['number']}（{data['merged']['citizen_name']}）")
    if data.get("split"):
        parts.append(f"拆出：{data['split']['number']}")
    if "from" in data and "to" in data:
        parts.append(f"办结时限：{_local(data['from'])} → {_local(data['to'])}")
    if "days" in data and event.action == "request_extension":
        parts.append(f"申请延期{data['days']}个工作日")
    if data.get("unit") and event.action in ("cohandle", "complete_task", "withdraw_task"):
        parts.append(f"协办单位：{data['unit']}")
    if data.get("due_at") and event.action == "cohandle":
        parts.append(f"协办时限：{_local(data['due_at'])}")
    if data.get("satisfaction"):
        parts.append(f"满意度：{SATISFACTION.get(data['satisfaction'], data['satisfaction'])}")
    if data.get("closure_due_at") and event.action == "reopen":
        parts.append(f"新办结时限：{_local(data['closure_due_at'])}")
    if data.get("deadline"):
        parts.append(f"时限：{_local(data['deadline'])}")
    return "；".join(parts)


def _local(value: Any) -> str:
    """A deadline in an event's data, as people say it (12月11日（周五）下班前)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return deadlines.due_text(value, shared_calendar(), clock.now())
    return str(value)
