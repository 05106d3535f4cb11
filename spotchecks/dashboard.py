"""What the spot-check front page and the home page show: the week's plan, the day's calls, what waits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from core import clock
from core.models import User
from spotchecks import notices, reports, services


def week_in_view(today: date) -> tuple[str, bool]:
    """The week the overview shows: this one on working days, the coming one on a Saturday or Sunday
    (this week's calls are over by then). Returns its ISO key and whether it is the coming week."""
    if today.weekday() >= 5:
        return services.week_of(today + timedelta(days=7 - today.weekday())), True
    return services.week_of(today), False


def _today_items(now: datetime) -> tuple[Any, list, list, str, bool]:
    """(the plan in view or None, all its items, today's items, its week, whether that is the coming week)."""
    today = clock.to_local(now).date()
    week, coming = week_in_view(today)
    plan = services.plan_for_week(week)
    items = services.plan_items(plan) if plan else []
    return plan, items, [i for i in items if i.day == today], week, coming


def front_page(user: User, now: datetime) -> dict[str, Any]:
    """The supervisors' overview: the week's plan (the coming week's at weekends), today's calls,
    rectifications and summonses that wait."""
    plan, items, today, week, coming = _today_items(now)
    return {
        "week": week, "coming": coming, "today_date": clock.to_local(now).date(),
        "plan": plan, "items": items, "today": today,
        "mine": [i for i in today if i.supervisor_id == user.id], "done": sum(i.call is not None for i in items),
        "open_rects": services.count_rectifications(pending_only=True, now=now),
        "to_verify": services.count_rectifications(state="answered", now=now),
        "overdue": services.count_rectifications(overdue_only=True, now=now),
        "proposals": services.summons_list(state="proposed"), "drafts": notices.notices(status="draft", limit=5),
        "unchecked": len(reports.unchecked(now)),
    }


def home(user: User, now: datetime) -> dict[str, Any] | None:
    """The home page's spot-check card: the day's calls (supervisors) or the unit's open rectifications."""
    if user.role == "caseworker":
        owed = services.rectifications(unit_ids=services.unit_scope(user), pending_only=True, now=now)
        return {"role": "caseworker", "owed": owed, "overdue": sum(services.is_overdue(r, now) for r in owed)}
    if not user.has_role("supervisor"):
        return None
    plan, _, today, week, coming = _today_items(now)
    return {"role": "supervisor", "plan": plan, "today": today, "week": week, "coming": coming,
            "mine": [i for i in today if i.supervisor_id == user.id],
            "logged": sum(i.call is not None for i in today),
            "overdue": services.count_rectifications(overdue_only=True, now=now),
            "proposals": len(services.summons_list(state="proposed"))}
