"""What changed on a ticket since a version someone loaded: told to the person whose change was refused
for a stale version, so the text they typed is kept and they see what happened meanwhile."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import clock, humanize
from core.db import session
from core.models import User
from tickets import actions, presenters, queries
from tickets.models import Ticket, TicketEvent


def people_by_id(ids: Iterable[int | None]) -> dict[int, User]:
    """The people these ids name, with their units, in one query (timelines show name and unit)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    found = session.execute(select(User).where(User.id.in_(wanted)).options(selectinload(User.unit))).scalars()
    return {u.id: u for u in found}


def events_since(ticket: Ticket, version: int) -> list[TicketEvent]:
    """The timeline events that moved the ticket past `version` (each event keeps the version it made)."""
    return [e for e in ticket.events if int(e.data.get("version") or 0) > version]


def _who(event: TicketEvent, people: dict[int, User]) -> str:
    user = people.get(event.actor_id or 0)
    if user is None:
        return event.actor_name or "系统"
    return f"{user.display_name}（{user.unit.name}）" if user.unit else user.display_name


def describe(event: TicketEvent, viewer: User | None, ticket: Ticket, people: dict[int, User]) -> str:
    """One line a person reads: 张三（民政局）于12月6日（星期日）10:42发起协办：协办单位：医疗保障局。"""
    local = clock.to_local(event.at)
    line = f"{_who(event, people)}于{humanize.month_day(local.date())} {local:%H:%M}{actions.label(event.action)}"
    detail = "；".join(part for part in (presenters.event_summary(event), event.note) if part)
    if detail:
        line += f"：{queries.text_for(viewer, detail, ticket)}"
    return line + "。"


def since_json(ticket: Ticket, version: int, viewer: User | None) -> dict[str, Any]:
    """The refused sender's view: the version they had, the current one, and each change since (masked
    for the viewer like the rest of the ticket)."""
    events = events_since(ticket, version)
    people = people_by_id(e.actor_id for e in events)
    return {
        "your_version": version, "current_version": ticket.version,
        "changes": [{"id": e.id, "at": presenters.iso(e.at), "action": e.action, "label": actions.label(e.action),
                     "actor": {"id": e.actor_id, "name": e.actor_name,
                               "unit": people[e.actor_id].unit.name if e.actor_id in people
                               and people[e.actor_id].unit else ""},
                     "text": describe(e, viewer, ticket, people)} for e in events],
    }
