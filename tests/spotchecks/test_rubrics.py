"""Rubric versions: proposed by a supervisor, in force from an admin's approval; a call keeps its version."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, Forbidden
from spotchecks import rubrics
from spotchecks.models import RubricVersion
from spotchecks.rubric import Rubric
from tests.builders import make_user
from tests.spotchecks.builders import SETTINGS, at_local, good_call, item_for, log, make_plan

NOW = at_local(2026, 11, 23, 9, 0)


def _propose(rubric: Rubric, supervisor=None):
    supervisor = supervisor or make_user("supervisor")
    return rubrics.propose(actor=supervisor, now=NOW, rubric=rubric, reason="按GB/T 33358调整", base=SETTINGS.rubric)


def test_weights_that_do_not_add_up_are_refused_and_nothing_is_written(db):
    with pytest.raises(rubrics.SpotcheckError) as refused:
        _propose(replace(Rubric(), deflect=30))
    assert refused.value.code == "bad_rubric"
    assert "各项分值合计应为100分，现为110分" in refused.value.message
    assert db.execute(select(func.count()).select_from(RubricVersion)).scalar_one() == 0


def test_a_proposal_changes_nothing_until_an_admin_approves_it(db):
    version = _propose(replace(Rubric(), ring=10, pass_mark=70, labels={**Rubric().labels, "anonymous": "未报工号"}))
    assert version.state == "proposed" and rubrics.current(SETTINGS) == (None, SETTINGS.rubric)
    with pytest.raises(Conflict, match="已有一份待审批"):
        _propose(replace(Rubric(), ring=12))
    with pytest.raises(Forbidden):
        rubrics.approve(actor=make_user("supervisor"), now=NOW, version=version)
    rubrics.approve(actor=make_user("admin"), now=NOW, version=version, note="同意")
    in_force, rubric = rubrics.current(SETTINGS)
    assert in_force.id == version.id and (rubric.ring, rubric.pass_mark, rubric.label("anonymous")) == (10, 70, "未报工号")


def test_an_admin_cannot_approve_their_own_proposal_and_a_rejection_needs_a_reason(db):
    admin = make_user("admin")
    version = _propose(replace(Rubric(), ring=10), supervisor=admin)
    with pytest.raises(Forbidden, match="不能审批自己"):
        rubrics.approve(actor=admin, now=NOW, version=version)
    with pytest.raises(rubrics.SpotcheckError, match="请填写不予批准的理由"):
        rubrics.reject(actor=make_user("admin"), now=NOW, version=version, note="")
    rubrics.reject(actor=make_user("admin"), now=NOW, version=version, note="无依据")
    assert version.state == "rejected" and rubrics.in_force() is None


def test_a_logged_call_keeps_the_rubric_version_it_was_scored_with(db):
    plan = make_plan()
    first = item_for(plan, 0)
    before = log(first, good_call(first, ring_seconds=12))
    assert (before.rubric_version_id, before.faults) == (None, [])
    version = _propose(replace(Rubric(), ring=10, labels={**Rubric().labels, "slow_answer": "接听不及时"}))
    rubrics.approve(actor=make_user("admin"), now=NOW, version=version)
    second = item_for(plan, 1)
    after = log(second, good_call(second, ring_seconds=12))
    assert after.rubric_version_id == version.id
    assert (after.faults, after.fault_labels) == (["slow_answer"], ["接听不及时"])
    db.expire_all()
    assert db.get(type(before), before.id).rubric_version_id is None  # scored before: unchanged
    newer = _propose(replace(Rubric(), ring=20))
    rubrics.approve(actor=make_user("admin"), now=NOW, version=newer)
    assert (db.get(RubricVersion, version.id).state, rubrics.in_force().id) == ("superseded", newer.id)
    assert db.get(type(after), after.id).fault_labels == ["接听不及时"]
