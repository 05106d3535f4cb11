"""Scheduled spot-check work: the weekly plan, overdue rectification flags, summons proposals, notice drafts.

Plain, repeat-safe functions: running one twice, or in two scheduler processes at once, changes nothing more.
"""

from __future__ import annotations

from datetime import date, datetime, time

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app

from core import clock
from core.scheduler import Job
from spotchecks import notices, services
from spotchecks.settings import SpotcheckSettings


def _settings() -> SpotcheckSettings:
    return SpotcheckSettings.from_config(current_app.config)


def _plan_time() -> time:
    hours, minutes = current_app.config["PLAN_WEEKDAY_TIME"].split(":")
    return time(int(hours), int(minutes))


def weekly_plan(now: datetime) -> str:
    """Create this week's plan once Monday's planning time has passed (also at start-up, to catch up)."""
    local = clock.to_local(now)
    iso = local.isocalendar()
    monday = date.fromisocalendar(iso.year, iso.week, 1)
    if local.replace(tzinfo=None) < datetime.combine(monday, _plan_time()):
        return f"{services.week_key(iso.year, iso.week)}: not due before Monday {_plan_time():%H:%M}"
    week = services.week_key(iso.year, iso.week)
    try:
        result = services.create_plan(actor=None, now=now, week=week, settings=_settings())
    except services.SpotcheckError as err:
        return f"{week}: no plan made: {err.message}"
    message = f"{week}: {result.created} items created" if result.created else f"{week}: plan already exists"
    if result.created and result.plan.warning:
        message += f" ({result.plan.warning})"
    return message


def rectification_overdue(now: datetime) -> str:
    return f"{services.flag_overdue(now=now)} rectifications newly overdue"


def summons_proposals(now: datetime) -> str:
    created = services.propose_summonses(now=now, settings=_settings())
    return f"{len(created)} summonses proposed"


def daily_notice_draft(now: datetime) -> str:
    """Draft today's notice at the end of the day if calls were logged and nobody drafted it yet."""
    day = clock.to_local(now).date()
    if not services.calls_between(*services.day_bounds(day)):
        return f"{day}: no mystery calls logged, no draft"
    notice, created = notices.draft_notice(actor=None, now=now, kind="daily", day=day)
    return f"{day}: daily notice draft {'created' if created else 'already exists'} (id {notice.id})"


JOBS: list[Job] = [
    Job("spotcheck_weekly_plan", weekly_plan,
        lambda app: CronTrigger(day_of_week="mon", hour=int(app.config["PLAN_WEEKDAY_TIME"][:2]),
                                minute=int(app.config["PLAN_WEEKDAY_TIME"][3:])), catch_up=True),
    Job("spotcheck_rectification_overdue", rectification_overdue, lambda app: IntervalTrigger(minutes=30),
        catch_up=True),
    Job("spotcheck_summons_proposals", summons_proposals, lambda app: CronTrigger(hour=7, minute=40), catch_up=True),
    Job("spotcheck_daily_notice_draft", daily_notice_draft, lambda app: CronTrigger(hour=18, minute=0)),
]
