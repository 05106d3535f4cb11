"""Repeat requests merged (并单): a new request from the same caller, the same ID number, or about the same
person and matter, made within a window of days, joins the open ticket instead of opening another case.

The merged ticket keeps its own number and caller; it is marked 已并单 and linked to the open ticket by a
TicketContact (the caller's contact and callback stay there). One first owner works both; metrics count
the pair once. Tickets of different jurisdictions merge only by a supervisor, who can also split a wrong
merge, restoring the merged ticket as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from core.db import session
from core.errors import Forbidden
from core.masking import mask_phone
from core.models import User
from tickets import services
from tickets.models import OPEN_STATES, SATISFACTION, Ticket, TicketContact
from tickets.queries import get_ticket
from tickets.validation import TicketError, clean_text, normalize_phone


@dataclass(frozen=True)
class MergeSettings:
    #: How many days back an open ticket is offered for merging (TICKET_MERGE_WINDOW_DAYS).
    window_days: int = 30

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MergeSettings:
        return cls(window_days=int(config.get("TICKET_MERGE_WINDOW_DAYS", 30)))


@dataclass(frozen=True)
class Candidate:
    ticket: Ticket
    #: Why it is offered: 同一来电号码, 同一身份证号, 同一人同一事项.
    reasons: tuple[str, ...]


def candidates(*, now: datetime, phone: str = "", id_number: str = "", name: str = "", topic: str = "",
               exclude_id: int | None = None, settings: MergeSettings | None = None) -> list[Candidate]:
    """Open tickets made within the window that a new request of this caller could be merged into."""
    settings = settings or MergeSettings()
    try:
        phone = normalize_phone(phone, field="citizen_phone", label="联系电话") if (phone or "").strip() else ""
    except TicketError:
        phone = ""
    id_number, name, topic = (id_number or "").strip().upper(), (name or "").strip(), (topic or "").strip()
    matches = []
    if phone:
        matches.append(Ticket.citizen_phone == phone)
    if id_number:
        matches.append(Ticket.citizen_id_number == id_number)
    if name and topic:
        matches.append((Ticket.citizen_name == name) & (Ticket.topic == topic))
    if not matches:
        return []
    query = (select(Ticket).where(Ticket.state.in_(OPEN_STATES), Ticket.merged_into_id.is_(None),
                                  Ticket.created_at >= now - timedelta(days=settings.window_days), or_(*matches))
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()))
    if exclude_id is not None:
        query = query.where(Ticket.id != exclude_id)
    found = []
    for t in session.execute(query).scalars():
        reasons = tuple(label for label, hit in (
            ("同一来电号码", bool(phone) and t.citizen_phone == phone),
            ("同一身份证号", bool(id_number) and t.citizen_id_number == id_number),
            ("同一人同一事项", bool(name and topic) and t.citizen_name == name and t.topic == topic)) if hit)
        found.append(Candidate(t, reasons))
    return found


def candidates_for(ticket: Ticket, *, now: datetime, settings: MergeSettings | None = None) -> list[Candidate]:
    if ticket.state not in OPEN_STATES or ticket.merged_into_id is not None:
        return []
    return candidates(now=now, phone=ticket.citizen_phone, id_number=ticket.citizen_id_number,
                      name=ticket.citizen_name, topic=ticket.topic, exclude_id=ticket.id, settings=settings)


def _jurisdiction(ticket: Ticket) -> str:
    """Who a ticket's matter belongs to: its lead unit once dispatched, else its township."""
    return ticket.unit.name if ticket.unit is not None else ticket.township.full_name


def same_jurisdiction(a: Ticket, b: Ticket) -> bool:
    if a.township_id != b.township_id:
        return False
    return a.unit_id is None or b.unit_id is None or a.unit_id == b.unit_id


@services._guarded
def merge(*, actor: User, now: datetime, ticket: Ticket, version: Any, into: Any, reason: str = "") -> Ticket:
    """Merge `ticket` (the repeat request) into the open ticket `into`; returns the open ticket."""
    services._require_role(actor, "operator", "supervisor", action="并单")
    if into in (None, ""):
        raise TicketError("请选择要并入的工单", field="into")
    target = into if isinstance(into, Ticket) else _target(into)
    before = services._check(ticket, "merge", version)
    if target.id == ticket.id:
        raise TicketError("不能把工单并入它自己", field="into")
    if target.state not in OPEN_STATES or target.merged_into_id is not None:
        raise TicketError(f"工单{target.number}当前状态为“{target.state_label}”，只能并入未办结的工单", field="into")
    if ticket.open_tasks:
        raise TicketError("该工单还有未完成的协办任务，请先撤回后再并单", code="open_tasks")
    if any(r.state == "pending" for r in ticket.requests):
        raise TicketError("该工单还有待审批的申请，请审批后再并单", code="pending_request")
    if not same_jurisdiction(ticket, target) and not actor.has_role("supervisor"):
        raise Forbidden(f"两张工单属于不同单位管辖（{_jurisdiction(ticket)}、{_jurisdiction(target)}），"
                        "跨管辖并单须由督查人员操作")
    reason = clean_text(reason, "并单说明", "reason")
    target_before = services._snapshot(target)
    contact = TicketContact(source_ticket_id=ticket.id, source_state=ticket.state, reason=reason,
                            merged_by_id=actor.id, merged_at=now)
    target.contacts.append(contact)
    ticket.state, ticket.merged_into = "merged", target
    services._record(ticket, "merge", actor=actor, now=now, before=before, note=reason,
                     data={"into": {"id": target.id, "number": target.number}})
    session.flush()
    services._record(target, "merge_in", actor=actor, now=now, before=target_before, note=reason, data={
        "merged": {"id": ticket.id, "number": ticket.number, "citizen_name": ticket.citizen_name,
                   "citizen_phone": mask_phone(ticket.citizen_phone)}, "contact_id": contact.id})
    services.notify([target.first_owner_id, before["first_owner_id"]], target, "merged",
                    f"重复诉求已并入工单{target.number}：{ticket.number}（{ticket.citizen_name}）", actor=actor, now=now)
    return target


