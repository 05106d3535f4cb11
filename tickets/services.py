"""Calls and tickets under first-owner responsibility: the only code that changes them.

Every service takes the acting user and the time, validates, changes rows, writes the ticket's
timeline event and the audit event in the same transaction, and flushes; the caller commits.
A ticket change is an UPDATE … WHERE version = the version the client saw, so a stale client
gets a Conflict and changes nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from audit import services as audit
from core import clock
from core.choices import choose
from core.db import session
from core.errors import Conflict, DomainError, Forbidden, NotFound
from core.masking import clip, mask_id_number, mask_numbers, mask_phone
from core.models import Unit, User
from core.uploads import safe_filename
from tickets import files, metrics
from tickets.calendar import WorkCalendar, load_calendar
from tickets.models import (
    FIRST_CONTACT_UNITS,
    KINDS,
    OPEN_STATES,
    OUTCOMES,
    REQUEST_KINDS,
    SATISFACTION,
    STATES,
    URGENCIES,
    Attachment,
    Call,
    CallEntry,
    DeadlinePolicy,
    Notification,
    Task,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketRequest,
)
from tickets.validation import (
    ATTACHMENT_TYPES,
    check_id_number,
    extension_of,
    normalize_phone,
    phone_digits,
    sniff,
)


class TicketError(DomainError):
    pass


#: What each action is called on the timeline.
ACTION_LABELS = {
    "create": "创建工单", "dispatch": "派单", "accept": "签收", "contact": "首次联系群众", "note": "办理记录",
    "cohandle": "发起协办", "complete_task": "协办反馈", "withdraw_task": "撤回协办", "close": "办结",
    "callback": "回访", "reopen": "重新办理", "escalate": "督办", "request_extension": "申请延期",
    "approve_extension": "批准延期", "reject_extension": "驳回延期", "request_return": "申请退单",
    "approve_return": "批准退单", "reject_return": "驳回退单", "reassign": "改派", "attach": "上传附件",
    "warn": "时限预警", "overdue": "超期",
}

#: States each action may start from.
ALLOWED_FROM = {
    "dispatch": ("pending_dispatch",),
    "accept": ("pending_accept",),
    "contact": ("in_progress",),
    "cohandle": ("in_progress",),
    "complete_task": ("pending_accept", "in_progress"),
    "withdraw_task": ("pending_accept", "in_progress"),
    "close": ("in_progress",),
    "callback": ("pending_callback",),
    "reopen": ("pending_callback",),
    "escalate": ("pending_dispatch", "pending_accept", "in_progress", "pending_callback"),
    "request_extension": ("pending_accept", "in_progress"),
    "approve_extension": ("pending_accept", "in_progress"),
    "request_return": ("pending_accept", "in_progress"),
    "approve_return": ("pending_accept", "in_progress"),
}

_STALE = "工单已被他人修改,请刷新后重试"
MAX_TEXT = 5000
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: Announced calls older than this no longer pop up on operators' pages.
RINGING_WINDOW = timedelta(minutes=15)
T = TypeVar("T")


def _guarded(fn: Callable) -> Callable:
    """Turn a lost optimistic-concurrency race (the conditional UPDATE matched no row) into a Conflict."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StaleDataError:
            raise Conflict(_STALE, code="stale_version") from None

    return wrapper


# --- deadline policy --------------------------------------------------------------------------

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


# --- reading ----------------------------------------------------------------------------------

def get_ticket(ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"工单不存在:{ticket_id}")
    return ticket


def get_call(call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"来电记录不存在:{call_id}")
    return call


def is_unit_staff(user: User | None, unit_id: int | None) -> bool:
    return user is not None and user.role == "caseworker" and unit_id is not None and user.unit_id == unit_id


def can_view(user: User | None, ticket: Ticket) -> bool:
    """The desk, the first owner, and a co-handling unit while its task is open: once the task is done
    or withdrawn the unit's part is over and the citizen's case is no longer its business."""
    if user is None:
        return False
    if user.has_role("operator", "supervisor") or ticket.first_owner_id == user.id:
        return True
    return any(t.state == "open" and (t.assignee_id == user.id or is_unit_staff(user, t.unit_id))
               for t in ticket.tasks)


def sees_full_numbers(user: User | None, ticket: Ticket | None = None) -> bool:
    """Phone and ID numbers in full: the ticket's first owner, supervisors and admins."""
    if user is None:
        return False
    if user.role in ("supervisor", "admin"):
        return True
    return ticket is not None and ticket.first_owner_id == user.id


def phone_for(user: User | None, value: str, ticket: Ticket | None = None) -> str:
    return value if sees_full_numbers(user, ticket) else mask_phone(value)


def id_number_for(user: User | None, value: str, ticket: Ticket | None = None) -> str:
    return value if sees_full_numbers(user, ticket) else mask_id_number(value)


def text_for(user: User | None, value: str | None, ticket: Ticket | None = None) -> str:
    """Free text (description, notes, reasons) with the numbers typed into it masked by the same rule."""
    return (value or "") if sees_full_numbers(user, ticket) else mask_numbers(value)


def sees_call_numbers(user: User | None, call: Call) -> bool:
    return sees_full_numbers(user) or any(sees_full_numbers(user, t) for t in call.tickets)


def call_number_for(user: User | None, call: Call) -> str:
    return call.caller_number if sees_call_numbers(user, call) else mask_phone(call.caller_number)


def viewable_ticket(ticket_id: int, user: User) -> Ticket:
    ticket = get_ticket(ticket_id)
    if not can_view(user, ticket):
        raise Forbidden("您无权查看此工单")
    return ticket


def overdue_clause(now: datetime):
    """SQL condition matching Ticket.is_overdue(now)."""
    return or_(
        and_(Ticket.state.in_(OPEN_STATES), Ticket.closure_due_at < now),
        and_(Ticket.state.in_(OPEN_STATES), Ticket.first_contact_at.is_(None), Ticket.first_contact_due_at < now),
        and_(Ticket.state == "pending_callback", Ticket.callback_at.is_(None), Ticket.callback_due_at < now),
    )


@dataclass(frozen=True)
class BoardFilter:
    state: str = ""
    unit_id: int | None = None
    overdue: bool = False
    kind: str = ""
    start: datetime | None = None
    end: datetime | None = None
    q: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}


def find_tickets(flt: BoardFilter, *, now: datetime, limit: int | None = 200, offset: int = 0
                 ) -> tuple[list[Ticket], int]:
    query = select(Ticket)
    if flt.state:
        query = query.where(Ticket.state == flt.state)
    if flt.unit_id:
        query = query.where(or_(Ticket.unit_id == flt.unit_id, Ticket.township_id == flt.unit_id))
    if flt.overdue:
        query = query.where(overdue_clause(now))
    if flt.kind:
        query = query.where(Ticket.kind == flt.kind)
    if flt.start:
        query = query.where(Ticket.created_at >= flt.start)
    if flt.end:
        query = query.where(Ticket.created_at < flt.end)
    if flt.q.strip():
        q = flt.q.strip()
        query = query.where(or_(Ticket.number.contains(q), Ticket.citizen_name.contains(q)))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars()), total


