"""Units below the callback floors: satisfaction rate (满意 + 基本满意 of the callbacks) and reply rate
(tickets closed — the reply to the citizen — by their closure deadline, of those that fell due).

The floors are settings (HOTLINE_SATISFACTION_FLOOR 85 %, HOTLINE_REPLY_RATE_FLOOR 92 %); a unit with no
callbacks or no ticket due in the period has no rate and is not flagged on it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select

from core import humanize
from core.db import session
from core.models import Unit
from tickets.metrics import json_text, local_range
from tickets.models import Ticket, TicketEvent


def unit_floors(start: date, end: date, now: datetime, *, satisfaction_floor: int,
                reply_floor: int) -> list[dict[str, Any]]:
    """Per unit: callbacks and satisfied ones in the period, tickets due and replied on time, both rates (in %)
    and which floors it is under; flagged units first."""
    lo, hi = local_range(start, end)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"callbacks": 0, "satisfied": 0, "due": 0, "replied": 0})
    # Counted by the database: a year's tickets and callbacks are never loaded as objects (that took ~15 s
    # at the review's two years).
    is_satisfied = json_text(TicketEvent.data_json, "satisfaction").in_(("satisfied", "basic"))
    callbacks = session.execute(select(Ticket.unit_id, func.count(), func.sum(case((is_satisfied, 1), else_=0)))
                                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                                .where(TicketEvent.action == "callback", TicketEvent.at >= lo, TicketEvent.at < hi,
                                       Ticket.unit_id.is_not(None)).group_by(Ticket.unit_id))
    for unit_id, n_callbacks, n_satisfied in callbacks:
        counts[unit_id]["callbacks"] += n_callbacks
        counts[unit_id]["satisfied"] += n_satisfied or 0
    replied = and_(Ticket.closed_at.is_not(None), Ticket.closed_at <= Ticket.closure_due_at)
    due = session.execute(select(Ticket.unit_id, func.count(), func.sum(case((replied, 1), else_=0)))
                          .where(Ticket.unit_id.is_not(None), Ticket.closure_due_at.is_not(None),
                                 Ticket.closure_due_at >= lo, Ticket.closure_due_at < hi, Ticket.closure_due_at <= now)
                          .group_by(Ticket.unit_id))
    for unit_id, n_due, n_replied in due:
        counts[unit_id]["due"] += n_due
        counts[unit_id]["replied"] += n_replied or 0
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(list(counts)))).all()) if counts else {}
    rows = []
    for unit_id, c in counts.items():
        satisfaction = humanize.rate(c["satisfied"], c["callbacks"])
        reply = humanize.rate(c["replied"], c["due"])
        flags = [label for label, value, floor in (("满意率", satisfaction, satisfaction_floor),
                                                   ("回复率", reply, reply_floor))
                 if value is not None and value < floor]
        rows.append({"unit_id": unit_id, "unit": names.get(unit_id, ""), **c,
                     "satisfaction_rate": satisfaction, "reply_rate": reply, "flags": flags,
                     "satisfaction_text": humanize.percent(c["satisfied"], c["callbacks"]),
                     "reply_text": humanize.percent(c["replied"], c["due"])})
    return sorted(rows, key=lambda r: (not r["flags"], r["unit"]))
