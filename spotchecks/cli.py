"""`flask spotchecks …` commands: the weekly plan, and the hotline registry as a spreadsheet."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError, OperationalError

from audit import services as audit
from core import clock, db
from core.errors import DomainError
from spotchecks import hotlines, services, transfer
from spotchecks.settings import SpotcheckSettings

WEEKDAYS = "一二三四五六日"


def _load_hotlines(now: datetime) -> str:
    return hotlines.load_hotlines(now=now)


def plan_json(result: services.PlanResult) -> dict:
    plan = result.plan
    items = services.plan_items(plan)
    return {
        "week": plan.week, "seed": plan.seed, "created": result.created, "quota": plan.quota,
        "configured_quota": plan.configured_quota, "warning": plan.warning or None,
        "items": [{"hotline_id": item.hotline_id, "number": item.hotline.number, "date": item.day.isoformat(),
                   "time": clock.to_local(item.planned_at).strftime("%H:%M"), "supervisor": item.supervisor.username,
                   "recheck": item.recheck, "outside_hours": item.outside_hours} for item in items],
    }


def plan_summary(result: services.PlanResult) -> list[str]:
    plan = result.plan
    items = services.plan_items(plan)
    total = len(hotlines.hotlines(active_only=True))
    covered = len({item.hotline_id for item in items})
    lines = [f"plan {plan.week} (seed {plan.seed}): {result.created} items created by this run, {len(items)} in the plan"]
    if plan.warning:
        lines.append(f"警告 WARNING: {plan.warning}")
    lines.append(f"daily quota: {plan.quota} (configured {plan.configured_quota})")
    lines.append("per day:")
    for day, count in sorted(Counter(item.day for item in items).items()):
        lines.append(f"  {day.isoformat()} 周{WEEKDAYS[day.weekday()]}  {count}")
    lines.append("per county:")
    order = hotlines.area_order()
    per_area = Counter(item.hotline.unit.area for item in items)
    for area in sorted(per_area, key=lambda a: (a not in order, order.index(a) if a in order else 0, a)):
        days = len({item.day for item in items if item.hotline.unit.area == area})
        lines.append(f"  {area}  {per_area[area]} (days: {days})")
    lines.append(f"hotlines covered: {covered}/{total}")
    rechecks = sum(item.recheck for item in items)
    if rechecks:
        lines.append(f"re-checks placed first: {rechecks}")
    return lines


def register(app: Flask) -> None:
    SpotcheckSettings.from_config(app.config)  # a bad rubric setting stops the start-up here (ConfigError)
    app.extensions.setdefault("hotline.init_loaders", []).append(_load_hotlines)
    group = AppGroup("spotchecks", help="Hotline spot checks: weekly plans and the hotline registry.")

    @group.command("plan")
    @click.option("--week", default=None, help="ISO week such as 2026-W48 (default: the current week).")
    @click.option("--seed", type=int, default=None, help="Random seed (default: derived from the week, e.g. 202648).")
    @click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON object.")
    def plan(week: str | None, seed: int | None, as_json: bool) -> None:
        """Create the week's spot-check plan if it is missing, and print its summary.

        Safe to run again or in parallel: a week gets one plan; a later run adds nothing (created=0).
        """
        audit.set_origin("cli:spotchecks plan", "cli")
        if week is None:
            iso = clock.today_local().isocalendar()
            week = services.week_key(iso.year, iso.week)
        try:
            with db.transaction():
                result = services.create_plan(actor=None, now=clock.now(), week=week, seed=seed,
                                                 settings=SpotcheckSettings.from_config(current_app.config))
        except DomainError as err:
            raise click.ClickException(err.message) from None
        except (IntegrityError, OperationalError):
            # Lost a race the savepoint did not catch (e.g. a serialization failure): the winner's plan stands.
            db.session.rollback()
            year, number = services.parse_week(week)
            existing = services.plan_for_week(services.week_key(year, number))
            if existing is None:
                raise
            result = services.PlanResult(existing, 0)
        if as_json:
            click.echo(json.dumps(plan_json(result), ensure_ascii=False))
            if result.plan.warning:
                click.echo(f"警告 WARNING: {result.plan.warning}", err=True)
        else:
            for line in plan_summary(result):
                click.echo(line)

    @group.command("export-hotlines")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def export_hotlines(path: Path) -> None:
        """Write the hotline registry to an .xlsx workbook."""
        audit.set_origin("cli:spotchecks export-hotlines", "cli")
        with db.transaction():
            path.write_bytes(transfer.export_hotlines(actor=None, now=clock.now()))
        click.echo(f"wrote {len(hotlines.hotlines())} hotlines to {path}")

    @group.command("import-hotlines")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def import_hotlines(path: Path) -> None:
        """Import an .xlsx workbook of hotlines (all or nothing: any error changes nothing)."""
        audit.set_origin("cli:spotchecks import-hotlines", "cli")
        try:
            with db.transaction():
                counts = transfer.import_xlsx(path.read_bytes(), actor=None, now=clock.now())
        except transfer.HotlineImportError as err:
            for message in err.errors:
                click.echo(message, err=True)
            raise click.ClickException(f"导入失败,数据库未作任何修改({len(err.errors)}处错误)") from None
        click.echo(f"imported: {counts['created']} new, {counts['updated']} changed, {counts['unchanged']} unchanged")

    app.cli.add_command(group)
