"""Driving the operator's page through a live call: telephony replays a recorded call through the API
while the page follows it. Shared by the browser tests and bench/operator_keystrokes.py."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from core import clock
from tickets import replay

SAMPLES = replay.SAMPLES


def telephony_token(app, username: str = "b_pbx") -> str:
    """A telephony account (created once) and a fresh bearer token for it."""
    from sqlalchemy import select

    from core import accounts, db
    from core.models import User

    with app.app_context(), db.transaction():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            user = accounts.create_user(actor=None, now=clock.now(), username=username, role="telephony",
                                        password="Telephony123", display_name="话务平台")
        return accounts.issue_token(actor=None, now=clock.now(), user=user)


@dataclass
class Keys:
    """Every key the operator presses, so a run can say how many it took."""

    page: object
    pressed: list[str] = field(default_factory=list)

    def press(self, key: str) -> None:
        self.pressed.append(key)
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        """Typing counts one keystroke a character (an IME would take more for Chinese)."""
        self.pressed.extend(text)
        self.page.keyboard.type(text)

    def __len__(self) -> int:
        return len(self.pressed)


class Telephony:
    """The call platform: rings the operator, then plays the rest of a recorded call."""

    def __init__(self, base_url: str, token: str, operator: str):
        self.post = replay.http_poster(base_url, token)
        self.operator = operator

    def ring(self, sample: str) -> tuple[str, list[replay.Event], datetime]:
        events = replay.read(Path(SAMPLES) / sample)
        external_id = f"{Path(sample).stem}-{uuid.uuid4().hex[:8]}"
        started = clock.now()
        status, body = self.post("/api/v1/calls", {"external_id": external_id, "operator": self.operator,
                                                   "caller_number": events[0].data["caller_number"],
                                                   "rang_at": started.isoformat()})
        assert status == 201, body
        return external_id, events, started

    def talk(self, external_id: str, events: list[replay.Event], started: datetime, *, end: bool = True,
             speed: float = 0) -> dict:
        """Answer and play the caller's words (the ring again is a harmless repeat), and hang up unless told not."""
        played = [e for e in events if end or e.type != "end"]
        return replay.replay(played, post=self.post, operator=self.operator, external_id=external_id,
                             started=started, speed=speed)


def take_ringing_call(page, keys: Keys, timeout: float = 10000) -> None:
    """The call pops; the operator takes it with Alt+A."""
    page.wait_for_selector("#call-incoming:not([hidden]) [data-take]", timeout=timeout)
    keys.press("Alt+A")
    page.wait_for_selector("#call-live:not([hidden])", timeout=timeout)


def answer(page, telephony: Telephony, sample: str, words: str, *, end: bool = True,
           timeout: float = 10000) -> tuple[Keys, str]:
    """Telephony rings the operator with a recorded call; the operator takes it (Alt+A) and the caller's
    words stream in until `words` shows. Returns the keys pressed so far and the call's external id."""
    keys = Keys(page)
    external_id, events, started = telephony.ring(sample)
    take_ringing_call(page, keys, timeout)
    telephony.talk(external_id, events, started, end=end)
    wait_for_words(page, words, timeout)
    return keys, external_id


def wait_for_words(page, text: str, timeout: float = 10000) -> None:
    page.wait_for_function("t => document.getElementById('call-transcript').innerText.includes(t)", arg=text,
                           timeout=timeout)


def wait_for_suggestion(page, timeout: float = 10000) -> str:
    page.wait_for_selector("#results li.follow", timeout=timeout)
    return page.locator("#results li.follow").first.get_attribute("data-entry-id")


def seconds_since(start: float) -> float:
    return round(time.monotonic() - start, 2)
