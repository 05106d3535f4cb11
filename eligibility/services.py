"""The eligibility area's one service: read the household, evaluate every programme's rule with today's
local parameters, and say what to ask next."""

from __future__ import annotations

from datetime import date
from typing import Any

from eligibility import engine
from eligibility.household import parse
from kb import services as kb


def assess(data: Any, *, today: date) -> dict[str, Any]:
    """{"programs": [...], "questions": [...], "notice"} for the household `data` (raises HouseholdError)."""
    household = parse(data)
    verdicts = engine.evaluate(household, engine.parameters_from(kb.parameter_states(today)))
    return {"programs": [v.as_json() for v in verdicts], "questions": engine.questions(verdicts),
            "notice": engine.NOTICE}


def rule_pages() -> list[dict[str, Any]]:
    """Every rule as kb_editors read it: the programme, its conditions in plain Chinese, basis and entries."""
    return [{"program": r.program, "name": r.name, "conditions": [c["text"] for c in r.conditions],
             "basis": r.basis, "where": r.where, "materials": r.materials, "entry_ids": list(r.entry_ids)}
            for r in engine.rules().values()]