def count_overdue(now: datetime) -> int:
    return session.execute(select(func.count()).select_from(Ticket).where(overdue_clause(now))).scalar_one()


def my_tickets(user: User, now: datetime) -> tuple[list[Ticket], list[Ticket]]:
    """(first-owned, co-handled) tickets not yet finished, overdue first, then by the nearest deadline."""
    owned = session.execute(select(Ticket).where(Ticket.first_owner_id == user.id,
                                                 Ticket.state != "closed")).scalars().all()
    task_match = Task.assignee_id == user.id
    if user.role == "caseworker" and user.unit_id is not None:
        task_match = or_(task_match, Task.unit_id == user.unit_id)
    cohandled = session.execute(
        select(Ticket).join(Task, Task.ticket_id == Ticket.id)
        .where(task_match, Task.state == "open",
               or_(Ticket.first_owner_id.is_(None), Ticket.first_owner_id != user.id)).distinct()).scalars().all()
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def key(t: Ticket):
        deadline = t.current_deadline()
        return (not t.is_overdue(now), deadline[1] if deadline else far, t.id)

    return sorted(owned, key=key), sorted(cohandled, key=key)


def visible_tickets(user: User, flt: BoardFilter, *, now: datetime, limit: int = 100, offset: int = 0
                    ) -> tuple[list[Ticket], int]:
    """The tickets a person may list: a caseworker's own and co-handled ones, the board for the desk."""
    if user.role == "caseworker":
        owned, cohandled = my_tickets(user, now)
        return owned + cohandled, len(owned) + len(cohandled)
    if user.has_role("operator", "supervisor"):
        return find_tickets(flt, now=now, limit=limit, offset=offset)
    raise Forbidden("您没有权限查看工单")


def home_summary(user: User, now: datetime, calendar: WorkCalendar | None = None) -> dict[str, Any]:
    """What the home page shows of the tickets area, by role."""
    summary: dict[str, Any] = {"unread": unread_count(user)}
    if user.role == "admin":
        today = clock.to_local(now).date()
        years = sorted({today.year, (today + timedelta(days=60)).year})
        summary["missing_years"] = (calendar or load_calendar()).missing_years(years)
    if user.has_role("supervisor"):
        summary["overdue"] = count_overdue(now)
    if user.role == "caseworker":
        owned, cohandled = my_tickets(user, now)
        summary["mine"] = len(owned) + len(cohandled)
        summary["mine_overdue"] = sum(t.is_overdue(now) for t in owned + cohandled)
    return summary


def open_tickets_for_number(number: str) -> list[Ticket]:
    """A repeat caller's tickets not yet finished (by the citizen's phone or the calls they came from)."""
    value = phone_digits(number)
    if len(value) < 3:
        return []
    query = (select(Ticket).outerjoin(Call, Ticket.call_id == Call.id)
             .where(or_(Ticket.citizen_phone == value, Call.caller_number == value), Ticket.state != "closed")
             .order_by(Ticket.created_at.desc()))
    return list(session.execute(query).scalars().unique())


def incoming_calls(user: User, now: datetime) -> list[Call]:
    """Announced calls not yet recorded, routed to this operator or to nobody in particular."""
    query = (select(Call).where(Call.status == "ringing", Call.started_at >= now - RINGING_WINDOW,
                                or_(Call.operator_id.is_(None), Call.operator_id == user.id))
             .order_by(Call.started_at.desc()).limit(5))
    return list(session.execute(query).scalars())


def find_calls(*, outcome: str = "", operator: User | None = None, limit: int = 50, offset: int = 0) -> list[Call]:
    """Recorded calls, newest first (optionally one outcome, or one operator's)."""
    query = select(Call).where(Call.status == "recorded")
    if outcome:
        query = query.where(Call.outcome == outcome)
    if operator is not None:
        query = query.where(Call.operator_id == operator.id)
    query = query.order_by(Call.started_at.desc(), Call.id.desc()).offset(offset).limit(limit)
    return list(session.execute(query).scalars())


def call_topic(call: Call) -> str:
    """The KB category of the first entry used during the call (the ticket's likely topic)."""
    from kb.models import Entry

    for entry_id in call.kb_entry_ids:
        entry = session.get(Entry, entry_id)
        if entry is not None:
            return entry.category
    return ""


def active_caseworkers() -> list[User]:
    return list(session.execute(select(User).where(User.role == "caseworker", User.active.is_(True))
                                .order_by(User.unit_id, User.id)).scalars())


def viewable_attachment(attachment_id: int, user: User) -> Attachment:
    att = session.get(Attachment, attachment_id)
    if att is None or not can_view(user, att.ticket):
        raise NotFound("附件不存在")
    return att


@dataclass(frozen=True)
class Suggestion:
    user: User
    reason: str


#: KB topics whose tickets usually involve a city department (matched by a part of its name).
TOPIC_DEPARTMENTS = {
    "医疗救助": "医疗保障局", "残疾人福利": "残疾人联合会", "教育救助": "教育局", "住房救助": "住房和城乡建设局",
    "就业救助": "人力资源和社会保障局", "受灾人员救助": "应急管理局", "流浪乞讨人员救助": "救助管理站",
}


def dispatch_suggestions(ticket: Ticket) -> list[Suggestion]:
    """Owners to suggest on the ticket page: while it waits for dispatch or for a decision on its return."""
    if ticket.state == "pending_dispatch" or ticket.pending_request("return"):
        return suggest_owners(ticket.township_id, ticket.topic)
    return []


def suggest_owners(township_id: int | None, topic: str = "", limit: int = 8) -> list[Suggestion]:
    """Caseworkers to dispatch to, best first: the township's own, those who handled the same township
    and topic before, the county bureau's, and the department the topic belongs to."""
    township = session.get(Unit, township_id) if township_id else None
    found: list[Suggestion] = []
    seen: set[int] = set()

    def add(users: Iterable[User], reason: str) -> None:
        for u in users:
            if u.id not in seen and u.active and u.role == "caseworker":
                seen.add(u.id)
                found.append(Suggestion(u, reason))

    def staff(unit_id: int) -> list[User]:
        return list(session.execute(select(User).where(User.unit_id == unit_id, User.role == "caseworker",
                                                       User.active.is_(True)).order_by(User.id)).scalars())

    if township is not None:
        add(staff(township.id), f"{township.name}承办人员")
        history = select(Ticket.first_owner_id, func.count().label("n")).where(
            Ticket.township_id == township.id, Ticket.first_owner_id.is_not(None))
        if topic:
            history = history.where(Ticket.topic == topic)
        for owner_id, n in session.execute(history.group_by(Ticket.first_owner_id)
                                           .order_by(func.count().desc()).limit(5)).all():
            user = session.get(User, owner_id)
            if user is not None:
                add([user], f"曾办理该乡镇{topic or ''}工单{n}件")
        if township.parent_id:
            parent = session.get(Unit, township.parent_id)
            add(staff(township.parent_id), f"{parent.name if parent else '县级民政部门'}承办人员")
    department = TOPIC_DEPARTMENTS.get(topic)
    if department:
        for unit in session.execute(select(Unit).where(Unit.kind == "department", Unit.active.is_(True),
                                                       Unit.name.contains(department))).scalars():
            add(staff(unit.id), f"{unit.name}(主管部门)")
    return found[:limit]


