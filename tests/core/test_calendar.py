from datetime import date, datetime

from core import calendar, clock
from core.calendar import WorkCalendar, load_calendar


def local(*args) -> datetime:
    return clock.local_to_utc(datetime(*args))


def test_national_day_2026_holiday_and_make_up_saturday():
    cal = WorkCalendar()
    assert not cal.is_working_day(date(2026, 10, 1))
    assert not cal.is_working_day(date(2026, 10, 7))
    assert cal.is_working_day(date(2026, 10, 10))  # 调休: Saturday worked
    assert cal.is_working_day(date(2026, 9, 20))  # 调休: Sunday worked
    assert not cal.is_working_day(date(2026, 10, 11))


def test_five_working_days_across_national_day_and_make_up_saturday():
    cal = WorkCalendar()
    # Wed 30 Sep 10:00 → 8, 9, 10 (Sat, worked), 12, 13 October
    assert cal.add_working_days(local(2026, 9, 30, 10, 0), 5) == local(2026, 10, 13, 10, 0)


def test_one_working_day_from_the_holiday_ends_with_the_first_working_day():
    cal = WorkCalendar()
    assert cal.add_working_days(local(2026, 10, 3, 15, 0), 1) == local(2026, 10, 9, 0, 0)
    assert cal.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)


def test_uncovered_year_falls_back_to_weekends_and_never_fails():
    cal = WorkCalendar()
    assert not cal.covered(2027)
    assert cal.is_working_day(date(2027, 1, 4))  # a Monday
    assert not cal.is_working_day(date(2027, 1, 2))  # a Saturday
    assert cal.add_working_days(local(2027, 1, 1, 9, 0), 3) == local(2027, 1, 6, 9, 0)
    assert cal.missing_years([2026, 2027]) == [2027]


def test_admin_overrides_fill_an_uncovered_year():
    cal = WorkCalendar({date(2027, 1, 1): False, date(2027, 1, 4): False, date(2027, 1, 9): True})
    assert not cal.is_working_day(date(2027, 1, 4))
    assert cal.is_working_day(date(2027, 1, 9))
    assert cal.missing_years([2027]) == []


def test_override_beats_the_package(db):
    from tests.builders import make_user

    admin = make_user("admin")
    calendar.set_override(actor=admin, now=clock.now(), day=date(2026, 10, 9), working=False, note="停电")
    cal = load_calendar()
    assert not cal.is_working_day(date(2026, 10, 9))
    assert cal.add_working_days(local(2026, 9, 30, 10, 0), 5) == local(2026, 10, 14, 10, 0)


def test_callback_due_at_end_of_next_working_day():
    cal = WorkCalendar()
    assert cal.end_of_working_day_after(local(2026, 9, 30, 16, 0)) == local(2026, 10, 9, 0, 0)
