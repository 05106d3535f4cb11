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


def _call(db):
    from tests.tickets.builders import make_call

    call = make_call()
    db.commit()
    return call


def test_a_check_is_saved_on_the_call_once_per_idempotency_key(client, db):
    _set(db, "低保标准_城市", "700", "元/人·月")
    call = _call(db)
    headers = {**_token(db), "Idempotency-Key": "elig-1"}
    first = client.post(f"/api/v1/calls/{call.id}/eligibility", json={"household": HOUSEHOLD}, headers=headers)
    assert first.status_code == 201, first.json
    again = client.post(f"/api/v1/calls/{call.id}/eligibility", json={"household": HOUSEHOLD}, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json["id"] == first.json["id"]
    dibao = next(p for p in first.json["programs"] if p["program"] == "dibao")
    assert dibao["verdict"] == "likely" and first.json["notice"].startswith(dibao["notice"] + "：")
    latest = client.get(f"/api/v1/calls/{call.id}/eligibility", headers=_token(db)).json["check"]
    assert latest["id"] == first.json["id"] and latest["rules_version"]


def test_a_bad_household_on_a_call_is_a_json_error_naming_the_field_and_saves_nothing(client, db):
    call = _call(db)
    headers = _token(db)
    r = client.post(f"/api/v1/calls/{call.id}/eligibility",
                    json={"household": {"members": [{"relation": "self", "age": 40}, {"relation": "child", "age": 39}]}},
                    headers=headers)
    assert r.status_code == 400 and r.json["error"]["field"] == "household.members.1.age"
    assert "第2位家庭成员的年龄" in r.json["error"]["message"]
    assert client.get(f"/api/v1/calls/{call.id}/eligibility", headers=headers).json["check"] is None


def test_a_check_on_an_unknown_call_is_404(client, db):
    r = client.post("/api/v1/calls/999999/eligibility", json={"household": HOUSEHOLD}, headers=_token(db))
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_the_caller_words_prefill_a_parent_age_and_the_income(client, db):
    r = client.post("/api/v1/eligibility/heard", json={"text": "我妈七十三了，一个月就一千来块"}, headers=_token(db))
    assert r.status_code == 200
    assert r.json["household"]["members"] == [{"relation": "parent", "age": 73}]
    assert r.json["household"]["monthly_income_per_capita"] == 1000
    assert {"fact": "members[0].age", "text": "我妈七十三了"} in r.json["sources"]


def test_questions_are_ranked_with_what_they_would_decide(client, db):
    r = client.post("/api/v1/eligibility", json={"household": {"members": [{"relation": "self"}]}}, headers=_token(db))
    decides = [q["decides"] for q in r.json["questions"]]
    assert decides == sorted(decides, reverse=True) and all(q["label"] for q in r.json["questions"])


def test_the_ticket_page_and_json_show_the_check_carried_from_the_call(client, db, login):
    from tests.tickets.builders import make_ticket

    _set(db, "低保标准_城市", "700", "元/人·月")
    call = _call(db)
    client.post(f"/api/v1/calls/{call.id}/eligibility", json={"household": HOUSEHOLD}, headers=_token(db))
    operator = login("operator")
    ticket = make_ticket(call_id=call.id, operator=operator)
    db.commit()
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "初步研判" in page and "初步研判，以审核确认为准" in page and "最低生活保障（低保）" in page
    data = client.get(f"/api/v1/tickets/{ticket.id}", headers={**_token(db, "supervisor")}).json
    assert data["eligibility_check"]["call_id"] == call.id
    assert data["eligibility_check"]["notice"].startswith("初步研判，以审核确认为准")


def test_the_operator_call_page_offers_the_panel_with_its_hotkey(client, login):
    login("operator")
    page = client.get("/tickets/calls/new").get_data(as_text=True)
    assert 'id="elig-panel"' in page and "<kbd>Alt</kbd>+<kbd>E</kbd> 初步研判" in page and "eligibility.js" in page
