"""`flask tickets …` commands."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from audit import services as audit
from core import clock, db
from core.calendar import load_calendar
from tickets import catalogue, jobs, presets, replay


def register(app: Flask) -> None:
    app.extensions.setdefault("hotline.init_loaders", []).extend([presets.seed_presets, catalogue.seed_catalogue])
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

    calls = AppGroup("calls", help="Live calls: replay recorded calls through the call events API.")

    @calls.command("replay")
    @click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--operator", required=True, help="The operator (user name) whose screen the call rings on.")
    @click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0),
                  help="2 plays twice as fast, 0 sends everything at once.")
    @click.option("--url", default=lambda: "http://" + os.environ.get("HOTLINE_BIND", "127.0.0.1:5000"),
                  show_default="http://$HOTLINE_BIND or http://127.0.0.1:5000", help="The running Hotline Desk.")
    @click.option("--token", envvar="HOTLINE_TELEPHONY_TOKEN", required=True,
                  help="A telephony account's API token (flask --app app users create pbx --role telephony; "
                       "flask --app app users token pbx), or HOTLINE_TELEPHONY_TOKEN.")
    def replay_cmd(paths: tuple[Path, ...], operator: str, speed: float, url: str, token: str) -> None:
        """Play recorded calls (JSON lines; samples in tickets/data/calls/) through the API, as the call
        platform would: ring, answer, the caller's words segment by segment, hang-up."""
        for path in paths or sorted(replay.SAMPLES.glob("*.jsonl")):
            try:
                events = replay.read(path)
                state = replay.replay(events, post=replay.http_poster(url, token), operator=operator,
                                      external_id=f"replay-{path.stem}-{secrets.token_hex(3)}",
                                      started=clock.now(), speed=speed)
            except (replay.ReplayError, OSError) as err:
                raise click.ClickException(str(err)) from None
            top = (state.get("suggestions") or [{}])[0]
            click.echo(f"{path.name}: call {state.get('call', state).get('id')}"
                       + (f", first suggestion {top['id']} {top['question']}" if top else ", no suggestion"))

    app.cli.add_command(calls)

