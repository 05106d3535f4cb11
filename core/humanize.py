"""Figures, dates, weeks and durations as people say and print them (GB/T 15834 punctuation,
GB/T 15835 numbers): one place every area's pages, notices and exports use."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

WEEKDAYS = "一二三四五六日"

# --- numbers (GB/T 15835) ----------------------------------------------------------------------


def number(value: int | float | Decimal, places: int = 1) -> str:
    """A figure in Arabic numerals: whole numbers as they are, others to `places` decimals (half up, trailing
    zeros dropped); five digits and more grouped by thousands with a comma (12,345), as GB/T 15835 allows."""
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{rounded:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    whole, dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    if len(digits) >= 5:
        digits = f"{int(digits):,}"
    return f"{sign}{digits}{dot}{fraction}"


def percent(part: int | float, whole: int | float, places: int = 1) -> str:
    """`part` of `whole` as a percentage: 93.5%, 100%, 0%; an empty whole is "—" (no rate to give)."""
    if not whole:
        return "—"
    return f"{number(Decimal(str(part)) * 100 / Decimal(str(whole)), places)}%"


def rate(part: int, whole: int, places: int = 1) -> float | None:
    """The same percentage as a number (for comparing against thresholds), rounded as `percent` shows it."""
    if not whole:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return float(value)


# --- punctuation (GB/T 15834) ------------------------------------------------------------------

_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}


def chinese_punctuation(text: str) -> str:
    """Half-width , ; : ? ! ( ) and "quotes" in Chinese running text made full-width; times (14:30),
    decimals, phone numbers and Latin text are left as they are."""

    def punct(match: re.Match) -> str:
        return _HALF_TO_FULL[match.group(0)]

    # A mark touching a Chinese character on either side belongs to Chinese text.
    text = re.sub(rf"(?<={_CJK})\s*[,;:?!]\s*|\s*[,;:?!]\s*(?={_CJK})",
                  lambda m: _HALF_TO_FULL[m.group(0).strip()], text)
    text = re.sub(rf"\(([^()]*{_CJK}[^()]*)\)", lambda m: f"（{m.group(1)}）", text)
    text = re.sub(rf"(?<={_CJK})\(|\)(?={_CJK})", punct, text)
    text = re.sub(r'"([^"]*)"', lambda m: f"“{m.group(1)}”", text)
    return text


# --- days and weeks ----------------------------------------------------------------------------


def weekday(day: date) -> str:
    return f"星期{WEEKDAYS[day.weekday()]}"


def month_day(day: date, *, year: bool = False) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"


def day_with_weekday(day: date, *, year: bool = False) -> str:
    """12月7日（星期一）."""
    return f"{month_day(day, year=year)}（{weekday(day)}）"


def day_with_short_weekday(day: date, *, year: bool = False) -> str:
    """12月11日（周五）: the shorter weekday, as a deadline is said on the phone."""
    return f"{month_day(day, year=year)}（周{WEEKDAYS[day.weekday()]}）"


def iso_monday(week: str) -> date:
    """The Monday of an ISO week written 2026-W50 (the plans' key; never shown to people)."""
    match = re.fullmatch(r"(\d{4})-W(\d{1,2})", week.strip())
    if not match:
        raise ValueError(f"not an ISO week: {week!r}")
    return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)


def week_range(monday: date, *, days: int = 5, year: bool = False) -> str:
    """12月7日—12月11日: the working week (Monday to Friday) by default; the year is named when asked or
    when the week crosses into the next one."""
    last = monday + timedelta(days=days - 1)
    crosses = last.year != monday.year
    return f"{month_day(monday, year=year or crosses)}—{month_day(last, year=crosses)}"


def week_label(week: str | date, *, year: bool = False) -> str:
    """12月7日—12月11日（第50周）, from the ISO week key or any day of the week."""
    monday = iso_monday(week) if isinstance(week, str) else week - timedelta(days=week.weekday())
    return f"{week_range(monday, year=year)}（第{monday.isocalendar().week}周）"


def short_week(monday: date) -> str:
    """12月7日—11日, or 12月28日—1月1日 across months: a chart's axis label."""
    friday = monday + timedelta(days=4)
    end = f"{friday.day}日" if friday.month == monday.month else month_day(friday)
    return f"{month_day(monday)}—{end}"


# --- durations ---------------------------------------------------------------------------------


def duration(seconds: int | float | None) -> str:
    """A length of time in hours, minutes and seconds as people say it: 45秒, 2分5秒, 1小时3分 (never 0.05小时)."""
    if seconds is None:
        return ""
    total = int(Decimal(str(seconds)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if total < 60:
        return f"{total}秒"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
