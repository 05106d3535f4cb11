"""Spot-check reports: connection and pass rates by week and county, fault types over time, unit ranking,
rectification on-time rate, and hotlines not checked in the last 7 days; with an xlsx export."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from openpyxl import Workbook
from sqlalchemy import select

from audit import services as audit
from core import clock, humanize, xlsx
from core.db import session
from core.models import User
from spotchecks import hotlines, services
from spotchecks.models import Hotline, MysteryCall, Rectification
from spotchecks.rubric import FAULT_TYPES


@dataclass
class Rates:
    label: str
    called: int = 0
    connected: int = 0
    passed: int = 0
    score_total: int = 0
    faults: int = 0
    #: A week's row: its Monday (for a chart's short label).
    monday: date | None = None

    @property
    def short_label(self) -> str:
        return humanize.short_week(self.monday) if self.monday else self.label

    def add(self, call: MysteryCall) -> None:
        self.called += 1
        self.connected += call.connected
        self.passed += call.passed
        self.score_total += call.score
        self.faults += bool(call.faults)

    @property
    def connection_rate(self) -> float | None:
        return round(self.connected * 100 / self.called, 1) if self.called else None

    @property
    def pass_rate(self) -> float | None:
        return round(self.passed * 100 / self.called, 1) if self.called else None

    @property
    def average_score(self) -> float | None:
        return round(self.score_total / self.called, 1) if self.called else None


@dataclass
class UnitRow(Rates):
    area: str = ""
    unit_id: int = 0


@dataclass
class OnTime:
    due: int = 0  #: rectifications whose deadline fell in the period (closed, answered or still owed)
    on_time: int = 0  #: answered by the deadline
    late: int = 0
    open_overdue: int = 0  #: still owed after the deadline
    closed: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.on_time * 100 / self.due, 1) if self.due else None


@dataclass
class Report:
    start: date
    end: date  #: inclusive
    weeks: list[Rates]
    counties: list[Rates]
    fault_weeks: list[str]
    fault_counts: dict[str, list[int]]
    units: list[UnitRow]
    on_time: OnTime
    unchecked: list[Hotline]
    totals: Rates = field(default_factory=lambda: Rates("合计"))


def _calls(start: date, end: date) -> list[MysteryCall]:
    lo, _ = services.day_bounds(start)
    _, hi = services.day_bounds(end)
    return services.calls_between(lo, hi)


def weeks_ending(today: date, count: int) -> tuple[date, date]:
    """The Monday `count - 1` weeks before this week's, and this week's Sunday."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=count - 1), monday + timedelta(days=6)


def unchecked(now: datetime, days: int = 7) -> list[Hotline]:
    """Active hotlines with no mystery call logged in the last `days` days (the rule says: none)."""
    since = now - timedelta(days=days)
    checked = set(session.execute(select(MysteryCall.hotline_id).where(MysteryCall.started_at >= since)).scalars())
    return [h for h in hotlines.hotlines(active_only=True) if h.id not in checked]


def on_time(start: date, end: date, now: datetime) -> OnTime:
    lo, _ = services.day_bounds(start)
    _, hi = services.day_bounds(end)
    result = OnTime()
    rows = session.execute(select(Rectification).where(Rectification.deadline_at >= lo,
                                                       Rectification.deadline_at < hi)).scalars()
    for rect in rows:
        answered_in_time = rect.answered_at is not None and rect.answered_at <= rect.deadline_at
        if rect.deadline_at > now and not answered_in_time:
            continue  # not due yet and not answered: neither on time nor late so far
        result.due += 1
        result.closed += rect.state == "closed"
        if answered_in_time:
            result.on_time += 1
        else:
            result.late += 1
            result.open_overdue += services.is_overdue(rect, now)
    return result


def build(start: date, end: date, now: datetime) -> Report:
    calls = _calls(start, end)
    week_rows: dict[date, Rates] = {}
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        week_rows[monday] = Rates(humanize.week_label(monday), monday=monday)
        monday += timedelta(weeks=1)
    areas = hotlines.area_order()
    county_rows = {area: Rates(area) for area in areas}
    unit_rows: dict[int, UnitRow] = {}
    faults: dict[date, Counter] = defaultdict(Counter)
    totals = Rates("合计")
    for call in calls:
        day = clock.to_local(call.started_at).date()
        week = day - timedelta(days=day.weekday())
        week_rows.setdefault(week, Rates(humanize.week_label(week), monday=week)).add(call)
        unit = call.hotline.unit
        county_rows.setdefault(unit.area, Rates(unit.area)).add(call)
        row = unit_rows.get(unit.id)
        if row is None:
            row = unit_rows[unit.id] = UnitRow(unit.full_name, area=unit.area, unit_id=unit.id)
        row.add(call)
        totals.add(call)
        faults[week].update(call.faults)
    ordered_weeks = [week_rows[k] for k in sorted(week_rows)]
    fault_counts = {key: [faults[k][key] for k in sorted(week_rows)] for key in FAULT_TYPES}
    units = sorted(unit_rows.values(), key=lambda r: (-(r.average_score or 0), -(r.pass_rate or 0), r.label))
    return Report(start=start, end=end, weeks=ordered_weeks, counties=[r for r in county_rows.values()],
                  fault_weeks=[r.label for r in ordered_weeks], fault_counts=fault_counts, units=units,
                  on_time=on_time(start, end, now), unchecked=unchecked(now), totals=totals)


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list]) -> None:
    xlsx.add_sheet(wb, title, header, rows, widths=[26], freeze="B2")


def _rate_rows(rows: list[Rates]) -> list[list]:
    return [[r.label, r.called, r.connected, r.connection_rate, r.passed, r.pass_rate, r.average_score]
            for r in rows]


def export(*, actor: User, now: datetime, start: date, end: date) -> bytes:
    """The report of a period as xlsx (audited)."""
    data = build(start, end, now)
    audit.record("export", "spotcheck_report", "", actor=actor, now=now, changes={"from": start, "to": end})
    return export_xlsx(data)


def export_xlsx(report: Report) -> bytes:
    wb = xlsx.new_workbook()
    rate_header = ["", "抽查数", "接通数", "接通率（%）", "合格数", "合格率（%）", "平均得分"]
    _sheet(wb, "按周", ["周次", *rate_header[1:]], _rate_rows(report.weeks))
    _sheet(wb, "按县（市、区）", ["县（市、区）", *rate_header[1:]], _rate_rows(report.counties))
    _sheet(wb, "问题类型", ["周次", *FAULT_TYPES.values()],
           [[week, *(report.fault_counts[key][i] for key in FAULT_TYPES)] for i, week in enumerate(report.fault_weeks)])
    _sheet(wb, "单位排名", ["名次", "单位", "县（市、区）", "抽查数", "接通率（%）", "合格率（%）", "平均得分", "发现问题次数"],
           [[i, r.label, r.area, r.called, r.connection_rate, r.pass_rate, r.average_score, r.faults]
            for i, r in enumerate(report.units, start=1)])
    ot = report.on_time
    _sheet(wb, "整改按期率", ["到期整改事项", "按期报送", "逾期", "其中仍未报送", "已销号", "按期率（%）"],
           [[ot.due, ot.on_time, ot.late, ot.open_overdue, ot.closed, ot.rate]])
    _sheet(wb, "近7日未抽查热线", ["热线名称", "县（市、区）", "单位", "电话号码"],
           [[h.name, h.unit.area, h.unit.name, h.number] for h in report.unchecked] or [["（无）"]])
    return xlsx.to_bytes(wb)
