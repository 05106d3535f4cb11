"""The working-day calendar's admin page (工作日历): holidays and make-up working days above the package's."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from core import calendar, clock
from core.errors import DomainError
from handlers.common import actor, domain_error_response, now, roles_required

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index():
    today = clock.today_local()
    raw_year = (request.args.get("year") or "").strip()
    year = (int(raw_year) if raw_year.isdigit() else None) or today.year

    def page():
        cal = calendar.load_calendar()
        years = list(range(today.year - 1, today.year + 3))
        return render_template("calendar/index.html", cal=cal, overrides=calendar.list_overrides(), year=year,
                               years=years, missing=cal.missing_years(years), months=_months(cal, year), today=today)

    if request.method == "POST":
        form = request.form
        try:
            if form.get("op") == "delete":
                calendar.remove_override(actor=actor(), now=now(), override_id=_override_id(form))
                flash("已删除", "success")
            else:
                day = _day(form.get("day"))
                calendar.set_override(actor=actor(), now=now(), day=day, working=form.get("working") == "1",
                                      note=form.get("note", ""))
                flash(f"已保存 {day}", "success")
        except DomainError as err:
            return domain_error_response(err, page)
        return redirect(url_for("calendar.index", year=year))
    return page()


def _override_id(form) -> int:
    raw = (form.get("override_id") or "").strip()
    if not raw.isdigit():
        raise DomainError("日期设置应为正整数", field="override_id")
    return int(raw)


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise DomainError("日期应为日期,格式如2026-11-23", status=400) from None


def _months(cal: calendar.WorkCalendar, year: int) -> list[dict[str, Any]]:
    months = []
    for month in range(1, 13):
        first = date(year, month, 1)
        days = []
        d = first
        while d.month == month:
            days.append({"day": d, "working": cal.is_working_day(d), "weekend": d.weekday() >= 5,
                         "override": d in cal.overrides, "name": cal.holiday_name(d)})
            d += timedelta(days=1)
        months.append({"month": month, "offset": first.weekday(), "days": days})
    return months
