"""Singleton jobs run once per slot however many schedulers run them; per-host work runs everywhere."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from core import clock, scheduler
from core.models import JobClaim
from core.scheduler import Job


def _counting_job(name: str, runs: list, *, per_host: bool = False, fail: bool = False, pause: float = 0.0,
                  trigger=None) -> Job:
    def func(now: datetime) -> str:
        runs.append(now)
        if pause:
            time.sleep(pause)
        if fail:
            raise RuntimeError("the job broke")
        return f"run {len(runs)}"

    return Job(name, func, trigger or (lambda app: IntervalTrigger(minutes=5)), per_host=per_host)


@pytest.fixture
def frozen():
    at = datetime(2026, 12, 7, 1, 2, 30, tzinfo=UTC)
    with clock.freeze(at):
        yield at


def test_interval_slots_are_the_same_on_every_host():
    trigger = IntervalTrigger(minutes=5)
    assert scheduler.slot_of(trigger, datetime(2026, 12, 7, 1, 2, 30, tzinfo=UTC)) == datetime(2026, 12, 7, 1, 0,
                                                                                                 tzinfo=UTC)
    assert scheduler.slot_of(trigger, datetime(2026, 12, 7, 1, 4, 59, tzinfo=UTC)) == datetime(2026, 12, 7, 1, 0,
                                                                                                 tzinfo=UTC)
    assert scheduler.slot_of(trigger, datetime(2026, 12, 7, 1, 5, tzinfo=UTC)) == datetime(2026, 12, 7, 1, 5,
                                                                                             tzinfo=UTC)


def test_a_cron_slot_is_the_latest_fire_time_in_the_schedulers_time_zone():
    daily = CronTrigger(hour=3, minute=17, timezone="Asia/Shanghai")
    # 03:17 in Shanghai is 19:17 UTC the day before.
    assert scheduler.slot_of(daily, datetime(2026, 12, 7, 1, 0, tzinfo=UTC)) == datetime(2026, 12, 6, 19, 17,
                                                                                          tzinfo=UTC)
    weekly = CronTrigger(day_of_week="mon", hour=8, minute=30, timezone="Asia/Shanghai")
    # Wednesday: the slot is Monday's.
    assert scheduler.slot_of(weekly, datetime(2026, 12, 9, 4, 0, tzinfo=UTC)) == datetime(2026, 12, 7, 0, 30,
                                                                                           tzinfo=UTC)


def test_a_singleton_job_runs_once_per_slot(app, frozen):
    runs: list = []
    job = _counting_job("test_singleton", runs)
    assert scheduler.run_job(app, job) == "run 1"
    assert scheduler.run_job(app, job) == ""          # a second scheduler, same slot
    clock.advance(timedelta(minutes=1))
    assert scheduler.run_job(app, job) == ""          # later, still the same five minutes
    clock.advance(timedelta(minutes=2))
    assert scheduler.run_job(app, job) == "run 2"     # the next slot
    assert len(runs) == 2
    with app.app_context():
        row = scheduler.db.session.get(JobClaim, "test_singleton")
        assert row.slot == datetime(2026, 12, 7, 1, 5, tzinfo=UTC) and row.host == scheduler.HOST


def test_a_failed_run_gives_its_slot_back(app, frozen):
    runs: list = []
    assert scheduler.run_job(app, _counting_job("test_flaky", runs, fail=True)) == "test_flaky: failed"
    assert scheduler.run_job(app, _counting_job("test_flaky", runs)) == "run 2"


def test_per_host_work_and_an_explicit_run_are_not_claimed(app, frozen):
    runs: list = []
    local = _counting_job("test_local", runs, per_host=True)
    assert [scheduler.run_job(app, local) for _ in range(2)] == ["run 1", "run 2"]
    single = _counting_job("test_forced", runs)
    assert scheduler.run_job(app, single) == "run 3"
    assert scheduler.run_job(app, single, force=True) == "run 4"  # flask scheduler --once NAME


def test_a_singleton_job_must_write():
    with pytest.raises(ValueError):
        Job("test_bad", lambda now: "", lambda app: IntervalTrigger(minutes=5), writes=False)


def test_the_jobs_of_the_app_say_which_are_per_host(app):
    per_host = {j.name for j in scheduler.jobs_of(app) if j.per_host}
    # exports: every host takes queued ones, each claimed by a conditional update (core.exports._claim)
    assert per_host == {"kb_search_index", "audit_checkpoint", "exports"}


def test_two_schedulers_at_the_same_moment_run_the_job_once(committing_app, frozen):
    """Two hosts' schedulers fire together, each on its own connection: one runs, the other skips, on
    PostgreSQL (advisory lock, then the claim row) and on SQLite (the write lock, then the claim row)."""
    runs: list = []
    job = _counting_job("test_race", runs, pause=0.3)
    start = threading.Barrier(2)

    def fire(_: int) -> str:
        start.wait(timeout=10)
        return scheduler.run_job(committing_app, job)

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(fire, range(2)))
    assert results == ["", "run 1"] and len(runs) == 1
    with committing_app.app_context():
        claims = scheduler.db.session.execute(select(JobClaim).where(JobClaim.name == "test_race")).scalars().all()
        assert len(claims) == 1
        scheduler.db.session.remove()
