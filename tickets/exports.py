"""The supervisor board as an export (core.exports): written at once when small, in the background otherwise."""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

from core.exports import Kind, Progress
from core.models import User
from core.xlsx import MIMETYPE as XLSX
from tickets import presenters, queries
from tickets.services import record_export


def _prepare(params: dict[str, Any], viewer: User, now: datetime) -> tuple[dict[str, Any], int]:
    flt: queries.BoardFilter = params["filter"]
    total = queries.count_board(flt, now=now)
    record_export(actor=viewer, now=now, what="ticket", filters=flt.as_dict(), rows=total)
    return {"filter": {k: v.isoformat() if isinstance(v, datetime) else v for k, v in flt.as_dict().items()}}, total


def _write(params: dict[str, Any], viewer: User, now: datetime, out: IO[bytes], progress: Progress) -> int:
    values = dict(params["filter"])
    for key in ("start", "end"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    flt = queries.BoardFilter(**values)
    tickets = (t for chunk in queries.iter_board(flt, now=now) for t in chunk)
    return presenters.board_xlsx(tickets, viewer, now, out, progress=progress)


EXPORTS = [Kind("ticket_board", "工单台账", "xlsx", XLSX, ("operator", "supervisor"), _prepare, _write)]
