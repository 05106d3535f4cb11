"""Rubric versions: a supervisor proposes weights, ring-time limit, pass mark and fault wording; an admin
approves (from then on new calls are scored with it) or rejects. Versions never change once decided."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from audit import services as audit
from core.db import session
from core.errors import Conflict, Forbidden
from core.models import User
from spotchecks.common import SpotcheckError, clean_text, get_or_404
from spotchecks.models import RubricVersion
from spotchecks.rubric import FAULT_TYPES, Rubric
from spotchecks.settings import SpotcheckSettings


def in_force() -> RubricVersion | None:
    """The approved version approved last, or None while the shipped (or environment) rubric applies."""
    return session.execute(select(RubricVersion).where(RubricVersion.state == "approved")
                           .order_by(RubricVersion.decided_at.desc(), RubricVersion.id.desc())).scalars().first()


def current(settings: SpotcheckSettings) -> tuple[RubricVersion | None, Rubric]:
    """The version new calls are scored with, and its rubric."""
    version = in_force()
    return version, (version.rubric if version else settings.rubric)


def pending() -> RubricVersion | None:
    return session.execute(select(RubricVersion).where(RubricVersion.state == "proposed")
                           .order_by(RubricVersion.id)).scalars().first()


def versions() -> list[RubricVersion]:
    return list(session.execute(select(RubricVersion).order_by(RubricVersion.number.desc())).scalars())


def get_version(version_id: int) -> RubricVersion:
    return get_or_404(RubricVersion, version_id, "该评分标准版本不存在")


def parse(form: Mapping[str, Any], base: Rubric) -> Rubric:
    """The rubric a proposal form describes (missing fields keep `base`'s); a value that is not a whole
    number is refused naming the field."""
    values: dict[str, Any] = {}
    for name in Rubric.weight_names():
        raw = str(form.get(name, "")).strip()
        if raw == "":
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            raise SpotcheckError(f"“{raw}”不是整数，请填写整数分值", field=name) from None
    labels = {key: str(form.get(f"label_{key}", base.label(key))).strip() for key in FAULT_TYPES}
    measures = {key: str(form.get(f"measure_{key}", base.measures.get(key, ""))).strip() for key in FAULT_TYPES}
    return replace(base, **values, labels=labels, measures=measures)


def _faults_json(rubric: Rubric) -> str:
    return audit.canonical({key: {"label": rubric.label(key), "measure": rubric.measures[key]} for key in FAULT_TYPES})


def propose(*, actor: User, now: datetime, rubric: Rubric, reason: str, base: Rubric) -> RubricVersion:
    """A supervisor's proposed rubric, waiting for an admin; refused whole when it cannot score fairly."""
    if not actor.has_role("supervisor"):
        raise Forbidden("只有督查人员可以提出评分标准修改")
    reason = clean_text(reason, "修改理由", "reason", required=True, limit=500)
    problems = rubric.problems()
    if problems:
        raise SpotcheckError("评分标准未提交：" + "；".join(problems) + "。", code="bad_rubric", field="weights")
    if rubric == base:
        raise SpotcheckError("评分标准与现行标准相同，没有需要审批的修改", code="unchanged")
    if pending() is not None:
        raise Conflict("已有一份待审批的评分标准修改，请待管理员审批后再提出", code="pending")
    number = (session.execute(select(func.max(RubricVersion.number))).scalar() or 0) + 1
    version = RubricVersion(number=number, state="proposed", weights_json=audit.canonical(rubric.weights()),
                            faults_json=_faults_json(rubric), reason=reason, proposed_at=now,
                            proposed_by_id=actor.id, decision_note="")
    session.add(version)
    session.flush()
    audit.record("propose", "rubric_version", version.id, actor=actor, now=now, changes={
        "number": number, "reason": reason, "before": {**base.weights(), "faults": json.loads(_faults_json(base))},
        "after": {**rubric.weights(), "faults": json.loads(version.faults_json)}})
    return version


def _decide(version: RubricVersion, state: str, *, actor: User, now: datetime, note: str) -> None:
    claimed = session.execute(
        update(RubricVersion).where(RubricVersion.id == version.id, RubricVersion.state == "proposed")
        .values(state=state, decided_at=now, decided_by_id=actor.id, decision_note=note)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise Conflict("该评分标准修改已由他人审批，请刷新后查看", code="stale_state")
    session.refresh(version)


def approve(*, actor: User, now: datetime, version: RubricVersion, note: str = "") -> RubricVersion:
    """An admin puts the proposal in force: calls logged from now on are scored with it."""
    if actor.role != "admin":
        raise Forbidden("只有管理员可以审批评分标准")
    if version.proposed_by_id == actor.id:
        raise Forbidden("不能审批自己提出的评分标准修改")
    note = clean_text(note, "审批意见", "note", limit=500)
    problems = version.rubric.problems()
    if problems:  # a proposal is checked when made; this guards a row written some other way
        raise SpotcheckError("该评分标准不能生效：" + "；".join(problems), code="bad_rubric")
    previous = in_force()
    _decide(version, "approved", actor=actor, now=now, note=note)
    if previous is not None:
        session.execute(update(RubricVersion).where(RubricVersion.id == previous.id)
                        .values(state="superseded").execution_options(synchronize_session=False))
        session.refresh(previous)
    session.flush()
    audit.record("approve", "rubric_version", version.id, actor=actor, now=now, changes={
        "number": version.number, "note": note, "replaces": previous.number if previous else None})
    return version


def reject(*, actor: User, now: datetime, version: RubricVersion, note: str) -> RubricVersion:
    if actor.role != "admin":
        raise Forbidden("只有管理员可以审批评分标准")
    note = clean_text(note, "不予批准的理由", "note", required=True, limit=500)
    _decide(version, "rejected", actor=actor, now=now, note=note)
    session.flush()
    audit.record("reject", "rubric_version", version.id, actor=actor, now=now,
                 changes={"number": version.number, "note": note})
    return version
