"""The dashboard's figures: on-the-spot answer rate, ticket states and limits, satisfaction; SVG charts; xlsx."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup, escape
from openpyxl import Workbook
from sqlalchemy import JSON, Date, and_, case, cast, func, literal_column, or_, select

from core import xlsx
from core.clock import LOCAL
from core.db import session
from core.errors import DomainError
from core.models import Unit, User
from tickets.models import OUTCOMES, SATISFACTION, STATES, Call, Ticket, TicketEvent, TicketRequest
from tickets.queries import overdue_clause

#: The on-the-spot answer rate the expert seat aims for.
GOAL = 0.95


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period asked for, by default the 30 days up to today; at most a year."""
    end = end or today
    start = start or end - timedelta(days=29)
    if start > end:
        raise DomainError("开始日期不能晚于结束日期", status=400)
    if (end - start).days > 366:
        raise DomainError("统计区间不能超过一年", status=400)
    return start, end


def local_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Beijing-time dates start..end (inclusive) as a half-open UTC range."""
    return (datetime.combine(start, time(0), tzinfo=LOCAL),
            datetime.combine(end + timedelta(days=1), time(0), tzinfo=LOCAL))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(seconds: list[float]) -> float | None:
    return round(statistics.median(seconds) / 3600, 2) if seconds else None


def _seconds_between(earlier: Any, later: Any) -> Any:
    """`later - earlier` in seconds, in SQL: plain numbers come back, not two datetimes per row to convert."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400


@dataclass
class Row:
    key: Any
    label: str
    total: int = 0
    answered: int = 0

    @property
    def rate(self) -> float | None:
        return _rate(self.answered, self.total)


