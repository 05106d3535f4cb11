"""A check saved on a call with its rules and KB revision, carried into the ticket made from the call; a bad
household saves nothing; the questions come ranked by how many programmes an answer settles."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import clock
from core.errors import Forbidden
from eligibility import asking, engine, services
from eligibility.household import HouseholdError, parse
from eligibility.models import EligibilityCheck
from kb import services as kb
from tests.builders import make_user
from tests.tickets.builders import make_call, make_ticket

HOUSEHOLD = {"hukou": "urban", "monthly_income_per_capita": 600, "assets": "within_limits",
             "members": [{"relation": "self", "age": 45, "can_work": True}], "events": []}


def _set_standard(value="700"):
    admin = make_user("admin")
    name = "低保标准_城市"
    if name not in kb.parameter_states(clock.today_local()):
        kb.define_parameter(actor=admin, now=clock.now(), name=name, label="城市低保标准", unit="元/人·月")
    kb.set_parameter(actor=admin, now=clock.now(), name=name, value=value, unit="元/人·月",
                     effective_date=clock.today_local(), source="测试")


def _save(call, data=HOUSEHOLD, actor=None):
    return services.save_check(actor=actor or make_user("operator"), now=clock.now(), call=call, data=data,
                               today=clock.today_local())


def _checks(db) -> int:
    return db.execute(select(func.count()).select_from(EligibilityCheck)).scalar_one()


def test_a_saved_check_keeps_the_household_verdicts_and_revisions_with_an_audit_event(db):
    _set_standard()
    call = make_call()
    check = _save(call)
    data = services.check_json(check)
    dibao = next(p for p in data["programs"] if p["program"] == "dibao")
    assert data["call_id"] == call.id and dibao["verdict"] == "likely"
    assert data["household"]["monthly_income_per_capita"] == 600
    assert data["rules_version"] == engine.rules_version() and data["kb_revision"] == kb.current_revision()
    assert data["parameters"]["低保标准_城市"] == "700元/人·月" and data["notice"].startswith("初步研判，以审核确认为准")
    event = db.execute(select(AuditEvent).where(AuditEvent.entity_type == "eligibility_check")).scalar_one()
    assert event.action == "create" and "dibao" in json.loads(event.changes)["likely"]


@pytest.mark.parametrize("household, field", [
    ({"monthly_income_per_capita": -300}, "household.monthly_income_per_capita"),
    ({"members": [{"relation": "self", "age": 300}]}, "household.members.0.age"),
    ({"members": [{"relation": "spouse", "age": 10}]}, "household.members.0"),
    ({"members": [{"relation": "self", "age": 40}, {"relation": "parent", "age": 30}]}, "household.members.1.age"),
    ({"members": [{"relation": "other"}] * 50}, "household.members"),
])
def test_a_bad_household_is_refused_naming_the_field_and_nothing_is_saved(db, household, field):
    call = make_call()
    before = _checks(db)
    with pytest.raises(HouseholdError) as err:
        _save(call, household)
    assert err.value.field == field and "：" in err.value.message
    assert _checks(db) == before


def test_only_those_who_take_calls_save_a_check(db):
    with pytest.raises(Forbidden):
        _save(make_call(), actor=make_user("caseworker"))


def test_the_ticket_made_from_the_call_carries_the_latest_check(db):
    _set_standard()
    call = make_call()
    _save(call, {**HOUSEHOLD, "monthly_income_per_capita": 2000})
    latest = _save(call)
    ticket = make_ticket(call_id=call.id)
    carried = services.for_ticket(ticket.id)
    assert carried is not None and carried.id != latest.id
    assert carried.household == latest.household and carried.checked_at == latest.checked_at
    _save(call, {**HOUSEHOLD, "monthly_income_per_capita": 3000})  # a later check leaves the ticket's as it was
    assert services.for_ticket(ticket.id).household["monthly_income_per_capita"] == 600


def test_a_ticket_from_a_call_without_a_check_carries_none(db):
    ticket = make_ticket(call_id=make_call().id)
    assert services.for_ticket(ticket.id) is None


def test_the_first_question_settles_the_most_programmes():
    household = parse({"members": [{"relation": "self"}]})
    params = {"低保标准_城市": engine.Parameter("低保标准_城市", "城市低保标准", 700, "元/人·月"),
              "低保标准_农村": engine.Parameter("低保标准_农村", "农村低保标准", 6000, "元/人·年")}
    asked = asking.ranked(household, params, engine.evaluate(household, params))
    scores = [q["decides"] for q in asked]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert all(q["label"].endswith("？") and not q["fact"].startswith("parameter:") for q in asked)


def test_an_answer_to_the_first_question_decides_programmes():
    household = parse({"members": [{"relation": "self"}]})
    before = engine.evaluate(household, {})
    first = asking.ranked(household, {}, before)[0]
    undecided = sum(v.verdict == "need_info" for v in before)
    after = [engine.evaluate(parse(answer(household.model_dump(mode="json"))), {}) for answer in asking.ANSWERS[first["fact"]]]
    assert min(sum(v.verdict == "need_info" for v in verdicts) for verdicts in after) < undecided


def test_a_reason_shared_by_two_checks_is_said_once():
    """单人保 checks the local standard twice (household income and the member's own); with it unset the
    operator reads “需核对本地标准” once, not twice."""
    household = parse({"hukou": "urban", "monthly_income_per_capita": 900,
                       "members": [{"relation": "parent", "age": 73}]})
    for verdict in engine.evaluate(household, {}):
        assert len(verdict.reasons) == len(set(verdict.reasons)), (verdict.program, verdict.reasons)


def test_where_to_apply_never_repeats_a_phrase():
    for code, rule in engine.rules().items():
        assert "户籍所在地户籍所在地" not in rule.where, code