# --- calls ------------------------------------------------------------------------------------

_OUTCOME_ALIASES = {
    "answered": "answered", "answered_on_the_spot": "answered", "on_the_spot": "answered", "即问即答": "answered",
    "在线答复": "answered", "ticket": "ticket", "ticket_opened": "ticket", "转工单": "ticket", "工单": "ticket",
    "referred": "referred", "referred_elsewhere": "referred", "转其他渠道": "referred", "dropped": "dropped",
    "中途挂断": "dropped", "挂断": "dropped",
}


def parse_outcome(value: Any) -> str:
    outcome = _OUTCOME_ALIASES.get(str(value or "").strip().lower())
    if outcome is None:
        raise TicketError(f"来电结果无效:{value}(可选:{'、'.join(f'{k}={v}' for k, v in OUTCOMES.items())})",
                          field="outcome")
    return outcome


def parse_duration(value: Any) -> int | None:
    """Seconds, from 95, "95" or "1:35"; None when not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise TicketError("通话时长格式不正确", field="duration_seconds")
    if isinstance(value, (int, float)):
        seconds = int(value)
    else:
        text = str(value).strip()
        match = re.fullmatch(r"(?:(\d{1,3}):)?(\d{1,5})", text)
        if not match:
            raise TicketError("通话时长格式不正确:填秒数,或“分:秒”", field="duration_seconds")
        seconds = int(match.group(1) or 0) * 60 + int(match.group(2))
    if not 0 <= seconds <= 24 * 3600:
        raise TicketError("通话时长应在0秒到24小时之间", field="duration_seconds")
    return seconds


def parse_entry_ids(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None:
        raise TicketError("知识库条目应为编号列表", field="kb_entry_ids")
    ids: list[str] = []
    for item in items:
        text = str(item).strip().upper()
        if text and text not in ids:
            ids.append(text)
    return ids


def _check_entries(ids: list[str]) -> None:
    if not ids:
        return
    from kb.models import Entry

    known = set(session.execute(select(Entry.id).where(Entry.id.in_(ids))).scalars())
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise TicketError(f"知识库条目不存在:{'、'.join(unknown)}", field="kb_entry_ids")


def _text(value: Any, label: str, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    text = str(value).strip() if value is not None else ""
    if required and not text:
        raise TicketError(f"请填写{label}", field=field)
    if len(text) > limit:
        raise TicketError(f"{label}不能超过{limit}字", field=field)
    return text


def _call_snapshot(call: Call) -> dict[str, Any]:
    return {"status": call.status, "caller_number": mask_phone(call.caller_number), "outcome": call.outcome,
            "duration_seconds": call.duration_seconds, "operator_id": call.operator_id,
            "external_id": call.external_id, "kb_entry_ids": call.kb_entry_ids}


def announce_call(*, actor: User | None, now: datetime, caller_number: str, external_id: str | None = None,
                  operator_id: int | None = None) -> tuple[Call, bool]:
    """Telephony tells us a call is ringing; returns (call, created). The same external id twice is one call."""
    number = normalize_phone(caller_number, field="caller_number", label="来电号码")
    external_id = _text(external_id, "外部通话编号", "external_id", limit=64) or None
    if external_id:
        existing = session.execute(select(Call).where(Call.external_id == external_id)).scalar_one_or_none()
        if existing is not None:
            return existing, False
    if operator_id is not None:
        operator = session.get(User, operator_id)
        if operator is None or not operator.active or not operator.has_role("operator"):
            raise TicketError(f"接线员不存在或已停用:{operator_id}", field="operator_id")
    call = Call(external_id=external_id, status="ringing", caller_number=number, caller_name="", question="",
                operator_id=operator_id, started_at=now, created_at=now)
    session.add(call)
    session.flush()
    audit.record("announce", "call", call.id, actor=actor, now=now, changes={"after": _call_snapshot(call)})
    return call, True


def record_call(*, actor: User, now: datetime, outcome: Any, caller_number: str = "", caller_name: str = "",
                question: str = "", kb_entry_ids: Any = None, duration_seconds: Any = None,
                call_id: int | None = None, external_id: str | None = None) -> Call:
    """Record what an operator did with a call: a new call, or one telephony announced (by id or external id)."""
    outcome = parse_outcome(outcome)
    duration = parse_duration(duration_seconds)
    ids = parse_entry_ids(kb_entry_ids)
    name = _text(caller_name, "来电人姓名", "caller_name", limit=50)
    question = _text(question, "来电诉求", "question", limit=2000)
    external_id = _text(external_id, "外部通话编号", "external_id", limit=64) or None
    call: Call | None = None
    if call_id is not None:
        call = get_call(call_id)
    elif external_id:
        call = session.execute(select(Call).where(Call.external_id == external_id)).scalar_one_or_none()
    if call is not None and call.status != "ringing":
        raise TicketError("该来电已经记录过了", code="already_recorded", status=409)
    number = normalize_phone(caller_number, field="caller_number", label="来电号码",
                             required=call is None)
    _check_entries(ids)
    before = _call_snapshot(call) if call is not None else {}
    if call is None:
        started = now - timedelta(seconds=duration or 0)
        call = Call(external_id=external_id, caller_number=number, started_at=started, created_at=now)
        session.add(call)
    elif number:
        call.caller_number = number
    call.status, call.outcome, call.duration_seconds = "recorded", outcome, duration
    call.caller_name, call.question, call.operator_id, call.recorded_at = name, question, actor.id, now
    call.entries = [CallEntry(entry_id=entry_id, position=i) for i, entry_id in enumerate(ids)]
    session.flush()
    audit.record("record", "call", call.id, actor=actor, now=now,
                 changes=audit.diff(before, _call_snapshot(call)))
    return call


# --- tickets: creation and numbering ----------------------------------------------------------

def next_number(now: datetime) -> str:
    """The month's next ticket number, taken in the caller's transaction so a rollback gives it back.

    One upsert on the month's counter row: concurrent creators queue on that row's lock, so numbers
    never repeat and never skip.
    """
    year_month = clock.to_local(now).strftime("%Y%m")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(TicketCounter).values(year_month=year_month, last_number=1)
    stmt = stmt.on_conflict_do_update(index_elements=["year_month"],
                                      set_={"last_number": TicketCounter.last_number + 1})
    n = session.execute(stmt.returning(TicketCounter.last_number)).scalar_one()
    return f"{year_month}-{n:04d}"


def _choice(value: Any, choices: dict[str, str], label: str, field: str) -> str:
    return choose(value, choices, label, field, TicketError)


def _township(unit_id: Any) -> Unit:
    if isinstance(unit_id, str) and unit_id.strip() and not unit_id.strip().isdigit():
        named = session.execute(select(Unit).where(Unit.level == "township", Unit.name == unit_id.strip())
                                ).scalars().all()
        if len(named) != 1:
            raise TicketError(f"乡镇(街道){'不存在' if not named else '重名,请用编号'}:{unit_id}", field="township_id")
        unit_id = named[0].id
    unit = _chosen(Unit, unit_id, "乡镇(街道)", "township_id")
    if unit.level != "township":
        raise TicketError(f"{unit.name}不是乡镇(街道)", field="township_id")
    if not unit.active:
        raise TicketError(f"{unit.name}已停用", field="township_id")
    return unit


def _chosen(model: type[T], value: Any, label: str, field: str) -> T:
    """The row a form or JSON field names by its id, or a message that it was not chosen or does not exist."""
    if value in (None, ""):
        raise TicketError(f"请选择{label}", field=field)
    row = session.get(model, _as_int(value, label, field))
    if row is None:
        raise TicketError(f"{label}不存在:{value}", field=field)
    return row


def _as_int(value: Any, label: str, field: str) -> int:
    if isinstance(value, bool):
        raise TicketError(f"{label}应为编号", field=field)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise TicketError(f"{label}应为编号", field=field) from None


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    return {"state": ticket.state, "first_owner_id": ticket.first_owner_id, "unit_id": ticket.unit_id,
            "first_contact_due_at": ticket.first_contact_due_at, "closure_due_at": ticket.closure_due_at,
            "callback_due_at": ticket.callback_due_at, "satisfaction": ticket.satisfaction,
            "escalation_count": ticket.escalation_count, "reopen_count": ticket.reopen_count,
            "version": ticket.version}


def _record(ticket: Ticket, action: str, *, actor: User | None, now: datetime, before: dict[str, Any],
            note: str = "", data: dict[str, Any] | None = None) -> TicketEvent:
    """Save the changed ticket (its version check), then write the change's timeline and audit events.

    A service whose event data names a row it just added (a task, a request) calls `_save` first, so
    the row has its id when the data is built.
    """
    _save(ticket, now)
    after = _snapshot(ticket)
    moved = before.get("state") != ticket.state
    event = TicketEvent(at=now, actor_id=actor.id if actor else None,
                        actor_name=actor.display_name if actor else "系统", action=action,
                        from_state=before.get("state") if moved else None, to_state=ticket.state if moved else None,
                        note=note, data_json=audit.canonical(data or {}))
    ticket.events.append(event)
    changes = audit.diff(before, after)
    changes["number"] = ticket.number
    if note:
        changes["note"] = note
    if data:
        changes["data"] = data
    audit.record(action, "ticket", ticket.id, actor=actor, now=now, changes=changes)
    return event


def _save(ticket: Ticket, now: datetime) -> None:
    """Write the ticket with its version check (UPDATE … WHERE version = read version)."""
    ticket.updated_at = now
    session.flush()


def notify(user_ids: Iterable[int | None], ticket: Ticket | None, kind: str, message: str, *,
           actor: User | None, now: datetime) -> int:
    """One in-app notification for each of these users (each audited); returns how many were made."""
    made = [Notification(user_id=user_id, ticket_id=ticket.id if ticket else None, kind=kind, message=message[:300],
                         created_at=now) for user_id in dict.fromkeys(u for u in user_ids if u)]
    if not made:
        return 0
    session.add_all(made)
    session.flush()
    for n in made:
        audit.record("create", "notification", n.id, actor=actor, now=now,
                     changes={"after": {"user_id": n.user_id, "ticket_id": n.ticket_id, "kind": kind}})
    return len(made)


def supervisor_ids() -> list[int]:
    return list(session.execute(select(User.id).where(User.role == "supervisor", User.active.is_(True))).scalars())


@_guarded
def create_ticket(*, actor: User, now: datetime, kind: Any, urgency: Any, citizen_name: str, citizen_phone: str,
                  township_id: Any, description: str, citizen_id_number: str = "", topic: str = "",
                  call_id: Any = None, owner_id: Any = None, uploads: Sequence[tuple[str, IO[bytes]]] = (),
                  directory: Path | None = None, max_bytes: int = MAX_ATTACHMENT_BYTES,
                  calendar: WorkCalendar | None = None) -> Ticket:
    """Open a ticket (optionally from a call, optionally dispatching it at once) with its uploaded files
    ((name, stream) pairs stored under `directory`): one bad file refuses the whole ticket."""
    _require_role(actor, "operator", "supervisor", action="创建工单")
    kind = _choice(kind, KINDS, "工单类型", "kind")
    urgency = _choice(urgency, URGENCIES, "紧急程度", "urgency")
    call = get_call(_as_int(call_id, "来电记录", "call_id")) if call_id not in (None, "") else None
    name = _text(citizen_name, "群众姓名", "citizen_name", required=True, limit=50)
    if not (citizen_phone or "").strip() and call is not None:
        citizen_phone = call.caller_number  # "same as the caller": operators only ever see it masked
    phone = normalize_phone(citizen_phone, field="citizen_phone", label="联系电话")
    id_number = check_id_number(citizen_id_number)
    township = _township(township_id)
    description = _text(description, "诉求内容", "description", required=True)
    topic = _text(topic, "问题类别", "topic", limit=50)
    owner = _caseworker(owner_id) if owner_id not in (None, "") else None
    calendar = calendar or load_calendar()
    first_contact_due, closure_due = deadlines_for(kind, urgency, now, calendar)
    ticket = Ticket(number=next_number(now), call_id=call.id if call else None, kind=kind, urgency=urgency,
                    state="pending_dispatch", citizen_name=name, citizen_phone=phone, citizen_id_number=id_number,
                    township_id=township.id, topic=topic, description=description, created_by_id=actor.id,
                    created_at=now, updated_at=now, first_contact_due_at=first_contact_due,
                    closure_due_at=closure_due, closure_started_at=now, escalation_count=0, reopen_count=0)
    session.add(ticket)
    session.flush()
    _record(ticket, "create", actor=actor, now=now, before={}, data={
        "kind": kind, "urgency": urgency, "township_id": township.id, "call_id": ticket.call_id,
        "citizen_phone": mask_phone(phone), "citizen_id_number": mask_id_number(id_number)})
    if owner is not None:
        _dispatch(ticket, owner, actor=actor, now=now, note="")
    if uploads and directory is None:
        raise ValueError("uploaded files need a directory to be stored in")
    for filename, stream in uploads:
        add_attachment(actor=actor, now=now, ticket=ticket, filename=filename, stream=stream, directory=directory,
                       max_bytes=max_bytes)
    return ticket


def _caseworker(user_id: Any) -> User:
    user = _chosen(User, user_id, "承办人", "user_id")
    if not user.active:
        raise TicketError(f"{user.display_name}的账号已停用,不能派单", field="user_id")
    if user.role != "caseworker" or user.unit_id is None:
        raise TicketError(f"{user.display_name}不是承办人员,工单只能派给承办人员", field="user_id")
    if user.unit is None or not user.unit.active:
        raise TicketError(f"{user.display_name}所在单位已停用", field="user_id")
    return user


def _require_role(actor: User | None, *roles: str, action: str) -> None:
    if actor is None or not actor.has_role(*roles):
        raise Forbidden(f"您没有权限{action}")


def _require_owner(actor: User, ticket: Ticket, action: str) -> None:
    if ticket.first_owner_id is None or actor.id != ticket.first_owner_id:
        raise Forbidden(f"只有首派责任人可以{action}")


def _check(ticket: Ticket, action: str, version: Any) -> dict[str, Any]:
    """Refuse a stale version or an illegal transition; return the ticket's snapshot before the change."""
    if version is None or version == "":
        raise TicketError("请提供工单版本号(version)", code="version_required", status=400, field="version")
    if _as_int(version, "版本号", "version") != ticket.version:
        raise Conflict(f"{_STALE}(当前版本为{ticket.version})", code="stale_version")
    allowed = ALLOWED_FROM.get(action)
    if allowed is not None and ticket.state not in allowed:
        raise TicketError(f"工单当前状态为“{ticket.state_label}”,不能{ACTION_LABELS[action]}",
                          code="illegal_transition", field="action")
    return _snapshot(ticket)


