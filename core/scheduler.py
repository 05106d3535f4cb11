"""The scheduler process: runs every area's repeat-safe jobs, each in its own transaction.

Each area declares its jobs in its own `jobs.py` (`JOBS: list[Job]`); `composition.JOBS` lists them
all and the app hands that list to `flask --app app scheduler`, which runs them with APScheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from audit import services as audit
from core import clock, db

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


def jobs_of(app: Flask) -> list[Job]:
    """The jobs the app was composed with (app.py puts composition.JOBS there)."""
    return app.extensions["hotline.jobs"]


def serve(app: Flask, jobs: list[Job]) -> None:
    tz = app.config["SCHEDULER_TIMEZONE"]
    scheduler = BlockingScheduler(timezone=tz)
    for job in jobs:
        trigger = job.trigger(app)
        if isinstance(trigger, CronTrigger):
            trigger = CronTrigger(**{f.name: str(f) for f in trigger.fields if not f.is_default}, timezone=tz)
        scheduler.add_job(run_job, trigger, args=[app, job], id=job.name, coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
        if job.catch_up:
            run_job(app, job)
    log.info("scheduler running %d jobs (time zone %s)", len(jobs), tz)
    scheduler.start()


def every(seconds: int) -> Callable[[Flask], IntervalTrigger]:
    return lambda app: IntervalTrigger(seconds=seconds)
