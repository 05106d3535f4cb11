"""The scheduler process: runs every area's repeat-safe jobs, each in its own transaction.

Each area declares its jobs in its own `jobs.py` (`JOBS: list[Job]`); `composition.JOBS` lists them
all and the app hands that list to `flask --app app scheduler`, which runs them with APScheduler.

Several app hosts on one database each run a scheduler (every host follows the knowledge base into its
own search index). A job is therefore either per-host work (`per_host`), which every scheduler does for
itself, or a singleton: each of its slots (the scheduled time it runs for) is claimed in the database
by one scheduler, in the job's own transaction — a PostgreSQL advisory lock keeps a second host out
while the first runs, and the `job_claim` row (SQLite's lock) keeps it from running the slot again
afterwards. A job that fails rolls its claim back with its work, so the next host may retry the slot.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from audit import services as audit
from core import clock, db, monitoring
from core.models import JobClaim

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
    #: Work each host does for itself (its own search index, its own checkpoint file); any other job runs
    #: once per slot across all hosts.
    per_host: bool = False

    def __post_init__(self) -> None:
        if not self.per_host and not self.writes:
            raise ValueError(f"job {self.name}: a singleton job claims its slot in a write transaction")


#: This scheduler's name in the claim rows (which host ran what).
HOST = f"{socket.gethostname()}:{os.getpid()}"
_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: interval slots line up on every host


def build_trigger(app: Flask, job: Job) -> object:
    """The job's trigger, a cron trigger in the scheduler's time zone."""
    trigger = job.trigger(app)
    if isinstance(trigger, CronTrigger):
        tz = app.config["SCHEDULER_TIMEZONE"]
        trigger = CronTrigger(**{f.name: str(f) for f in trigger.fields if not f.is_default}, timezone=tz)
    return trigger


def slot_of(trigger: object, now: datetime) -> datetime:
    """The scheduled time a run at `now` stands for: the latest fire time at or before `now` (interval
    slots counted from a fixed epoch, so that every host agrees on them)."""
    if isinstance(trigger, IntervalTrigger):
        step = trigger.interval
        return _EPOCH + ((now - _EPOCH) // step) * step
    if isinstance(trigger, CronTrigger):
        latest = None
        fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
        for _ in range(20000):
            if fire is None or fire > now:
                break
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return latest.astimezone(UTC)
    return now


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"hotline.job:{name}".encode()).digest()[:8], "big", signed=True)


def claim(name: str, slot: datetime, now: datetime) -> bool:
    """Claim `slot` of the singleton job `name` inside the current write transaction: True for exactly one
    scheduler, however many run it at the same moment or later."""
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        if not session.execute(select(func.pg_try_advisory_xact_lock(_lock_key(name)))).scalar():
            return False  # another host is running it now
        insert = postgresql.insert
    else:
        insert = sqlite.insert
    session.execute(insert(JobClaim).values(name=name, slot=None, host="", claimed_at=None)
                    .on_conflict_do_nothing(index_elements=["name"]))
    result = session.execute(update(JobClaim).where(JobClaim.name == name,
                                                    or_(JobClaim.slot.is_(None), JobClaim.slot < slot))
                             .values(slot=slot, host=HOST, claimed_at=now))
    return result.rowcount == 1


def run_job(app: Flask, job: Job, *, force: bool = False) -> str:
    """Run one job in its own app context and transaction; a failure rolls back and is logged. A singleton
    job runs only if this scheduler claims its current slot (`force`: an administrator's explicit run)."""
    with app.app_context():
        audit.set_origin(f"job:{job.name}", "scheduler")
        now = clock.now()
        try:
            if job.writes:
                with db.transaction():
                    if not job.per_host and not force:
                        slot = slot_of(build_trigger(app, job), now)
                        if not claim(job.name, slot, now):
                            log.debug("job %s: slot %s taken by another scheduler", job.name, slot)
                            monitoring.JOBS.labels(job.name, "skipped").inc()
                            return ""
                    message = job.func(now)
            else:
                message = job.func(now)
                db.session.rollback()
        except Exception:
            log.exception("job %s failed", job.name)
            monitoring.JOBS.labels(job.name, "failed").inc()
            return f"{job.name}: failed"
        monitoring.JOBS.labels(job.name, "ok").inc()
        if message:
            log.info("job %s: %s", job.name, message)
        return message


def jobs_of(app: Flask) -> list[Job]:
    """The jobs the app was composed with (app.py puts composition.JOBS there)."""
    return app.extensions["hotline.jobs"]


def serve(app: Flask, jobs: list[Job]) -> None:
    tz = app.config["SCHEDULER_TIMEZONE"]
    scheduler = BlockingScheduler(timezone=tz)
    for job in jobs:
        trigger = build_trigger(app, job)
        scheduler.add_job(run_job, trigger, args=[app, job], id=job.name, coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
        if job.catch_up:
            run_job(app, job)
    log.info("scheduler running %d jobs (time zone %s)", len(jobs), tz)
    scheduler.start()


def every(seconds: int) -> Callable[[Flask], IntervalTrigger]:
    return lambda app: IntervalTrigger(seconds=seconds)
