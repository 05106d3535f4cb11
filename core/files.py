"""Uploaded files that live and die with the database transaction that recorded them.

A file written during a transaction is kept when that transaction commits and removed when it ends
any other way (rolled back, or its session closed), so a request that fails after the write leaves
no orphan on disk.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from core.db import session

_PENDING = "core.files.pending"


def write(path: Path, data: bytes) -> None:
    """Write `data` at `path` for the current transaction (under a temporary name first, so never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    session.info.setdefault(_PENDING, []).append(path)


@event.listens_for(Session, "after_commit")
def _keep(sess: Session) -> None:
    # A released savepoint is no commit: the transaction around it may still roll back.
    if not sess.in_nested_transaction():
        sess.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _discard(sess: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for path in sess.info.pop(_PENDING, []):
            path.unlink(missing_ok=True)
