"""The calls API: telephony's call events and transcript, the operator's record and callbacks, and the
call and assist answers."""

from typing import Literal

from pydantic import Field

from handlers.schemas.base import Answer, Body, Count, LocalTime, Person, Plain, Query, Text, Time
from tickets.live import MAX_SEGMENT_CHARS, MAX_SEGMENTS
from tickets.models import CALL_STATES, CALLBACK_OUTCOMES, ENTRY_USES, OUTCOMES, SPEAKERS

#: Milliseconds in a day: the longest offset a transcript segment may have.
DAY_MS = 24 * 3600 * 1000


class Announce(Body):
    external_id: Text(64, required=True, description="话务平台的通话编号")
    caller_number: Text(30, required=True, description="来电号码")
    operator: Text(50, required=True, description="转接给哪位接线员（登录名）")
    rang_at: Time | None = Field(None, description="振铃时间（可选，默认收到时）")


class CallEvent(Body):
    at: Time | None = Field(None, description="接通或挂断的时间（可选，默认收到时）")


class Segment(Body):
    id: Text(64, required=True, int_ok=True)
    speaker: Text(choices=tuple(SPEAKERS), required=True)
    text: Text(description=f"转写文本，不超过{MAX_SEGMENT_CHARS}字") | None = None
    start_ms: Count(DAY_MS)
    end_ms: Count(DAY_MS)
    final: bool = Field(strict=True, description="是否定稿：未定稿的片段会被同id的新版本替换")


class Transcript(Body):
    segments: list[Segment] = Field(max_length=MAX_SEGMENTS, description="转写片段")


class Record(Body):
    # An operator's record of an announced call.
    outcome: Text(choices=tuple(OUTCOMES), required=True)
    caller_number: Text(30) | None = None
    caller_name: Text(50) | None = None
    question: Text(2000) | None = None
    kb_entry_ids: list[Text(20)] | None = Field(None, max_length=50, description="用到的知识库条目编号")


class RecordNew(Record):
    # A call telephony never announced, typed by the operator.
    caller_number: Text(30, required=True)  # type: ignore[valid-type]
    duration_seconds: Count(24 * 3600, description="通话时长（秒）") | None = None


class Callback(Body):
    outcome: Text(choices=tuple(CALLBACK_OUTCOMES), required=True)
    note: Text(500, description="回拨备注") | None = None


class EntryUse(Body):
    entry_id: Text(20, required=True, description="知识库条目编号，如Q012")
    action: Text(choices=tuple(ENTRY_USES), required=True, description="展示、打开或复制")


class CallbackMade(Answer):
    at: LocalTime
    outcome: str
    outcome_label: str
    note: str
    by: Person | None


class OpenTicket(Answer):
    id: int
    number: str
    state: str
    state_label: str
    kind_label: str
    township: str
    description: str = Field(description="诉求内容前80字")
    first_owner: Person | None
    created_at: LocalTime


class Call(Answer):
    id: int
    external_id: str | None
    status: Literal[tuple(CALL_STATES)]  # type: ignore[valid-type]
    status_label: str
    caller_number: str = Field(description="无权查看号码的角色看到138****5678")
    caller_name: str
    question: str
    outcome: Literal[tuple(OUTCOMES)] | None  # type: ignore[valid-type]
    outcome_label: str
    duration_seconds: int | None
    kb_entry_ids: list[str]
    operator_id: int | None
    started_at: LocalTime
    recorded_at: LocalTime | None
    answered_at: LocalTime | None
    ended_at: LocalTime | None
    ring_seconds: int | None = Field(description="振铃到接通（话务平台事件）")
    talk_seconds: int | None = Field(description="接通到挂断（话务平台事件）")
    wrap_seconds: int | None = Field(description="挂断到接线员记录")
    ticket_ids: list[int]
    callbacks: list[CallbackMade]
    callback_done_at: LocalTime | None
    open_tickets: list[OpenTicket] | None = Field(None, description="同一号码尚未办结的工单（重复来电）；详情和记录时给出")


class Calls(Answer):
    calls: list[Call]


class TranscriptLine(Answer):
    id: str
    speaker: Literal[tuple(SPEAKERS)]  # type: ignore[valid-type]
    text: str = Field(description="无权查看号码的角色看到遮挡后的文本")
    start_ms: int
    end_ms: int
    final: bool


class Suggestion(Answer):
    id: str = Field(examples=["Q001"])
    question: str
    score: float
    confident: bool
    why: str = Field(examples=["来电人说到“低保”“申请”"])


class Assist(Answer):
    call: Call
    transcript: list[TranscriptLine]
    suggestions: list[Suggestion]
    needs: list[Plain]
    draft: Plain | None = Field(description="智能填单：从转写中取得的工单字段")


class EntryUseMade(Answer):
    entry_id: str
    action: str
    at: LocalTime


class EntryUses(Answer):
    call_id: int
    uses: list[EntryUseMade]


class LookupQuery(Query):
    number: str = Field("", description="来电号码")


class Lookup(Answer):
    tickets: list[OpenTicket]
