"""The JSON API, including the scripted run from issue 5's "What will be checked"."""

import io

import pytest

from core import accounts, clock
from tests.builders import make_user
from tests.tickets.builders import (
    department,
    make_caseworker,
    make_entry,
    make_task,
    make_ticket,
    township,
    valid_id_number,
)


@pytest.fixture
def token(db):
    def _token(user):
        raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
        db.commit()
        return {"Authorization": f"Bearer {raw}"}

    return _token


def test_scripted_run_keeps_the_first_owner_and_the_whole_timeline(client, db, token):
    operator, supervisor = make_user("operator"), make_user("supervisor")
    owner = make_caseworker(unit=township(2))
    med = department("医疗保障局")
    med_worker = make_caseworker(unit=med)
    entry = make_entry("Q903")
    op, sup, own, cw = token(operator), token(supervisor), token(owner), token(med_worker)
    pbx = token(make_user("telephony"))

    # Issue 11: telephony announces calls (one shape, naming the operator); operators record them apart.
    r = client.post("/api/v1/calls", json={"caller_number": "13812345678", "external_id": "pbx-777",
                                           "operator": operator.username}, headers=pbx)
    assert r.status_code == 201 and r.json["status"] == "ringing"
    r = client.post(f"/api/v1/calls/{r.json['id']}/record", json={
        "caller_number": "13812345678", "outcome": "ticket", "question": "住院报销比例", "kb_entry_ids": [entry.id]},
        headers=op)
    assert r.status_code == 200, r.json
    call = r.json
    assert call["status"] == "recorded" and call["caller_number"] == "138****5678"

    r = client.post("/api/v1/tickets", json={
        "call_id": call["id"], "kind": "help", "urgency": "normal", "citizen_name": "李四",
        "citizen_id_number": valid_id_number(), "township_id": township(2).id, "topic": "医疗救助",
        "description": "住院费用报销比例有疑问"}, headers=op)
    assert r.status_code == 201, r.json
    t = r.json
    assert t["number"].count("-") == 1 and t["state"] == "pending_dispatch" and t["first_owner"] is None
    assert t["citizen"]["phone"] == "138****5678"  # operators see masked numbers

    def act(headers, **body):
        response = client.post(f"/api/v1/tickets/{t['id']}/actions", json={"version": t["version"], **body},
                               headers=headers)
        assert response.status_code == 200, response.json
        return response.json

    r = client.post(f"/api/v1/tickets/{t['id']}/dispatch", json={"user_id": owner.id}, headers=op)
    assert r.status_code == 200, r.json
    t = r.json
    first_owner = {"id": owner.id, "name": owner.display_name, "unit_id": owner.unit_id}
    assert t["first_owner"] == first_owner and t["state"] == "pending_accept"

    t = act(own, action="accept")
    assert t["citizen"]["phone"] == "13812345678"  # the first owner sees the full number
    t = act(own, action="cohandle", unit_id=med.id, user_id=med_worker.id, request="核实报销比例", days=2)
    task = t["tasks"][0]
    assert task["state"] == "open" and task["unit_id"] == med.id
    t = act(cw, action="complete_task", task_id=task["id"], report="按规定比例报销")
    assert t["tasks"][0]["state"] == "done"
    t = act(own, action="close", resolution="已协调医保局核实报销")
    assert t["state"] == "pending_callback"
    t = act(op, action="callback", satisfaction="dissatisfied", note="群众认为报销太慢")
    t = act(sup, action="decide_reopen", approved=True, note="请加急办理")
    assert t["state"] == "in_progress"
    t = act(own, action="close", resolution="已加急办理并到账")
    t = act(sup, action="callback", satisfaction="satisfied")
    assert t["state"] == "closed" and t["first_owner"] == first_owner

    r = client.get(f"/api/v1/tickets/{t['id']}", headers=sup)
    timeline = [e["action"] for e in r.json["timeline"]]
    assert timeline == ["create", "dispatch", "accept", "cohandle", "complete_task", "close", "callback", "reopen",
                        "close", "callback"]
    assert all(e["actor"]["name"] and e["at"].endswith("+08:00") for e in r.json["timeline"])
    assert r.json["timeline"][1]["to_state"] == "pending_accept"

    today = clock.today_local().isoformat()
    metrics = client.get(f"/api/v1/metrics?from={today}&to={today}", headers=sup).json
    assert metrics["calls"]["total"] == 1 and metrics["calls"]["answered_on_the_spot"] == 0
    assert metrics["tickets"]["by_state"]["closed"] == 1


