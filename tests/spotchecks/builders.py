"""Builders for spot-check tests: supervisors, plans, logged calls and faults."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from core import clock
from spotchecks import services
from spotchecks.models import MysteryCall, SpotcheckItem, SpotcheckPlan
from spotchecks.settings import SpotcheckSettings
from tests.builders import make_user

WEEK = "2026-W48"  #: 23–29 November 2026, five ordinary working days
#: The spot-check settings and rubric as shipped; tests change one with `replace(SETTINGS, daily_quota=37)`.
SETTINGS = SpotcheckSettings.defaults()


def at_local(*args: int) -> datetime:
    return clock.local_to_utc(datetime(*args))


def make_supervisors(count: int = 2) -> list:
    return [make_user("supervisor") for _ in range(count)]


def make_plan(week: str = WEEK, seed: int | None = None, supervisors: list | None = None,
              settings: SpotcheckSettings = SETTINGS) -> SpotcheckPlan:
    if supervisors is None and not services.active_supervisors():
        make_supervisors()
    with clock.freeze(at_local(2026, 11, 23, 8, 0)):
        return services.create_plan(actor=None, now=clock.now(), week=week, seed=seed, settings=settings).plan


def item_for(plan: SpotcheckPlan, index: int = 0, **where) -> SpotcheckItem:
    items = [i for i in services.plan_items(plan)
             if all(getattr(i, k) == v for k, v in where.items())]
    return items[index]


def good_call(item: SpotcheckItem, **overrides) -> services.CallInput:
    """A connected, correct, polite call placed at the planned time."""
    data = services.CallInput(started_at=item.planned_at, ring_seconds=8, connected=True, identified="name",
                              answerer="张三", question_entry_id="Q001", correctness="correct", deflected=False,
                              attitude=5, notes="", recording_ref="")
    return replace(data, **overrides)


def deflecting_call(item: SpotcheckItem, **overrides) -> services.CallInput:
    return good_call(item, correctness="none", deflected=True, attitude=3, identified="none",
                     notes="表示任何诉求均不能受理,有问题找社区网格员", **overrides)


def log(item: SpotcheckItem, data: services.CallInput, actor=None, now: datetime | None = None):
    actor = actor or item.supervisor
    now = now or data.started_at + timedelta(minutes=5)
    return services.log_call(actor=actor, now=now, item=item, data=data, settings=SETTINGS)


def make_fault(plan: SpotcheckPlan | None = None, index: int = 0, **where) -> MysteryCall:
    """A logged deflecting call (a fault, so a rectification too) on an item of `plan` (a new WEEK plan by default)."""
    item = item_for(plan or make_plan(), index, **where)
    return log(item, deflecting_call(item))


def png_bytes(width: int = 8, height: int = 6) -> bytes:
    """A real (tiny, grey) PNG a browser can show."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def wav_bytes(seconds: float = 0.2) -> bytes:
    """A real (silent) WAV recording."""
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return out.getvalue()


#: A Windows executable's first bytes (what a renamed .exe starts with).
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
