"""Writing and checking the audit trail. Every domain change records its event here, in its own transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from audit.models import AuditEvent, AuditHead
from core.db import session

GENESIS = "0" * 64


@dataclass(frozen=True)
class Origin:
    """Where a change came from: set by the request, CLI command or job that runs the service."""

    request_id: str = ""
    client_addr: str = ""


_origin: ContextVar[Origin] = ContextVar("audit_origin", default=Origin())  # noqa: B039 (frozen)


@contextmanager
def origin(request_id: str, client_addr: str) -> Iterator[None]:
    token = _origin.set(Origin(request_id, client_addr))
    try:
        yield
    finally:
        _origin.reset(token)


def set_origin(request_id: str, client_addr: str) -> None:
    _origin.set(Origin(request_id, client_addr))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def canonical(data: Any) -> str:
    return json.dumps(_plain(data), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that changed, as {"before": {...}, "after": {...}}."""
    keys = [k for k in after if _plain(before.get(k)) != _plain(after.get(k))]
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after.get(k) for k in keys}}


def _event_hash(ev: AuditEvent) -> str:
    body = canonical({
        "seq": ev.seq,
        "at": ev.at.isoformat(),
        "actor_id": ev.actor_id,
        "actor_name": ev.actor_name,
        "actor_role": ev.actor_role,
        "action": ev.action,
        "entity_type": ev.entity_type,
        "entity_id": ev.entity_id,
        "changes": ev.changes,
        "request_id": ev.request_id,
        "client_addr": ev.client_addr,
        "prev_hash": ev.prev_hash,
    })
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(
    action: str,
    entity_type: str,
    entity_id: Any = "",
    *,
    actor: Any,
    now: datetime,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (flushes, never commits).

    `actor` is a User, or None for the system or an anonymous caller.
    """
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    src = _origin.get()
    ev = AuditEvent(
        seq=head.seq + 1,
        at=now,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", "") or "",
        actor_role=getattr(actor, "role", "") or "",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id if entity_id is not None else ""),
        changes=canonical(changes or {}),
        request_id=src.request_id,
        client_addr=src.client_addr,
        prev_hash=head.hash,
    )
    ev.hash = _event_hash(ev)
    head.seq, head.hash = ev.seq, ev.hash
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def verify(db: Session | None = None) -> VerifyResult:
    """Recompute the chain; report the first event whose content, link or position is wrong."""
    db = db or session
    prev_hash, expected_seq, count = GENESIS, 1, 0
    rows = db.execute(
        select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id).execution_options(yield_per=2000)
    ).scalars()
    for ev in rows:
        count += 1
        if ev.seq != expected_seq:
            return VerifyResult(False, count, ev.seq, ev.id,
                                f"expected position {expected_seq}, found {ev.seq} (an event was removed or moved)")
        if ev.prev_hash != prev_hash:
            return VerifyResult(False, count, ev.seq, ev.id, "link to the previous event does not match")
        if _event_hash(ev) != ev.hash:
            return VerifyResult(False, count, ev.seq, ev.id, "content does not match its hash (the row was changed)")
        prev_hash, expected_seq = ev.hash, expected_seq + 1
        db.expunge(ev)
    head = db.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return VerifyResult(False, count, head.seq, None,
                            f"the chain ends at event {expected_seq - 1} but its head records {head.seq} (events were removed)")
    return VerifyResult(True, count)


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(*_args: Any) -> None:
    raise PermissionError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(*_args: Any) -> None:
    raise PermissionError("audit events are append-only")


@dataclass(frozen=True)
class EventFilter:
    actor: str = ""
    entity_type: str = ""
    entity_id: str = ""
    action: str = ""
    start: datetime | None = None
    end: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}


def find_events(flt: EventFilter, *, limit: int | None = 100, offset: int = 0) -> tuple[list[AuditEvent], int]:
    """Events matching the filter, newest first, and the total count."""
    query = select(AuditEvent)
    if flt.actor:
        query = query.where(AuditEvent.actor_name == flt.actor.strip().lower())
    if flt.entity_type:
        query = query.where(AuditEvent.entity_type == flt.entity_type)
    if flt.entity_id:
        query = query.where(AuditEvent.entity_id == flt.entity_id.strip())
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.start:
        query = query.where(AuditEvent.at >= flt.start)
    if flt.end:
        query = query.where(AuditEvent.at < flt.end)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(AuditEvent.seq.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars()), total


def distinct_values(column: str) -> list[str]:
    col = getattr(AuditEvent, column)
    return [v for (v,) in session.execute(select(col).distinct().order_by(col)) if v]


def export_rows(flt: EventFilter, *, actor: Any, now: datetime) -> list[list[Any]]:
    """The filtered events as CSV rows (header first); the export itself is recorded."""
    from core.clock import to_local

    events, total = find_events(flt, limit=None)
    record("export", "audit_event", "", actor=actor, now=now, changes={"filter": flt.as_dict(), "rows": total})
    rows = [["序号", "时间(北京时间)", "操作人", "角色", "操作", "对象类型", "对象编号", "变更内容", "请求编号",
             "客户端地址", "哈希"]]
    for ev in events:
        rows.append([ev.seq, to_local(ev.at).strftime("%Y-%m-%d %H:%M:%S"), ev.actor_name, ev.actor_role,
                     ev.action, ev.entity_type, ev.entity_id, ev.changes, ev.request_id, ev.client_addr, ev.hash])
    return rows
