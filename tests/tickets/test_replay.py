"""Recorded calls replayed through the call events API (the samples `make run` offers for demos)."""

from __future__ import annotations

import pytest

from core import clock
from tests.builders import make_user
from tickets import replay
from tickets.models import Call


@pytest.fixture
def pbx(client, db, bearer):
    """A test-client poster with a telephony token, and the operator the calls ring on."""
    operator = make_user("operator")
    headers = bearer(make_user("telephony"))

    def post(path, body):
        response = client.post(path, json=body, headers=headers)
        return response.status_code, response.get_json() or {}

    return {"post": post, "operator": operator.username}


def _play(pbx, name, **kw):
    return replay.replay(replay.read(replay.SAMPLES / name), post=pbx["post"], operator=pbx["operator"],
                         external_id=f"test-{name}", started=clock.now(), speed=0, **kw)


def test_every_sample_call_replays_through_the_api(pbx, db):
    samples = sorted(replay.SAMPLES.glob("*.jsonl"))
    assert len(samples) >= 5
    for path in samples:
        _play(pbx, path.name)
    calls = db.query(Call).filter(Call.external_id.like("test-%")).all()
    assert len(calls) == len(samples)


def test_a_dialect_call_suggests_the_allowance_and_drafts_the_form(pbx, db):
    state = _play(pbx, "01-dibao-dialect.jsonl")
    # Among the cards shown; first place on this call is the assist-ranking work still open in issue 11.
    assert any("低保" in s["question"] or "最低生活保障" in s["question"] for s in state["suggestions"][:3])
    assert state["draft"]["caller_name"] == "刘" and state["draft"]["township_name"].startswith("紫来")


def test_an_emergency_is_flagged_with_its_words(pbx):
    draft = _play(pbx, "03-emergency.jsonl")["draft"]
    assert draft["urgency"] == "急难" and "断粮" in draft["urgency_cues"] and draft["for_whom"] == "邻居"


def test_a_call_never_answered_joins_the_callback_queue(pbx, db):
    _play(pbx, "05-missed.jsonl")
    call = db.query(Call).filter(Call.external_id == "test-05-missed.jsonl").one()
    assert call.status == "missed"


def test_replay_waits_between_events_at_the_given_speed(pbx):
    waits = []
    _play_events = replay.read(replay.SAMPLES / "04-outside-kb.jsonl")
    replay.replay(_play_events, post=pbx["post"], operator=pbx["operator"], external_id="test-speed",
                  started=clock.now(), speed=2, sleep=waits.append)
    assert sum(waits) == pytest.approx(_play_events[-1].at_ms / 1000 / 2)


@pytest.mark.parametrize("lines, message", [
    (['{"type": "answer", "at_ms": 0}'], "starts with a ring"),
    (['{"type": "ring"}', '{"type": "hold", "at_ms": 5}'], "unknown event type"),
    (['{"type": "ring"}', '{"type": "answer", "at_ms": 500}', '{"type": "end", "at_ms": 100}'], "never goes back"),
    (['{"type": "ring"', ], "not JSON"),
])
def test_a_bad_recording_is_refused_with_its_line(tmp_path, lines, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(replay.ReplayError, match=message):
        replay.read(path)


def test_an_api_refusal_stops_the_replay_with_its_message(pbx):
    with pytest.raises(replay.ReplayError, match="ring: the API answered 422"):
        replay.replay(replay.read(replay.SAMPLES / "05-missed.jsonl"), post=pbx["post"], operator="nobody-here",
                      external_id="test-unknown-operator", started=clock.now(), speed=0)
