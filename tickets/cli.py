"""`flask tickets …` commands."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

from audit import services as audit
from core import clock, db
from core.calendar import load_calendar
from tickets import jobs, policy


def register(app: Flask) -> None:
    app.extensions.setdefault("hotline.init_loaders", []).append(policy.seed_policies)
    group = AppGroup("tickets", help="The tickets area.")

    @group.command("deadlines")
    def deadlines() -> None:
        """Run the deadline job once: warn at 75% of a limit, flag overdue tickets."""
        audit.set_origin("cli:tickets deadlines", "cli")
        with db.transaction():
            click.echo(jobs.deadline_warnings(clock.now()))

    @group.command("calendar")
    @click.option("--days", default=400, show_default=True, help="How far ahead to check.")
    def calendar(days: int) -> None:
        """Say which years' holidays are missing (not in chinese_calendar, none entered by an admin)."""
        today = clock.today_local()
        years = range(today.year, (today + timedelta(days=days)).year + 1)
        missing = load_calendar().missing_years(years)
        if missing:
            click.echo(f"missing holiday calendar for: {', '.join(map(str, missing))} "
                       "(weekends only until an admin enters holidays and make-up days)")
        else:
            click.echo("working-day calendar complete for " + ", ".join(map(str, years)))

    app.cli.add_command(group)