def _dispatch(ticket: Ticket, owner: User, *, actor: User, now: datetime, note: str) -> None:
    before = _snapshot(ticket)
    previous = ticket.first_owner_id
    ticket.first_owner, ticket.unit, ticket.state = owner, owner.unit, "pending_accept"
    ticket.dispatched_at = now
    _record(ticket, "dispatch", actor=actor, now=now, before=before, note=note, data={
        "owner": {"id": owner.id, "name": owner.display_name, "unit_id": owner.unit_id,
                  "unit": owner.unit.name if owner.unit else ""},
        "previous_owner_id": previous})
    notify([owner.id], ticket, "dispatched", f"新工单待签收:{ticket.number}({ticket.kind_label})",
           actor=actor, now=now)


@_guarded
def dispatch(*, actor: User, now: datetime, ticket: Ticket, user_id: Any, version: Any = None,
             note: str = "") -> Ticket:
    """派单: the first dispatch makes the person the ticket's first owner."""
    _require_role(actor, "operator", "supervisor", action="派单")
    owner = _caseworker(user_id)
    _check(ticket, "dispatch", ticket.version if version in (None, "") else version)
    _dispatch(ticket, owner, actor=actor, now=now, note=_text(note, "派单说明", "note"))
    return ticket


@_guarded
def accept(*, actor: User, now: datetime, ticket: Ticket, version: Any) -> Ticket:
    _require_owner(actor, ticket, "签收此工单")
    before = _check(ticket, "accept", version)
    ticket.state, ticket.accepted_at = "in_progress", now
    _record(ticket, "accept", actor=actor, now=now, before=before)
    return ticket