def _local_day(column: Any) -> Any:
    """The Beijing date of a stored (naive UTC) time, in SQL: China keeps +8 all year (no summer time)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column + literal_column("interval '8 hours'"), Date)
    return func.date(column, "+8 hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def json_text(column: Any, key: str) -> Any:
    """One text field of a JSON text column, in SQL (the satisfaction a callback event records)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, JSON).op("->>")(key)
    return func.json_extract(column, f"$.{key}")


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def compute(start: date, end: date, now: datetime) -> dict[str, Any]:
    """Every figure for calls recorded and tickets opened between the Beijing dates start and end (inclusive).

    Counted by the database (GROUP BY): a year of a city's calls and tickets is never loaded as objects
    (that took 3.4–5.0 s and ~500 MB at the review's volumes)."""
    lo, hi = local_range(start, end)
    in_period = (Call.status == "recorded", Call.started_at >= lo, Call.started_at < hi)
    days: dict[date, Row] = {}
    d = start
    while d <= end:
        days[d] = Row(d, d.isoformat())
        d += timedelta(days=1)
    weeks: dict[tuple[int, int], Row] = {}
    for d in days:
        iso = d.isocalendar()
        weeks.setdefault((iso.year, iso.week), Row((iso.year, iso.week), f"{iso.year}-W{iso.week:02d}"))
    # One pass over the period's calls, by day and outcome: the outcomes' totals and the days' rates.
    day = _local_day(Call.started_at)
    by_outcome: Counter = Counter()
    for value, outcome, count in session.execute(
            select(day, Call.outcome, func.count()).where(*in_period).group_by(day, Call.outcome)):
        by_outcome[outcome] += count
        d = _as_date(value)
        iso = d.isocalendar()
        for row in (days.get(d), weeks.get((iso.year, iso.week))):
            if row is not None:
                row.total += count
                row.answered += count if outcome == "answered" else 0

    # A ticket merged into another (并单) counts once, as the open ticket it joined.
    opened = (Ticket.created_at >= lo, Ticket.created_at < hi, Ticket.state != "merged")
    is_closed = Ticket.closed_at.is_not(None)
    is_on_time = and_(is_closed, or_(Ticket.closure_due_at.is_(None), Ticket.closed_at <= Ticket.closure_due_at))
    is_overdue = overdue_clause(now)
    tally = (func.count(), _count_if(is_closed), _count_if(is_on_time), _count_if(is_overdue))
    by_state: Counter = Counter()
    n_tickets = n_closed = n_on_time = n_overdue = 0
    for state, n, closed, on_time, overdue in session.execute(
            select(Ticket.state, *tally).where(*opened).group_by(Ticket.state)):
        by_state[state] = n
        n_tickets, n_closed = n_tickets + n, n_closed + (closed or 0)
        n_on_time, n_overdue = n_on_time + (on_time or 0), n_overdue + (overdue or 0)
    to_contact = [float(v) for v in session.execute(
        select(_seconds_between(Ticket.created_at, Ticket.first_contact_at))
        .where(*opened, Ticket.first_contact_at.is_not(None))).scalars()]
    to_close = [float(v) for v in session.execute(
        select(_seconds_between(Ticket.created_at, Ticket.closed_at)).where(*opened, is_closed)).scalars()]
    answer = json_text(TicketEvent.data_json, "satisfaction")
    satisfaction = Counter(dict(session.execute(
        select(answer, func.count()).where(TicketEvent.action == "callback", TicketEvent.at >= lo,
                                           TicketEvent.at < hi).group_by(answer)).all()))
    n_callbacks = sum(satisfaction.values())
    satisfied = satisfaction["satisfied"] + satisfaction["basic"]

    def _grouped(key: Any) -> dict[Any, dict[str, int]]:
        rows = session.execute(select(key, *tally).where(*opened).group_by(key))
        return {k: {"tickets": n, "closed": c or 0, "on_time": o or 0, "overdue": late or 0} for k, n, c, o, late in rows}

    per_unit, per_person = _grouped(Ticket.unit_id), _grouped(Ticket.first_owner_id)
    units = {u.id: u.name for u in session.execute(select(Unit)).scalars()}
    people = {u.id: (u.display_name, u.unit_id) for u in session.execute(
        select(User).where(User.id.in_(sorted(k for k in per_person if k)))).scalars()}

    def _finish(rows: dict[Any, dict[str, Any]], name) -> list[dict[str, Any]]:
        out = []
        for key, r in rows.items():
            out.append({"id": key, **name(key), **r, "on_time_rate": _rate(r["on_time"], r["closed"])})
        return sorted(out, key=lambda r: (-r["tickets"], str(r["name"])))

    total = sum(by_outcome.values())
    answered = by_outcome["answered"]
    return {
        "from": start.isoformat(), "to": end.isoformat(), "goal": GOAL,
        "calls": {"total": total, "answered_on_the_spot": answered, "on_the_spot_rate": _rate(answered, total),
                  "by_outcome": {k: by_outcome[k] for k in OUTCOMES}},
        "by_day": [{"date": r.label, "calls": r.total, "answered": r.answered, "rate": r.rate}
                   for r in days.values()],
        "by_week": [{"week": r.label, "calls": r.total, "answered": r.answered, "rate": r.rate}
                    for r in weeks.values()],
        "tickets": {
            "total": n_tickets,
            "by_state": {s: by_state[s] for s in STATES},
            "overdue": n_overdue,
            "median_hours_to_first_contact": _hours(to_contact),
            "median_hours_to_closure": _hours(to_close),
            "closed": n_closed, "closed_on_time": n_on_time, "on_time_closure_rate": _rate(n_on_time, n_closed),
        },
        "callbacks": {"total": n_callbacks, **{k: satisfaction[k] for k in SATISFACTION},
                      "satisfaction_rate": _rate(satisfied, n_callbacks)},
        "per_unit": _finish(per_unit, lambda k: {"name": units.get(k, "未派单")}),
        "rejected_objections": rejected_objections(lo, hi, units),
        "per_person": _finish(per_person, lambda k: {
            "name": people[k][0] if k in people else "未派单",
            "unit": units.get(people[k][1], "") if k in people else ""}),
    }


def rejected_objections(lo: datetime, hi: datetime, units: dict[int, str]) -> list[dict[str, Any]]:
    """Dispatch objections (派单异议) rejected in the period, by the objecting owner's unit, most first: a
    unit that often objects in vain is pushing back work that is its own."""
    rows = session.execute(select(User.unit_id).join(TicketRequest, TicketRequest.requested_by_id == User.id)
                           .where(TicketRequest.kind == "objection", TicketRequest.state == "rejected",
                                  TicketRequest.decided_at >= lo, TicketRequest.decided_at < hi)).scalars()
    counts = Counter(rows)
    return sorted(({"id": k, "name": units.get(k, "无单位"), "rejected": n} for k, n in counts.items()),
                  key=lambda r: (-r["rejected"], str(r["name"])))


# --- charts (inline SVG) ------------------------------------------------------------------------

