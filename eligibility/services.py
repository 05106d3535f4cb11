"""The eligibility area's services: read the household and evaluate every programme's rule with today's local
parameters (what to ask next included); save a check on a call and carry it into the ticket made from it."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from audit import services as audit
from core.db import session
from core.errors import Forbidden
from core.models import User
from eligibility import asking, engine
from eligibility.household import parse
from eligibility.models import EligibilityCheck
from eligibility.spoken import heard
from kb import services as kb
from tickets.models import Call, Ticket

#: Who saves a check: those who take the calls.
SAVERS = ("operator", "supervisor")


def assess(data: Any, *, today: date) -> dict[str, Any]:
    """{"programs": [...], "questions": [...], "notice"} for the household `data` (raises HouseholdError)."""
    household = parse(data)
    params = engine.parameters_from(kb.parameter_states(today))
    verdicts = engine.evaluate(household, params)
    return {"programs": [v.as_json() for v in verdicts], "questions": asking.ranked(household, params, verdicts),
            "notice": engine.NOTICE}


def from_words(text: str) -> dict[str, Any]:
    """The household facts in the caller's words, each with the words it came from (the form's pre-fill)."""
    found = heard(text or "")
    return {"household": found.household, "sources": found.sources}


def save_check(*, actor: User, now: datetime, call: Call, data: Any, today: date) -> EligibilityCheck:
    """Keep the household and its hints on the call, with the rules and KB revision used; a bad household
    is refused (HouseholdError naming the field) and nothing is kept."""
    if actor is None or not actor.has_role(*SAVERS):
        raise Forbidden("您没有权限保存初步研判")
    household = parse(data)
    params = engine.parameters_from(kb.parameter_states(today))
    verdicts = engine.evaluate(household, params)
    result = {"programs": [v.as_json() for v in verdicts], "notice": engine.NOTICE,
              "parameters": {name: p.shown for name, p in sorted(params.items())}}
    check = EligibilityCheck(call_id=call.id, household_json=json.dumps(household.model_dump(mode="json"),
                                                                         ensure_ascii=False),
                             result_json=json.dumps(result, ensure_ascii=False), kb_revision=kb.current_revision(),
                             rules_version=engine.rules_version(), created_by_id=actor.id, checked_at=now)
    session.add(check)
    session.flush()
    audit.record("create", "eligibility_check", check.id, actor=actor, now=now, changes={
        "call_id": call.id, "likely": [v.program for v in verdicts if v.verdict == "likely"],
        "kb_revision": check.kb_revision, "rules_version": check.rules_version})
    return check


def latest_for_call(call_id: int) -> EligibilityCheck | None:
    return session.execute(select(EligibilityCheck).where(EligibilityCheck.call_id == call_id,
                                                          EligibilityCheck.ticket_id.is_(None))
                           .order_by(EligibilityCheck.checked_at.desc(), EligibilityCheck.id.desc())
                           .limit(1)).scalar_one_or_none()


def carry_into_ticket(*, actor: User, now: datetime, ticket: Ticket) -> EligibilityCheck | None:
    """Copy the call's latest check onto the ticket made from it (later checks of the call leave it as it was)."""
    if ticket.call_id is None or (latest := latest_for_call(ticket.call_id)) is None:
        return None
    copy = EligibilityCheck(call_id=latest.call_id, ticket_id=ticket.id, household_json=latest.household_json,
                            result_json=latest.result_json, kb_revision=latest.kb_revision,
                            rules_version=latest.rules_version, created_by_id=latest.created_by_id,
                            checked_at=latest.checked_at)
    session.add(copy)
    session.flush()
    audit.record("carry_into_ticket", "eligibility_check", copy.id, actor=actor, now=now,
                 changes={"from_check": latest.id, "ticket_id": ticket.id, "ticket": ticket.number})
    return copy


def for_ticket(ticket_id: int) -> EligibilityCheck | None:
    return session.execute(select(EligibilityCheck).where(EligibilityCheck.ticket_id == ticket_id)
                           .order_by(EligibilityCheck.id.desc()).limit(1)).scalar_one_or_none()


def check_json(check: EligibilityCheck | None) -> dict[str, Any] | None:
    """A saved check as the API gives it (None for none)."""
    if check is None:
        return None
    result = check.result
    return {"id": check.id, "call_id": check.call_id, "ticket_id": check.ticket_id,
            "checked_at": check.checked_at.isoformat(), "household": check.household,
            "programs": result["programs"], "parameters": result.get("parameters", {}),
            "kb_revision": check.kb_revision, "rules_version": check.rules_version, "notice": result["notice"]}


def rule_pages() -> list[dict[str, Any]]:
    """Every rule as kb_editors read it: the programme, its conditions in plain Chinese, basis and entries."""
    return [{"program": r.program, "name": r.name, "conditions": [c["text"] for c in r.conditions],
             "basis": r.basis, "where": r.where, "materials": r.materials, "entry_ids": list(r.entry_ids)}
            for r in engine.rules().values()]
