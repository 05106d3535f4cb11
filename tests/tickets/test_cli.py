from datetime import timedelta

from core import clock
from tests.tickets.builders import make_ticket


def test_deadlines_command_flags_overdue_tickets(app, runner, db, frozen_now):
    make_ticket("in_progress", now=frozen_now - timedelta(days=30))
    db.commit()
    result = runner.invoke(args=["tickets", "deadlines"])
    assert result.exit_code == 0 and "flagged overdue" in result.output and "0 flagged" not in result.output


def test_calendar_command_names_missing_years(runner, frozen_now):
    result = runner.invoke(args=["tickets", "calendar", "--days", "60"])
    assert result.exit_code == 0 and "2027" in result.output and clock.today_local().year == 2026
