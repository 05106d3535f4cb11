"""The audit trail: an append-only list of events chained by an HMAC whose key is kept outside the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the chain, 1, 2, 3 … without gaps; unique so a fork cannot be stored.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(50))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    #: Canonical JSON of {"before": {...}, "after": {...}, ...} for the changed fields.
    changes: Mapped[str] = mapped_column(Text, default="{}")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    client_addr: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of the event's fields and prev_hash under the audit key (plain SHA-256 for events
    #: written before the key existed, sealed by a later "seal" event).
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
        Index("ix_audit_event_at", "at"),
        # The audit page's filters, each with the chain position it pages by (newest first).
        Index("ix_audit_event_actor_seq", "actor_id", "seq"),
        Index("ix_audit_event_action_seq", "action", "seq"),
        Index("ix_audit_event_entity_type_seq", "entity_type", "seq"),
    )


class AuditHead(Base):
    """The chain's last link, one row; locking it orders concurrent writers. On PostgreSQL a trigger lets
    it move only forward, one event at a time, and refuses its deletion."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    #: False while the chain ends in events written before the audit key: the next write seals them.
    keyed: Mapped[bool] = mapped_column(default=True, server_default=true())
