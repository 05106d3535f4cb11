"""`flask spotchecks plan`: coverage within the quota, reproducible, idempotent, and safe in parallel."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from sqlalchemy import delete, func, select

from core import clock
from spotchecks.models import SpotcheckItem, SpotcheckPlan
from tests.builders import make_user
from tests.spotchecks.builders import SETTINGS, at_local


@pytest.fixture
def supervisors(db):
    users = [make_user("supervisor") for _ in range(3)]
    db.flush()
    return users


def plan_json(runner, *args):
    result = runner.invoke(args=["spotchecks", "plan", "--week", "2026-W48", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[0])


def test_plan_json_covers_all_183_within_the_effective_quota_per_working_day(runner, supervisors):
    with clock.freeze(at_local(2026, 11, 23, 8, 0)):
        data = plan_json(runner)
    assert (data["week"], data["seed"], data["created"], data["quota"]) == ("2026-W48", 202648, 183, 37)
    assert data["warning"] == "本周5个工作日，每日限额30不足以覆盖183条热线，已按每日37条安排"
    assert len({item["hotline_id"] for item in data["items"]}) == 183
    per_day = Counter(item["date"] for item in data["items"])
    assert sorted(per_day) == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
    assert max(per_day.values()) <= data["quota"]
    assert {item["supervisor"] for item in data["items"]} == {u.username for u in supervisors}
    first = data["items"][0]
    assert set(first) >= {"hotline_id", "number", "date", "time", "supervisor"}
    assert first["number"].startswith("0455-") and len(first["time"]) == 5


def test_a_second_run_adds_nothing_and_prints_the_same_plan(runner, supervisors):
    first = plan_json(runner)
    again = plan_json(runner)
    assert again["created"] == 0
    assert again["items"] == first["items"]


def test_the_same_seed_gives_the_same_plan(runner, db, supervisors):
    first = plan_json(runner, "--seed", "99")
    db.execute(delete(SpotcheckItem))
    db.execute(delete(SpotcheckPlan))
    again = plan_json(runner, "--seed", "99")
    assert again["created"] == 183 and again["seed"] == 99
    assert again["items"] == first["items"]
    assert plan_json(runner)["items"] == first["items"]  # an existing plan is reported as it is
    db.execute(delete(SpotcheckItem))
    db.execute(delete(SpotcheckPlan))
    assert plan_json(runner, "--seed", "100")["items"] != first["items"]


def test_the_summary_shows_days_counties_coverage_and_the_quota_warning(runner, supervisors):
    result = runner.invoke(args=["spotchecks", "plan", "--week", "2026-W48"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "183 items created" in out
    assert "警告 WARNING: 本周5个工作日，每日限额30不足以覆盖183条热线，已按每日37条安排" in out
    assert "2026-11-23 周一  37" in out and "北林区" in out
    assert "hotlines covered: 183/183" in out


def test_without_supervisors_the_command_refuses_clearly(runner, db):
    result = runner.invoke(args=["spotchecks", "plan", "--week", "2026-W48"])
    assert result.exit_code != 0 and "没有在岗的督查人员" in result.output


def test_a_malformed_week_is_refused(runner, supervisors):
    result = runner.invoke(args=["spotchecks", "plan", "--week", "48"])
    assert result.exit_code != 0 and "周次格式" in result.output


def test_two_parallel_plan_runs_make_one_plan(committing_app, backend):
    """Meaningful on PostgreSQL: both runs see no plan and both insert; the database lets one win and the
    other reports the winner's plan with created=0. (Threads run what the command runs: one transaction.)"""
    from core.db import session, transaction
    from spotchecks import services

    with committing_app.app_context():
        with transaction():
            for _ in range(2):
                make_user("supervisor")
        session.remove()
    barrier = threading.Barrier(2)
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def run():
        try:
            with committing_app.app_context():
                barrier.wait()
                with transaction():
                    result = services.create_plan(actor=None, now=clock.now(), week="2026-W48", settings=SETTINGS)
                results.append((result.plan.id, result.created))
                session.remove()
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(created for _, created in results) == [0, 183]
    assert len({plan_id for plan_id, _ in results}) == 1
    with committing_app.app_context():
        assert session.execute(select(func.count()).select_from(SpotcheckPlan)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(SpotcheckItem)).scalar_one() == 183
        session.remove()
