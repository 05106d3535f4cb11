"""Recorded calls played back through the call events API, as the call platform would send them:
for demos, operator training and tests (`flask --app app calls replay FILE.jsonl`).

A recording is JSON lines: one `ring` (caller_number), then `answer`, `segment` (speaker, text,
final?) and `end` events, each with `at_ms` from the ring. `tickets/data/calls/` holds sample calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent / "data" / "calls"
EVENT_TYPES = ("ring", "answer", "segment", "end")
#: How long a segment lasts when the recording does not say (the next event's start caps it).
SEGMENT_MS = 3000

#: post(path, body) -> (status, json body): over HTTP to a running server, or a test client.
Poster = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


class ReplayError(ValueError):
    pass


@dataclass(frozen=True)
class Event:
    type: str
    at_ms: int
    data: dict[str, Any]


def read(path: Path) -> list[Event]:
    """The events of one recording, checked: a ring first, known types, times that never go back."""
    events: list[Event] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as err:
            raise ReplayError(f"{path}:{number}: not JSON ({err})") from None
        kind, at = data.get("type"), data.get("at_ms", 0)
        if kind not in EVENT_TYPES:
            raise ReplayError(f"{path}:{number}: unknown event type {kind!r} (known: {', '.join(EVENT_TYPES)})")
        if not isinstance(at, int) or at < 0 or (events and at < events[-1].at_ms):
            raise ReplayError(f"{path}:{number}: at_ms must be a whole number that never goes back")
        events.append(Event(kind, at, data))
    if not events or events[0].type != "ring":
        raise ReplayError(f"{path}: a recording starts with a ring event")
    return events


def replay(events: Iterable[Event], *, post: Poster, operator: str, external_id: str, started: datetime,
           speed: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Send the events through the API, waiting between them (speed 2 = twice as fast, 0 = at once).
    Returns the call's last assist state (or the call, for a call never answered)."""
    events = list(events)
    call_id: int | None = None
    last: dict[str, Any] = {}
    clock_ms = 0
    for i, event in enumerate(events):
        if speed > 0 and event.at_ms > clock_ms:
            sleep((event.at_ms - clock_ms) / 1000 / speed)
        clock_ms = max(clock_ms, event.at_ms)
        at = (started + timedelta(milliseconds=event.at_ms)).isoformat()
        if event.type == "ring":
            status, last = post("/api/v1/calls", {"external_id": external_id, "operator": operator,
                                                  "caller_number": event.data.get("caller_number", ""),
                                                  "rang_at": at})
            _check(status, last, "ring")
            call_id = last["id"]
            continue
        if event.type in ("answer", "end"):
            path = f"/api/v1/calls/{call_id}/{'answered' if event.type == 'answer' else 'ended'}"
            status, body = post(path, {"at": at})
            _check(status, body, event.type)
            last = last if "transcript" in last else body
            continue
        following = next((e.at_ms for e in events[i + 1:]), event.at_ms + SEGMENT_MS)
        segment = {"id": f"s{i}", "speaker": event.data.get("speaker", "caller"), "text": event.data.get("text", ""),
                   "start_ms": event.at_ms, "end_ms": min(event.at_ms + SEGMENT_MS, max(following, event.at_ms)),
                   "final": bool(event.data.get("final", True))}
        status, last = post(f"/api/v1/calls/{call_id}/transcript", {"segments": [segment]})
        _check(status, last, "segment")
    return last


def _check(status: int, body: dict[str, Any], what: str) -> None:
    if status >= 400:
        message = (body.get("error") or {}).get("message", "") if isinstance(body, dict) else ""
        raise ReplayError(f"{what}: the API answered {status} {message}".strip())


def http_poster(base_url: str, token: str, timeout: float = 30) -> Poster:
    """Post to a running Hotline Desk with a telephony account's token."""
    import urllib.error
    import urllib.request

    def post(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(base_url.rstrip("/") + path, data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            try:
                return err.code, json.loads(err.read() or b"{}")
            except ValueError:
                return err.code, {}

    return post
