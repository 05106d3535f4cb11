"""Calls: announced by telephony, recorded by operators."""

import pytest

from core import clock
from core.errors import DomainError
from tests.builders import make_user
from tests.tickets.builders import make_call, make_entry
from tickets import calls


def test_record_call_validates_entries_and_outcome(db):
    operator = make_user("operator")
    with pytest.raises(DomainError, match="知识库条目不存在"):
        make_call(operator=operator, kb_entry_ids="Q999X")
    with pytest.raises(DomainError, match="来电结果无效"):
        make_call(operator=operator, outcome="maybe")
    with pytest.raises(DomainError, match="来电号码"):
        make_call(operator=operator, caller_number="abc")
    entry = make_entry("Q902")
    call = make_call(operator=operator, kb_entry_ids=f" {entry.id.lower()}, {entry.id}", duration_seconds="2:05")
    assert call.kb_entry_ids == ["Q902"] and call.duration_seconds == 125


def test_announced_call_is_recorded_once(db):
    operator = make_user("operator")
    call, created = calls.announce_call(actor=None, now=clock.now(), caller_number="13900001111",
                                        external_id="pbx-1")
    again, created_again = calls.announce_call(actor=None, now=clock.now(), caller_number="13900001111",
                                               external_id="pbx-1")
    assert created and not created_again and again.id == call.id
    assert calls.incoming_calls(operator, clock.now()) == [call]
    calls.record_call(actor=operator, now=clock.now(), call_id=call.id, outcome="answered")
    assert call.status == "recorded" and call.caller_number == "13900001111"
    with pytest.raises(DomainError, match="已经记录"):
        calls.record_call(actor=operator, now=clock.now(), external_id="pbx-1", outcome="answered")
