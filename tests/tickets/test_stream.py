"""The calls stream (server-sent events) the operator's page follows, and the entries it notes as
shown, opened or copied during a call."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from tests.builders import make_user
from tickets import calls
from tickets.models import CallEntryUse

STREAM = "/api/v1/calls/stream"


@pytest.fixture
def fast_stream(app):
    """A stream that polls every 20 ms and lives 0.3 s, so a test can read it to its end."""
    app.config.update(CALL_STREAM_POLL_SECONDS=0.02, CALL_STREAM_SECONDS=0.3, CALL_STREAM_HEARTBEAT_SECONDS=0.1,
                      CALL_STREAM_RETRY_MS=1500)
    return app


@pytest.fixture
def desk(db, bearer):
    operator, other = make_user("operator"), make_user("operator")
    return {"operator": operator, "other": other, "op": bearer(operator), "other_op": bearer(other),
            "pbx": bearer(make_user("telephony"))}


def _announce(client, desk, external_id, operator, number="13912345678"):
    body = {"external_id": external_id, "caller_number": number, "operator": operator.username}
    response = client.post("/api/v1/calls", json=body, headers=desk["pbx"])
    assert response.status_code == 201, response.json
    return response.json["id"]


def _say(client, desk, call_id, seg_id, text):
    segment = {"id": seg_id, "speaker": "caller", "text": text, "start_ms": int(seg_id) * 1000,
               "end_ms": int(seg_id) * 1000 + 900, "final": True}
    response = client.post(f"/api/v1/calls/{call_id}/transcript", json={"segments": [segment]}, headers=desk["pbx"])
    assert response.status_code == 200, response.json


def _events(body: str) -> list[tuple[str, dict]]:
    found = []
    for block in body.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        kind = next((line[7:] for line in lines if line.startswith("event: ")), None)
        data = next((line[6:] for line in lines if line.startswith("data: ")), None)
        if kind:
            found.append((kind, json.loads(data)))
    return found


def _calls(events, call_id):
    return [data for kind, data in events if kind == "call" and data["call"]["id"] == call_id]


def test_stream_is_for_operators_and_supervisors_only(client, desk, fast_stream, bearer, db):
    assert client.get(STREAM).status_code == 401
    assert client.get(STREAM, headers=desk["pbx"]).status_code == 403
    assert client.get(STREAM, headers=bearer(make_user("caseworker"))).status_code == 403
    supervisor = client.get(STREAM, headers=bearer(make_user("supervisor")))
    assert supervisor.status_code == 200 and supervisor.mimetype == "text/event-stream"


def test_stream_asks_for_a_retry_delay_and_ends_with_bye(client, desk, fast_stream):
    response = client.get(STREAM, headers=desk["op"])
    body = response.get_data(as_text=True)
    assert body.startswith("retry: 1500\n")
    assert response.headers["Cache-Control"] == "no-store"
    assert _events(body)[-1] == ("bye", {"reason": "lifetime"})
    assert ": ping" in body  # heartbeats while nothing happens


def test_the_operator_sees_their_ringing_call_and_its_transcript_in_full(client, desk, fast_stream):
    call_id = _announce(client, desk, "s-1", desk["operator"])
    _say(client, desk, call_id, "1", "我姓王，电话13812345678，低保金这个月没到账")
    events = _events(client.get(STREAM, headers=desk["op"]).get_data(as_text=True))
    [state] = _calls(events, call_id)  # sent once: nothing changed afterwards
    assert state["call"]["status"] == "ringing" and state["masked"] is False
    assert "13812345678" in state["transcript"][0]["text"]
    assert state["suggestions"] and state["draft"]["caller_name"].startswith("王")
    assert state["draft"]["caller_number"] == "13812345678"


def test_another_operators_call_is_not_sent(client, desk, fast_stream):
    call_id = _announce(client, desk, "s-2", desk["operator"])
    events = _events(client.get(STREAM, headers=desk["other_op"]).get_data(as_text=True))
    assert _calls(events, call_id) == []


def test_a_call_routed_to_nobody_is_sent_masked_and_unaudited(client, desk, fast_stream, db):
    call, _ = calls.announce_call(actor=None, now=clock.now(), caller_number="13912345678", external_id="s-3")
    db.commit()
    call_id = call.id
    _say(client, desk, call_id, "1", "我的电话是13812345678，想问临时救助")
    before = db.execute(select(AuditEvent).where(AuditEvent.action == "read_transcript")).all()
    events = _events(client.get(STREAM, headers=desk["op"]).get_data(as_text=True))
    [state] = _calls(events, call_id)
    assert state["masked"] is True
    assert "13812345678" not in json.dumps(state, ensure_ascii=False)
    assert "138****5678" in state["transcript"][0]["text"]
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "read_transcript")).all() == before


def test_stream_follows_the_call_as_it_changes_and_says_when_it_is_gone(client, desk, app):
    app.config.update(CALL_STREAM_POLL_SECONDS=0, CALL_STREAM_SECONDS=60, CALL_STREAM_HEARTBEAT_SECONDS=60)
    call_id = _announce(client, desk, "s-4", desk["operator"])
    response = client.get(STREAM, headers=desk["op"], buffered=False)
    chunks = iter(response.response)

    def next_event():
        while True:
            found = _events(next(chunks).decode())
            if found:
                return found[0]

    assert next(chunks).decode().startswith("retry:")
    kind, data = next_event()
    assert kind == "call" and data["call"]["status"] == "ringing" and data["transcript"] == []
    assert client.post(f"/api/v1/calls/{call_id}/answered", json={}, headers=desk["pbx"]).status_code == 200
    kind, data = next_event()
    assert data["call"]["status"] == "answered"
    _say(client, desk, call_id, "1", "我想问问低保怎么申请")
    kind, data = next_event()
    assert [s["text"] for s in data["transcript"]] == ["我想问问低保怎么申请"] and data["suggestions"]
    recorded = client.post(f"/api/v1/calls/{call_id}/record", json={"outcome": "answered"}, headers=desk["op"])
    assert recorded.status_code == 200, recorded.json
    assert next_event() == ("gone", {"id": call_id, "status": "recorded", "status_label": "已记录"})
    response.close()


def test_closing_the_stream_frees_its_slot(client, desk, app):
    app.config.update(CALL_STREAM_POLL_SECONDS=0, CALL_STREAM_SECONDS=60, CALL_STREAMS_PER_PROCESS=1)
    first = client.get(STREAM, headers=desk["op"], buffered=False)
    assert next(iter(first.response)).startswith(b"retry:")
    refused = client.get(STREAM, headers=desk["other_op"])
    assert refused.status_code == 503 and refused.json["error"]["code"] == "too_many_streams"
    assert refused.headers["Retry-After"]
    first.close()  # the browser went away
    again = client.get(STREAM, headers=desk["other_op"], buffered=False)
    assert again.status_code == 200
    again.close()


def test_the_stream_stops_when_the_account_is_deactivated(client, desk, app, db):
    app.config.update(CALL_STREAM_POLL_SECONDS=0, CALL_STREAM_SECONDS=60)
    response = client.get(STREAM, headers=desk["op"], buffered=False)
    chunks = iter(response.response)
    next(chunks)
    desk["operator"].active = False
    db.commit()
    body = b"".join(chunks).decode()
    assert _events(body)[-1] == ("bye", {"reason": "account"})


# --- entries shown, opened, copied --------------------------------------------------------------

def test_entries_shown_opened_and_copied_are_kept_on_the_call_once_each(client, desk, db):
    call_id = _announce(client, desk, "u-1", desk["operator"])
    url = f"/api/v1/calls/{call_id}/entries"
    assert client.post(url, json={"entry_id": "Q001", "action": "shown"}, headers=desk["op"]).status_code == 201
    again = client.post(url, json={"entry_id": "q001", "action": "shown"}, headers=desk["op"])
    assert again.status_code == 200
    done = client.post(url, json={"entry_id": "Q001", "action": "copied"}, headers=desk["op"])
    assert [(u["entry_id"], u["action"]) for u in done.json["uses"]] == [("Q001", "shown"), ("Q001", "copied")]
    rows = db.execute(select(CallEntryUse).where(CallEntryUse.call_id == call_id)).scalars().all()
    assert len(rows) == 2 and {r.by_id for r in rows} == {desk["operator"].id}


def test_entry_use_refusals(client, desk, db):
    call_id = _announce(client, desk, "u-2", desk["operator"])
    url = f"/api/v1/calls/{call_id}/entries"
    unknown = client.post(url, json={"entry_id": "Q999", "action": "opened"}, headers=desk["op"])
    assert unknown.status_code == 422 and unknown.json["error"]["field"] == "kb_entry_ids"
    bad = client.post(url, json={"entry_id": "Q001", "action": "liked"}, headers=desk["op"])
    assert bad.status_code == 400 and bad.json["error"]["field"] == "action"
    extra = client.post(url, json={"entry_id": "Q001", "action": "opened", "x": 1}, headers=desk["op"])
    assert extra.status_code == 400 and extra.json["error"]["code"] == "unknown_fields"
    theirs = client.post(url, json={"entry_id": "Q001", "action": "opened"}, headers=desk["other_op"])
    assert theirs.status_code == 403
    assert client.post("/api/v1/calls/999999/entries", json={"entry_id": "Q001", "action": "opened"},
                       headers=desk["op"]).status_code == 404
    assert db.execute(select(CallEntryUse).where(CallEntryUse.call_id == call_id)).first() is None


def test_an_open_stream_holds_no_database_connection_between_polls(committing_app, backend):
    from core import accounts, db

    committing_app.config.update(CALL_STREAM_POLL_SECONDS=0, CALL_STREAM_SECONDS=60,
                                 CALL_STREAM_HEARTBEAT_SECONDS=0)
    try:
        with committing_app.app_context():
            raw = accounts.issue_token(actor=None, now=clock.now(), user=make_user("operator"))
            db.session.commit()
        client = committing_app.test_client()
        response = client.get(STREAM, headers={"Authorization": f"Bearer {raw}"}, buffered=False)
        chunks = iter(response.response)
        pool = backend["engine"].pool
        for _ in range(3):  # the opening, then heartbeats after polls
            next(chunks)
            assert pool.checkedout() == 0
        response.close()
    finally:
        for name in ("CALL_STREAM_POLL_SECONDS", "CALL_STREAM_SECONDS", "CALL_STREAM_HEARTBEAT_SECONDS"):
            committing_app.config.pop(name, None)
