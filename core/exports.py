"""Exports too large to write inside a request: the request queues one, a scheduler writes it into the
export folder, the person who asked watches its progress and downloads the file.

Written in a request, a 50,000-ticket workbook held a worker for 18 s and ~700 MB, and two at once kept an
operator's search waiting 11 s. Here a request only counts the rows and records the export in the audit
trail; small exports (up to EXPORT_INLINE_ROWS) are still written at once, larger ones are queued. Every
host's scheduler takes queued exports (a conditional update claims each for one of them), writes a chunk
of rows at a time in a read-only transaction and reports progress through a short transaction of its own.
The folder (by default `exports/` in the upload folder) must be shared by every host, like the uploads.

Areas register what they export (`Kind`, listed in composition.EXPORTS): how to count and record it, and
how to write it into a binary file, reporting the rows written so far.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from core import clock, config, db
from core.db import session
from core.errors import DomainError
from core.models import Export, User
from core.scheduler import HOST

log = logging.getLogger(__name__)

#: A run whose heartbeat is older than this is taken to have died with its host, and is queued again.
STALLED = timedelta(minutes=3)
#: Finished exports (and their files) are kept this long.
KEEP = timedelta(days=7)
#: At most this many exports per scheduler run, so other jobs are not held up for long.
PER_RUN = 3
#: How much lower than the web workers' the CPU priority of writing an export is (niceness added): on a
#: busy host the search an operator waits on mid-call comes first, the file a little later.
NICENESS = 10
#: After each chunk the writer also pauses for this share of the time it has just worked, leaving the CPU
#: idle between chunks (an export of 50,000 tickets takes that much longer; nobody waits on it mid-call).
PAUSE_SHARE = 1.0

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Kind:
    name: str
    #: What the file holds, in the export list and the file name (工单台账).
    label: str
    extension: str
    mimetype: str
    roles: tuple[str, ...]
    #: (params, viewer, now) → (the frozen parameters to write with, the row count); records the export in
    #: the audit trail, in the request's transaction.
    prepare: Callable[[dict[str, Any], User, datetime], tuple[dict[str, Any], int]]
    #: (frozen params, viewer, the time it was asked, binary file, progress) → rows written. Reads in the
    #: current transaction; for a queued export that is a read-only one begun by the runner.
    write: Callable[[dict[str, Any], User, datetime, IO[bytes], Progress], int]


class ExportError(DomainError):
    pass


@dataclass
class Requested:
    """What asking for an export gave: the file at once (small), or a queued export to watch."""

    kind: Kind
    filename: str
    file: IO[bytes] | None = None
    export: Export | None = None


def kinds() -> dict[str, Kind]:
    return current_app.extensions["hotline.exports"]


def export_dir() -> Path:
    folder = Path(current_app.config["EXPORT_DIR"] or config.upload_dir(current_app.config, "exports"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _kind(name: str, actor: User) -> Kind:
    kind = kinds().get(name)
    if kind is None:
        raise ExportError("没有这种导出", code="not_found", status=404)
    if not actor.has_role(*kind.roles):
        raise ExportError("您的角色不能导出此内容", code="forbidden", status=403)
    return kind


def _filename(kind: Kind, now: datetime) -> str:
    return f"{kind.label}-{clock.to_local(now):%Y%m%d-%H%M}.{kind.extension}"


def request_export(*, actor: User, now: datetime, kind: str, params: dict[str, Any]) -> Requested:
    """Count and record an export; write it at once when small, queue it otherwise."""
    found = _kind(kind, actor)
    frozen, total = found.prepare(params, actor, now)
    name = _filename(found, now)
    if total <= current_app.config["EXPORT_INLINE_ROWS"]:
        out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (the response closes it)
        found.write(frozen, actor, now, out, lambda _rows: None)
        out.seek(0)
        return Requested(found, name, file=out)
    export = Export(kind=found.name, params_json=json.dumps(frozen, ensure_ascii=False), state="queued",
                    total_rows=total, filename=name, requested_by_id=actor.id, requested_at=now)
    session.add(export)
    session.flush()
    return Requested(found, name, export=export)


def exports_of(user: User, *, limit: int = 50) -> list[Export]:
    return list(session.execute(select(Export).where(Export.requested_by_id == user.id)
                                .order_by(Export.id.desc()).limit(limit)).scalars())


def export_for(user: User, export_id: int) -> Export:
    """An export its requester (or an admin) may see."""
    export = session.get(Export, export_id)
    if export is None or (export.requested_by_id != user.id and user.role != "admin"):
        raise ExportError("没有找到这个导出文件（只能查看自己申请的导出）", code="not_found", status=404)
    return export


def file_of(export: Export) -> Path:
    if export.state != "done" or not export.stored_name:
        raise ExportError(f"导出文件尚未生成（{export.state_label}）", code="not_ready", status=409)
    path = export_dir() / export.stored_name
    if not path.is_file():
        raise ExportError("导出文件已被清理，请重新导出", code="gone", status=410)
    return path


def as_json(export: Export) -> dict[str, Any]:
    return {"id": export.id, "kind": export.kind, "filename": export.filename, "state": export.state,
            "state_label": export.state_label, "total_rows": export.total_rows, "done_rows": export.done_rows,
            "percent": export.percent, "size": export.size, "error": export.error,
            "requested_at": clock.to_local(export.requested_at).isoformat(),
            "finished_at": clock.to_local(export.finished_at).isoformat() if export.finished_at else None}


# --- the runner (a scheduled job on every host) ---------------------------------------------------------

def run_pending(now: datetime) -> str:
    """Queue stalled runs again, write queued exports (a few per run), forget old ones. Commits itself:
    progress must be visible while a file is written, so this job is not one transaction."""
    if not _anything_to_do(now):
        return ""
    requeued = _requeue_stalled(now)
    written = failed = 0
    for _ in range(PER_RUN):
        export_id = _claim(clock.now())
        if export_id is None:
            break
        if _run(export_id):
            written += 1
        else:
            failed += 1
    purged = _purge(now)
    if not (requeued or written or failed or purged):
        return ""
    return f"exports: {written} written, {failed} failed, {requeued} queued again, {purged} removed"


def _anything_to_do(now: datetime) -> bool:
    """One read, no write lock: the job runs every two seconds on every host and is nearly always idle."""
    db.read_only(session)
    try:
        return session.execute(select(Export.id).where(or_(
            Export.state == "queued", and_(Export.state == "running", Export.heartbeat_at < now - STALLED),
            and_(Export.state.in_(("done", "failed")), Export.finished_at < now - KEEP))).limit(1)).first() is not None
    finally:
        session.rollback()


def _requeue_stalled(now: datetime) -> int:
    with db.transaction():
        return session.execute(update(Export).where(Export.state == "running", Export.heartbeat_at < now - STALLED)
                               .values(state="queued", done_rows=0, host="")).rowcount


def _claim(now: datetime) -> int | None:
    with db.transaction():
        export_id = session.execute(select(Export.id).where(Export.state == "queued")
                                    .order_by(Export.id).limit(1)).scalar()
        if export_id is None:
            return None
        claimed = session.execute(update(Export).where(Export.id == export_id, Export.state == "queued")
                                  .values(state="running", started_at=now, heartbeat_at=now, host=HOST)).rowcount
        return export_id if claimed == 1 else None


def _set(export_id: int, **values: Any) -> None:
    """A short write transaction of its own beside the export's read-only one."""
    with db.engine().begin() as conn:
        conn.execute(update(Export.__table__).where(Export.__table__.c.id == export_id).values(**values))