@_guarded
def record_contact(*, actor: User, now: datetime, ticket: Ticket, version: Any, note: str = "") -> Ticket:
    """The first owner has reached the citizen (stops the first-contact clock)."""
    _require_owner(actor, ticket, "记录联系群众")
    before = _check(ticket, "contact", version)
    note = _text(note, "联系情况", "note")
    if ticket.first_contact_at is not None:
        raise TicketError("已记录过首次联系", code="illegal_transition")
    ticket.first_contact_at = now
    _record(ticket, "contact", actor=actor, now=now, before=before, note=note,
            data={"on_time": ticket.first_contact_due_at is None or now <= ticket.first_contact_due_at})
    return ticket


@_guarded
def add_note(*, actor: User, now: datetime, ticket: Ticket, version: Any, note: str) -> Ticket:
    if not can_view(actor, ticket):
        raise Forbidden("您无权在此工单上记录")
    before = _check(ticket, "note", version)
    note = _text(note, "办理记录", "note", required=True)
    _record(ticket, "note", actor=actor, now=now, before=before, note=note)
    return ticket


@_guarded
def add_task(*, actor: User, now: datetime, ticket: Ticket, version: Any, unit_id: Any, request: str,
             user_id: Any = None, days: Any = None, calendar: WorkCalendar | None = None) -> Task:
    """协办: ask another unit (医保, 残联, a township …) for its part, with its own deadline."""
    _require_owner(actor, ticket, "发起协办")
    unit = _chosen(Unit, unit_id, "协办单位", "unit_id")
    if not unit.active:
        raise TicketError(f"{unit.name}已停用,不能协办", field="unit_id")
    if unit.id == ticket.unit_id:
        raise TicketError("协办单位不能是主办单位本身", field="unit_id")
    assignee = None
    if user_id not in (None, ""):
        assignee = _chosen(User, user_id, "协办人", "user_id")
        if not assignee.active:
            raise TicketError(f"{assignee.display_name}的账号已停用", field="user_id")
        if assignee.unit_id != unit.id:
            raise TicketError(f"{assignee.display_name}不属于{unit.name}", field="user_id")
    request = _text(request, "协办事项", "request", required=True)
    before = _check(ticket, "cohandle", version)
    if days in (None, ""):
        due = ticket.closure_due_at or (calendar or load_calendar()).add_working_days(now, 3)
    else:
        n = _as_int(days, "协办时限", "days")
        if not 1 <= n <= 60:
            raise TicketError("协办时限应为1到60个工作日", field="days")
        due = (calendar or load_calendar()).add_working_days(now, n)
    task = Task(unit_id=unit.id, assignee_id=assignee.id if assignee else None,
                request=request, due_at=due, state="open", created_by_id=actor.id, created_at=now)
    ticket.tasks.append(task)
    _save(ticket, now)
    _record(ticket, "cohandle", actor=actor, now=now, before=before, note=request, data={
        "task_id": task.id, "unit_id": unit.id, "unit": unit.name, "assignee_id": task.assignee_id,
        "due_at": due})
    staff = [assignee.id] if assignee else session.execute(select(User.id).where(
        User.unit_id == unit.id, User.role == "caseworker", User.active.is_(True))).scalars().all()
    notify(staff, ticket, "cohandle", f"协办任务:{ticket.number},{clip(request, 60)}", actor=actor, now=now)
    return task


def _task(ticket: Ticket, task_id: Any) -> Task:
    if task_id in (None, ""):
        raise TicketError("请指明协办任务(task_id)", field="task_id")
    tid = _as_int(task_id, "协办任务", "task_id")
    task = next((t for t in ticket.tasks if t.id == tid), None)
    if task is None:
        raise TicketError(f"此工单没有该协办任务:{task_id}", field="task_id")
    if task.state != "open":
        raise TicketError(f"该协办任务{task.state_label},不能再次处理", code="illegal_transition", field="task_id")
    return task


