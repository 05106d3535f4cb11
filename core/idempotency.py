"""Idempotency keys of changing API requests: the first request with a key does the work and its answer
is kept (in the same transaction as the work); a retry with the same key and the same request gets the
kept answer; the same key with a different request is refused. Keys are forgotten after RETENTION."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core.db import session
from core.errors import DomainError
from core.models import IdempotencyKey, User

RETENTION = timedelta(days=7)
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,100}$")


class InFlight(Exception):
    """Another request with the same key holds it (on PostgreSQL: committed while this one waited)."""


@dataclass(frozen=True)
class Kept:
    status: int
    content_type: str
    body: str


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise DomainError("Idempotency-Key 须为1至100个可见ASCII字符", code="bad_idempotency_key", status=400)
    return key


def begin(*, user: User, key: str, fingerprint: str, now: datetime) -> IdempotencyKey | Kept:
    """The kept answer for a repeated request, or the new key row that the answer will be kept in.

    Raises InFlight when a concurrent request inserted the same key first (the caller rolls back and asks
    `kept` again), and a DomainError when the key was used for a different request."""
    row = _find(user, key)
    if row is None:
        row = IdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint, status=0, content_type="",
                             body="", created_at=now)
        session.add(row)
        try:
            session.flush()
        except IntegrityError as err:
            raise InFlight(key) from err
        return row
    return _answer(row, fingerprint)


def kept(*, user: User, key: str, fingerprint: str) -> Kept | None:
    """After InFlight and a rollback: the other request's kept answer, or None if it is still running."""
    row = _find(user, key)
    return None if row is None else _answer(row, fingerprint)


def _find(user: User, key: str) -> IdempotencyKey | None:
    return session.execute(select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                        IdempotencyKey.key == key)).scalar_one_or_none()


def _answer(row: IdempotencyKey, fingerprint: str) -> Kept:
    if row.fingerprint != fingerprint:
        raise DomainError("该 Idempotency-Key 已用于另一个请求，请为新请求换一个键", code="idempotency_key_reused",
                          status=422)
    if row.status == 0:
        raise DomainError("同一请求正在处理，请稍后重试", code="idempotency_in_progress", status=409)
    return Kept(row.status, row.content_type, row.body)


def settle(row: IdempotencyKey, *, status: int, content_type: str, body: str) -> None:
    """Keep the answer of the request that did the work (committed with it)."""
    row.status, row.content_type, row.body = status, content_type[:100], body
    session.flush()


def purge(*, now: datetime) -> int:
    return session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - RETENTION)).rowcount