@services._guarded
def split(*, actor: User, now: datetime, ticket: Ticket, version: Any, reason: str = "") -> Ticket:
    """拆分: a supervisor undoes a wrong merge; the merged ticket is again a case of its own, in its
    state before the merge, under its own number."""
    services._require_role(actor, "supervisor", action="拆分并单")
    before = services._check(ticket, "split", version)
    reason = clean_text(reason, "拆分原因", "reason", required=True)
    contact = session.execute(select(TicketContact).where(TicketContact.source_ticket_id == ticket.id,
                                                          TicketContact.split_at.is_(None))).scalar_one_or_none()
    if contact is None or ticket.merged_into_id is None:
        raise TicketError("该工单未被并单，无需拆分", code="illegal_transition")
    target = contact.ticket
    target_before = services._snapshot(target)
    contact.split_at, contact.split_by_id = now, actor.id
    ticket.state, ticket.merged_into = contact.source_state, None
    services._record(ticket, "split", actor=actor, now=now, before=before, note=reason,
                     data={"from": {"id": target.id, "number": target.number}, "contact_id": contact.id})
    services._record(target, "split_out", actor=actor, now=now, before=target_before, note=reason,
                     data={"split": {"id": ticket.id, "number": ticket.number}, "contact_id": contact.id})
    services.notify([ticket.first_owner_id, target.first_owner_id], ticket, "split",
                    f"并单已拆分：{ticket.number}恢复为独立工单（原并入{target.number}）", actor=actor, now=now)
    return ticket


def _target(into: Any) -> Ticket:
    """The ticket to merge into, by its id or its number (202612-0001)."""
    text = str(into).strip()
    if "-" in text:
        found = session.execute(select(Ticket).where(Ticket.number == text)).scalar_one_or_none()
        if found is None:
            raise TicketError(f"工单不存在：{text}", field="into")
        return found
    return get_ticket(services._as_int(text, "并入的工单", "into"))


def create_merged(*, actor: User, now: datetime, into: Any, **fields: Any) -> tuple[Ticket, Ticket]:
    """A new request made straight into an open ticket: the ticket is made (with its number, so a split
    can restore it) and merged at once. Returns (open ticket, merged ticket)."""
    target = into if isinstance(into, Ticket) else _target(into)
    fields.pop("owner_id", None)
    made = services.create_ticket(actor=actor, now=now, route=False, **fields)
    merge(actor=actor, now=now, ticket=made, version=made.version, into=target, reason=fields.get("reason", ""))
    return target, made


def contacts_of(ticket: Ticket) -> list[TicketContact]:
    """The requests merged into this ticket (and split again), oldest first."""
    return list(ticket.contacts)


@services._guarded
def record_contact_callback(*, actor: User, now: datetime, ticket: Ticket, version: Any, contact_id: Any,
                            satisfaction: Any, note: str = "") -> Ticket:
    """回访 of one merged caller, after the open ticket is closed: each caller's satisfaction is kept."""
    services._require_role(actor, "operator", "supervisor", action="回访")
    before = services._check(ticket, "contact_callback", version)
    contact = next((c for c in contacts_of(ticket) if str(c.id) == str(contact_id).strip()
                    and c.split_at is None), None)
    if contact is None:
        raise TicketError("该来电人不在本工单的并单记录中", field="contact_id")
    if ticket.closed_at is None:
        raise TicketError("工单尚未办结，不能回访", code="illegal_transition")
    contact.satisfaction = services._choice(satisfaction, SATISFACTION, "满意度", "satisfaction")
    contact.callback_at, contact.callback_note = now, clean_text(note, "回访情况", "note")
    services._record(ticket, "contact_callback", actor=actor, now=now, before=before, note=contact.callback_note,
                     data={"contact_id": contact.id, "merged": contact.source.number,
                           "satisfaction": contact.satisfaction})
    return ticket


def merge_json(c: Candidate) -> dict[str, Any]:
    t = c.ticket
    return {"id": t.id, "number": t.number, "state": t.state, "state_label": t.state_label, "kind": t.kind,
            "topic": t.topic, "citizen_name": t.citizen_name, "created_at": t.created_at.isoformat(),
            "first_owner": t.first_owner.display_name if t.first_owner else None,
            "unit": t.unit.name if t.unit else None, "township": t.township.full_name, "version": t.version,
            "reasons": list(c.reasons)}
