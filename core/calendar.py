"""The working-day calendar: the `chinese_calendar` package, admin overrides, and a fallback for years it lacks.

Tickets (deadlines) and spot checks (plans, rectification limits) both count working days here; the
overrides an admin enters on the /calendar page are changed only through the functions at the end.

The package knows only the years published before its release and raises NotImplementedError for
the others; for those years a day is a working day when it is Monday to Friday, unless an admin
entered it as a holiday (or a weekend day as a make-up working day). A deadline is never refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import chinese_calendar
from flask import current_app, g, has_app_context
from sqlalchemy import select

from audit import services as audit
from core.clock import LOCAL, to_local
from core.db import session
from core.errors import DomainError, NotFound
from core.models import User, WorkdayOverride

#: A year of non-working overrides must not loop forever; after this many days we give up and move on.
_MAX_SCAN_DAYS = 800
#: When a working day ends (下班) unless HOTLINE_WORKDAY_END says otherwise: a limit counted in working
#: days falls due then, on its last day.
WORKDAY_END = time(17, 30)


@lru_cache(maxsize=64)
def package_covers(year: int) -> bool:
    """Whether `chinese_calendar` has the official holidays and make-up days of this year."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """Working days in Beijing time. `overrides` maps a date to True (working) or False (holiday)."""

    def __init__(self, overrides: dict[date, bool] | None = None, workday_end: time = WORKDAY_END):
        self.overrides = dict(overrides or {})
        self.workday_end = workday_end

    def covered(self, year: int) -> bool:
        return package_covers(year)

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = to_local(d).date()
        if d in self.overrides:
            return self.overrides[d]
        if package_covers(d.year):
            try:
                return chinese_calendar.is_workday(d)
            except NotImplementedError:  # pragma: no cover - the package changed its mind about a year
                pass
        return d.weekday() < 5

    def holiday_name(self, d: date) -> str:
        """The package's name for a holiday or make-up day (Chinese where we know it), else ""."""
        if not package_covers(d.year):
            return ""
        try:
            _, name = chinese_calendar.get_holiday_detail(d)
        except NotImplementedError:  # pragma: no cover
            return ""
        return HOLIDAY_NAMES.get(name or "", name or "")

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        if isinstance(d, datetime):
            d = to_local(d).date()
        candidate = d
        for _ in range(_MAX_SCAN_DAYS):
            candidate += timedelta(days=1)
            if self.is_working_day(candidate):
                return candidate
        return d + timedelta(days=1)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """`n` working days after `start`, at the same Beijing wall-clock time.

        A start on a non-working day counts from the beginning of the next working day, so one
        working day from a Saturday ends when Monday ends.
        """
        local = to_local(start)
        day, at = local.date(), local.time().replace(tzinfo=None)
        if not self.is_working_day(day):
            day, at = self.next_working_day(day), time(0, 0)
        for _ in range(max(n, 0)):
            day = self.next_working_day(day)
        return datetime.combine(day, at, tzinfo=LOCAL).astimezone(UTC)

    def end_of_working_day_after(self, start: datetime, n: int = 1) -> datetime:
        """The end (24:00 Beijing time) of the n-th working day after `start`'s date."""
        day = to_local(start).date()
        for _ in range(max(n, 1)):
            day = self.next_working_day(day)
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=LOCAL).astimezone(UTC)

    def end_of_day(self, day: date) -> datetime:
        """When the working day `day` ends (17:30 Beijing time by default), in UTC."""
        return datetime.combine(day, self.workday_end, tzinfo=LOCAL).astimezone(UTC)

    def due_after(self, start: datetime, n: int) -> datetime:
        """A limit of `n` working days from `start`: the end of the n-th working day after start's date.

        Counting begins the day after the request (受理次日起算), so 5 working days from any time on
        Saturday 5 December 2026 fall due on Friday 11 December at 17:30 — never at midnight after it.
        """
        day = to_local(start).date()
        for _ in range(max(n, 1)):
            day = self.next_working_day(day)
        return self.end_of_day(day)

    def working_days_after(self, start: date, end: date) -> int:
        """How many working days lie after `start` up to and including `end` (0 when end <= start)."""
        count, d = 0, start
        for _ in range(_MAX_SCAN_DAYS * 5):
            if d >= end:
                break
            d += timedelta(days=1)
            count += self.is_working_day(d)
        return count

    def missing_years(self, years: Iterable[int]) -> list[int]:
        """Years the package does not cover and for which no admin has entered any holiday or make-up day."""
        entered = {d.year for d in self.overrides}
        return sorted({y for y in years if not package_covers(y) and y not in entered})

    def working_days_between(self, start: date, end: date) -> list[date]:
        days, d = [], start
        while d <= end:
            if self.is_working_day(d):
                days.append(d)
            d += timedelta(days=1)
        return days


#: The package's English holiday names, as shown on the calendar page.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def load_calendar() -> WorkCalendar:
    """The working-day calendar with the admins' overrides from the database and the configured end of
    the working day (HOTLINE_WORKDAY_END)."""
    rows = session.execute(select(WorkdayOverride.day, WorkdayOverride.working)).all()
    end = current_app.config.get("WORKDAY_END") if has_app_context() else None
    return WorkCalendar({day: working for day, working in rows}, workday_end=parse_workday_end(end))


def shared_calendar() -> WorkCalendar:
    """The calendar loaded once per app context (a board of fifty tickets reads the overrides once)."""
    if not has_app_context():
        return load_calendar()
    if "work_calendar" not in g:
        g.work_calendar = load_calendar()
    return g.work_calendar


def parse_workday_end(value: str | time | None) -> time:
    """"17:30" (the setting's form) as a time; None is the default."""
    if value is None:
        return WORKDAY_END
    if isinstance(value, time):
        return value
    hours, minutes = str(value).split(":")
    return time(int(hours), int(minutes))


# --- overrides (admins) ---------------------------------------------------------------------------

def list_overrides() -> list[WorkdayOverride]:
    return list(session.execute(select(WorkdayOverride).order_by(WorkdayOverride.day)).scalars())


def set_override(*, actor: User, now: datetime, day: Any, working: bool, note: str = "") -> WorkdayOverride:
    """Enter (or change) one date as a holiday or a make-up working day, audited."""
    if not isinstance(day, date):
        raise DomainError("请填写日期", field="day")
    note = (note or "").strip()[:100]
    row = session.execute(select(WorkdayOverride).where(WorkdayOverride.day == day)).scalar_one_or_none()
    before = {"working": row.working, "note": row.note} if row else {}
    if row is None:
        row = WorkdayOverride(day=day, working=working, note=note, created_by_id=actor.id, created_at=now)
        session.add(row)
    row.working, row.note = working, note
    session.flush()
    audit.record("update" if before else "create", "workday_override", day.isoformat(), actor=actor, now=now,
                 changes=audit.diff(before, {"working": working, "note": note}))
    return row


def remove_override(*, actor: User, now: datetime, override_id: int) -> None:
    """Drop an admin's override: the date follows the package (or the weekday fallback) again, audited."""
    row = session.get(WorkdayOverride, override_id)
    if row is None:
        raise NotFound("该日期设置不存在")
    audit.record("delete", "workday_override", row.day.isoformat(), actor=actor, now=now,
                 changes={"before": {"working": row.working, "note": row.note}})
    session.delete(row)
    session.flush()
