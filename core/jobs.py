"""Scheduled work of the ground floor: forgetting old log-in attempts, logged-out sessions and idempotency keys."""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from sqlalchemy import delete

from core import backup, db, exports, idempotency
from core.models import LoginAttempt, LoginSession
from core.scheduler import Job, every


def purge_login_attempts(now: datetime) -> str:
    """Drop log-in attempts and logged-out sessions older than 30 days (lock-outs only look at the
    last minutes; the audit trail keeps the record of both)."""
    cutoff = now - timedelta(days=30)
    attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount
    sessions = db.session.execute(delete(LoginSession).where(LoginSession.revoked_at < cutoff)).rowcount
    keys = idempotency.purge(now=now)
    return (f"purged {attempts} old login attempts, {sessions} old logged-out sessions "
            f"and {keys} idempotency keys older than {idempotency.RETENTION.days} days")


def nightly_backup(now: datetime) -> str:
    return backup.nightly(current_app, now, current_app.config["BACKUP_KEEP"])


JOBS: list[Job] = [
    Job("purge_login_attempts", purge_login_attempts, lambda app: CronTrigger(hour=3, minute=17)),
    Job("nightly_backup", nightly_backup, lambda app: CronTrigger(hour=2, minute=47)),
    # Every host takes queued exports (each claimed by one): the folder is shared, the work spread.
    Job("exports", exports.run_pending, every(2), writes=False, per_host=True),
]