@_guarded
def complete_task(*, actor: User, now: datetime, ticket: Ticket, version: Any, task_id: Any, report: str) -> Task:
    """The co-handling unit reports back (or the first owner records its report)."""
    task = _task(ticket, task_id)
    if not (actor.id in (task.assignee_id, ticket.first_owner_id) or is_unit_staff(actor, task.unit_id)):
        raise Forbidden("只有协办单位的承办人员或首派责任人可以反馈协办结果")
    report = _text(report, "协办结果", "report", required=True)
    before = _check(ticket, "complete_task", version)
    task.state, task.report, task.finished_by_id, task.finished_at = "done", report, actor.id, now
    _record(ticket, "complete_task", actor=actor, now=now, before=before, note=report,
            data={"task_id": task.id, "unit": task.unit.name, "on_time": now <= task.due_at})
    if actor.id != ticket.first_owner_id:
        notify([ticket.first_owner_id], ticket, "task_done", f"协办反馈:{ticket.number},{task.unit.name}",
               actor=actor, now=now)
    return task


@_guarded
def withdraw_task(*, actor: User, now: datetime, ticket: Ticket, version: Any, task_id: Any, reason: str) -> Task:
    _require_owner(actor, ticket, "撤回协办")
    task = _task(ticket, task_id)
    reason = _text(reason, "撤回原因", "reason", required=True)
    before = _check(ticket, "withdraw_task", version)
    task.state, task.report, task.finished_by_id, task.finished_at = "withdrawn", reason, actor.id, now
    _record(ticket, "withdraw_task", actor=actor, now=now, before=before, note=reason,
            data={"task_id": task.id, "unit": task.unit.name})
    return ticket


@_guarded
def close(*, actor: User, now: datetime, ticket: Ticket, version: Any, resolution: str,
          calendar: WorkCalendar | None = None) -> Ticket:
    """办结 by the first owner, with a resolution note; every co-handling task must be finished or withdrawn."""
    _require_owner(actor, ticket, "办结此工单")
    before = _check(ticket, "close", version)
    resolution = _text(resolution, "办结情况", "resolution", required=True)
    if ticket.open_tasks:
        units = "、".join(t.unit.name for t in ticket.open_tasks)
        raise TicketError(f"还有{len(ticket.open_tasks)}项协办任务未反馈或撤回({units}),不能办结",
                          code="open_tasks")
    policy = policy_for(ticket.kind, ticket.urgency)
    ticket.state, ticket.resolution, ticket.closed_at = "pending_callback", resolution, now
    ticket.callback_at, ticket.callback_overdue_at = None, None
    ticket.callback_due_at = (calendar or load_calendar()).end_of_working_day_after(now,
                                                                                   policy.callback_working_days)
    _record(ticket, "close", actor=actor, now=now, before=before, note=resolution,
            data={"on_time": ticket.closure_due_at is None or now <= ticket.closure_due_at})
    return ticket


@_guarded
def callback(*, actor: User, now: datetime, ticket: Ticket, version: Any, satisfaction: Any,
             note: str = "") -> Ticket:
    """回访: satisfied or basically satisfied finishes the ticket; dissatisfied leaves it for reopening."""
    _require_role(actor, "operator", "supervisor", action="回访")
    if ticket.state in OPEN_STATES:
        raise TicketError("工单尚未办结,不能回访", code="illegal_transition")
    before = _check(ticket, "callback", version)
    satisfaction = _choice(satisfaction, SATISFACTION, "满意度", "satisfaction")
    note = _text(note, "回访情况", "note")
    ticket.satisfaction, ticket.callback_at = satisfaction, now
    if satisfaction != "dissatisfied":
        ticket.state, ticket.finished_at = "closed", now
    _record(ticket, "callback", actor=actor, now=now, before=before, note=note,
            data={"satisfaction": satisfaction})
    if satisfaction == "dissatisfied":
        notify([ticket.first_owner_id, *supervisor_ids()], ticket, "dissatisfied",
                f"回访不满意:{ticket.number},待重新办理", actor=actor, now=now)
    return ticket


@_guarded
def reopen(*, actor: User, now: datetime, ticket: Ticket, version: Any, reason: str = "",
           calendar: WorkCalendar | None = None) -> Ticket:
    """After a dissatisfied callback the ticket goes back to its first owner with a fresh closure limit."""
    _require_role(actor, "operator", "supervisor", action="重新办理工单")
    before = _check(ticket, "reopen", version)
    if ticket.satisfaction != "dissatisfied":
        raise TicketError("只有回访不满意的工单才能重新办理", code="illegal_transition")
    reason = _text(reason, "重新办理原因", "reason")
    policy = policy_for(ticket.kind, ticket.urgency)
    ticket.state, ticket.reopen_count = "in_progress", Ticket.reopen_count + 1
    ticket.closed_at = ticket.callback_at = ticket.callback_due_at = ticket.satisfaction = None
    ticket.closure_due_at = (calendar or load_calendar()).add_working_days(now, policy.closure_working_days)
    ticket.closure_started_at = now
    ticket.closure_warned_at = ticket.closure_overdue_at = ticket.callback_overdue_at = None
    _record(ticket, "reopen", actor=actor, now=now, before=before, note=reason,
            data={"closure_due_at": ticket.closure_due_at})
    notify([ticket.first_owner_id], ticket, "reopened", f"工单重新办理:{ticket.number}(回访不满意)",
           actor=actor, now=now)
    return ticket


@_guarded
def escalate(*, actor: User, now: datetime, ticket: Ticket, version: Any, note: str) -> Ticket:
    """督办: a supervisor presses a stuck or overdue ticket."""
    _require_role(actor, "supervisor", action="督办")
    before = _check(ticket, "escalate", version)
    note = _text(note, "督办意见", "note", required=True)
    ticket.escalation_count = Ticket.escalation_count + 1
    ticket.escalated_at = now
    _save(ticket, now)
    _record(ticket, "escalate", actor=actor, now=now, before=before, note=note,
            data={"count": ticket.escalation_count})
    notify([ticket.first_owner_id], ticket, "escalated", f"督办:{ticket.number},{clip(note, 80)}", actor=actor, now=now)
    return ticket


@_guarded
def request_extension(*, actor: User, now: datetime, ticket: Ticket, version: Any, days: Any,
                      reason: str) -> TicketRequest:
    """延期: asked for by the first owner before the closure deadline; a supervisor decides."""
    _require_owner(actor, ticket, "申请延期")
    before = _check(ticket, "request_extension", version)
    n = _as_int(days, "延期天数", "days") if days not in (None, "") else None
    if n is None or not 1 <= n <= 30:
        raise TicketError("延期天数应为1到30个工作日", field="days")
    reason = _text(reason, "延期理由", "reason", required=True)
    if ticket.closure_due_at is not None and now >= ticket.closure_due_at:
        raise TicketError("已超过办结时限,不能再申请延期,请联系督查人员", code="too_late")
    req = _new_request(ticket, "extension", actor=actor, now=now, reason=reason, days=n)
    _record(ticket, "request_extension", actor=actor, now=now, before=before, note=reason,
            data={"request_id": req.id, "days": n})
    notify(supervisor_ids(), ticket, "extension_requested", f"延期申请待审批:{ticket.number},{n}个工作日",
           actor=actor, now=now)
    return req