def test_stale_version_gets_409_and_changes_nothing(client, db, token):
    owner = make_caseworker()
    ticket = make_ticket("pending_accept", owner=owner)
    headers = token(owner)
    r = client.post(f"/api/v1/tickets/{ticket.id}/actions", json={"action": "accept", "version": ticket.version - 1},
                    headers=headers)
    assert r.status_code == 409 and r.json["error"]["code"] == "stale_version"
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json["state"] == "pending_accept"


def test_action_without_version_is_a_400(client, db, token):
    owner = make_caseworker()
    ticket = make_ticket("pending_accept", owner=owner)
    r = client.post(f"/api/v1/tickets/{ticket.id}/actions", json={"action": "accept"}, headers=token(owner))
    assert r.status_code == 400 and r.json["error"]["field"] == "version"


def test_illegal_transition_and_wrong_role_are_json_errors(client, db, token):
    operator, owner = make_user("operator"), make_caseworker()
    ticket = make_ticket("in_progress", owner=owner, operator=operator)
    r = client.post(f"/api/v1/tickets/{ticket.id}/actions",
                    json={"action": "callback", "version": ticket.version, "satisfaction": "satisfied"},
                    headers=token(operator))
    assert r.status_code == 422 and "尚未办结" in r.json["error"]["message"]
    r = client.post(f"/api/v1/tickets/{ticket.id}/actions", json={"action": "escalate", "version": ticket.version,
                                                                  "note": "快"}, headers=token(operator))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    r = client.post(f"/api/v1/tickets/{ticket.id}/actions", json={"action": "fly", "version": ticket.version},
                    headers=token(owner))
    assert r.status_code == 422 and "未知操作" in r.json["error"]["message"]


def test_bad_input_is_refused_with_nothing_written(client, db, token):
    operator = make_user("operator")
    headers = token(operator)
    base = {"kind": "help", "citizen_name": "王五", "citizen_phone": "13900000000", "township_id": township().id,
            "description": "临时救助"}
    bad_id = valid_id_number()[:-1] + ("0" if valid_id_number()[-1] != "0" else "1")
    for body, field in [({**base, "citizen_id_number": bad_id}, "citizen_id_number"),
                        ({**base, "township_id": 999999}, "township_id"),
                        ({**base, "user_id": 999999}, "user_id"),
                        ({**base, "kind": "whatever"}, "kind")]:
        r = client.post("/api/v1/tickets", json=body, headers=headers)
        assert r.status_code == 422 and r.json["error"]["field"] == field, r.json
    assert client.get("/api/v1/tickets", headers=headers).json["total"] == 0
    r = client.post("/api/v1/tickets", data="not json", headers=headers)
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_json"


def test_dispatch_to_disabled_account_refused(client, db, token):
    operator, admin = make_user("operator"), make_user("admin")
    gone = make_caseworker()
    accounts.set_active(actor=admin, now=clock.now(), user=gone, active=False)
    ticket = make_ticket(operator=operator)
    r = client.post(f"/api/v1/tickets/{ticket.id}/dispatch", json={"user_id": gone.id, "version": ticket.version},
                    headers=token(operator))
    assert r.status_code == 422 and "已停用" in r.json["error"]["message"]


def test_attachments_over_the_api(app, client, db, token):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    headers = token(owner)
    app.config["TICKET_ATTACHMENT_MAX_BYTES"] = 2048
    ok = client.post(f"/api/v1/tickets/{ticket.id}/attachments", headers=headers,
                     data={"file": (io.BytesIO(b"%PDF-1.7\n" + b"x" * 100), "证明.pdf")})
    assert ok.status_code == 201, ok.json
    exe = client.post(f"/api/v1/tickets/{ticket.id}/attachments", headers=headers,
                      data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "invoice.pdf")})
    assert exe.status_code == 422 and exe.json["error"]["code"] == "bad_type"
    big = client.post(f"/api/v1/tickets/{ticket.id}/attachments", headers=headers,
                      data={"file": (io.BytesIO(b"%PDF-" + b"x" * 4096), "big.pdf")})
    assert big.status_code == 413
    assert len(client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json["attachments"]) == 1


def test_fifty_megabytes_is_refused_by_the_app(app, client, db, token):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    big = io.BytesIO(b"%PDF-" + b"0" * (50 * 1024 * 1024))
    r = client.post(f"/api/v1/tickets/{ticket.id}/attachments", headers=token(owner), data={"file": (big, "a.pdf")})
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"


