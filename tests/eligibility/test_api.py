"""POST /api/v1/eligibility with the local parameters an administrator set, and the rules page."""

from __future__ import annotations

from core import accounts, clock
from kb import services as kb
from tests.builders import make_user

HOUSEHOLD = {"hukou": "urban", "monthly_income_per_capita": 600, "assets": "within_limits",
             "members": [{"relation": "self", "age": 45, "can_work": True}], "events": []}


def _token(db, role="operator"):
    raw = accounts.issue_token(actor=None, now=clock.now(), user=make_user(role))
    db.commit()
    return {"Authorization": f"Bearer {raw}"}


def _set(db, name, value, unit):
    admin = make_user("admin")
    if name not in kb.parameter_states(clock.today_local()):
        kb.define_parameter(actor=admin, now=clock.now(), name=name, label=name, unit=unit)
    kb.set_parameter(actor=admin, now=clock.now(), name=name, value=value, unit=unit, effective_date=clock.today_local(), source="测试")
    db.commit()


def test_a_household_gets_verdicts_reasons_entries_and_the_notice(client, db):
    _set(db, "低保标准_城市", "700", "元/人·月")
    r = client.post("/api/v1/eligibility", json={"household": HOUSEHOLD}, headers=_token(db))
    assert r.status_code == 200, r.json
    programs = {p["program"]: p for p in r.json["programs"]}
    assert len(programs) == 16 and r.json["notice"].startswith("初步研判")
    dibao = programs["dibao"]
    assert dibao["verdict"] == "likely" and dibao["entry_ids"][0] == "Q001" and dibao["where"] and dibao["materials"]
    assert "700" in dibao["reasons"][0]
    assert all(q["programs"] for q in r.json["questions"])


def test_an_unset_parameter_gives_need_info_naming_it(client, db):
    r = client.post("/api/v1/eligibility", json={"household": HOUSEHOLD}, headers=_token(db))
    dibao = next(p for p in r.json["programs"] if p["program"] == "dibao")
    assert dibao["verdict"] == "need_info" and "parameter:低保标准_城市" in dibao["missing"]


def test_bad_input_is_a_json_error_naming_the_field(client, db):
    headers = _token(db)
    r = client.post("/api/v1/eligibility", json={"household": {"members": [{"relation": "spouse", "age": 10}]}},
                    headers=headers)
    assert r.status_code == 400 and r.json["error"]["field"] == "household.members.0"
    r = client.post("/api/v1/eligibility", json={"household": HOUSEHOLD, "extra": 1}, headers=headers)
    assert r.status_code == 400 and r.json["error"]["code"] == "unknown_fields"
    r = client.post("/api/v1/eligibility", json={}, headers=headers)
    assert r.status_code == 400 and r.json["error"]["field"] == "household"


def test_telephony_may_not_ask(client, db):
    r = client.post("/api/v1/eligibility", json={"household": HOUSEHOLD}, headers=_token(db, "telephony"))
    assert r.status_code == 403


def test_kb_editors_read_every_rule_in_plain_chinese(client, login):
    login("kb_editor")
    page = client.get("/eligibility/rules").get_data(as_text=True)
    assert "特困人员救助供养" in page and "60周岁以上" in page and "仅供参考" in page
    assert page.count('<section class="card"') == 16