def _new_request(ticket: Ticket, kind: str, *, actor: User, now: datetime, reason: str,
                 days: int | None = None) -> TicketRequest:
    """A request for a supervisor's decision (one pending per kind), saved so its id can go into the event."""
    if ticket.pending_request(kind):
        raise TicketError(f"已有待审批的{REQUEST_KINDS[kind]}申请", code="pending_request")
    req = TicketRequest(kind=kind, reason=reason, days=days, state="pending", requested_by_id=actor.id,
                        requested_at=now)
    ticket.requests.append(req)
    _save(ticket, now)
    return req


def _pending_request(ticket: Ticket, kind: str) -> TicketRequest:
    req = ticket.pending_request(kind)
    if req is None:
        raise TicketError(f"没有待审批的{REQUEST_KINDS[kind]}申请", code="no_request")
    return req


def _settle(req: TicketRequest, approved: bool, *, actor: User, now: datetime, note: str) -> None:
    req.state = "approved" if approved else "rejected"
    req.decided_by_id, req.decided_at, req.decision_note = actor.id, now, note


def _decision(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "approve", "approved", "同意", "批准"):
        return True
    if text in ("0", "false", "no", "reject", "rejected", "不同意", "驳回"):
        return False
    raise TicketError("审批结果应为同意或驳回", field="approved")


@_guarded
def decide_extension(*, actor: User, now: datetime, ticket: Ticket, version: Any, approved: Any = True,
                     note: str = "", calendar: WorkCalendar | None = None) -> Ticket:
    _require_role(actor, "supervisor", action="审批延期")
    before = _check(ticket, "approve_extension", version)
    req = _pending_request(ticket, "extension")
    ok = _decision(approved)
    note = _text(note, "审批意见", "note")
    _settle(req, ok, actor=actor, now=now, note=note)
    data: dict[str, Any] = {"request_id": req.id, "days": req.days}
    if ok:
        old = ticket.closure_due_at or now
        ticket.closure_due_at = (calendar or load_calendar()).add_working_days(old, req.days or 0)
        ticket.closure_warned_at = ticket.closure_overdue_at = None
        data.update({"from": old, "to": ticket.closure_due_at})
    _record(ticket, "approve_extension" if ok else "reject_extension", actor=actor, now=now, before=before,
            note=note, data=data)
    notify([req.requested_by_id], ticket, "extension_decided",
            f"延期申请{'已批准' if ok else '未批准'}:{ticket.number}", actor=actor, now=now)
    return ticket


@_guarded
def request_return(*, actor: User, now: datetime, ticket: Ticket, version: Any, reason: str) -> TicketRequest:
    """退单: the first owner says the ticket is not theirs; only a supervisor can let it go."""
    _require_owner(actor, ticket, "申请退单")
    before = _check(ticket, "request_return", version)
    reason = _text(reason, "退单理由", "reason", required=True)
    req = _new_request(ticket, "return", actor=actor, now=now, reason=reason)
    _record(ticket, "request_return", actor=actor, now=now, before=before, note=reason, data={"request_id": req.id})
    notify(supervisor_ids(), ticket, "return_requested", f"退单申请待审批:{ticket.number}", actor=actor, now=now)
    return req


@_guarded
def decide_return(*, actor: User, now: datetime, ticket: Ticket, version: Any, approved: Any = True,
                  user_id: Any = None, note: str = "") -> Ticket:
    """Approve (with a new owner: 改派; without: back to 待派单) or reject a return request."""
    _require_role(actor, "supervisor", action="审批退单")
    before = _check(ticket, "approve_return", version)
    req = _pending_request(ticket, "return")
    ok = _decision(approved)
    new_owner = _caseworker(user_id) if ok and user_id not in (None, "") else None
    if new_owner is not None and new_owner.id == ticket.first_owner_id:
        raise TicketError("改派对象不能是原首派责任人", field="user_id")
    note = _text(note, "审批意见", "note")
    _settle(req, ok, actor=actor, now=now, note=note)
    old_owner = ticket.first_owner
    data: dict[str, Any] = {"request_id": req.id, "reason": req.reason,
                            "old_owner": _person(old_owner) if old_owner else None}
    if not ok:
        action = "reject_return"
    elif new_owner is not None:
        action = "reassign"
        ticket.first_owner, ticket.unit, ticket.state = new_owner, new_owner.unit, "pending_accept"
        ticket.dispatched_at = now
        data["new_owner"] = _person(new_owner)
    else:
        action = "approve_return"
        ticket.first_owner, ticket.unit, ticket.state = None, None, "pending_dispatch"
    _record(ticket, action, actor=actor, now=now, before=before, note=note, data=data)
    notify([req.requested_by_id], ticket, "return_decided",
            f"退单申请{'已批准' if ok else '未批准'}:{ticket.number}", actor=actor, now=now)
    if new_owner is not None:
        notify([new_owner.id], ticket, "dispatched", f"改派工单待签收:{ticket.number}", actor=actor, now=now)
    return ticket


def _person(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.display_name, "unit_id": user.unit_id}


@_guarded
def add_attachment(*, actor: User, now: datetime, ticket: Ticket, filename: str, stream: IO[bytes],
                   directory: Path, max_bytes: int = MAX_ATTACHMENT_BYTES) -> Attachment:
    """Store an upload under `directory` after checking its size and its real type (magic bytes)."""
    if not can_view(actor, ticket):
        raise Forbidden("您无权为此工单上传附件")
    if not Path((filename or "").replace("\\", "/")).name.strip():
        raise TicketError("请选择要上传的文件", field="file")
    name = safe_filename(filename)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TicketError(f"附件不能超过{max_bytes // (1024 * 1024) or 1}MB", code="too_large", status=413,
                          field="file")
    if not data:
        raise TicketError("文件是空的", field="file")
    kind = sniff(data[:16], data)
    allowed = "、".join(label for _, label in ATTACHMENT_TYPES.values())
    if kind is None:
        raise TicketError(f"不允许的文件类型:只接受{allowed}文件(按文件内容判断)", code="bad_type", field="file")
    if extension_of(name) != kind:
        raise TicketError(f"文件内容({ATTACHMENT_TYPES[kind][1]})与扩展名不符,已拒绝", code="bad_type", field="file")
    before = _snapshot(ticket)
    att = Attachment(filename=name, stored_name=f"{uuid.uuid4().hex}.{kind}",
                     content_type=ATTACHMENT_TYPES[kind][0], size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=actor.id, uploaded_at=now)
    ticket.attachments.append(att)
    _save(ticket, now)
    _record(ticket, "attach", actor=actor, now=now, before=before, note=name,
            data={"attachment_id": att.id, "size": att.size, "sha256": att.sha256})
    # Written last and tied to the transaction: removed again if the request does not commit.
    files.write(attachment_path(att, directory), data)
    return att


