"""Calls to the hotline: telephony announces them and times them (answered, ended), operators record
what came of them, and missed calls wait in the callback queue until someone calls back."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from audit import services as audit
from core.db import session
from core.errors import Forbidden, NotFound
from core.masking import mask_numbers, mask_phone
from core.models import User
from tickets.models import (
    CALLBACK_DONE,
    CALLBACK_OUTCOMES,
    ENTRY_USES,
    OUTCOMES,
    Call,
    CallbackAttempt,
    CallEntry,
    CallEntryUse,
)
from tickets.validation import TicketError, clean_text, normalize_phone

#: Announced calls older than this no longer pop up on operators' pages.
RINGING_WINDOW = timedelta(minutes=15)
#: Answered calls not yet recorded stay on the operator's page this long.
LIVE_WINDOW = timedelta(hours=4)
#: The states an operator may record a call from.
LIVE_STATES = ("ringing", "answered", "ended")


def get_call(call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"来电记录不存在:{call_id}")
    return call


def incoming_calls(user: User, now: datetime) -> list[Call]:
    """Announced calls not yet recorded, routed to this operator or to nobody in particular: ringing ones
    for a few minutes, answered ones until recorded."""
    query = (select(Call).where(or_(and_(Call.status == "ringing", Call.started_at >= now - RINGING_WINDOW),
                                    and_(Call.status.in_(("answered", "ended")), Call.started_at >= now - LIVE_WINDOW)),
                                or_(Call.operator_id.is_(None), Call.operator_id == user.id))
             .order_by(Call.started_at.desc()).limit(5))
    return list(session.execute(query).scalars())


def find_calls(*, outcome: str = "", operator: User | None = None, limit: int = 50, offset: int = 0) -> list[Call]:
    """Recorded calls, newest first (optionally one outcome, or one operator's)."""
    query = select(Call).where(Call.status == "recorded")
    if outcome:
        query = query.where(Call.outcome == outcome)
    if operator is not None:
        query = query.where(Call.operator_id == operator.id)
    query = query.order_by(Call.started_at.desc(), Call.id.desc()).offset(offset).limit(limit)
    # What the list shows of each call, loaded for the page at once instead of once per row.
    query = query.options(selectinload(Call.operator), selectinload(Call.entries), selectinload(Call.tickets))
    return list(session.execute(query).scalars())


def call_topic(call: Call) -> str:
    """The KB category of the first entry used during the call (the ticket's likely topic)."""
    from kb.models import Entry

    for entry_id in call.kb_entry_ids:
        entry = session.get(Entry, entry_id)
        if entry is not None:
            return entry.category
    return ""


_OUTCOME_ALIASES = {
    "answered": "answered", "answered_on_the_spot": "answered", "on_the_spot": "answered", "即问即答": "answered",
    "在线答复": "answered", "ticket": "ticket", "ticket_opened": "ticket", "转工单": "ticket", "工单": "ticket",
    "referred": "referred", "referred_elsewhere": "referred", "转其他渠道": "referred", "dropped": "dropped",
    "中途挂断": "dropped", "挂断": "dropped",
}


def parse_outcome(value: Any) -> str:
    outcome = _OUTCOME_ALIASES.get(str(value or "").strip().lower())
    if outcome is None:
        raise TicketError(f"来电结果无效:{value}(可选:{'、'.join(f'{k}={v}' for k, v in OUTCOMES.items())})",
                          field="outcome")
    return outcome


def parse_duration(value: Any) -> int | None:
    """Seconds, from 95, "95" or "1:35"; None when not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise TicketError("通话时长格式不正确", field="duration_seconds")
    if isinstance(value, (int, float)):
        seconds = int(value)
    else:
        text = str(value).strip()
        match = re.fullmatch(r"(?:(\d{1,3}):)?(\d{1,5})", text)
        if not match:
            raise TicketError("通话时长格式不正确:填秒数,或“分:秒”", field="duration_seconds")
        seconds = int(match.group(1) or 0) * 60 + int(match.group(2))
    if not 0 <= seconds <= 24 * 3600:
        raise TicketError("通话时长应在0秒到24小时之间", field="duration_seconds")
    return seconds


def parse_entry_ids(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None:
        raise TicketError("知识库条目应为编号列表", field="kb_entry_ids")
    ids: list[str] = []
    for item in items:
        text = str(item).strip().upper()
        if text and text not in ids:
            ids.append(text)
    return ids


def _check_entries(ids: list[str]) -> None:
    if not ids:
        return
    from kb.models import Entry

    known = set(session.execute(select(Entry.id).where(Entry.id.in_(ids))).scalars())
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise TicketError(f"知识库条目不存在:{'、'.join(unknown)}", field="kb_entry_ids")


def _call_snapshot(call: Call) -> dict[str, Any]:
    return {"status": call.status, "caller_number": mask_phone(call.caller_number), "outcome": call.outcome,
            "duration_seconds": call.duration_seconds, "operator_id": call.operator_id,
            "external_id": call.external_id, "kb_entry_ids": call.kb_entry_ids}


def announce_call(*, actor: User | None, now: datetime, caller_number: str, external_id: str | None = None,
                  operator: str | None = None, rang_at: datetime | None = None) -> tuple[Call, bool]:
    """Telephony tells us a call is ringing, put through to `operator` (a user name); returns (call,
    created). The same external id twice is one call: the repeat changes nothing."""
    number = normalize_phone(caller_number, field="caller_number", label="来电号码")
    external_id = clean_text(external_id, "外部通话编号", "external_id", limit=64) or None
    if external_id:
        existing = session.execute(select(Call).where(Call.external_id == external_id)).scalar_one_or_none()
        if existing is not None:
            return existing, False
    operator_id = None
    if operator is not None:
        user = session.execute(select(User).where(User.username == operator)).scalar_one_or_none()
        if user is None or not user.active or not user.has_role("operator", "supervisor"):
            raise TicketError(f"接线员不存在或已停用：{operator}", code="unknown_operator", field="operator")
        operator_id = user.id
    started = _event_time(rang_at, now, "rang_at")
    call = Call(external_id=external_id, status="ringing", caller_number=number, caller_name="", question="",
                operator_id=operator_id, started_at=started, created_at=now)
    session.add(call)
    session.flush()
    audit.record("announce", "call", call.id, actor=actor, now=now, changes={"after": _call_snapshot(call)})
    return call, True


#: How far ahead of our clock telephony's event times may run (clock skew), and how old they may be.
CLOCK_SKEW = timedelta(minutes=5)
OLDEST_EVENT = timedelta(days=1)


def _event_time(at: datetime | None, now: datetime, field: str, *, after: datetime | None = None) -> datetime:
    if at is None:
        at = now if after is None else max(now, after)
    if at > now + CLOCK_SKEW or at < now - OLDEST_EVENT:
        raise TicketError("事件时间与服务器时间相差过大（应在过去24小时内）", code="bad_time", status=400, field=field)
    if after is not None and at < after:
        raise TicketError("事件时间早于该来电的上一个事件", code="bad_time", status=400, field=field)
    return at


def call_answered(*, actor: User | None, now: datetime, call: Call, at: datetime | None = None) -> bool:
    """Telephony's answered event; False when it was already answered (a repeat changes nothing).
    Answering a call that already ended unanswered is a 409."""
    if call.answered_at is not None:
        return False
    if call.ended_at is not None:
        raise TicketError("该来电已挂断（未接通），不能再标记为接听", code="call_ended", status=409)
    call.answered_at = _event_time(at, now, "at", after=call.started_at)
    if call.status == "ringing":
        call.status = "answered"
    session.flush()
    audit.record("answer", "call", call.id, actor=actor, now=now, changes={"answered_at": call.answered_at})
    return True


def call_ended(*, actor: User | None, now: datetime, call: Call, at: datetime | None = None) -> bool:
    """Telephony's ended event; False when it had already ended. A call that rang and ended without
    being answered is missed and joins the callback queue (漏接回拨)."""
    if call.ended_at is not None:
        return False
    call.ended_at = _event_time(at, now, "at", after=call.answered_at or call.started_at)
    if call.answered_at is None and call.status == "ringing":
        call.status = "missed"
    elif call.status == "answered":
        call.status = "ended"
    if call.answered_at is not None:
        call.duration_seconds = call.talk_seconds
    session.flush()
    audit.record("end", "call", call.id, actor=actor, now=now,
                 changes={"ended_at": call.ended_at, "status": call.status, "duration_seconds": call.duration_seconds})
    return True


def missed_calls(*, limit: int = 200) -> list[Call]:
    """Missed calls not yet called back, oldest first (the callback queue)."""
    query = (select(Call).where(Call.status == "missed", Call.callback_done_at.is_(None))
             .order_by(Call.started_at, Call.id).limit(limit))
    return list(session.execute(query).scalars())


def record_callback(*, actor: User, now: datetime, call: Call, outcome: Any, note: Any = "") -> CallbackAttempt:
    """One callback of a missed call; one that reached the caller (or was not needed) takes it off the queue."""
    outcome = str(outcome or "").strip()
    if outcome not in CALLBACK_OUTCOMES:
        raise TicketError(f"回拨结果无效（可选：{'、'.join(CALLBACK_OUTCOMES.values())}）", field="outcome")
    note = clean_text(note, "回拨备注", "note", limit=500)
    if call.status != "missed":
        raise TicketError("只有未接来电需要回拨", code="not_missed", status=409)
    if call.callback_done_at is not None:
        raise TicketError("该未接来电已经回拨过了", code="already_called_back", status=409)
    attempt = CallbackAttempt(call_id=call.id, outcome=outcome, note=note, by_id=actor.id, at=now)
    session.add(attempt)
    if outcome in CALLBACK_DONE:
        call.callback_done_at = now
    session.flush()
    audit.record("callback", "call", call.id, actor=actor, now=now,
                 changes={"outcome": outcome, "note": mask_numbers(note), "done": call.callback_done_at is not None})
    return attempt


def record_call(*, actor: User, now: datetime, outcome: Any, caller_number: str = "", caller_name: str = "",
                question: str = "", kb_entry_ids: Any = None, duration_seconds: Any = None,
                call_id: int | None = None, external_id: str | None = None) -> Call:
    """Record what an operator did with a call: a new call, or one telephony announced (by id or external id)."""
    outcome = parse_outcome(outcome)
    duration = parse_duration(duration_seconds)
    ids = parse_entry_ids(kb_entry_ids)
    name = clean_text(caller_name, "来电人姓名", "caller_name", limit=50)
    question = clean_text(question, "来电诉求", "question", limit=2000)
    external_id = clean_text(external_id, "外部通话编号", "external_id", limit=64) or None
    call: Call | None = None
    if call_id is not None:
        call = get_call(call_id)
    elif external_id:
        call = session.execute(select(Call).where(Call.external_id == external_id)).scalar_one_or_none()
    if call is not None and call.status == "missed":
        raise TicketError("这是未接来电，请在漏接回拨中登记回拨结果", code="call_missed", status=409)
    if call is not None and call.status not in LIVE_STATES:
        raise TicketError("该来电已经记录过了", code="already_recorded", status=409)
    number = normalize_phone(caller_number, field="caller_number", label="来电号码",
                             required=call is None)
    _check_entries(ids)
    before = _call_snapshot(call) if call is not None else {}
    if call is None:
        started = now - timedelta(seconds=duration or 0)
        call = Call(external_id=external_id, caller_number=number, started_at=started, created_at=now)
        session.add(call)
    elif number:
        call.caller_number = number
    if call.answered_at is not None:
        # Telephony's events time the call; what the operator typed does not (talk time once it ended).
        duration = call.talk_seconds
    call.status, call.outcome, call.duration_seconds = "recorded", outcome, duration
    call.caller_name, call.question, call.operator_id, call.recorded_at = name, question, actor.id, now
    call.entries = [CallEntry(entry_id=entry_id, position=i) for i, entry_id in enumerate(ids)]
    session.flush()
    audit.record("record", "call", call.id, actor=actor, now=now,
                 changes=audit.diff(before, _call_snapshot(call)))
    return call


def note_entry_use(*, actor: User, now: datetime, call: Call, entry_id: Any, action: Any) -> bool:
    """The operator's page saw an entry shown (the assist's top card), opened or copied during the call:
    kept on the call, the first time of each entry and use only (True then). Only the call's own operator
    (or anyone, for a call routed to nobody) and supervisors note uses; a missed call has none."""
    action = str(action or "").strip()
    if action not in ENTRY_USES:
        raise TicketError(f"条目使用方式无效（可选：{'、'.join(ENTRY_USES)}）", field="action")
    ids = parse_entry_ids([entry_id] if isinstance(entry_id, str) else None)
    if len(ids) != 1:
        raise TicketError("请给出一个知识库条目编号", field="entry_id")
    _check_entries(ids)
    if call.status == "missed":
        raise TicketError("这是未接来电，没有通话内容", code="call_missed", status=409)
    if call.operator_id not in (None, actor.id) and not actor.has_role("supervisor"):
        raise Forbidden("这通来电不是您接听的")
    found = session.execute(select(CallEntryUse.id).where(
        CallEntryUse.call_id == call.id, CallEntryUse.entry_id == ids[0], CallEntryUse.action == action)).first()
    if found is not None:
        return False
    session.add(CallEntryUse(call_id=call.id, entry_id=ids[0], action=action, by_id=actor.id, at=now))
    session.flush()
    audit.record("entry_use", "call", call.id, actor=actor, now=now, changes={"entry_id": ids[0], "action": action})
    return True


def entry_uses(call: Call) -> list[CallEntryUse]:
    """The entries shown, opened or copied during the call, in the order they happened."""
    return list(session.execute(select(CallEntryUse).where(CallEntryUse.call_id == call.id)
                                .order_by(CallEntryUse.at, CallEntryUse.id)).scalars())


#: The ticket form's fields the call's transcript may fill, and the draft's kind and urgency words.
TICKET_DRAFT_FIELDS = ("citizen_name", "citizen_phone", "citizen_id_number", "township_id", "kind", "urgency",
                       "description")
DRAFT_KINDS = {"咨询": "consult", "求助": "help", "投诉": "complaint", "举报": "complaint", "建议": "consult"}


def ticket_prefill(call: Call, draft: dict[str, Any], *, sees_numbers: bool) -> dict[str, Any]:
    """The new-ticket form for a call: what the operator recorded, completed from the transcript's draft
    (智能填单). Each field the draft filled is named in `from_transcript` with the caller's words it came
    from; masked numbers are never filled in. Nothing is saved until the operator submits the form."""
    words = {f["field"]: f["text"] for f in draft.get("fields_from_transcript", [])}
    form: dict[str, Any] = {"call_id": call.id, "citizen_name": call.caller_name, "description": call.question,
                            "topic": call_topic(call)}
    marks: dict[str, str] = {}

    def fill(name: str, value: Any, source: str) -> None:
        if value not in (None, ""):
            form[name] = value
            marks[name] = words.get(source, str(value))

    if form["citizen_name"] in ("", draft.get("caller_name")):
        fill("citizen_name", draft.get("caller_name"), "caller_name")
    if sees_numbers:
        fill("citizen_phone", draft.get("caller_number"), "caller_number")
        fill("citizen_id_number", draft.get("id_number"), "id_number")
    fill("township_id", draft.get("township_id"), "township_name")
    if "kind" in words:  # the draft's 咨询 without a cue is only its default
        fill("kind", DRAFT_KINDS.get(draft.get("kind") or ""), "kind")
    if draft.get("urgency") == "急难":
        fill("urgency", "urgent", "urgency")
    lines = [call.question or draft.get("summary") or ""]
    if draft.get("address"):
        lines.append(f"地址：{draft['address']}")
    if draft.get("for_whom") and draft["for_whom"] != "本人":
        lines.append(f"为谁求助：{draft['for_whom']}")
    if draft.get("urgency_cues"):
        lines.append(f"紧急情况：{'、'.join(draft['urgency_cues'])}")
    description = "\n".join(line for line in lines if line)
    if description != form["description"] or form["description"] == draft.get("summary"):
        fill("description", description, "summary")
    form["from_transcript"] = "|".join(f"{k}={' '.join(v.replace('|', ' ').split())}" for k, v in marks.items())
    return form
