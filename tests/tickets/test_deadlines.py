"""Ticket deadlines on the working-day calendar (core.calendar): working-day limits fall due at the end of
their last working day (17:30 Beijing time), hours are wall-clock, and both are said as people say them."""

import importlib.util
from datetime import datetime, time
from pathlib import Path

from core import clock
from core.calendar import WorkCalendar
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket
from tickets import deadlines, services

CAL = WorkCalendar()


def local(*args) -> datetime:
    return clock.local_to_utc(datetime(*args))


def test_a_friday_deadline_is_friday_1730_beijing_stored_0930_utc(db):
    ticket = make_ticket(now=local(2026, 12, 8, 10, 0), kind="consult")  # Tuesday; 3 working days
    assert ticket.closure_due_at == local(2026, 12, 11, 17, 30)
    assert ticket.closure_due_at.isoformat() == "2026-12-11T09:30:00+00:00"


def test_a_ticket_opened_on_saturday_falls_due_on_friday_not_at_monday_midnight(db):
    ticket = make_ticket(now=local(2026, 12, 5, 15, 0), kind="help")  # 5 working days from Saturday
    assert ticket.closure_due_at == local(2026, 12, 11, 17, 30)
    assert deadlines.due_text(ticket.closure_due_at, CAL, local(2026, 12, 5, 15, 0)) == "12月11日（周五）下班前"


def test_national_day_and_the_worked_saturday_count_as_the_calendar_says(db):
    ticket = make_ticket(now=local(2026, 9, 30, 10, 0), kind="help", urgency="normal")
    # 8, 9, 10 (Saturday, 调休 worked), 12, 13 October; 1–7 October are the holiday
    assert ticket.closure_due_at == local(2026, 10, 13, 17, 30)
    assert ticket.first_contact_due_at == local(2026, 10, 8, 17, 30)


def test_urgent_first_contact_is_two_wall_clock_hours(db):
    ticket = make_ticket(now=local(2026, 10, 2, 22, 0), urgency="urgent")
    assert ticket.first_contact_due_at == local(2026, 10, 3, 0, 0)
    assert ticket.closure_due_at == local(2026, 10, 8, 17, 30)
    assert deadlines.due_text(ticket.first_contact_due_at, CAL) == "10月3日（周六）00:00前"


def test_a_2027_ticket_gets_deadlines_from_the_fallback(db):
    ticket = make_ticket(now=local(2027, 2, 5, 9, 0), kind="consult")  # a Friday
    assert ticket.closure_due_at == local(2027, 2, 10, 17, 30)


def test_the_end_of_the_working_day_is_a_setting(app, db):
    app.config["WORKDAY_END"] = "18:00"
    ticket = make_ticket(now=local(2026, 12, 8, 10, 0), kind="consult")
    assert ticket.closure_due_at == local(2026, 12, 11, 18, 0)
    assert WorkCalendar(workday_end=time(17, 0)).due_after(local(2026, 12, 8, 10, 0), 3) == local(2026, 12, 11, 17, 0)


def test_remaining_working_days_and_hours_as_people_say_them():
    due = local(2026, 12, 11, 17, 30)
    assert deadlines.remaining_text(due, local(2026, 12, 7, 9, 0), CAL) == "剩余 4 个工作日"
    assert deadlines.remaining_text(due, local(2026, 12, 11, 15, 30), CAL) == "剩余 2 小时"
    assert deadlines.remaining_text(due, local(2026, 12, 11, 18, 10), CAL) == "已超期 40 分钟"
    assert deadlines.remaining_text(due, local(2026, 12, 14, 10, 0), CAL) == "已超期 1 个工作日"
    assert deadlines.remaining_text(due, local(2026, 12, 16, 10, 0), CAL) == "已超期 3 个工作日"


def test_remaining_working_days_skip_the_holiday():
    due = local(2026, 10, 13, 17, 30)
    # after 30 September: 8, 9, 10 (worked Saturday), 12, 13 October
    assert deadlines.remaining_text(due, local(2026, 9, 30, 11, 0), CAL) == "剩余 5 个工作日"


def test_the_api_gives_due_and_remaining_text_beside_the_iso_times(client, db, bearer):
    operator = make_user("operator")
    ticket = make_ticket(now=local(2026, 12, 8, 10, 0), kind="consult", operator=operator)
    headers = bearer(operator)
    with clock.freeze(local(2026, 12, 9, 9, 0)):
        body = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json
    d = body["deadlines"]
    assert d["closure_due_at"] == "2026-12-11T17:30:00+08:00" and d["closure_due_text"] == "12月11日（周五）下班前"
    assert d["current"]["due_text"] == "12月9日（周三）下班前"  # first contact: 1 working day
    assert d["current"]["remaining_text"] == "剩余 8 小时 30 分钟"
    assert body["time_left"]["remaining_text"] == "剩余 8 小时 30 分钟"


def test_the_ticket_page_says_the_deadline_in_words(app, client, db, login):
    operator = login("operator")
    ticket = make_ticket(now=local(2026, 12, 8, 10, 0), kind="consult", operator=operator)
    db.commit()
    with clock.freeze(local(2026, 12, 10, 9, 0)):
        html = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "办结 12月11日（周五）下班前" in html
    assert "首次联系已超期 1 个工作日" in html and "首次联系时限 12月9日（周三）下班前" in html


def test_callback_falls_due_at_the_end_of_the_next_working_day(db):
    owner = make_caseworker()
    friday = make_ticket("in_progress", owner=owner, now=local(2026, 12, 7, 9, 0))
    services.close(actor=owner, now=local(2026, 12, 11, 15, 0), ticket=friday, version=friday.version,
                   resolution="已补发")
    assert friday.callback_due_at == local(2026, 12, 14, 17, 30)
    before_holiday = make_ticket("in_progress", owner=owner, now=local(2026, 9, 28, 9, 0), kind="consult")
    services.close(actor=owner, now=local(2026, 9, 30, 16, 0), ticket=before_holiday,
                   version=before_holiday.version, resolution="已解答")
    assert before_holiday.callback_due_at == local(2026, 10, 8, 17, 30)
    make_up = make_ticket("in_progress", owner=owner, now=local(2026, 10, 8, 9, 0), kind="consult")
    services.close(actor=owner, now=local(2026, 10, 9, 16, 0), ticket=make_up, version=make_up.version,
                   resolution="已解答")
    assert make_up.callback_due_at == local(2026, 10, 10, 17, 30)  # the worked Saturday


def _migration():
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0019_deadlines.py"
    spec = importlib.util.spec_from_file_location("migration_0019_deadlines", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_moves_a_stored_next_midnight_back_to_the_end_of_the_working_day():
    migration = _migration()
    assert migration._end_of_day_before(local(2026, 12, 14, 0, 0), CAL) == local(2026, 12, 11, 17, 30)
    assert migration._end_of_day_before(local(2026, 10, 8, 0, 0), CAL) == local(2026, 9, 30, 17, 30)
    assert migration._end_of_day_before(local(2026, 12, 14, 10, 0), CAL) is None