def attachment_path(att: Attachment, directory: Path) -> Path:
    return Path(directory) / str(att.ticket_id) / att.stored_name


# --- one entry point for page forms and the API ----------------------------------------------

#: Actions /api/v1/tickets/{id}/actions and the ticket page's forms accept.
ACTIONS = ("accept", "contact", "note", "cohandle", "complete_task", "withdraw_task", "close", "callback", "reopen",
           "escalate", "request_extension", "approve_extension", "request_return", "approve_return")


def run_action(*, actor: User, now: datetime, ticket: Ticket, data: dict[str, Any]) -> Ticket:
    """Apply one named action with its parameters (a JSON body or a form) to a ticket."""
    action = str(data.get("action") or "").strip()

    def text(*names: str) -> str:
        """The first non-empty of these fields, then of the generic ones (note, reason, comment)."""
        for name in (*names, "note", "reason", "comment"):
            if data.get(name) not in (None, ""):
                return str(data[name])
        return ""

    common = {"actor": actor, "now": now, "ticket": ticket, "version": data.get("version")}
    if action == "accept":
        accept(**common)
    elif action == "contact" or (action == "note" and _decision_flag(data.get("contacted"))):
        record_contact(**common, note=text())
    elif action == "note":
        add_note(**common, note=text())
    elif action == "cohandle":
        add_task(**common, unit_id=data.get("unit_id"), user_id=data.get("user_id"),
                 request=text("request", "task") or "请协助办理本工单", days=data.get("days"))
    elif action == "complete_task":
        complete_task(**common, task_id=data.get("task_id"), report=text("report", "result") or "协办事项已办理完毕")
    elif action == "withdraw_task":
        withdraw_task(**common, task_id=data.get("task_id"), reason=text())
    elif action == "close":
        close(**common, resolution=text("resolution", "resolution_note"))
    elif action == "callback":
        callback(**common, satisfaction=_satisfaction(data), note=text())
    elif action == "reopen":
        reopen(**common, reason=text())
    elif action == "escalate":
        escalate(**common, note=text())
    elif action == "request_extension":
        request_extension(**common, days=data.get("days", data.get("working_days")), reason=text())
    elif action == "approve_extension":
        decide_extension(**common, approved=data.get("approved"), note=text())
    elif action == "request_return":
        request_return(**common, reason=text())
    elif action == "approve_return":
        decide_return(**common, approved=data.get("approved"), user_id=data.get("user_id"), note=text())
    else:
        raise TicketError(f"未知操作:{action or '(空)'}(可选:{'、'.join(ACTIONS)})", field="action")
    return ticket


_SATISFACTION_ALIASES = {"unsatisfied": "dissatisfied", "not_satisfied": "dissatisfied",
                         "basically_satisfied": "basic", "basic_satisfied": "basic", "fairly_satisfied": "basic"}


def _satisfaction(data: dict[str, Any]) -> Any:
    value = data.get("satisfaction")
    if value is None and isinstance(data.get("satisfied"), bool):
        return "satisfied" if data["satisfied"] else "dissatisfied"
    return _SATISFACTION_ALIASES.get(str(value).strip().lower(), value) if value is not None else None


def _decision_flag(value: Any) -> bool:
    return value is True or str(value or "").strip().lower() in ("1", "true", "yes", "on")


# --- notifications ----------------------------------------------------------------------------

def notifications_for(user: User, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.execute(query.order_by(Notification.id.desc()).limit(limit)).scalars())


def unread_count(user: User) -> int:
    return session.execute(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).scalar_one()


def mark_read(*, actor: User, now: datetime, notification_id: int | None = None) -> int:
    """Mark one (or all) of one's own unread notifications read: one conditional UPDATE and one audit
    event, so a second click at the same moment changes and records nothing. Returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    ids = sorted(session.execute(stmt.values(read_at=now).returning(Notification.id)).scalars())
    if notification_id is not None and ids:
        audit.record("read", "notification", notification_id, actor=actor, now=now,
                     changes=audit.diff({"read_at": None}, {"read_at": now}))
    elif ids:
        audit.record("read_all", "notification", "", actor=actor, now=now,
                     changes={"read_at": now, "count": len(ids), "ids": ids})
    return len(ids)


def state_label(state: str) -> str:
    return STATES.get(state, state)


def event_summary(event: TicketEvent) -> str:
    """One readable line of what an event's data says (owners, deadlines, satisfaction)."""
    data = event.data
    parts: list[str] = []
    if "owner" in data and data["owner"]:
        parts.append(f"首派责任人:{data['owner']['name']}({data['owner'].get('unit', '')})")
    if data.get("old_owner") and data.get("new_owner"):
        parts.append(f"原责任人:{data['old_owner']['name']} → 新责任人:{data['new_owner']['name']}")
    elif data.get("old_owner") and event.action == "approve_return":
        parts.append(f"原责任人:{data['old_owner']['name']},退回待派单")
    if data.get("reason") and event.action in ("reassign", "approve_return", "reject_return"):
        parts.append(f"退单理由:{data['reason']}")
    if "from" in data and "to" in data:
        parts.append(f"办结时限:{_local(data['from'])} → {_local(data['to'])}")
    if "days" in data and event.action == "request_extension":
        parts.append(f"申请延期{data['days']}个工作日")
    if data.get("unit") and event.action in ("cohandle", "complete_task", "withdraw_task"):
        parts.append(f"协办单位:{data['unit']}")
    if data.get("due_at") and event.action == "cohandle":
        parts.append(f"协办时限:{_local(data['due_at'])}")
    if data.get("satisfaction"):
        parts.append(f"满意度:{SATISFACTION.get(data['satisfaction'], data['satisfaction'])}")
    if data.get("closure_due_at") and event.action == "reopen":
        parts.append(f"新办结时限:{_local(data['closure_due_at'])}")
    if data.get("deadline"):
        parts.append(f"时限:{_local(data['deadline'])}")
    return ";".join(parts)


def _local(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return clock.to_local(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def record_export(*, actor: User, now: datetime, what: str, filters: dict[str, Any], rows: int) -> None:
    """Exports leave a trace: who took which rows out of the system."""
    audit.record("export", what, "", actor=actor, now=now, changes={"filter": filters, "rows": rows})


def export_tickets(*, actor: User, now: datetime, flt: BoardFilter) -> list[Ticket]:
    """Every ticket the board's filter matches, for a spreadsheet (audited)."""
    tickets, total = find_tickets(flt, now=now, limit=None)
    record_export(actor=actor, now=now, what="ticket", filters=flt.as_dict(), rows=total)
    return tickets


def export_metrics(*, actor: User, now: datetime, start: date, end: date) -> dict[str, Any]:
    """The metrics of a period, for a spreadsheet (audited)."""
    figures = metrics.compute(start, end, now)
    record_export(actor=actor, now=now, what="ticket_metrics", filters={"from": start.isoformat(), "to": end.isoformat()},
                  rows=figures["calls"]["total"] + figures["tickets"]["total"])
    return figures
