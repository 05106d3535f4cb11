"""Figures, punctuation, weeks and durations as people read them."""

from datetime import date

import pytest

from core import humanize


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (7, "7"), (93.46, "93.5"), (93.44, "93.4"), (100.0, "100"), (2.25, "2.3"), (1234, "1234"),
    (12345, "12,345"), (-0.01, "0"),
])
def test_numbers_follow_gb_t_15835(value, text):
    assert humanize.number(value) == text


def test_percentages_round_half_up_and_drop_trailing_zeros():
    assert humanize.percent(2, 2) == "100%"
    assert humanize.percent(1, 3) == "33.3%"
    assert humanize.percent(187, 200) == "93.5%"
    assert humanize.percent(0, 5) == "0%"
    assert humanize.percent(0, 0) == "—"
    assert humanize.rate(187, 200) == 93.5 and humanize.rate(1, 0) is None


def test_chinese_text_gets_full_width_punctuation_but_times_and_numbers_stay():
    text = humanize.chinese_punctuation('在14:46接听,态度较好;说"不归我们管"(已录音)。电话0455-8331481,得分93.5')
    assert text == "在14:46接听，态度较好；说“不归我们管”（已录音）。电话0455-8331481，得分93.5"
    assert humanize.chinese_punctuation("see (a, b)") == "see (a, b)"


def test_weeks_read_as_their_working_days_and_number():
    assert humanize.week_label("2026-W50") == "12月7日—12月11日（第50周）"
    assert humanize.week_label(date(2026, 12, 13)) == "12月7日—12月11日（第50周）"  # a Sunday: its own week
    assert humanize.week_label("2026-W53") == "2026年12月28日—2027年1月1日（第53周）"
    assert humanize.short_week(date(2026, 11, 30)) == "11月30日—12月4日"
    assert humanize.short_week(date(2026, 12, 7)) == "12月7日—11日"
    with pytest.raises(ValueError):
        humanize.iso_monday("2026-50")


def test_dates_carry_their_weekday():
    assert humanize.day_with_weekday(date(2026, 12, 7)) == "12月7日（星期一）"
    assert humanize.day_with_weekday(date(2026, 12, 13), year=True) == "2026年12月13日（星期日）"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0秒"), (45, "45秒"), (60, "1分钟"), (125, "2分5秒"), (180.4, "3分钟"), (3600, "1小时"), (3780, "1小时3分"),
    (None, ""),
])
def test_durations_in_minutes_and_seconds(seconds, text):
    assert humanize.duration(seconds) == text
