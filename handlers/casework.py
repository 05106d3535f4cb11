"""The caseworker's day: the alerts badge (its stream and its polling fallback), the printed work order,
"my tickets" as a workbook and a printed list, and the answer to a change refused for a stale version."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, render_template, request

from core import db, pinyin
from core.db import session
from core.errors import DomainError
from handlers import streams
from handlers.common import (
    actor,
    go_offline,
    json_error,
    login_required,
    now,
    refusals,
    refused,
    roles_required,
    writes,
    xlsx_download,
)
from handlers.openapi import api_doc
from handlers.schemas import tickets as ticket_schemas
from tickets import alerts, changes, queries, workorder
from tickets.models import Ticket
from tickets.validation import StaleVersion

bp = Blueprint("casework", __name__, url_prefix="/tickets")
api_bp = Blueprint("casework_api", __name__, url_prefix="/api/v1")

#: Posted fields a refused change keeps as text to edit (the rest ride along hidden).
TEXT_FIELDS = {"note": "说明", "reason": "理由", "request": "协办事项", "report": "协办结果",
               "resolution": "办结情况", "comment": "说明"}


@bp.app_template_filter("initials")
def _initials(text: str | None) -> str:
    """The pinyin initials a type-to-filter picker matches (紫来街道 → zljd; static/picker.js)."""
    return pinyin.initials(text or "")


@bp.app_context_processor
def _alert_state() -> dict[str, Any]:
    def alert_state() -> dict[str, int]:
        user = actor()
        if user is None or g.get("database_down"):
            return {"unread": 0, "latest_id": 0}
        try:
            return {"unread": queries.unread_count(user), "latest_id": alerts.latest_id(user.id)}
        except db.UNAVAILABLE as err:
            # The pages that go on while the database is down (the search) still draw the navigation.
            go_offline(err)
            return {"unread": 0, "latest_id": 0}

    return {"alert_state": alert_state}


# --- alerts -----------------------------------------------------------------------------------

@api_bp.route("/notifications/stream")
@login_required
@refusals
@api_doc("通知实时推送（Server-Sent Events，导航栏角标和提示音用）", tags=("notifications",),
         description=("事件：notification（每条新通知；alert为true时是新工单、协办任务或超期，页面发声提示）、"
                      "unread（未读数变了）、bye（连接到期，请重连）；以注释行保持连接。连接满了返回503，"
                      "页面改为每10秒查询/api/v1/notifications/alerts。"),
         responses={200: ("text/event-stream", "事件流")}, errors={503: "实时推送连接已满"})
def notification_stream():
    """Server-sent events for the navigation's badge: `notification` (each new one, `alert` true for a new
    ticket, a co-handling task or an overdue ticket: the page sounds), `unread` (the count moved) and `bye`
    (reconnect). Heartbeat comments keep it open; polls in short read-only sessions."""
    watch = alerts.Watch(user_id=actor().id)
    return streams.event_stream("notifications", lambda: alerts.poll(watch), pool="NOTIFICATION_STREAMS_PER_PROCESS")


@api_bp.route("/notifications/alerts")
@login_required
@refusals
@api_doc("比某条通知新的通知和未读数（实时推送不可用时轮询）", tags=("notifications",),
         query=ticket_schemas.AlertsQuery, responses={200: ticket_schemas.Alerts}, errors=(400,))
def notification_alerts():
    """The badge's polling fallback: ?after=<id> → the unread count, the newest id and the notifications
    newer than `after`."""
    raw = (request.args.get("after") or "").strip()
    if raw and not raw.isdigit():
        raise DomainError("after 参数应为通知编号", field="after", status=400)
    user = actor()
    return jsonify(alerts.since(user, int(raw) if raw else alerts.latest_id(user.id)))


# --- a change refused for a stale version -----------------------------------------------------

def stale_context(err: DomainError, ticket: Ticket) -> dict[str, Any]:
    """For the ticket page re-rendered after a refusal: with a stale version, what changed since the
    version the person loaded, and what they posted (kept, to resubmit against the current version)."""
    if not isinstance(err, StaleVersion):
        return {}
    kept = [(name, value) for name, value in request.form.items(multi=True)
            if name not in ("csrf_token", "version")]
    return {"stale": changes.since_json(ticket, err.seen_version, actor()), "kept": kept,
            "kept_url": request.path, "kept_text": TEXT_FIELDS,
            "kept_action": request.form.get("action") or request.endpoint.rsplit(".", 1)[-1]}


def stale_refusals(view: Callable) -> Callable:
    """Like `refusals`; a stale version's 409 also gives the current version and the changes since."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        try:
            return view(*args, **kwargs)
        except StaleVersion as err:
            session.rollback()
            ticket = queries.get_ticket(err.ticket_id)
            return json_error(err.status, err.code, err.message,
                              **changes.since_json(ticket, err.seen_version, actor()))
        except DomainError as err:
            return refused(err)

    return wrapped


# --- the printed work order and "my tickets" ---------------------------------------------------

@bp.route("/<int:ticket_id>/print")
@login_required
@refusals
def print_ticket(ticket_id: int):
    ticket = queries.viewable_ticket(ticket_id, actor())
    return render_template("tickets/print.html", printed_at=now(), **workorder.print_context(ticket, actor()))


@bp.route("/mine.xlsx")
@writes
@roles_required("caseworker")
@refusals
def mine_export():
    return xlsx_download(workorder.my_tickets_xlsx(actor=actor(), now=now()), "my-tickets")


@bp.route("/mine/print")
@roles_required("caseworker")
def mine_print():
    user = actor()
    owned, cohandled = queries.my_tickets(user, now())
    return render_template("tickets/mine_print.html", header=workorder.MINE_HEADER,
                           rows=workorder.mine_rows(owned, cohandled, user, now()), printed_at=now(), user=user,
                           who=workorder.person_label(user))
