"""The ticket lifecycle under first-owner responsibility: the only code that changes tickets.

Every service takes the acting user and the time, validates, changes rows, writes the ticket's
timeline event and the audit event in the same transaction, and flushes; the caller commits.
A ticket change is an UPDATE … WHERE version = the version the client saw, so a stale client
gets a Conflict and changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from audit import services as audit
from core import clock, files
from core.calendar import WorkCalendar, load_calendar
from core.choices import choose
from core.db import session
from core.errors import Conflict, Forbidden
from core.masking import clip, mask_id_number, mask_phone
from core.models import Unit, User
from core.uploads import safe_filename
from eligibility import services as eligibility
from tickets import metrics
from tickets.calls import get_call
from tickets.models import (
    KINDS,
    OPEN_STATES,
    REQUEST_KINDS,
    SATISFACTION,
    URGENCIES,
    Attachment,
    Notification,
    Task,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketRequest,
)
from tickets.policy import callback_due, deadlines_for, limit_due, policy_for
from tickets.queries import can_view, is_unit_staff
from tickets.validation import (
    ATTACHMENT_TYPES,
    StaleVersion,
    TicketError,
    check_id_number,
    clean_text,
    extension_of,
    normalize_phone,
    sniff,
)

_STALE = "工单已被他人修改,请刷新后重试"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
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
    the row has its id when the data is built. The event's data also keeps the version the change made,
    so a sender refused for a stale version is told which events came after theirs (tickets.changes).
    """
    _save(ticket, now)
    after = _snapshot(ticket)
    moved = before.get("state") != ticket.state
    event = TicketEvent(at=now, actor_id=actor.id if actor else None,
                        actor_name=actor.display_name if actor else "系统", action=action,
                        from_state=before.get("state") if moved else None, to_state=ticket.state if moved else None,
                        note=note, data_json=audit.canonical({**(data or {}), "version": ticket.version}))
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
                  calendar: WorkCalendar | None = None, route: bool = True) -> Ticket:
    """Open a ticket (optionally from a call, optionally dispatching it at once) with its uploaded files
    ((name, stream) pairs stored under `directory`): one bad file refuses the whole ticket. Without an
    owner and with `route`, a matter outside the dispatch catalogue is sent to the supervisors' desk."""
    _require_role(actor, "operator", "supervisor", action="创建工单")
    kind = _choice(kind, KINDS, "工单类型", "kind")
    urgency = _choice(urgency, URGENCIES, "紧急程度", "urgency")
    call = get_call(_as_int(call_id, "来电记录", "call_id")) if call_id not in (None, "") else None
    name = clean_text(citizen_name, "群众姓名", "citizen_name", required=True, limit=50)
    if not (citizen_phone or "").strip() and call is not None:
        citizen_phone = call.caller_number  # "same as the caller": operators only ever see it masked
    phone = normalize_phone(citizen_phone, field="citizen_phone", label="联系电话")
    id_number = check_id_number(citizen_id_number)
    township = _township(township_id)
    description = clean_text(description, "诉求内容", "description", required=True)
    topic = clean_text(topic, "问题类别", "topic", limit=50)
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
    eligibility.carry_into_ticket(actor=actor, now=now, ticket=ticket)  # the call's 初步研判, if one was saved
    if owner is not None:
        _dispatch(ticket, owner, actor=actor, now=now, note="")
    elif route:
        from tickets import catalogue  # the catalogue dispatches through this module

        catalogue.route_new(ticket, actor=actor, now=now)
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
    seen = _as_int(version, "版本号", "version")
    if seen != ticket.version:
        raise StaleVersion(f"{_STALE}(当前版本为{ticket.version})", ticket_id=ticket.id, seen_version=seen)
    from tickets import actions  # the state machine's table names these services: imported at call time

    allowed = actions.allowed_from(action)
    if allowed is not None and ticket.state not in allowed:
        raise TicketError(f"工单当前状态为“{ticket.state_label}”,不能{actions.label(action)}",
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
    _dispatch(ticket, owner, actor=actor, now=now, note=clean_text(note, "派单说明", "note"))
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
    note = clean_text(note, "联系情况", "note")
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
    note = clean_text(note, "办理记录", "note", required=True)
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
    request = clean_text(request, "协办事项", "request", required=True)
    before = _check(ticket, "cohandle", version)
    if days in (None, ""):
        due = ticket.closure_due_at or (calendar or load_calendar()).due_after(now, 3)
    else:
        n = _as_int(days, "协办时限", "days")
        if not 1 <= n <= 60:
            raise TicketError("协办时限应为1到60个工作日", field="days")
        due = (calendar or load_calendar()).due_after(now, n)
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
    report = clean_text(report, "协办结果", "report", required=True)
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
    reason = clean_text(reason, "撤回原因", "reason", required=True)
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
    resolution = clean_text(resolution, "办结情况", "resolution", required=True)
    if ticket.open_tasks:
        units = "、".join(t.unit.name for t in ticket.open_tasks)
        raise TicketError(f"还有{len(ticket.open_tasks)}项协办任务未反馈或撤回({units}),不能办结",
                          code="open_tasks")
    ticket.state, ticket.resolution, ticket.closed_at = "pending_callback", resolution, now
    ticket.callback_at, ticket.callback_overdue_at = None, None
    ticket.callback_due_at = callback_due(now, ticket.kind, ticket.urgency, calendar or load_calendar())
    _record(ticket, "close", actor=actor, now=now, before=before, note=resolution,
            data={"on_time": ticket.closure_due_at is None or now <= ticket.closure_due_at})
    return ticket


@_guarded
def callback(*, actor: User, now: datetime, ticket: Ticket, version: Any, satisfaction: Any,
             note: str = "") -> Ticket:
    """回访 (GB/T 33358): satisfied or basically satisfied finishes the ticket; dissatisfied, with its reason,
    goes to the supervisors as a request to reopen it, which one of them decides (`decide_reopen`)."""
    _require_role(actor, "operator", "supervisor", action="回访")
    if ticket.state in OPEN_STATES:
        raise TicketError("工单尚未办结,不能回访", code="illegal_transition")
    before = _check(ticket, "callback", version)
    satisfaction = _choice(satisfaction, SATISFACTION, "满意度", "satisfaction")
    dissatisfied = satisfaction == "dissatisfied"
    note = clean_text(note, "不满意的原因" if dissatisfied else "回访情况", "note", required=dissatisfied)
    if dissatisfied and ticket.pending_request("reopen"):
        raise TicketError("该工单已有待审定的重新办理申请", code="pending_request")
    ticket.satisfaction, ticket.callback_at = satisfaction, now
    if not dissatisfied:
        ticket.state, ticket.finished_at = "closed", now
        _record(ticket, "callback", actor=actor, now=now, before=before, note=note,
                data={"satisfaction": satisfaction})
        return ticket
    req = _new_request(ticket, "reopen", actor=actor, now=now, reason=note)
    _record(ticket, "callback", actor=actor, now=now, before=before, note=note,
            data={"satisfaction": satisfaction, "request_id": req.id})
    notify([ticket.first_owner_id, *supervisor_ids()], ticket, "dissatisfied",
           f"回访不满意：{ticket.number}，请督查人员审定是否重新办理", actor=actor, now=now)
    return ticket


@_guarded
def decide_reopen(*, actor: User, now: datetime, ticket: Ticket, version: Any, approved: Any = True,
                  note: str = "", calendar: WorkCalendar | None = None) -> Ticket:
    """A supervisor decides a dissatisfied callback: reopen (back to the first owner with a fresh closure
    limit) or not (the ticket is finished, the dissatisfaction stays on record)."""
    _require_role(actor, "supervisor", action="审定重新办理")
    before = _check(ticket, "decide_reopen", version)
    req = _pending_request(ticket, "reopen")
    ok = _decision(approved)
    note = clean_text(note, "审定意见", "note", required=not ok)
    _settle(req, ok, actor=actor, now=now, note=note)
    if not ok:
        ticket.state, ticket.finished_at = "closed", now
        _record(ticket, "reject_reopen", actor=actor, now=now, before=before, note=note,
                data={"request_id": req.id, "reason": req.reason})
        return ticket
    _reopen(ticket, now, calendar or load_calendar())
    _record(ticket, "reopen", actor=actor, now=now, before=before, note=note or req.reason,
            data={"request_id": req.id, "closure_due_at": ticket.closure_due_at})
    notify([ticket.first_owner_id], ticket, "reopened", f"工单重新办理：{ticket.number}（回访不满意）",
           actor=actor, now=now)
    return ticket


def _reopen(ticket: Ticket, now: datetime, calendar: WorkCalendar) -> None:
    """Back to the first owner with a fresh closure limit counted from now."""
    policy = policy_for(ticket.kind, ticket.urgency)
    ticket.state, ticket.reopen_count = "in_progress", Ticket.reopen_count + 1
    ticket.closed_at = ticket.callback_at = ticket.callback_due_at = ticket.satisfaction = None
    ticket.closure_due_at = limit_due(now, policy.closure_amount, policy.closure_unit, calendar)
    ticket.closure_started_at = now
    ticket.closure_warned_at = ticket.closure_overdue_at = ticket.callback_overdue_at = None


@_guarded
def escalate(*, actor: User, now: datetime, ticket: Ticket, version: Any, note: str) -> Ticket:
    """督办: a supervisor presses a stuck or overdue ticket."""
    _require_role(actor, "supervisor", action="督办")
    before = _check(ticket, "escalate", version)
    note = clean_text(note, "督办意见", "note", required=True)
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
    reason = clean_text(reason, "延期理由", "reason", required=True)
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
    note = clean_text(note, "审批意见", "note")
    _settle(req, ok, actor=actor, now=now, note=note)
    data: dict[str, Any] = {"request_id": req.id, "days": req.days}
    if ok:
        old = ticket.closure_due_at or now
        ticket.closure_due_at = (calendar or load_calendar()).due_after(old, req.days or 0)
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
    reason = clean_text(reason, "退单理由", "reason", required=True)
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
    note = clean_text(note, "审批意见", "note")
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


# --- notifications ----------------------------------------------------------------------------

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


# --- exports ----------------------------------------------------------------------------------

def record_export(*, actor: User, now: datetime, what: str, filters: dict[str, Any], rows: int) -> None:
    """Exports leave a trace: who took which rows out of the system."""
    audit.record("export", what, "", actor=actor, now=now, changes={"filter": filters, "rows": rows})


def export_metrics(*, actor: User, now: datetime, start: date, end: date) -> dict[str, Any]:
    """The metrics of a period, for a spreadsheet (audited)."""
    figures = metrics.compute(start, end, now)
    record_export(actor=actor, now=now, what="ticket_metrics", filters={"from": start.isoformat(), "to": end.isoformat()},
                  rows=figures["calls"]["total"] + figures["tickets"]["total"])
    return figures
