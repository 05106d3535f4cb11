"""Builders for audit tests: events, checkpoints, and an attacker with full rights on the database."""

from __future__ import annotations

import hashlib

from sqlalchemy import select, text

from audit import services as audit
from audit.models import AuditEvent, AuditHead
from core import clock


def record_events(n: int = 3, entity_type: str = "thing") -> list[AuditEvent]:
    return [audit.record("update", entity_type, i, actor=None, now=clock.now(), changes={"after": {"n": i}})
            for i in range(n)]


def publish_checkpoint(db, reason: str = "test") -> audit.Checkpoint:
    """A checkpoint as the scheduler or a notice publishes it: after the commit."""
    audit.checkpoint_on_commit(reason, clock.now())
    db.commit()
    return audit.latest_checkpoint()


def as_database_owner(db) -> None:
    """From here on act as a database owner or superuser, who can step around PostgreSQL's append-only
    triggers (session_replication_role skips them): what is left to catch tampering is the MAC and the
    checkpoints. Ends with the test's transaction."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL session_replication_role = replica"))


def events(db) -> list[AuditEvent]:
    return list(db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())


def sha256_of(db, event_id: int) -> str:
    """The unkeyed hash an attacker can compute for a row as it now stands (what the old chain used)."""
    db.expire_all()
    return audit._legacy_hash(db.get(AuditEvent, event_id))


def set_head(db, seq: int, hash_: str) -> None:
    db.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": hash_})
    db.expire_all()


def head(db) -> AuditHead:
    db.expire_all()
    return db.get(AuditHead, 1)


def plain_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
