"""The weekly spot-check plan: coverage, quota, stratification, times, supervisors and reproducibility."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, time, timedelta
from pathlib import Path

import chinese_calendar
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotchecks.planner import (
    PlanError,
    PlanHotline,
    PlanItem,
    is_round_the_clock,
    parse_service_hours,
    parse_week,
    plan_week,
    working_days_of_week,
)

DATA = Path(__file__).resolve().parents[2] / "spotchecks" / "data" / "hotlines.yaml"
WEEK_48 = [date(2026, 11, 23) + timedelta(days=offset) for offset in range(5)]
SUPERVISORS = [11, 12, 13, 14]
LUNCH_START, LUNCH_END = time(11, 30), time(13, 0)


def registry(priority: frozenset[int] = frozenset()) -> list[PlanHotline]:
    """The bundled 183 hotlines, numbered 1…183 in file order."""
    items = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    lines = []
    for number, item in enumerate(items, start=1):
        opens, closes = parse_service_hours(item["service_hours"])
        lines.append(PlanHotline(id=number, area=item["area"], level=item["level"], opens=opens, closes=closes,
                                 priority=number in priority))
    return lines


def minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def plan(lines=None, supervisors=SUPERVISORS, days=WEEK_48, **options) -> list[PlanItem]:
    options = {"quota": 37, "seed": 48, **options}
    return plan_week(registry() if lines is None else lines, supervisors, days, **options)


# --- weeks and service hours ---------------------------------------------------------------------

def test_parse_week_reads_iso_weeks():
    assert parse_week("2026-W48") == (2026, 48)
    assert parse_week(" 2026w05 ") == (2026, 5)
    assert parse_week("2026-W53") == (2026, 53)  # 2026 begins on a Thursday: 53 ISO weeks


@pytest.mark.parametrize("text", ["", "2026-48", "W48", "2026-W00", "2026-W54", "2025-W53", "26-W10", "2026-W4x"])
def test_parse_week_refuses_malformed_or_missing_weeks_in_chinese(text):
    with pytest.raises(ValueError, match="周"):
        parse_week(text)


def test_working_days_skip_weekends_and_holidays_and_keep_make_up_saturdays():
    holidays = {date(2026, 11, 25)}
    make_up = {date(2026, 11, 28)}

    def is_working_day(day: date) -> bool:
        return day in make_up or (day.weekday() < 5 and day not in holidays)

    assert working_days_of_week(2026, 48, is_working_day) == [
        date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28)]


def test_national_day_week_has_three_working_days_on_the_official_calendar():
    assert working_days_of_week(2026, 41, chinese_calendar.is_workday) == [
        date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)]


def test_service_hours_parse_24_hour_lines_as_round_the_clock():
    assert parse_service_hours("08:30-17:00") == (time(8, 30), time(17, 0))
    assert is_round_the_clock(*parse_service_hours("00:00-24:00"))
    assert not is_round_the_clock(*parse_service_hours("08:00-16:30"))
    for bad in ("8:30", "17:00-08:30", "25:00-26:00", ""):
        with pytest.raises(ValueError, match="服务时间"):
            parse_service_hours(bad)


# --- coverage and quota --------------------------------------------------------------------------

def test_quota_37_over_five_days_checks_all_183_hotlines_exactly_once():
    items = plan()
    assert sorted(item.hotline_id for item in items) == list(range(1, 184))
    per_day = Counter(item.day for item in items)
    assert set(per_day) == set(WEEK_48)
    assert max(per_day.values()) <= 37
    assert max(per_day.values()) - min(per_day.values()) <= 1


def test_quota_30_cannot_cover_183_hotlines_in_five_days():
    with pytest.raises(PlanError, match="本周工作日只有5天,每日限额30,无法覆盖183条热线"):
        plan(quota=30)


def test_a_four_day_holiday_week_cannot_fit_183_hotlines_even_at_37():
    with pytest.raises(PlanError, match="本周工作日只有4天,每日限额37,无法覆盖183条热线"):
        plan(days=WEEK_48[:4])


def test_smaller_registry_fits_quota_30_over_four_days():
    lines = registry()[:120]
    items = plan(lines, days=WEEK_48[:4], quota=30)
    assert sorted(item.hotline_id for item in items) == list(range(1, 121))
    assert Counter(item.day for item in items) == dict.fromkeys(WEEK_48[:4], 30)


@pytest.mark.parametrize(("options", "message"), [
    ({"days": []}, "没有工作日"),
    ({"supervisors": []}, "督查人员"),
    ({"quota": 0}, "每日抽查限额"),
    ({"quota": 38}, "每日抽查限额"),
    ({"outside_share": 1.5}, "工作时间外"),
])
def test_impossible_inputs_are_refused_with_a_chinese_message(options, message):
    with pytest.raises(PlanError, match=message):
        plan(**options)


def test_a_hotline_given_twice_is_refused():
    lines = registry()
    with pytest.raises(PlanError, match="重复"):
        plan(lines + [lines[0]])


def test_no_hotlines_give_an_empty_plan():
    assert plan([]) == []


# --- stratification and priority -----------------------------------------------------------------

def test_every_county_appears_every_day_and_the_city_line_once():
    lines = registry()
    area = {line.id: line.area for line in lines}
    items = plan(lines)
    areas_by_day = defaultdict(set)
    for item in items:
        areas_by_day[item.day].add(area[item.hotline_id])
    counties = {line.area for line in lines if line.level == "county"}
    assert len(counties) == 10
    for day in WEEK_48:
        assert counties <= areas_by_day[day]
    assert sum("绥化市" in found for found in areas_by_day.values()) == 1


def test_each_county_is_spread_evenly_over_the_week():
    lines = registry()
    area = {line.id: line.area for line in lines}
    counts = Counter((area[item.hotline_id], item.day) for item in plan(lines))
    for county in {line.area for line in lines if line.level == "county"}:
        per_day = [counts[(county, day)] for day in WEEK_48]
        assert max(per_day) - min(per_day) <= 1, (county, per_day)


def test_priority_hotlines_are_checked_on_the_first_day():
    priority = frozenset({3, 30, 57, 90, 120, 150, 181, 183})
    items = plan(registry(priority))
    assert {item.day for item in items if item.hotline_id in priority} == {WEEK_48[0]}


def test_more_priority_hotlines_than_one_day_holds_fill_the_earliest_days():
    priority = frozenset(range(1, 184, 3))  # 61 of them; a day holds 37
    items = plan(registry(priority))
    assert Counter(item.day for item in items if item.hotline_id in priority) == {WEEK_48[0]: 37, WEEK_48[1]: 24}
    assert all(item.day != WEEK_48[0] for item in items if item.hotline_id not in priority)


# --- times ---------------------------------------------------------------------------------------

def test_times_fall_within_service_hours_and_avoid_lunch_for_office_lines():
    lines = {line.id: line for line in registry()}
    for item in plan():
        line = lines[item.hotline_id]
        assert item.at.second == 0 and item.at.microsecond == 0
        if item.outside_hours:
            continue
        if is_round_the_clock(line.opens, line.closes):
            assert time(8, 0) <= item.at < time(22, 0)
        else:
            assert line.opens <= item.at < line.closes
            assert not LUNCH_START <= item.at < LUNCH_END


def test_most_calls_to_24_hour_lines_are_in_the_daytime():
    lines = [line for line in registry() if is_round_the_clock(line.opens, line.closes)]
    hours = [item.at for seed in range(40) for item in plan(lines, seed=seed, quota=1)]
    daytime = sum(time(8, 0) <= moment < time(20, 0) for moment in hours)
    assert daytime / len(hours) >= 0.7


def test_a_tenth_of_the_calls_are_just_outside_service_hours_never_on_24_hour_lines():
    lines = {line.id: line for line in registry()}
    items = plan()
    outside = [item for item in items if item.outside_hours]
    assert len(outside) == 18  # 10 % of 183, rounded
    for item in outside:
        line = lines[item.hotline_id]
        assert not is_round_the_clock(line.opens, line.closes)
        before = minutes(line.opens) - minutes(item.at)
        after = minutes(item.at) - minutes(line.closes)
        assert 10 <= before <= 40 or 10 <= after <= 40
    assert len({item.day for item in outside}) == len(WEEK_48)


def test_outside_share_zero_and_one():
    assert not any(item.outside_hours for item in plan(outside_share=0))
    lines = registry()
    office = sum(not is_round_the_clock(line.opens, line.closes) for line in lines)
    assert sum(item.outside_hours for item in plan(lines, outside_share=1)) == office


# --- supervisors ---------------------------------------------------------------------------------

def test_supervisors_share_the_week_evenly_and_each_day_too():
    items = plan()
    totals = Counter(item.supervisor_id for item in items)
    assert set(totals) == set(SUPERVISORS)
    assert max(totals.values()) - min(totals.values()) <= 1
    for day in WEEK_48:
        daily = Counter(item.supervisor_id for item in items if item.day == day)
        assert max(daily.values()) - min(daily.values()) <= 1


@pytest.mark.parametrize("supervisors", [[5], [5, 6], SUPERVISORS])
def test_a_supervisors_calls_on_one_day_are_at_least_five_minutes_apart(supervisors):
    calls = defaultdict(list)
    for item in plan(supervisors=supervisors):
        calls[(item.supervisor_id, item.day)].append(minutes(item.at))
    for moments in calls.values():
        moments.sort()
        assert all(later - earlier >= 5 for earlier, later in zip(moments, moments[1:], strict=False))


# --- reproducibility -----------------------------------------------------------------------------

def test_same_seed_gives_the_identical_plan_whatever_the_input_order():
    lines = registry()
    first = plan(lines, seed=2026)
    again = plan(list(reversed(lines)), supervisors=list(reversed(SUPERVISORS)), days=list(reversed(WEEK_48)),
                 seed=2026)
    assert first == again


def test_different_seeds_give_different_plans():
    assert plan(seed=1) != plan(seed=2)


def test_items_come_sorted_by_day_time_and_hotline():
    items = plan()
    assert items == sorted(items, key=lambda item: (item.day, item.at, item.hotline_id))


# --- properties over random inputs ---------------------------------------------------------------

HOURS = [
    (time(8, 30), time(17, 0)),
    (time(8, 0), time(16, 30)),
    (time(0, 0), time(23, 59)),  # round the clock
    (time(0, 5), time(23, 55)),  # no room outside hours on the same day
    (time(11, 40), time(12, 50)),  # only open over lunch
    (time(9, 0), time(9, 5)),  # shorter than the closing margin
]


@st.composite
def week_inputs(draw):
    area_count = draw(st.integers(1, 12))
    count = draw(st.integers(0, 90))
    lines = [PlanHotline(id=draw(st.integers(1, 10_000)) * 100 + index, area=f"area{draw(st.integers(0, area_count - 1))}",
                         level="township", opens=hours[0], closes=hours[1], priority=draw(st.booleans()))
             for index, hours in enumerate(draw(st.lists(st.sampled_from(HOURS), min_size=count, max_size=count)))]
    day_count = draw(st.integers(1, 7))
    days = [date(2026, 11, 23) + timedelta(days=offset) for offset in range(day_count)]
    supervisors = draw(st.lists(st.integers(1, 50), min_size=1, max_size=6, unique=True))
    quota = draw(st.integers(1, 37))
    share = draw(st.floats(0, 1))
    seed = draw(st.integers(0, 2**32))
    return lines, supervisors, days, quota, share, seed


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(week_inputs())
def test_plan_properties_hold_for_random_weeks(inputs):
    lines, supervisors, days, quota, share, seed = inputs
    if len(days) * quota < len(lines):
        with pytest.raises(PlanError, match="无法覆盖"):
            plan_week(lines, supervisors, days, quota=quota, seed=seed, outside_share=share)
        return
    items = plan_week(lines, supervisors, days, quota=quota, seed=seed, outside_share=share)
    assert items == plan_week(list(reversed(lines)), supervisors, days, quota=quota, seed=seed,
                              outside_share=share)
    by_id = {line.id: line for line in lines}

    assert sorted(item.hotline_id for item in items) == sorted(by_id)
    per_day = Counter(item.day for item in items)
    assert set(per_day) <= set(days)
    counts = [per_day[day] for day in days]
    assert max(counts) <= quota
    assert max(counts) - min(counts) <= 1

    totals = Counter(item.supervisor_id for item in items)
    assert set(totals) <= set(supervisors)
    if items:
        balance = [totals[supervisor] for supervisor in supervisors]
        assert max(balance) - min(balance) <= 1

    day_index = {day: index for index, day in enumerate(days)}
    priority_days = [day_index[item.day] for item in items if by_id[item.hotline_id].priority]
    other_days = [day_index[item.day] for item in items if not by_id[item.hotline_id].priority]
    if priority_days and other_days:
        assert max(priority_days) <= min(other_days)

    if not any(line.priority for line in lines):
        spread = Counter((by_id[item.hotline_id].area, item.day) for item in items)
        for area in {line.area for line in lines}:
            per_area = [spread[(area, day)] for day in days]
            assert max(per_area) - min(per_area) <= 1, (area, per_area)

    eligible = 0
    for line in lines:
        if is_round_the_clock(line.opens, line.closes):
            continue
        if minutes(line.opens) >= 10 or minutes(line.closes) + 10 <= 23 * 60 + 59:
            eligible += 1
    outside = [item for item in items if item.outside_hours]
    assert len(outside) == min(int(share * len(lines) + 0.5), eligible)
    for item in items:
        line = by_id[item.hotline_id]
        at, opens, closes = minutes(item.at), minutes(line.opens), minutes(line.closes)
        if item.outside_hours:
            assert not is_round_the_clock(line.opens, line.closes)
            assert 10 <= opens - at <= 40 or 10 <= at - closes <= 40
        elif not is_round_the_clock(line.opens, line.closes):
            assert opens <= at < closes
