"""Builders for the tickets tests: a ticket in any state with one call, override what the test is about."""

from __future__ import annotations

import io
import itertools
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from core import clock
from core.db import session
from core.models import Unit, User
from tests.builders import make_user, some_unit
from tickets import calls, services
from tickets.models import Call, Task, Ticket
from tickets.validation import id_check_digit

_seq = itertools.count(1)
PDF = b"%PDF-1.4\n" + b"0" * 100


def valid_id_number(first17: str = "23120219800101123") -> str:
    return first17 + id_check_digit(first17)


def township(n: int = 0) -> Unit:
    return session.execute(select(Unit).where(Unit.level == "township").order_by(Unit.id)
                           .offset(n).limit(1)).scalar_one()


def department(name_part: str = "医疗保障局") -> Unit:
    return session.execute(select(Unit).where(Unit.kind == "department", Unit.name.contains(name_part))).scalar_one()


def make_caseworker(unit: Unit | None = None, **overrides) -> User:
    return make_user("caseworker", unit_id=(unit or some_unit("county")).id, **overrides)


def make_entry(entry_id: str = "Q901", category: str = "最低生活保障"):
    """A published KB entry (the tickets tests do not depend on the bundled knowledge base)."""
    from kb.models import Entry

    entry = session.get(Entry, entry_id)
    if entry is None:
        now = clock.now()
        entry = Entry(id=entry_id, category=category, question=f"测试问题{entry_id}", answer="测试答复口径。",
                      level="市", status="published", created_at=now, updated_at=now)
        session.add(entry)
        session.flush()
    return entry


def make_call(operator: User | None = None, **overrides) -> Call:
    values = {"caller_number": f"138{next(_seq):08d}", "outcome": "answered", "question": "低保怎么申请",
              "duration_seconds": 120}
    values.update(overrides)
    return calls.record_call(actor=operator or make_user("operator"), now=values.pop("now", clock.now()),
                             **values)


def make_ticket(state: str = "pending_dispatch", *, owner: User | None = None, operator: User | None = None,
                now: datetime | None = None, **overrides) -> Ticket:
    """A ticket moved on to `state` (pending_dispatch, pending_accept, in_progress, pending_callback, closed)."""
    now = now or clock.now()
    operator = operator or make_user("operator")
    values = {"kind": "help", "urgency": "normal", "citizen_name": "张三", "citizen_phone": "13812345678",
              "citizen_id_number": valid_id_number(), "township_id": township().id,
              "description": "低保金两个月没到账", "topic": "最低生活保障"}
    values.update(overrides)
    ticket = services.create_ticket(actor=operator, now=now, **values)
    order = ["pending_dispatch", "pending_accept", "in_progress", "pending_callback", "closed"]
    target = order.index(state)
    if target >= 1:
        owner = owner or make_caseworker()
        services.dispatch(actor=operator, now=now, ticket=ticket, user_id=owner.id, version=ticket.version)
    if target >= 2:
        services.accept(actor=owner, now=now, ticket=ticket, version=ticket.version)
    if target >= 3:
        services.close(actor=owner, now=now, ticket=ticket, version=ticket.version, resolution="已核实并补发")
    if target >= 4:
        services.callback(actor=operator, now=now, ticket=ticket, version=ticket.version, satisfaction="satisfied")
    return ticket


def make_task(ticket: Ticket, unit: Unit | None = None, **overrides) -> Task:
    """A co-handling task the ticket's first owner asked of `unit` (the 医疗保障局 by default)."""
    values = {"unit_id": (unit or department()).id, "request": "核实"}
    values.update(overrides)
    return services.add_task(actor=ticket.first_owner, now=values.pop("now", clock.now()), ticket=ticket,
                             version=ticket.version, **values)


def attach(ticket: Ticket, directory: Path, filename: str = "证明.pdf", data: bytes = PDF, **overrides):
    """An upload to the ticket by its first owner, stored under `directory`."""
    return services.add_attachment(actor=ticket.first_owner, now=clock.now(), ticket=ticket, filename=filename,
                                   stream=io.BytesIO(data), directory=directory, **overrides)
