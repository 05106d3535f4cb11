"""The scheduler process: runs every area's repeat-safe jobs, each in its own transaction.

Areas add jobs to JOBS; `flask --app app scheduler` runs them with APScheduler until stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import delete

from audit import services as audit
from core import clock, db
from core.models import LoginAttempt, LoginSession
from kb.jobs import follow_search_index, purge_search_log
from spotchecks import jobs as spotcheck_jobs
from tickets.jobs import deadline_warnings

log = logging.getLogger("hotline.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[datetime], str]
    trigger: Callable[[Flask], object]
    #: Run once at start-up too, to catch up on what was missed while the service was down.
    catch_up: bool = False
    #: A job that writes runs in one write transaction; one that does not (the index build) holds none.
    writes: bool = True


def purge_login_attempts(now: datetime) -> str:
    """Drop log-in attempts and logged-out sessions older than 30 days (lock-outs only look at the
    last minutes; the audit trail keeps the record of both)."""
    cutoff = now - timedelta(days=30)
    attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount
    sessions = db.session.execute(delete(LoginSession).where(LoginSession.revoked_at < cutoff)).rowcount
    return f"purged {attempts} old login attempts and {sessions} old logged-out sessions"


JOBS: list[Job] = [
    Job("purge_login_attempts", purge_login_attempts, lambda app: CronTrigger(hour=3, minute=17)),
    Job("kb_search_index", follow_search_index,
        lambda app: IntervalTrigger(seconds=app.config["SEARCH_INDEX_POLL_SECONDS"]), catch_up=True,
        writes=False),
    Job("kb_purge_search_log", purge_search_log, lambda app: CronTrigger(hour=3, minute=27)),
    Job("ticket_deadlines", deadline_warnings, lambda app: IntervalTrigger(minutes=5), catch_up=True),
    Job("spotcheck_weekly_plan", spotcheck_jobs.weekly_plan,
        lambda app: CronTrigger(day_of_week="mon", hour=int(app.config["PLAN_WEEKDAY_TIME"][:2]),
                                minute=int(app.config["PLAN_WEEKDAY_TIME"][3:])), catch_up=True),
    Job("spotcheck_rectification_overdue", spotcheck_jobs.rectification_overdue,
        lambda app: IntervalTrigger(minutes=30), catch_up=True),
    Job("spotcheck_summons_proposals", spotcheck_jobs.summons_proposals,
        lambda app: CronTrigger(hour=7, minute=40), catch_up=True),
    Job("spotcheck_daily_notice_draft", spotcheck_jobs.daily_notice_draft, lambda app: CronTrigger(hour=18, minute=0)),
    Job("audit_checkpoint", audit.checkpoint_job,
        lambda app: IntervalTrigger(minutes=app.config["AUDIT_CHECKPOINT_MINUTES"]), catch_up=True),
]


def run_job(app: Flask, job: Job) -> str:
    """Run one job in its own app context and transaction; a failure rolls back and is logged."""
    with app.app_context():
        audit.set_origin(f"job:{job.name}", "scheduler")
        try:
            if job.writes:
                with db.transaction():
                    message = job.func(clock.now())
            else:
                message = job.func(clock.now())
                db.session.rollback()
        except Exception:
            log.exception("job %s failed", job.name)
            return f"{job.name}: failed"
        if message:
            log.info("job %s: %s", job.name, message)
        return message


def serve(app: Flask) -> None:
    tz = app.config["SCHEDULER_TIMEZONE"]
    scheduler = BlockingScheduler(timezone=tz)
    for job in JOBS:
        trigger = job.trigger(app)
        if isinstance(trigger, CronTrigger):
            trigger = CronTrigger(**{f.name: str(f) for f in trigger.fields if not f.is_default}, timezone=tz)
        scheduler.add_job(run_job, trigger, args=[app, job], id=job.name, coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
        if job.catch_up:
            run_job(app, job)
    log.info("scheduler running %d jobs (time zone %s)", len(JOBS), tz)
    scheduler.start()


def every(seconds: int) -> Callable[[Flask], IntervalTrigger]:
    return lambda app: IntervalTrigger(seconds=seconds)
