"""Builders for spot-check tests: supervisors, plans, logged calls and faults."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from core import clock
from spotchecks import services
from spotchecks.models import MysteryCall, SpotcheckItem, SpotcheckPlan
from spotchecks.settings import SpotcheckSettings
from tests.builders import make_user

WEEK = "2026-W48"  #: 23–29 November 2026, five ordinary working days
#: The spot-check settings and rubric as shipped; tests change one with `replace(SETTINGS, daily_quota=37)`.
SETTINGS = SpotcheckSettings.defaults()


def at_local(*args: int) -> datetime:
    return clock.local_to_utc(datetime(*args))


def make_supervisors(count: int = 2) -> list:
    return [make_user("supervisor") for _ in range(count)]


def make_plan(week: str = WEEK, seed: int | None = None, supervisors: list | None = None,
              settings: SpotcheckSettings = SETTINGS) -> SpotcheckPlan:
    if supervisors is None and not services.active_supervisors():
        make_supervisors()
    with clock.freeze(at_local(2026, 11, 23, 8, 0)):
        return services.create_plan(actor=None, now=clock.now(), week=week, seed=seed, settings=settings).plan


def item_for(plan: SpotcheckPlan, index: int = 0, **where) -> SpotcheckItem:
    items = [i for i in services.plan_items(plan)
             if all(getattr(i, k) == v for k, v in where.items())]
    return items[index]


def good_call(item: SpotcheckItem, **overrides) -> services.CallInput:
    """A connected, correct, polite call placed at the planned time."""
    data = services.CallInput(started_at=item.planned_at, ring_seconds=8, connected=True, identified="name",
                              answerer="张三", question_entry_id="Q001", correctness="correct", deflected=False,
                              attitude=5, notes="", recording_ref="")
    return replace(data, **overrides)


def deflecting_call(item: SpotcheckItem, **overrides) -> services.CallInput:
    return good_call(item, correctness="none", deflected=True, attitude=3, identified="none",
                     notes="表示任何诉求均不能受理,有问题找社区网格员", **overrides)


def log(item: SpotcheckItem, data: services.CallInput, actor=None, now: datetime | None = None):
    actor = actor or item.supervisor
    now = now or data.started_at + timedelta(minutes=5)
    return services.log_call(actor=actor, now=now, item=item, data=data, settings=SETTINGS)


def make_fault(plan: SpotcheckPlan | None = None, index: int = 0, **where) -> MysteryCall:
    """A logged deflecting call (a fault, so a rectification too) on an item of `plan` (a new WEEK plan by default)."""
    item = item_for(plan or make_plan(), index, **where)
    return log(item, deflecting_call(item))
