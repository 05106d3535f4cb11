"""The caseworker's alerts: the unread badge in the navigation, and the notifications that sound (a new
ticket dispatched to me, a co-handling task for my unit, an overdue ticket), pushed by the
notifications stream or read by the page's polling when the stream is down.

Each poll is two small indexed queries on one person's notifications (the unread count, and any newer
than the last one sent) in a short read-only session, like the calls stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from core.db import session
from core.models import User
from tickets import presenters, queries
from tickets.models import Notification
from tickets.stream import frame

#: Notification kinds that sound and pop: new work for me, and overdue tickets.
ALERT_KINDS = {"dispatched": "新工单", "cohandle": "协办任务", "overdue": "超期"}
#: Newest notifications one poll sends at most (older ones are in the count and on the page).
BATCH = 20


def latest_id(user_id: int) -> int:
    return session.execute(select(func.max(Notification.id)).where(Notification.user_id == user_id)).scalar() or 0


def notification_json(n: Notification, viewer: User) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "alert": n.kind in ALERT_KINDS, "label": ALERT_KINDS.get(n.kind, "通知"),
            "message": queries.text_for(viewer, n.message, n.ticket), "ticket_id": n.ticket_id,
            "created_at": presenters.iso(n.created_at), "read_at": presenters.iso(n.read_at)}


def since(user: User, after_id: int) -> dict[str, Any]:
    """The unread count, the newest notification id, and the notifications newer than `after_id`."""
    newer = list(session.execute(select(Notification).where(Notification.user_id == user.id,
                                                            Notification.id > after_id)
                                 .order_by(Notification.id.desc()).limit(BATCH)).scalars())
    return {"unread": queries.unread_count(user), "latest_id": newer[0].id if newer else after_id,
            "notifications": [notification_json(n, user) for n in reversed(newer)]}


@dataclass
class Watch:
    """One stream's memory between polls: the newest notification and the unread count last sent."""

    user_id: int
    last_id: int | None = None
    unread: int | None = None


def poll(watch: Watch) -> tuple[list[str], bool]:
    """The events since the last poll: `notification` for each new one, `unread` when the count moved
    (read on another page too); the first poll sends the count only. False once the account is gone."""
    user = session.get(User, watch.user_id)
    if user is None or not user.active:
        return [frame("bye", {"reason": "account"})], False
    if watch.last_id is None:
        watch.last_id = latest_id(user.id)
    state = since(user, watch.last_id)
    events = [frame("notification", n) for n in state["notifications"]]
    watch.last_id = state["latest_id"]
    if state["unread"] != watch.unread:
        watch.unread = state["unread"]
        events.append(frame("unread", {"unread": state["unread"], "latest_id": watch.last_id}))
    return events, True
