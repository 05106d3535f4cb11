"""Live calls (issue 11): the telephony account and its call events, transcripts, the assist, the
callback queue for missed calls, who reads a transcript in full, retention, and the bad inputs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import clock
from core.errors import DomainError
from handlers.throttle import TokenBucket
from kb.search import Hit, SearchResult
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket
from tickets import calls, live
from tickets.models import Call, CallbackAttempt, TranscriptSegment


@pytest.fixture
def desk(db, bearer):
    """An operator and the telephony account, with their tokens."""
    operator = make_user("operator")
    pbx_user = make_user("telephony")
    return {"operator": operator, "op": bearer(operator), "pbx": bearer(pbx_user)}


def _announce(client, desk, external_id="pbx-1", **extra):
    body = {"external_id": external_id, "caller_number": "13912345678", "operator": desk["operator"].username,
            **extra}
    return client.post("/api/v1/calls", json=body, headers=desk["pbx"])


def _live_call(client, desk, external_id="pbx-1") -> int:
    call_id = _announce(client, desk, external_id).json["id"]
    assert client.post(f"/api/v1/calls/{call_id}/answered", json={}, headers=desk["pbx"]).status_code == 200
    return call_id


def _seg(i, text, *, start=None, speaker="caller", final=True, **extra):
    start = i * 1000 if start is None else start
    return {"id": str(i), "speaker": speaker, "text": text, "start_ms": start, "end_ms": start + 900,
            "final": final, **extra}


def _post(client, desk, call_id, *segments):
    return client.post(f"/api/v1/calls/{call_id}/transcript", json={"segments": list(segments)}, headers=desk["pbx"])


def _stored(db, call_id):
    return db.execute(select(TranscriptSegment).where(TranscriptSegment.call_id == call_id)
                      .order_by(TranscriptSegment.start_ms)).scalars().all()


# --- the telephony account ------------------------------------------------------------------------

def test_telephony_token_posts_call_events_and_nothing_else(client, db, desk):
    call_id = _live_call(client, desk)
    pbx = desk["pbx"]
    assert _post(client, desk, call_id, _seg(1, "低保怎么申请")).status_code == 200
    for path in ("/api/v1/me", "/api/v1/units", "/api/v1/kb/search?q=低保", f"/api/v1/calls/{call_id}",
                 f"/api/v1/calls/{call_id}/assist", "/api/v1/calls/incoming", "/api/v1/tickets", "/api/v1/users"):
        response = client.get(path, headers=pbx)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", path
    assert client.post("/api/v1/calls/record", json={"outcome": "answered", "caller_number": "13900000000"},
                       headers=pbx).status_code == 403
    assert client.post("/api/v1/tickets", json={}, headers=pbx).status_code == 403
    refusals = db.execute(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "permission_denied")).scalar_one()
    assert refusals >= 10


def test_telephony_log_in_reaches_no_page(client, login):
    login("telephony")
    for path in ("/", "/kb/search", "/tickets/calls/new", "/tickets/calls/missed", "/hotlines", "/accounts/password"):
        assert client.get(path).status_code == 403, path


def test_operators_no_longer_announce_calls_and_telephony_cannot_record(client, desk):
    response = client.post("/api/v1/calls", json={"external_id": "x", "caller_number": "13900000000",
                                                  "operator": desk["operator"].username}, headers=desk["op"])
    assert response.status_code == 403


def test_cli_creates_a_telephony_account(runner, db):
    result = runner.invoke(args=["users", "create", "pbx", "--role", "telephony", "--password", "Pbx12345678"])
    assert result.exit_code == 0, result.output
    assert "话务平台" in result.output


# --- announcing a call ----------------------------------------------------------------------------

def test_announce_is_201_then_the_same_call_200(client, desk, frozen_now):
    first = _announce(client, desk, rang_at="2026-11-23T08:59:50+08:00")
    assert first.status_code == 201 and first.json["status"] == "ringing"
    assert first.json["operator_id"] == desk["operator"].id
    assert first.json["started_at"] == "2026-11-23T08:59:50+08:00"
    again = _announce(client, desk)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]


@pytest.mark.parametrize("body, status, code, field", [
    ({"number": "13900000000"}, 400, "unknown_fields", "number"),
    ({"outcome": "answered"}, 400, "unknown_fields", "outcome"),
    ({"operator": None}, 400, "missing_field", "operator"),
    ({"operator": "nobody-here"}, 422, "unknown_operator", "operator"),
    ({"caller_number": "abc"}, 422, "invalid", "caller_number"),
    ({"rang_at": "yesterday"}, 400, "bad_request", "rang_at"),
    ({"rang_at": "2026-11-23T09:00:00"}, 400, "bad_request", "rang_at"),
    ({"external_id": 12}, 400, "bad_request", "external_id"),
])
def test_announce_refuses_other_shapes_by_name(client, db, desk, body, status, code, field):
    base = {"external_id": "pbx-x", "caller_number": "13912345678", "operator": desk["operator"].username}
    response = client.post("/api/v1/calls", json={**base, **body}, headers=desk["pbx"])
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code and response.json["error"]["field"] == field
    assert db.execute(select(func.count()).select_from(Call)).scalar_one() == 0


# --- answered, ended and the times they give ------------------------------------------------------

def test_ring_talk_and_wrap_times_come_from_events(client, db, desk, frozen_now):
    call_id = _announce(client, desk, rang_at=frozen_now.isoformat()).json["id"]
    answered = client.post(f"/api/v1/calls/{call_id}/answered",
                           json={"at": (frozen_now + timedelta(seconds=8)).isoformat()}, headers=desk["pbx"])
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    assert answered.json["ring_seconds"] == 8
    # A repeat changes nothing, whatever time it names.
    again = client.post(f"/api/v1/calls/{call_id}/answered",
                        json={"at": (frozen_now + timedelta(seconds=30)).isoformat()}, headers=desk["pbx"])
    assert again.status_code == 200 and again.json["ring_seconds"] == 8
    ended = client.post(f"/api/v1/calls/{call_id}/ended",
                        json={"at": (frozen_now + timedelta(seconds=188)).isoformat()}, headers=desk["pbx"])
    assert ended.status_code == 200 and ended.json["talk_seconds"] == 180 and ended.json["status"] == "ended"
    with clock.freeze(frozen_now + timedelta(seconds=248)):
        recorded = client.post(f"/api/v1/calls/{call_id}/record", json={"outcome": "answered"}, headers=desk["op"])
    assert recorded.status_code == 200, recorded.json
    assert recorded.json["duration_seconds"] == 180 and recorded.json["wrap_seconds"] == 60


def test_an_event_before_the_ring_is_refused(client, desk, frozen_now):
    call_id = _announce(client, desk, rang_at=frozen_now.isoformat()).json["id"]
    response = client.post(f"/api/v1/calls/{call_id}/answered",
                           json={"at": (frozen_now - timedelta(seconds=5)).isoformat()}, headers=desk["pbx"])
    assert response.status_code == 400 and response.json["error"]["field"] == "at"


def test_a_call_recorded_before_it_ends_takes_its_duration_from_the_ended_event(client, db, desk, frozen_now):
    call_id = _announce(client, desk, rang_at=frozen_now.isoformat()).json["id"]
    client.post(f"/api/v1/calls/{call_id}/answered", json={"at": frozen_now.isoformat()}, headers=desk["pbx"])
    recorded = client.post(f"/api/v1/calls/{call_id}/record", json={"outcome": "answered"}, headers=desk["op"])
    assert recorded.status_code == 200 and recorded.json["duration_seconds"] is None
    ended = client.post(f"/api/v1/calls/{call_id}/ended",
                        json={"at": (frozen_now + timedelta(seconds=95)).isoformat()}, headers=desk["pbx"])
    assert ended.json["status"] == "recorded" and ended.json["duration_seconds"] == 95


def test_a_missed_call_joins_the_callback_queue_and_cannot_be_answered(client, db, desk):
    call_id = _announce(client, desk).json["id"]
    ended = client.post(f"/api/v1/calls/{call_id}/ended", json={}, headers=desk["pbx"])
    assert ended.status_code == 200 and ended.json["status"] == "missed"
    late = client.post(f"/api/v1/calls/{call_id}/answered", json={}, headers=desk["pbx"])
    assert late.status_code == 409 and late.json["error"]["code"] == "call_ended"
    assert [c.id for c in calls.missed_calls()] == [call_id]
    refused = client.post(f"/api/v1/calls/{call_id}/record", json={"outcome": "answered"}, headers=desk["op"])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "call_missed"


def test_events_for_an_unknown_call_are_404(client, desk):
    for event in ("answered", "ended"):
        response = client.post(f"/api/v1/calls/999999/{event}", json={}, headers=desk["pbx"])
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert _post(client, desk, 999999, _seg(1, "你好")).status_code == 404


# --- the callback queue ---------------------------------------------------------------------------

def test_operators_work_through_the_callback_queue(client, db, desk, login):
    missed = []
    for n in range(2):
        call_id = _announce(client, desk, f"missed-{n}").json["id"]
        client.post(f"/api/v1/calls/{call_id}/ended", json={}, headers=desk["pbx"])
        missed.append(call_id)
    login("operator")
    page = client.get("/tickets/calls/missed").get_data(as_text=True)
    assert all(f'id="missed-{i}"' in page for i in missed) and "139****5678" in page
    response = client.post(f"/tickets/calls/{missed[0]}/callback", data={"outcome": "no_answer", "note": "无人接听"})
    assert response.status_code == 302
    assert [c.id for c in calls.missed_calls()] == missed  # not reached: still to call back
    client.post(f"/tickets/calls/{missed[0]}/callback", data={"outcome": "reached", "note": "已解答低保问题"})
    assert [c.id for c in calls.missed_calls()] == missed[1:]
    attempts = db.execute(select(CallbackAttempt).where(CallbackAttempt.call_id == missed[0])).scalars().all()
    assert [a.outcome for a in attempts] == ["no_answer", "reached"]
    events = db.execute(select(AuditEvent).where(AuditEvent.action == "callback")).scalars().all()
    assert len(events) == 2
    again = client.post(f"/tickets/calls/{missed[0]}/callback", data={"outcome": "reached"})
    assert again.status_code == 409
    bad = client.post(f"/tickets/calls/{missed[1]}/callback", data={"outcome": "maybe"})
    assert bad.status_code == 422 and "回拨结果无效" in bad.get_data(as_text=True)


def test_the_callback_queue_over_the_api(client, db, desk):
    call_id = _announce(client, desk).json["id"]
    client.post(f"/api/v1/calls/{call_id}/ended", json={}, headers=desk["pbx"])
    queue = client.get("/api/v1/calls/missed", headers=desk["op"]).json["calls"]
    assert [c["id"] for c in queue] == [call_id] and queue[0]["caller_number"] == "139****5678"
    bad = client.post(f"/api/v1/calls/{call_id}/callback", json={"outcome": "reached", "result": "ok"},
                      headers=desk["op"])
    assert bad.status_code == 400 and bad.json["error"]["field"] == "result"
    done = client.post(f"/api/v1/calls/{call_id}/callback", json={"outcome": "reached", "note": "回拨13912345678已解答"},
                       headers=desk["op"])
    assert done.status_code == 200 and done.json["callback_done_at"]
    assert done.json["callbacks"][0]["note"] == "回拨139****5678已解答"
    assert client.get("/api/v1/calls/missed", headers=desk["op"]).json["calls"] == []
    assert client.get("/api/v1/calls/missed", headers=desk["pbx"]).status_code == 403


# --- transcripts ----------------------------------------------------------------------------------

def test_segments_are_idempotent_and_read_in_speaking_order(client, db, desk):
    call_id = _live_call(client, desk)
    assert _post(client, desk, call_id, _seg(2, "我想问一下", final=False), _seg(3, "低保怎么申请")).status_code == 200
    # Out of order, a repeat, and a later version of the non-final segment 2.
    body = _post(client, desk, call_id, _seg(1, "你好", speaker="operator"), _seg(3, "低保怎么申请"),
                 _seg(2, "我想问一下我妈")).json
    assert [s["id"] for s in body["transcript"]] == ["1", "2", "3"]
    assert body["transcript"][1] == {"id": "2", "speaker": "caller", "text": "我想问一下我妈", "start_ms": 2000,
                                     "end_ms": 2900, "final": True}
    # A late non-final version never replaces the final one.
    _post(client, desk, call_id, _seg(2, "我想", final=False))
    assert [s.text for s in _stored(db, call_id)] == ["你好", "我想问一下我妈", "低保怎么申请"]


def test_an_integer_segment_id_is_the_same_as_its_digits(client, db, desk):
    call_id = _live_call(client, desk)
    _post(client, desk, call_id, {**_seg(7, "你好", final=False), "id": 7})
    _post(client, desk, call_id, _seg(7, "你好我问低保"))
    assert [(s.segment_id, s.text) for s in _stored(db, call_id)] == [("7", "你好我问低保")]


def test_segments_after_the_grace_period_are_refused(app, client, db, desk, frozen_now):
    call_id = _live_call(client, desk)
    client.post(f"/api/v1/calls/{call_id}/ended", json={}, headers=desk["pbx"])
    with clock.freeze(frozen_now + timedelta(seconds=30)):
        assert _post(client, desk, call_id, _seg(1, "谢谢")).status_code == 200
    with clock.freeze(frozen_now + timedelta(seconds=app.config["TRANSCRIPT_GRACE_SECONDS"] + 1)):
        late = _post(client, desk, call_id, _seg(2, "再见"))
    assert late.status_code == 409 and late.json["error"]["code"] == "call_ended"
    assert [s.text for s in _stored(db, call_id)] == ["谢谢"]


@pytest.mark.parametrize("segment, status, code, field", [
    (_seg(1, "x" * 100_000), 413, "too_large", "segments[1].text"),
    (_seg(1, "好", confidence=0.9), 400, "unknown_fields", "segments[1].confidence"),
    (_seg(1, "好", speaker="robot"), 400, "bad_request", "segments[1].speaker"),
    (_seg(1, "好", final="yes"), 400, "bad_request", "segments[1].final"),
    (_seg(1, "好", start_ms=-5), 400, "bad_request", "segments[1].start_ms"),
    ({**_seg(1, "好"), "end_ms": 10}, 400, "bad_request", "segments[1].end_ms"),
    (_seg(1, "低保\ud800"), 400, "invalid_text", "segments[1].text"),
])
def test_a_bad_segment_refuses_the_whole_request(client, db, desk, segment, status, code, field):
    call_id = _live_call(client, desk)
    body = json.dumps({"segments": [_seg(0, "你好"), segment]})  # ASCII escapes: a lone surrogate stays "\ud800"
    response = client.post(f"/api/v1/calls/{call_id}/transcript", data=body, content_type="application/json",
                           headers=desk["pbx"])
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code and response.json["error"]["field"] == field
    assert _stored(db, call_id) == []


def test_the_transcript_of_one_call_is_capped(client, db, desk):
    call_id = _live_call(client, desk)
    chunk = "低保" * (live.MAX_SEGMENT_CHARS // 2)
    for n in range(live.MAX_CALL_CHARS // live.MAX_SEGMENT_CHARS):
        assert _post(client, desk, call_id, _seg(n, chunk)).status_code == 200
    over = _post(client, desk, call_id, _seg(999, "再多一句"))
    assert over.status_code == 413 and over.json["error"]["code"] == "too_large"
    # Replacing a segment with text of the same length still fits.
    assert _post(client, desk, call_id, _seg(0, "特困" * (live.MAX_SEGMENT_CHARS // 2))).status_code == 200


def test_invalid_utf8_and_not_json_are_400(client, desk):
    call_id = _live_call(client, desk)
    for body in (b'{"segments": [{"id": "1", "text": "\xff\xfe"}]}', b"segments"):
        response = client.post(f"/api/v1/calls/{call_id}/transcript", data=body, content_type="application/json",
                               headers=desk["pbx"])
        assert response.status_code == 400 and response.json["error"]["message"]
    assert client.post(f"/api/v1/calls/{call_id}/transcript", json={"segments": "x"},
                       headers=desk["pbx"]).status_code == 400


def test_a_missed_call_takes_no_transcript(client, desk):
    call_id = _announce(client, desk).json["id"]
    client.post(f"/api/v1/calls/{call_id}/ended", json={}, headers=desk["pbx"])
    assert _post(client, desk, call_id, _seg(1, "喂")).json["error"]["code"] == "call_missed"


# --- the storm ------------------------------------------------------------------------------------

def test_a_segment_storm_is_rate_limited_per_token_and_nothing_accepted_is_lost(app, client, db, desk, bearer):
    call_id = _live_call(client, desk)
    app.config.update(CALL_EVENTS_PER_SECOND=1, CALL_EVENTS_BURST=5)
    statuses = []
    for n in range(20):
        response = _post(client, desk, call_id, _seg(n, f"第{n}句"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json["error"]["code"] == "too_many_requests"
    accepted = [n for n, status in enumerate(statuses) if status == 200]
    assert 1 <= len(accepted) <= 6 and statuses.count(429) == 20 - len(accepted)
    assert [s.segment_id for s in _stored(db, call_id)] == [str(n) for n in accepted]
    # Another token is not held back by this one's storm.
    other = bearer(make_user("telephony"))
    assert client.post(f"/api/v1/calls/{call_id}/ended", json={}, headers=other).status_code == 200


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: now[0])
    assert [bucket.take("a") for _ in range(2)] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(0.1)
    assert bucket.take("b") == 0.0
    now[0] += 0.1
    assert bucket.take("a") == 0.0


# --- the assist -----------------------------------------------------------------------------------

def test_assist_suggests_entries_from_the_callers_words(client, db, desk, login):
    call_id = _live_call(client, desk)
    body = _post(client, desk, call_id, _seg(1, "您好,请讲", speaker="operator"),
                 _seg(2, "我家里困难,想问低保怎么申请,要带什么材料")).json
    assert set(body) == {"call", "transcript", "suggestions", "needs", "draft"}
    assert body["draft"]["summary"]
    assert [n["text"] for n in body["needs"]] == ["我家里困难 想问低保怎么申请 要带什么材料"]
    top = body["suggestions"][0]
    assert set(top) == {"id", "question", "score", "confident", "why"}
    assert "低保" in top["question"] or "最低生活保障" in top["question"]
    assert top["why"].startswith("来电人说到") and "低保" in top["why"]
    assert db.get(Call, call_id).assist_entry_id == top["id"]
    assert body["needs"][0]["entry_id"] == top["id"] and body["needs"][0]["question"] == top["question"]


def test_assist_drafts_the_form_from_the_callers_words_masked_for_the_platform(client, db, desk):
    call_id = _live_call(client, desk)
    posted = _post(client, desk, call_id, _seg(1, "您好，请讲", speaker="operator"),
                   _seg(2, "我姓王，北林区紫来街道的"), _seg(3, "我妈住院了家里断粮了，想问临时救助咋申请"),
                   _seg(4, "电话幺三九幺二三四五六七八")).json
    draft = posted["draft"]
    assert draft["caller_name"] == "王" and draft["township_name"].startswith("紫来")
    assert draft["urgency"] == "急难" and draft["for_whom"] == "母亲"
    assert draft["caller_number"] and "****" in draft["caller_number"]  # the platform may not see numbers
    assert {f["field"] for f in draft["fields_from_transcript"]} >= {"caller_name", "caller_number", "township_name"}
    own = client.get(f"/api/v1/calls/{call_id}/assist", headers=desk["op"]).json["draft"]
    assert own["caller_number"] == "13912345678"  # the call's own operator heard it


def test_needs_are_masked_as_the_transcript_is(client, db, desk):
    call_id = _live_call(client, desk)
    said = "我电话13812345678 低保金啥时候到账"
    posted = _post(client, desk, call_id, _seg(1, said)).json
    assert posted["needs"][0]["text"] == "我电话138****5678 低保金啥时候到账"
    own = client.get(f"/api/v1/calls/{call_id}/assist", headers=desk["op"]).json
    assert own["needs"][0]["text"] == said


class _Engine:
    """A search engine whose results the test sets, keyed by a word the query holds."""

    def __init__(self, table):
        self.table = table

    def search(self, query, limit=5):
        for word, hits in self.table.items():
            if word in query:
                return SearchResult(query, query, [Hit(i, s, f"问题{i}", "最低生活保障") for i, s in hits][:limit],
                                    True, 1.0, level="sure" if hits else "out_of_scope")
        return SearchResult(query, query, [], False, 1.0)


def _state(call, now, engine, *segments):
    live.add_segments(call=call, now=now, segments=list(segments), grace=timedelta(seconds=60))
    return live.assist_state(call=call, viewer=None, now=now, engine=engine, call_json={}, remember=True)


def test_the_top_card_stays_unless_another_is_clearly_better(db, frozen_now):
    call = calls.announce_call(actor=None, now=frozen_now, caller_number="13900000000", external_id="s-1")[0]
    calls.call_answered(actor=None, now=frozen_now, call=call)
    engine = _Engine({"住院": [("Q002", 10.0), ("Q001", 9.0)], "医疗": [("Q002", 10.0), ("Q001", 9.8)],
                      "低保": [("Q001", 10.0), ("Q002", 8.0)]})
    assert _state(call, frozen_now, engine, _seg(1, "低保"))["suggestions"][0]["id"] == "Q001"
    # The caller's next sentence leans a hair towards Q002: Q001 stays on top.
    top = _state(call, frozen_now, engine, _seg(2, "医疗"))["suggestions"][0]
    assert top["id"] == "Q001" and "保持在首位" in top["why"]
    # Mid-sentence (not final yet) Q002 is better by 0.1: not enough to move the card while they speak …
    assert _state(call, frozen_now, engine, _seg(3, "住院", final=False))["suggestions"][0]["id"] == "Q001"
    # … but once the sentence is final it is: Q002 takes the top card.
    state = _state(call, frozen_now, engine, _seg(3, "住院"))
    assert state["suggestions"][0]["id"] == "Q002" and call.assist_entry_id == "Q002"


def test_each_need_stated_is_shown_with_its_own_entry(db, frozen_now):
    call = calls.announce_call(actor=None, now=frozen_now, caller_number="13900000000", external_id="s-3")[0]
    calls.call_answered(actor=None, now=frozen_now, call=call)
    engine = _Engine({"取暖": [("Q094", 10.0), ("Q019", 6.0)], "水电": [("Q092", 10.0), ("Q019", 7.0)],
                      "公积金": [], "低保": [("Q019", 10.0), ("Q001", 9.0)]})
    state = _state(call, frozen_now, engine, _seg(1, "俺是低保户 冬天取暖有没有补贴"),
                   _seg(2, "还有水电费能减免不"), _seg(3, "另外公积金咋提取"))
    assert state["needs"] == [
        {"text": "俺是低保户 冬天取暖有没有补贴", "entry_id": "Q094", "question": "问题Q094", "confident": True},
        {"text": "还有水电费能减免不", "entry_id": "Q092", "question": "问题Q092", "confident": True},
        {"text": "另外公积金咋提取", "entry_id": None, "question": "", "confident": False}]
    assert {"Q094", "Q092"} <= {s["id"] for s in state["suggestions"]}
    # The same need said again is one need.
    state = _state(call, frozen_now, engine, _seg(4, "还有就是那个取暖补贴有没有"))
    assert [n["entry_id"] for n in state["needs"]] == ["Q094", "Q092", None]


def test_segments_are_kept_while_the_search_index_is_unavailable(db, frozen_now):
    call = calls.announce_call(actor=None, now=frozen_now, caller_number="13900000000", external_id="s-2")[0]
    live.add_segments(call=call, now=frozen_now, segments=[_seg(1, "低保")], grace=timedelta(seconds=60))
    state = live.assist_state(call=call, viewer=None, now=frozen_now, engine=None, call_json={}, remember=True)
    assert state["suggestions"] == [] and [s["text"] for s in state["transcript"]] == ["低保"]


# --- privacy --------------------------------------------------------------------------------------

SAID = "我电话13812345678,身份证230102198001011234"


def _reads(db):
    return db.execute(select(AuditEvent).where(AuditEvent.action == "read_transcript")).scalars().all()


def test_transcripts_are_masked_for_roles_that_may_not_see_numbers(client, db, desk, bearer):
    call_id = _live_call(client, desk)
    posted = _post(client, desk, call_id, _seg(1, SAID)).json
    assert "138****5678" in posted["transcript"][0]["text"]  # telephony itself reads it masked
    own = client.get(f"/api/v1/calls/{call_id}/assist", headers=desk["op"]).json
    assert own["transcript"][0]["text"] == SAID  # the operator who took the call heard it
    assert _reads(db) == []
    other = client.get(f"/api/v1/calls/{call_id}/assist", headers=bearer(make_user("operator"))).json
    assert "13812345678" not in other["transcript"][0]["text"] and "2301**********1234" in other["transcript"][0]["text"]
    assert _reads(db) == []
    assert client.get(f"/api/v1/calls/{call_id}/assist",
                      headers=bearer(make_caseworker())).status_code == 403


def test_a_full_read_by_anyone_but_the_calls_operator_is_audited(client, db, desk, bearer):
    call_id = _live_call(client, desk)
    _post(client, desk, call_id, _seg(1, SAID))
    supervisor = make_user("supervisor")
    body = client.get(f"/api/v1/calls/{call_id}/assist", headers=bearer(supervisor)).json
    assert body["transcript"][0]["text"] == SAID
    reads = _reads(db)
    assert len(reads) == 1 and reads[0].actor_id == supervisor.id and reads[0].entity_id == str(call_id)


def test_the_first_owner_of_a_ticket_from_the_call_sees_numbers(db, frozen_now):
    operator, owner = make_user("operator"), make_caseworker()
    call = calls.announce_call(actor=None, now=frozen_now, caller_number="13900000000", external_id="p-1",
                               operator=operator.username)[0]
    live.add_segments(call=call, now=frozen_now, segments=[_seg(1, SAID)], grace=timedelta(seconds=60))
    make_ticket("pending_accept", owner=owner, call_id=call.id)
    db.refresh(call)
    assert live.transcript_json(call, owner, frozen_now)[0]["text"] == SAID
    assert len(_reads(db)) == 1


def test_transcripts_past_retention_are_purged_and_audited(app, db, frozen_now):
    from tickets.jobs import purge_transcripts

    old_call = calls.announce_call(actor=None, now=frozen_now - timedelta(days=181), caller_number="13900000001",
                                   external_id="old", rang_at=frozen_now - timedelta(days=181))
    with clock.freeze(frozen_now - timedelta(days=181)):
        live.add_segments(call=old_call[0], now=clock.now(), segments=[_seg(1, "旧的")], grace=timedelta(0))
    new_call = calls.announce_call(actor=None, now=frozen_now, caller_number="13900000002", external_id="new")[0]
    live.add_segments(call=new_call, now=frozen_now, segments=[_seg(1, "新的")], grace=timedelta(0))
    assert purge_transcripts(frozen_now).startswith("purged the transcripts of 1 calls (1 segments)")
    assert _stored(db, old_call[0].id) == [] and [s.text for s in _stored(db, new_call.id)] == ["新的"]
    db.refresh(old_call[0])
    assert old_call[0].transcript_purged_at is not None
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "purge",
                                                AuditEvent.entity_type == "transcript")).scalar_one()
    assert json.loads(event.changes)["retention_days"] == 180
    assert purge_transcripts(frozen_now) == ""
    with pytest.raises(DomainError, match="保留期限"):
        live.add_segments(call=old_call[0], now=frozen_now, segments=[_seg(2, "又来")], grace=timedelta(days=400))


def test_a_ticket_for_a_township_that_does_not_exist_is_a_clear_json_error(client, desk):
    response = client.post("/api/v1/tickets", json={"kind": "help", "urgency": "normal", "citizen_name": "王五",
                                                    "citizen_phone": "13900000000", "township_id": 999999,
                                                    "description": "低保"}, headers=desk["op"])
    assert 400 <= response.status_code < 500 and response.json["error"]["message"]


def test_openapi_documents_the_call_events_with_the_shapes_the_api_checks(client):
    doc = client.get("/api/v1/openapi.json").json
    for path in ("/calls", "/calls/{id}/answered", "/calls/{id}/ended", "/calls/{id}/transcript",
                 "/calls/{id}/assist", "/calls/record", "/calls/{id}/record", "/calls/missed",
                 "/calls/{id}/callback"):
        assert path in doc["paths"], path
    announce = doc["paths"]["/calls"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert announce["additionalProperties"] is False
    assert set(announce["properties"]) == {"external_id", "caller_number", "operator", "rang_at"}
    assert set(announce["required"]) == {"external_id", "caller_number", "operator"}
    assert "429" in doc["paths"]["/calls/{id}/transcript"]["post"]["responses"]
