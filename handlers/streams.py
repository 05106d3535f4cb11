"""Server-sent event streams (the calls stream, the notifications stream): short read-only sessions per
poll, heartbeat comments, a bounded number of streams per process, a `bye` when a connection's lifetime
is over (the page reconnects) and a 503 beyond the bound (the page polls instead)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Response, current_app

from core import serve
from core.db import read_only
from core.db import session as db_session
from handlers.common import json_error
from tickets.stream import frame

#: How often a stream polls, how long one connection lives before the page reconnects, the heartbeat
#: comment's interval, the reconnect delay it asks of the page (`retry:`), and how many streams one
#: process serves at once, each kind of stream in its own pool (each stream holds a thread: see core/serve.py),
#: so the alerts badges on every page never take the operators' calls streams.
STREAM_DEFAULTS = {"CALL_STREAM_POLL_SECONDS": 1.0, "CALL_STREAM_SECONDS": 240, "CALL_STREAM_HEARTBEAT_SECONDS": 15,
                   "CALL_STREAM_RETRY_MS": 3000, "CALL_STREAMS_PER_PROCESS": serve.STREAMS_PER_WORKER,
                   "NOTIFICATION_STREAMS_PER_PROCESS": serve.NOTIFICATION_STREAMS_PER_WORKER}
_stream_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}


def _setting(name: str) -> Any:
    return current_app.config.get(name, STREAM_DEFAULTS[name])


def _slot(pool: str) -> threading.BoundedSemaphore:
    limit = int(_setting(pool))
    return _stream_slots.setdefault((pool, limit), threading.BoundedSemaphore(limit))


def event_stream(name: str, poll: Callable[[], tuple[list[str], bool]], *,
                 pool: str = "CALL_STREAMS_PER_PROCESS") -> Response:
    """A text/event-stream answer that calls `poll` (in a fresh read-only session each time) until it says
    stop or the lifetime is over; `poll` returns the frames to send and whether the stream may go on.
    `pool` names the setting that bounds this kind of stream per process."""
    slot = _slot(pool)
    if not slot.acquire(blocking=False):
        response = json_error(503, "too_many_streams", "实时推送连接已满，页面将改为定时刷新")
        response.headers["Retry-After"] = "30"
        return response
    app = current_app._get_current_object()
    poll_every = float(_setting("CALL_STREAM_POLL_SECONDS"))
    lifetime = float(_setting("CALL_STREAM_SECONDS"))
    heartbeat = float(_setting("CALL_STREAM_HEARTBEAT_SECONDS"))
    retry_ms = int(_setting("CALL_STREAM_RETRY_MS"))

    def events():
        yield f"retry: {retry_ms}\n: {name} stream\n\n"
        started = last_sent = time.monotonic()
        while time.monotonic() - started < lifetime:
            with app.app_context():
                read_only(db_session())
                frames, going = poll()
            yield from frames
            if not going:
                return
            if frames:
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= heartbeat:
                yield ": ping\n\n"
                last_sent = time.monotonic()
            time.sleep(poll_every)
        yield frame("bye", {"reason": "lifetime"})

    response = Response(events(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    response.call_on_close(slot.release)
    return response
