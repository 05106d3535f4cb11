"""Calls to the hotline: telephony announces them, operators record what came of them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from audit import services as audit
from core.db import session
from core.errors import NotFound
from core.masking import mask_phone
from core.models import User
from tickets.models import OUTCOMES, Call, CallEntry
from tickets.validation import TicketError, clean_text, normalize_phone

#: Announced calls older than this no longer pop up on operators' pages.
RINGING_WINDOW = timedelta(minutes=15)


def get_call(call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"来电记录不存在:{call_id}")
    return call


def incoming_calls(user: User, now: datetime) -> list[Call]:
    """Announced calls not yet recorded, routed to this operator or to nobody in particular."""
    query = (select(Call).where(Call.status == "ringing", Call.started_at >= now - RINGING_WINDOW,
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
                  operator_id: int | None = None) -> tuple[Call, bool]:
    """Telephony tells us a call is ringing; returns (call, created). The same external id twice is one call."""
    number = normalize_phone(caller_number, field="caller_number", label="来电号码")
    external_id = clean_text(external_id, "外部通话编号", "external_id", limit=64) or None
    if external_id:
        existing = session.execute(select(Call).where(Call.external_id == external_id)).scalar_one_or_none()
        if existing is not None:
            return existing, False
    if operator_id is not None:
        operator = session.get(User, operator_id)
        if operator is None or not operator.active or not operator.has_role("operator"):
            raise TicketError(f"接线员不存在或已停用:{operator_id}", field="operator_id")
    call = Call(external_id=external_id, status="ringing", caller_number=number, caller_name="", question="",
                operator_id=operator_id, started_at=now, created_at=now)
    session.add(call)
    session.flush()
    audit.record("announce", "call", call.id, actor=actor, now=now, changes={"after": _call_snapshot(call)})
    return call, True


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
    if call is not None and call.status != "ringing":
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
    call.status, call.outcome, call.duration_seconds = "recorded", outcome, duration
    call.caller_name, call.question, call.operator_id, call.recorded_at = name, question, actor.id, now
    call.entries = [CallEntry(entry_id=entry_id, position=i) for i, entry_id in enumerate(ids)]
    session.flush()
    audit.record("record", "call", call.id, actor=actor, now=now,
                 changes=audit.diff(before, _call_snapshot(call)))
    return call
