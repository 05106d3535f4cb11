"""Jinja filters: one place that turns stored values into what people read."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from markupsafe import Markup, escape

from core import clock, humanize, masking
from core.masking import mask_id_number, mask_phone


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return clock.to_local(value).strftime(fmt)


def localdate(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = clock.to_local(value).date()
    return value.strftime("%Y-%m-%d")


def weekday_date(value: date | datetime | None, year: bool = False) -> str:
    """12月7日（星期一）: a local date with its weekday."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = clock.to_local(value).date()
    return humanize.day_with_weekday(value, year=year)


def said_time(value: datetime | None) -> str:
    """12月6日（周日）18:25: a moment as people say it (the year only when it is not this year's)."""
    if value is None:
        return ""
    local = clock.to_local(value)
    other_year = local.year != clock.to_local(clock.now()).year
    return f"{humanize.day_with_short_weekday(local.date(), year=other_year)}{local:%H:%M}"


def person_unit(user) -> str:
    """李建国（北林区民政局）: a person as colleagues know them, by name and unit, never the login name."""
    return user.name_and_unit if user is not None else ""


def nl2br(value: str | None) -> Markup:
    if not value:
        return Markup("")
    return Markup("<br>").join(escape(line) for line in value.splitlines())


def mask_numbers(value: str | None, full: bool = False) -> str:
    """Free text as the viewer may read it: phone and ID numbers masked unless `full` (the role's rule says so)."""
    return (value or "") if full else masking.mask_numbers(value)


def register(app: Flask) -> None:
    from handlers import navigation

    navigation.register(app)
    app.add_template_filter(localtime)
    app.add_template_filter(localdate)
    app.add_template_filter(nl2br)
    app.add_template_filter(weekday_date)
    app.add_template_filter(said_time)
    app.add_template_filter(person_unit)
    app.add_template_filter(humanize.week_label, "week_label")
    app.add_template_filter(humanize.duration, "duration")
    app.add_template_filter(humanize.number, "figure")
    app.add_template_filter(mask_phone)
    app.add_template_filter(mask_id_number)
    app.add_template_filter(mask_numbers)
