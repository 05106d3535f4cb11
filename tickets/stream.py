"""What the operator's page is told while a call goes on (the calls stream, server-sent events).

Each poll reads a cheap version of the operator's live calls (two small indexed queries in a short
read-only session); only a call whose version moved is rebuilt into an event, so an idle stream costs
two queries a poll and holds no connection between polls. A version is what telephony's events and the
transcript change: the call's state and times, who it is routed to, the assist's top card, and the
transcript's segment count, length and latest arrival.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from core.db import session
from core.models import User
from tickets import calls as hotline_calls
from tickets import live, presenters
from tickets.models import Call, TranscriptSegment

#: The roles whose page follows calls.
ROLES = ("operator", "supervisor")


@dataclass
class Watch:
    """One stream's memory between polls: the version of each call last sent."""

    user_id: int
    sent: dict[int, tuple] = field(default_factory=dict)


def frame(event: str, data: dict[str, Any]) -> str:
    """One server-sent event (the JSON on one data line: it holds no raw newline)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _versions(calls: list[Call]) -> dict[int, tuple]:
    ids = [c.id for c in calls]
    segments = {row[0]: (row[1], row[2]) for row in session.execute(
        select(TranscriptSegment.call_id, func.count(), func.max(TranscriptSegment.received_at))
        .where(TranscriptSegment.call_id.in_(ids)).group_by(TranscriptSegment.call_id))} if ids else {}
    return {c.id: (c.status, c.answered_at, c.ended_at, c.operator_id, c.assist_entry_id, c.transcript_chars,
                   *segments.get(c.id, (0, None))) for c in calls}


def call_state(call: Call, viewer: User, now: datetime, engine: Any) -> dict[str, Any]:
    """The assist state the stream sends: in full to the call's own operator (who heard it); masked for
    anyone else, since a stream never writes the audit event a full read by another needs (their page
    reads GET /api/v1/calls/{id}/assist, which does)."""
    own = call.operator_id == viewer.id
    state = live.assist_state(call=call, viewer=viewer if own else None, now=now, engine=engine,
                              call_json=presenters.call_json(call, viewer, with_tickets=True))
    state["masked"] = not own
    return state


def poll(watch: Watch, *, now: datetime, engine: Any) -> tuple[list[str], bool]:
    """The events since the last poll, and whether the stream may go on (False once the account is
    gone, inactive or no longer an operator or supervisor)."""
    user = session.get(User, watch.user_id)
    if user is None or not user.active or not user.has_role(*ROLES):
        return [frame("bye", {"reason": "account"})], False
    calls = hotline_calls.incoming_calls(user, now)
    current = _versions(calls)
    events: list[str] = []
    for call in reversed(calls):  # oldest first: the newest ringing call pops last, on top
        if watch.sent.get(call.id) != current[call.id]:
            events.append(frame("call", call_state(call, user, now, engine)))
    for call_id in [i for i in watch.sent if i not in current]:
        gone = session.get(Call, call_id)
        events.append(frame("gone", {"id": call_id, "status": gone.status if gone else "",
                                     "status_label": gone.status_label if gone else ""}))
    watch.sent = current
    return events, True