def _lowered(work: Callable[[], int]) -> int:
    """`work()` in a thread of its own at NICENESS below normal priority, in an app context (and so a
    database session) of its own. Linux keeps a niceness per thread and an unprivileged process cannot
    raise it back, so the scheduler's own threads are left alone."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            thread = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS))
        except OSError:  # not Linux, or not allowed: write at normal priority
            pass
        with app.app_context():
            try:
                outcome["rows"] = work()
            except BaseException as err:
                outcome["error"] = err
            finally:
                session.rollback()
                session.remove()

    thread = threading.Thread(target=run, name="export-writer")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["rows"]


def _run(export_id: int) -> bool:
    export = session.get(Export, export_id)
    kind = kinds().get(export.kind)
    viewer_id, asked_at, params = export.requested_by_id, export.requested_at, json.loads(export.params_json)
    session.rollback()
    stored = secrets.token_hex(16) + "." + (kind.extension if kind else "bin")
    part = export_dir() / f".{stored}.part"
    last = [time.monotonic()]
    paused = [time.monotonic()]

    def progress(rows: int) -> None:
        if PAUSE_SHARE:
            time.sleep((time.monotonic() - paused[0]) * PAUSE_SHARE)
            paused[0] = time.monotonic()
        if time.monotonic() - last[0] >= 1.0:
            last[0] = time.monotonic()
            _set(export_id, done_rows=rows, heartbeat_at=clock.now())

    def write() -> int:
        db.read_only(session)
        with open(part, "wb") as out:
            return kind.write(params, session.get(User, viewer_id), asked_at, out, progress)

    try:
        if kind is None:
            raise ExportError(f"此版本不再提供“{export.kind}”导出")
        rows = _lowered(write)
        os.replace(part, export_dir() / stored)
    except Exception as err:
        session.rollback()
        part.unlink(missing_ok=True)
        log.exception("export %s (%s) failed", export_id, export.kind if kind is None else kind.name)
        reason = err.message if isinstance(err, DomainError) else "生成文件时出错，请重新导出；如再次失败请联系管理员"
        _set(export_id, state="failed", error=f"导出失败：{reason}", finished_at=clock.now())
        return False
    _set(export_id, state="done", done_rows=rows, stored_name=stored, size=(export_dir() / stored).stat().st_size,
         finished_at=clock.now(), heartbeat_at=clock.now())
    return True


def _purge(now: datetime) -> int:
    with db.transaction():
        old = list(session.execute(select(Export).where(Export.state.in_(("done", "failed")),
                                                        Export.finished_at < now - KEEP)).scalars())
        for export in old:
            if export.stored_name:
                (export_dir() / export.stored_name).unlink(missing_ok=True)
        if old:
            session.execute(delete(Export).where(Export.id.in_([e.id for e in old])))
        return len(old)
