"""Reading tickets and who may see what: visibility, masking by role, the board, lists and suggestions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from core import clock
from core.calendar import WorkCalendar, load_calendar
from core.db import session
from core.errors import Forbidden, NotFound
from core.masking import mask_id_number, mask_numbers, mask_phone
from core.models import Unit, User
from tickets.models import OPEN_STATES, Attachment, Call, Notification, Task, Ticket
from tickets.validation import phone_digits


def get_ticket(ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"工单不存在:{ticket_id}")
    return ticket


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


#: What a list of tickets shows of each (township, unit, first owner, pending requests), loaded for the
#: whole page in one query each instead of one per row.
LIST_LOADS = (selectinload(Ticket.township), selectinload(Ticket.unit), selectinload(Ticket.first_owner),
              selectinload(Ticket.requests))


def board_query(flt: BoardFilter, *, now: datetime) -> Select:
    """The tickets the board's filter matches, unordered."""
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
    return query


def count_board(flt: BoardFilter, *, now: datetime) -> int:
    query = board_query(flt, now=now)
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def iter_board(flt: BoardFilter, *, now: datetime, chunk: int = 500) -> Iterator[list[Ticket]]:
    """The board's tickets in its order, a chunk at a time (keyset paging on creation time and id, so the
    last chunk costs what the first does); each chunk is let go of before the next is read."""
    query = board_query(flt, now=now).order_by(Ticket.created_at.desc(), Ticket.id.desc()).options(*LIST_LOADS)
    after: tuple[datetime, int] | None = None
    while True:
        page = query if after is None else query.where(or_(Ticket.created_at < after[0], and_(
            Ticket.created_at == after[0], Ticket.id < after[1])))
        tickets = list(session.execute(page.limit(chunk)).scalars())
        if not tickets:
            return
        yield tickets
        after = (tickets[-1].created_at, tickets[-1].id)
        for ticket in tickets:
            for req in ticket.requests:
                session.expunge(req)
            session.expunge(ticket)


def find_tickets(flt: BoardFilter, *, now: datetime, limit: int | None = 200, offset: int = 0
                 ) -> tuple[list[Ticket], int]:
    query = board_query(flt, now=now)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).offset(offset).options(*LIST_LOADS)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars()), total


def count_overdue(now: datetime) -> int:
    return session.execute(select(func.count()).select_from(Ticket).where(overdue_clause(now))).scalar_one()


def my_tickets(user: User, now: datetime) -> tuple[list[Ticket], list[Ticket]]:
    """(first-owned, co-handled) tickets not yet finished, overdue first, then by the nearest deadline."""
    owned = session.execute(select(Ticket).where(Ticket.first_owner_id == user.id,
                                                 Ticket.state.not_in(("closed", "merged")))).scalars().all()
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
             .where(or_(Ticket.citizen_phone == value, Call.caller_number == value),
                    Ticket.state.not_in(("closed", "merged")))
             .order_by(Ticket.created_at.desc()))
    return list(session.execute(query).scalars().unique())


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


def notifications_for(user: User, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.execute(query.order_by(Notification.id.desc()).limit(limit)).scalars())


def unread_count(user: User) -> int:
    return session.execute(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).scalar_one()
