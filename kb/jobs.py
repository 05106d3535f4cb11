"""Scheduled work of the knowledge base: keep this host's search index on the database's revision."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app

from core.scheduler import Job
from kb import cards, index


def follow_search_index(now: datetime) -> str:
    """Bring this host's index to the KB's revision (changed here or on another host sharing the
    database): the changed entries only, or in full when the lexicon changed."""
    root = Path(current_app.instance_path) / "search"
    before = index.read_pointer(root)
    # The revision is read in a session of its own and the build holds none: a build must never
    # keep a transaction (on SQLite, the write lock) open while it runs.
    if (before is not None and before.revision == index.database_revision()
            and cards.present(root / before.directory)):  # an index written before the cards were kept gets them
        return ""
    info = index.rebuild(root)
    done = "updated" if info.mode == "update" else "rebuilt"
    return f"search index {done} for revision {info.revision} ({info.entries} entries)"


def purge_search_log(now: datetime) -> str:
    """Delete searches older than the retention period (HOTLINE_SEARCH_LOG_RETENTION_DAYS), with one audit event."""
    from datetime import timedelta

    from sqlalchemy import delete

    from audit import services as audit
    from core.db import session
    from kb.models import SearchLog

    days = current_app.config["SEARCH_LOG_RETENTION_DAYS"]
    cutoff = now - timedelta(days=days)
    removed = session.execute(delete(SearchLog).where(SearchLog.at < cutoff)).rowcount
    if not removed:
        return ""
    audit.record("purge", "kb_search_log", "", actor=None, now=now,
                 changes={"rows": removed, "before": cutoff.isoformat(), "retention_days": days})
    return f"purged {removed} searches older than {days} days"


JOBS: list[Job] = [
    Job("kb_search_index", follow_search_index,
        lambda app: IntervalTrigger(seconds=app.config["SEARCH_INDEX_POLL_SECONDS"]), catch_up=True, per_host=True,
        writes=False),
    Job("kb_purge_search_log", purge_search_log, lambda app: CronTrigger(hour=3, minute=27)),
]
