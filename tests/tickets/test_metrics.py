from datetime import datetime, timedelta

from core import clock
from tests.builders import make_user
from tests.tickets.builders import make_call, make_caseworker, make_ticket
from tickets import metrics, services


def test_on_the_spot_rate_by_day_and_week_equals_the_recorded_calls(db):
    op = make_user("operator")
    monday = clock.local_to_utc(datetime(2026, 11, 16, 10, 0))
    for day, outcomes in enumerate([["answered"] * 19 + ["ticket"], ["answered", "dropped"], []]):
        for outcome in outcomes:
            make_call(operator=op, outcome=outcome, duration_seconds=0, now=monday + timedelta(days=day))
    m = metrics.compute(monday.date(), (monday + timedelta(days=6)).date(), clock.now())
    assert m["calls"]["total"] == 22 and m["calls"]["answered_on_the_spot"] == 20
    assert m["calls"]["on_the_spot_rate"] == round(20 / 22, 4)
    assert {k: n for k, n in m["calls"]["by_outcome"].items() if n} == {"answered": 20, "ticket": 1, "dropped": 1}
    assert [d["rate"] for d in m["by_day"][:3]] == [0.95, 0.5, None]
    assert m["by_week"] == [{"week": "2026-W47", "calls": 22, "answered": 20, "rate": round(20 / 22, 4)}]


def test_calls_count_on_their_beijing_date_not_their_utc_one(db):
    op = make_user("operator")
    # 23:50 and 00:10 Beijing time: the same UTC date, two Beijing dates.
    make_call(operator=op, outcome="answered", duration_seconds=0,
              now=clock.local_to_utc(datetime(2026, 11, 17, 23, 50)))
    make_call(operator=op, outcome="ticket", duration_seconds=0,
              now=clock.local_to_utc(datetime(2026, 11, 18, 0, 10)))
    m = metrics.compute(datetime(2026, 11, 17).date(), datetime(2026, 11, 18).date(), clock.now())
    assert [(d["date"], d["calls"], d["answered"]) for d in m["by_day"]] == [("2026-11-17", 1, 1),
                                                                             ("2026-11-18", 1, 0)]


def test_overdue_and_unit_figures_are_counted_by_the_database_as_the_board_counts_them(db):
    owner, op = make_caseworker(), make_user("operator")
    late = make_ticket("in_progress", owner=owner, operator=op)
    make_ticket("in_progress", owner=owner, operator=op)
    later = late.closure_due_at + timedelta(hours=1)
    today = clock.today_local()
    m = metrics.compute(today - timedelta(days=1), today + timedelta(days=1), later)
    assert m["tickets"]["overdue"] == 2
    unit = next(u for u in m["per_unit"] if u["id"] == owner.unit_id)
    assert (unit["tickets"], unit["closed"], unit["overdue"], unit["on_time_rate"]) == (2, 0, 2, None)
    assert unit["name"] == owner.unit.name


def test_ticket_figures(db):
    owner, op = make_caseworker(), make_user("operator")
    t = make_ticket("in_progress", owner=owner, operator=op)
    services.record_contact(actor=owner, now=t.created_at + timedelta(hours=2), ticket=t, version=t.version)
    services.close(actor=owner, now=t.created_at + timedelta(hours=10), ticket=t, version=t.version,
                   resolution="好了")
    services.callback(actor=op, now=t.created_at + timedelta(hours=20), ticket=t, version=t.version,
                      satisfaction="basic")
    make_ticket("pending_dispatch", operator=op)
    today = clock.today_local()
    m = metrics.compute(today - timedelta(days=1), today + timedelta(days=1), clock.now())
    assert m["tickets"]["by_state"]["closed"] == 1 and m["tickets"]["by_state"]["pending_dispatch"] == 1
    assert (m["tickets"]["total"], m["tickets"]["closed"], m["tickets"]["closed_on_time"]) == (2, 1, 1)
    assert m["tickets"]["median_hours_to_first_contact"] == 2.0
    assert m["tickets"]["median_hours_to_closure"] == 10.0
    assert m["tickets"]["on_time_closure_rate"] == 1.0
    assert m["callbacks"]["basic"] == 1 and m["callbacks"]["satisfaction_rate"] == 1.0
    person = next(p for p in m["per_person"] if p["id"] == owner.id)
    assert person["tickets"] == 1 and person["closed"] == 1


def test_charts_are_svg_with_the_goal_line():
    svg = metrics.rate_chart([{"date": "2026-11-16", "calls": 2, "answered": 1, "rate": 0.5},
                              {"date": "2026-11-17", "calls": 0, "answered": 0, "rate": None}], "date")
    assert svg.startswith("<svg") and "目标95%" in svg and "polyline" in svg
    assert "<text" in metrics.bar_chart([("待派单", 3), ("<b>", 1)]) and "&lt;b&gt;" in metrics.bar_chart([("<b>", 1)])
