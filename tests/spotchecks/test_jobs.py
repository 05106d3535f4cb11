"""Scheduled spot-check jobs: the weekly plan (with catch-up at start), overdue flags, summons, drafts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

import composition
from core import clock, scheduler
from spotchecks import jobs, services
from spotchecks.models import Notice, SpotcheckItem, SpotcheckPlan, Summons
from tests.spotchecks.builders import at_local, make_fault, make_supervisors


def job(name: str) -> scheduler.Job:
    return next(j for j in composition.JOBS if j.name == name)


def plans(db) -> int:
    return db.execute(select(func.count()).select_from(SpotcheckPlan)).scalar_one()


def test_the_weekly_plan_job_runs_on_monday_at_the_configured_time_and_catches_up_at_start(app):
    weekly = job("spotcheck_weekly_plan")
    assert weekly.catch_up
    trigger = weekly.trigger(app)
    fields = {f.name: str(f) for f in trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon", "8", "0")
    app.config["PLAN_WEEKDAY_TIME"] = "07:30"
    fields = {f.name: str(f) for f in weekly.trigger(app).fields}
    assert (fields["hour"], fields["minute"]) == ("7", "30")


def test_a_plan_missed_while_the_service_was_down_is_created_at_the_next_start(app, db):
    make_supervisors()
    db.commit()
    # The service was down on Monday morning and starts again on Wednesday: start-up runs the catch-up jobs.
    with clock.freeze(at_local(2026, 11, 25, 14, 0)):
        messages = [scheduler.run_job(app, j) for j in composition.JOBS if j.catch_up and j.name.startswith("spotcheck")]
    assert "2026-W48: 183 items created" in messages[0]
    assert plans(db) == 1
    with clock.freeze(at_local(2026, 11, 25, 14, 5)):
        # Another start in the same week: the slot is already claimed, so the job does not run again;
        # run anyway (an administrator's `scheduler --once`), it is repeat-safe on its own.
        assert scheduler.run_job(app, job("spotcheck_weekly_plan")) == ""
        assert scheduler.run_job(app, job("spotcheck_weekly_plan"), force=True) == "2026-W48: plan already exists"
    assert plans(db) == 1


def test_the_plan_is_not_made_before_mondays_planning_time(app, db):
    make_supervisors()
    with clock.freeze(at_local(2026, 11, 23, 7, 59)):
        assert "not due" in jobs.weekly_plan(clock.now())
    assert plans(db) == 0


def test_without_supervisors_the_job_reports_instead_of_failing(app, db):
    with clock.freeze(at_local(2026, 11, 23, 9, 0)):
        assert "没有在岗的督查人员" in jobs.weekly_plan(clock.now())


def test_a_crash_in_the_middle_of_plan_creation_leaves_no_partial_plan(app, db, monkeypatch):
    make_supervisors()
    db.commit()
    real_record = services.audit.record

    def crash(action, entity_type, *args, **kwargs):
        if entity_type == "spotcheck_plan":
            raise RuntimeError("power cut")
        return real_record(action, entity_type, *args, **kwargs)

    monkeypatch.setattr(services.audit, "record", crash)
    with clock.freeze(at_local(2026, 11, 23, 9, 0)):
        assert scheduler.run_job(app, job("spotcheck_weekly_plan")) == "spotcheck_weekly_plan: failed"
    assert plans(db) == 0
    assert db.execute(select(func.count()).select_from(SpotcheckItem)).scalar_one() == 0


def test_overdue_and_summons_jobs_are_repeat_safe(app, db):
    make_fault()
    late = at_local(2026, 12, 9, 9, 0)
    assert jobs.rectification_overdue(late) == "1 rectifications newly overdue"
    assert jobs.rectification_overdue(late + timedelta(hours=1)) == "0 rectifications newly overdue"
    assert jobs.summons_proposals(late) == "1 summonses proposed"
    assert jobs.summons_proposals(late + timedelta(days=1)) == "0 summonses proposed"
    assert db.execute(select(func.count()).select_from(Summons)).scalar_one() == 1


def test_the_evening_job_drafts_the_days_notice_once(app, db):
    make_fault()
    evening = at_local(2026, 11, 23, 18, 0)
    assert "created" in jobs.daily_notice_draft(evening)
    assert "already exists" in jobs.daily_notice_draft(evening)
    assert "no mystery calls" in jobs.daily_notice_draft(at_local(2026, 11, 24, 18, 0))
    assert db.execute(select(func.count()).select_from(Notice)).scalar_one() == 1