def test_masking_in_api_per_role(client, db, token):
    owner, other = make_caseworker(), make_caseworker()
    ticket = make_ticket("in_progress", owner=owner, citizen_phone="13711112222")
    full_id = ticket.citizen_id_number
    for user, expect_full in [(make_user("operator"), False), (make_user("supervisor"), True),
                              (make_user("admin"), True), (owner, True)]:
        body = client.get(f"/api/v1/tickets/{ticket.id}", headers=token(user)).json
        assert (body["citizen"]["phone"] == "13711112222") is expect_full, user.role
        assert (body["citizen"]["id_number"] == full_id) is expect_full
        if not expect_full:
            assert body["citizen"]["phone"] == "137****2222" and "*" in body["citizen"]["id_number"]
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=token(other)).status_code == 403
    listing = client.get("/api/v1/tickets", headers=token(make_user("operator"))).json["tickets"]
    assert listing and all("****" in t["citizen_phone"] for t in listing)


def test_co_handler_sees_the_ticket_but_masked(client, db, token):
    owner = make_caseworker()
    med = department("医疗保障局")
    helper = make_caseworker(unit=med)
    ticket = make_ticket("in_progress", owner=owner, citizen_phone="13711113333")
    make_task(ticket, med)
    body = client.get(f"/api/v1/tickets/{ticket.id}", headers=token(helper)).json
    assert body["citizen"]["phone"] == "137****3333"
    mine = client.get("/api/v1/tickets", headers=token(helper)).json
    assert [t["id"] for t in mine["tickets"]] == [ticket.id]


def test_incoming_calls_and_repeat_callers(client, db, token):
    operator = make_user("operator")
    make_ticket(citizen_phone="13655556666")
    headers = token(operator)
    client.post("/api/v1/calls", json={"caller_number": "136-5555-6666", "external_id": "pbx-9",
                                       "operator": operator.username}, headers=token(make_user("telephony")))
    incoming = client.get("/api/v1/calls/incoming", headers=headers).json["calls"]
    assert incoming[0]["caller_number"] == "136****6666" and len(incoming[0]["open_tickets"]) == 1
    lookup = client.get("/api/v1/calls/lookup?number=13655556666", headers=headers).json
    assert len(lookup["tickets"]) == 1


def test_metrics_rate_equals_recorded_calls(client, db, token):
    operator = make_user("operator")
    headers = token(operator)
    for outcome in ["answered"] * 7 + ["ticket", "referred", "dropped"]:
        r = client.post("/api/v1/calls/record", json={"caller_number": "13800000001", "outcome": outcome},
                        headers=headers)
        assert r.status_code == 201
    client.post("/api/v1/calls", json={"caller_number": "13800000002", "external_id": "ringing-only",
                                       "operator": operator.username}, headers=token(make_user("telephony")))
    supervisor = token(make_user("supervisor"))
    body = client.get("/api/v1/metrics", headers=supervisor).json
    assert body["calls"]["total"] == 10 and body["calls"]["answered_on_the_spot"] == 7
    assert body["calls"]["on_the_spot_rate"] == 0.7
    assert body["by_day"][-1]["calls"] == 10 and body["by_day"][-1]["rate"] == 0.7
    assert client.get("/api/v1/metrics?from=2026-13-01", headers=supervisor).status_code == 400


def test_openapi_documents_every_endpoint(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in ["/me", "/units", "/users", "/calls", "/tickets", "/tickets/{id}", "/tickets/{id}/dispatch",
                 "/tickets/{id}/actions", "/metrics"]:
        assert path in doc["paths"], path
    actions = doc["paths"]["/tickets/{id}/actions"]["post"]["requestBody"]["content"]["application/json"]
    assert "accept" in actions["schema"]["properties"]["action"]["enum"]


def test_users_picker_for_dispatch(client, db, token):
    worker = make_caseworker(unit=township(4))
    users = client.get(f"/api/v1/users?role=caseworker&unit={township(4).id}",
                       headers=token(make_user("operator"))).json["users"]
    assert [u["id"] for u in users] == [worker.id]


def test_friendly_spellings_are_understood(client, db, token):
    operator, owner = make_user("operator"), make_caseworker()
    op = token(operator)
    town = township(5)
    r = client.post("/api/v1/tickets", json={"kind": "咨询", "urgency": "急难", "name": "钱七", "phone": "13800001111",
                                             "township": town.name, "description": "咨询特困供养", "user_id": owner.id},
                    headers=op)
    assert r.status_code == 201, r.json
    t = r.json
    assert t["kind"] == "consult" and t["urgency"] == "urgent" and t["township"]["id"] == town.id
    own = token(owner)
    for body in ({"action": "accept"}, {"action": "close", "resolution_note": "已解答"}):
        t = client.post(f"/api/v1/tickets/{t['id']}/actions", json={"version": t["version"], **body}, headers=own).json
    t = client.post(f"/api/v1/tickets/{t['id']}/actions",
                    json={"version": t["version"], "action": "callback", "satisfied": False, "reason": "没讲清楚"},
                    headers=op).json
    assert t["satisfaction"] == "dissatisfied" and t["state"] == "pending_callback"