def rate_chart(points: list[dict[str, Any]], label_key: str, goal: float = GOAL, width: int = 640,
               height: int = 220) -> Markup:
    """A line of the on-the-spot rate with the goal as a dashed line; days without calls leave a gap."""
    left, right, top, bottom = 40, 10, 12, 36
    w, h = width - left - right, height - top - bottom
    n = max(len(points), 1)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(rate: float) -> float:
        return top + h * (1 - rate)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="在线答复率趋势" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for r in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(r):.1f}" y2="{y(r):.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y(r) + 4:.1f}" class="axis" text-anchor="end">{int(r * 100)}%</text>')
    parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(goal):.1f}" y2="{y(goal):.1f}" class="goal"/>'
                 f'<text x="{left + w}" y="{y(goal) - 4:.1f}" class="goal-label" text-anchor="end">'
                 f'目标{int(goal * 100)}%</text>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, p in enumerate(points):
        if p["rate"] is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(p['rate']):.1f}")
        title = escape(f"{p[label_key]}:{p['rate'] * 100:.1f}%({p['answered']}/{p['calls']})")
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(p["rate"]):.1f}" r="3" class="dot">'
                     f'<title>{title}</title></circle>')
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline points="{" ".join(seg)}" class="line"/>')
    step = max(1, n // 8)
    for i, p in enumerate(points):
        if i % step == 0 or i == n - 1:
            label = str(p[label_key])
            short = label.split("-", 1)[1] if "-W" in label else label[-5:]  # 2026-W44 → W44, 2026-11-24 → 11-24
            anchor = "end" if i == n - 1 and n > 1 else ("start" if i == 0 and n > 1 else "middle")
            parts.append(f'<text x="{x(i):.1f}" y="{height - 14}" class="axis" text-anchor="{anchor}">'
                         f'{escape(short)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(items: list[tuple[str, int]], width: int = 420, bar: int = 22) -> Markup:
    """Horizontal bars with labels and counts."""
    height = max(len(items), 1) * (bar + 8) + 8
    top = max((v for _, v in items), default=0) or 1
    label_w, count_w = 90, 40
    w = width - label_w - count_w
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="工单状态分布" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(items):
        y0 = 8 + i * (bar + 8)
        parts.append(f'<text x="{label_w - 6}" y="{y0 + bar * 0.7:.1f}" class="axis" text-anchor="end">'
                     f'{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y0}" width="{w * value / top:.1f}" height="{bar}" class="bar"/>'
                     f'<text x="{label_w + w * value / top + 4:.1f}" y="{y0 + bar * 0.7:.1f}" class="axis">'
                     f'{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# --- xlsx ---------------------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def to_xlsx(figures: dict[str, Any]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "概览"
    c, t, cb = figures["calls"], figures["tickets"], figures["callbacks"]
    rows = [
        ("统计区间", f"{figures['from']} 至 {figures['to']}"),
        ("来电总数", c["total"]), ("即问即答", c["answered_on_the_spot"]),
        ("在线答复率", _pct(c["on_the_spot_rate"])), ("目标", _pct(figures["goal"])),
        *((f"来电结果:{OUTCOMES[k]}", v) for k, v in c["by_outcome"].items()),
        ("工单总数", t["total"]), *((f"工单状态:{STATES[k]}", v) for k, v in t["by_state"].items()),
        ("超期工单", t["overdue"]), ("首次联系时长中位数(小时)", t["median_hours_to_first_contact"]),
        ("办结时长中位数(小时)", t["median_hours_to_closure"]), ("按时办结率", _pct(t["on_time_closure_rate"])),
        ("回访次数", cb["total"]), *((f"回访:{SATISFACTION[k]}", cb[k]) for k in SATISFACTION),
        ("满意率(满意+基本满意)", _pct(cb["satisfaction_rate"])),
    ]
    for row in rows:
        xlsx.append_row(ws, row)
    _sheet(wb, "按日", ["日期", "来电", "即问即答", "在线答复率"],
           [[r["date"], r["calls"], r["answered"], _pct(r["rate"])] for r in figures["by_day"]])
    _sheet(wb, "按周", ["周", "来电", "即问即答", "在线答复率"],
           [[r["week"], r["calls"], r["answered"], _pct(r["rate"])] for r in figures["by_week"]])
    _sheet(wb, "按单位", ["单位", "工单", "已办结", "按时办结", "超期", "按时办结率"],
           [[r["name"], r["tickets"], r["closed"], r["on_time"], r["overdue"], _pct(r["on_time_rate"])]
            for r in figures["per_unit"]])
    _sheet(wb, "按人员", ["承办人", "单位", "工单", "已办结", "按时办结", "超期", "按时办结率"],
           [[r["name"], r["unit"], r["tickets"], r["closed"], r["on_time"], r["overdue"], _pct(r["on_time_rate"])]
            for r in figures["per_person"]])
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 24
    return xlsx.to_bytes(wb)


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    xlsx.add_sheet(wb, title, header, rows)
