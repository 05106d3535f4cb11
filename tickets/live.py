"""The live call: the transcript the call platform's ASR streams in, the knowledge-base suggestions
built from the caller's words (the assist), who may read the transcript in full, and its retention."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from audit import services as audit
from core.db import after_request_write, session
from core.errors import NotFound
from core.masking import mask_numbers
from core.models import Unit, User
from tickets import intake, queries
from tickets.models import Call, TranscriptSegment
from tickets.validation import TicketError

#: Longest text one segment may carry, and all of a call's segments together (an hour's talk is ~15,000).
MAX_SEGMENT_CHARS = 2000
MAX_CALL_CHARS = 50000
#: Segments one request may carry.
MAX_SEGMENTS = 100

#: Largest transcript request body (100 segments of 2,000 characters fit well within it).
MAX_REQUEST_BYTES = 1024 * 1024


def get_call_for_update(call_id: int) -> Call:
    """The call, its row locked on PostgreSQL so that two deliveries of one segment follow each other
    (SQLite's writers already do: each takes the write lock at BEGIN)."""
    call = session.execute(select(Call).where(Call.id == call_id).with_for_update()).scalar_one_or_none()
    if call is None:
        raise NotFound(f"来电记录不存在：{call_id}")
    return call


# --- the transcript --------------------------------------------------------------------------------

def add_segments(*, call: Call, now: datetime, segments: list[dict[str, Any]], grace: timedelta) -> int:
    """Store segments (parsed with TRANSCRIPT): idempotent by segment id, a non-final one replaced by a
    later version, a final one never by a non-final. All or nothing: every check runs before any write.
    Returns how many rows changed.

    Taken while the call rings or is answered, and after it ended for `grace` (the ASR's last final
    segments arrive a little after the hang-up); a missed call has no talk to transcribe."""
    if call.status == "missed":
        raise TicketError("这是未接来电，没有通话内容", code="call_missed", status=409)
    if call.transcript_purged_at is not None:
        raise TicketError("该来电的转写已按保留期限删除", code="transcript_purged", status=409)
    if call.ended_at is not None and now > call.ended_at + grace:
        raise TicketError(f"通话已结束超过{int(grace.total_seconds())}秒，不再接收转写", code="call_ended", status=409)
    for i, seg in enumerate(segments):
        seg["text"] = (seg["text"] or "").strip()
        if len(seg["text"]) > MAX_SEGMENT_CHARS:
            raise TicketError(f"每段转写不能超过{MAX_SEGMENT_CHARS}字", code="too_large", status=413,
                              field=f"segments[{i}].text")
        if seg["end_ms"] < seg["start_ms"]:
            raise TicketError("end_ms 不能早于 start_ms", code="bad_request", status=400, field=f"segments[{i}].end_ms")
    ids = list(dict.fromkeys(seg["id"] for seg in segments))
    existing = {s.segment_id: s for s in session.execute(select(TranscriptSegment).where(
        TranscriptSegment.call_id == call.id, TranscriptSegment.segment_id.in_(ids))).scalars()} if ids else {}
    # Decide first (later items in one request win over earlier ones), then check the call's cap, then write.
    current = {sid: (row.text, row.final) for sid, row in existing.items()}
    wanted: dict[str, dict[str, Any]] = {}
    for seg in segments:
        held = current.get(seg["id"])
        if held is not None and held[1] and not seg["final"]:
            continue  # a final segment is never replaced by a late non-final version
        current[seg["id"]] = (seg["text"], seg["final"])
        wanted[seg["id"]] = seg
    total = call.transcript_chars + sum(len(seg["text"]) - len(existing[sid].text if sid in existing else "")
                                        for sid, seg in wanted.items())
    if total > MAX_CALL_CHARS:
        raise TicketError(f"一通来电的转写合计不能超过{MAX_CALL_CHARS}字", code="too_large", status=413,
                          field="segments")
    changed = 0
    for sid, seg in wanted.items():
        row = existing.get(sid)
        values = (seg["speaker"], seg["text"], seg["start_ms"], seg["end_ms"], seg["final"])
        if row is not None and (row.speaker, row.text, row.start_ms, row.end_ms, row.final) == values:
            continue
        if row is None:
            row = TranscriptSegment(call_id=call.id, segment_id=sid)
            session.add(row)
        row.speaker, row.text, row.start_ms, row.end_ms, row.final = values
        row.received_at = now
        changed += 1
    call.transcript_chars = total
    session.flush()
    return changed


def segments_of(call: Call) -> list[TranscriptSegment]:
    """The call's transcript in speaking order, whatever order it arrived in."""
    return list(session.execute(select(TranscriptSegment).where(TranscriptSegment.call_id == call.id)
                                .order_by(TranscriptSegment.start_ms, TranscriptSegment.end_ms,
                                          TranscriptSegment.id)).scalars())


def sees_full_transcript(viewer: User | None, call: Call) -> bool:
    """The call's own operator (who heard it) and whoever may see the call's numbers (supervisors,
    admins, the first owner of a ticket opened from it); everyone else reads numbers masked."""
    return viewer is not None and (viewer.id == call.operator_id or queries.sees_call_numbers(viewer, call))


def transcript_json(call: Call, viewer: User | None, now: datetime,
                    rows: list[TranscriptSegment] | None = None) -> list[dict[str, Any]]:
    """The transcript for `viewer`: numbers masked unless they may see them; a full read by anyone but
    the call's operator is recorded in the audit trail (after a reading request, in its own write)."""
    rows = segments_of(call) if rows is None else rows
    full = sees_full_transcript(viewer, call)
    if full and rows and viewer is not None and viewer.id != call.operator_id:
        call_id, segments = call.id, len(rows)
        after_request_write(lambda _db: audit.record("read_transcript", "call", call_id, actor=viewer, now=now,
                                                     changes={"segments": segments, "full": True}))
    return [{"id": r.segment_id, "speaker": r.speaker, "text": r.text if full else mask_numbers(r.text),
             "start_ms": r.start_ms, "end_ms": r.end_ms, "final": r.final} for r in rows]


# --- the assist -----------------------------------------------------------------------------------

#: What the merged ranking is made of, each search's scores relative to its best: all of the caller's
#: words (the latest QUERY_CHARS), their need statements (kb.search.spoken: the questions with the
#: story just before them, weighed over the rest of the story), and their latest segments.
WHOLE_WEIGHT = 0.5
NEEDS_WEIGHT = 0.3
RECENT_WEIGHT = 0.2
RECENT_SEGMENTS = 2
#: How much better (on the merged 0–1 scale) another entry must be to take the top card from the one
#: shown: while the caller is mid-sentence (their latest segment not final yet), and once it is final.
STICKY_MARGIN = 0.12
FINAL_MARGIN = 0.04
#: What one search takes: the tail of the caller's words (the latest matter most).
QUERY_CHARS = 480
#: Characters of need statements searched together (the latest needs when they do not all fit).
NEEDS_CHARS = 200
SUGGESTIONS = 5
#: Needs shown at most (the latest), and the confidence from which a need's best entry is named:
#: below it the need is shown without an entry (outside the knowledge base, or too vague to tell).
MAX_NEEDS = 4
NEED_MIN_SCORE = 0.2


@dataclass
class Suggestion:
    id: str
    question: str
    score: float
    confident: bool
    terms: list[str]
    recent: bool = False
    kept: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "score": round(self.score, 4),
                "confident": self.confident, "why": self.why()}

    def why(self) -> str:
        said = "、".join(f"“{t}”" for t in self.terms[:6])
        words = f"来电人说到{said}" if said else "与来电人所说的意思相近"
        if self.recent:
            words += "（最近几句）"
        if self.kept:
            words += "；其他条目没有明显更好，保持在首位"
        return words


@dataclass
class Assist:
    """The suggestions for a call, best first, and the needs the caller stated, each with its entry."""

    suggestions: list[Suggestion]
    needs: list[dict[str, Any]]


_MARK = re.compile(r"<mark>(.*?)</mark>")


def _terms(highlights: dict[str, str]) -> list[str]:
    found: list[str] = []
    for text in highlights.values():
        for term in _MARK.findall(text or ""):
            if term and term not in found:
                found.append(term)
    return found


class _Memo:
    """The latest searches of this process, by text: each segment of a call searches its earlier need
    statements again, unchanged. Only the engine's ranking is kept; the database check that the
    entries are still published runs on every search (kb.lookup.search)."""

    SIZE = 512

    def __init__(self) -> None:
        self._owner: tuple[Any, Any] | None = None
        self._items: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def engine(self, engine: Any) -> Any:
        memo = self

        class Remembering:
            def __getattr__(self, name: str) -> Any:
                return getattr(engine, name)

            def search(self, query: str, limit: int = 5) -> Any:
                return memo.search(engine, query, limit)

        return Remembering()

    def search(self, engine: Any, query: str, limit: int) -> Any:
        owner = (engine, getattr(engine, "synonyms", None))
        key = (query, limit)
        with self._lock:
            if self._owner is None or self._owner[0] is not owner[0] or self._owner[1] is not owner[1]:
                self._owner, self._items = owner, OrderedDict()
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        found = engine.search(query, limit=limit)
        with self._lock:
            self._items[key] = found
            while len(self._items) > self.SIZE:
                self._items.popitem(last=False)
        return found


_memo = _Memo()


def assist(call: Call, rows: list[TranscriptSegment], engine: Any) -> Assist:
    """Entries for what the caller said, best first, and the needs they stated.

    Three searches are merged (each score relative to its search's best): all the caller's words,
    their need statements, and their latest segments; each need is also searched on its own, and its
    entry is among the suggestions. The entry on top is kept there unless another is better by
    STICKY_MARGIN, so the top card does not flicker mid-sentence."""
    from kb import lookup
    from kb.search import spoken

    caller = [r.text for r in rows if r.speaker == "caller" and r.text]
    if engine is None or not caller:
        return Assist([], [])
    engine = _memo.engine(engine)
    found = spoken.needs(caller)[-MAX_NEEDS:]
    whole = " ".join(caller)[-QUERY_CHARS:]
    recent = " ".join(caller[-RECENT_SEGMENTS:])[-QUERY_CHARS:]
    # nothing asked yet: the caller's words so far are all story, searched once as a whole
    stated = " ".join(n.text for n in found if n.asked)[-NEEDS_CHARS:]
    runs: dict[str, list[Any]] = {}         # text → [weight, is_recent]
    for text, weight, is_recent in ((whole, WHOLE_WEIGHT + (0.0 if stated else NEEDS_WEIGHT), False),
                                    (stated, NEEDS_WEIGHT, False), (recent, RECENT_WEIGHT, True)):
        if text and weight > 0:
            run = runs.setdefault(text, [0.0, is_recent])
            run[0] += weight
    results = {text: lookup.search(engine, text, SUGGESTIONS + 3) for text in runs}
    merged: dict[str, Suggestion] = {}
    for text, (weight, is_recent) in runs.items():
        result = results[text]
        best = result.hits[0].score if result.hits and result.hits[0].score > 0 else 1.0
        for rank, hit in enumerate(result.hits):
            s = merged.setdefault(hit.id, Suggestion(hit.id, hit.question, 0.0, False, []))
            s.score += weight * max(0.0, hit.score) / best
            s.confident = s.confident or (rank == 0 and result.confident)
            s.terms += [t for t in _terms(hit.highlights) if t not in s.terms]
            s.recent = s.recent or (is_recent and rank == 0)
    ranked = sorted(merged.values(), key=lambda s: (-s.score, s.id))
    for s in ranked[1:]:
        s.recent = False  # "latest words" only explains the top card
    anchor = next((s for s in ranked if s.id == call.assist_entry_id), None)
    latest = next((r for r in reversed(rows) if r.speaker == "caller" and r.text), None)
    margin = FINAL_MARGIN if latest is not None and latest.final else STICKY_MARGIN
    if anchor is not None and ranked[0] is not anchor and ranked[0].score < anchor.score + margin:
        ranked.remove(anchor)
        ranked.insert(0, anchor)
        anchor.kept = True
    shown = ranked[:SUGGESTIONS]
    needs = _needs(found, results, results[whole], engine, merged, shown)
    return Assist(shown, needs)


def _needs(found: list[Any], results: dict[str, Any], whole: Any, engine: Any, merged: dict[str, Suggestion],
           shown: list[Suggestion]) -> list[dict[str, Any]]:
    """Each distinct need with its best entry (None when that is weak), its entry among the suggestions."""
    from kb import lookup

    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for need in found:
        result = results.get(need.text) or (lookup.search(engine, need.text, 3) if need.asked else whole)
        top = result.hits[0] if result.hits else None
        level = getattr(result, "level", None)
        named = top is not None and level != "out_of_scope" and (result.confident or top.score >= NEED_MIN_SCORE)
        if named and top.id in seen:
            continue            # the same entry again: one need
        if not named and any(n["entry_id"] is None and n["text"] == need.text for n in out):
            continue
        item = {"text": need.text, "entry_id": top.id if named else None,
                "question": top.question if named else "", "confident": bool(named and result.confident)}
        out.append(item)
        if named:
            seen.add(top.id)
            if all(s.id != top.id for s in shown):
                # a need's entry is shown even when the whole call leans elsewhere
                extra = merged.get(top.id) or Suggestion(top.id, top.question, 0.0, result.confident,
                                                         _terms(top.highlights))
                if len(shown) >= SUGGESTIONS:
                    shown.pop()
                shown.append(extra)
    return out


def suggestions(call: Call, rows: list[TranscriptSegment], engine: Any) -> list[Suggestion]:
    """The assist's suggestions alone (see `assist`)."""
    return assist(call, rows, engine).suggestions


#: How long a worker trusts its copy of the township registry (a renamed or added township reaches the
#: drafts within this time; reading 200 rows on every transcript post cost more than the search).
REGISTRY_SECONDS = 30.0
_gazetteer: tuple[str, float, tuple, intake.Gazetteer] | None = None


def gazetteer() -> intake.Gazetteer:
    """The townships and streets callers name, from the unit registry; rebuilt when a unit changes."""
    global _gazetteer
    bind = session.get_bind()
    database = str(getattr(bind, "engine", bind).url)
    held = _gazetteer
    if held is not None and held[0] == database and time.monotonic() - held[1] < REGISTRY_SECONDS:
        return held[3]
    rows = session.execute(select(Unit.id, Unit.name, Unit.area).where(Unit.level == "township",
                                                                       Unit.active.is_(True))
                           .order_by(Unit.id)).all()
    key = tuple((r.id, r.name, r.area) for r in rows)
    built = held[3] if held is not None and held[0] == database and held[2] == key else \
        intake.Gazetteer.from_units(rows)
    _gazetteer = (database, time.monotonic(), key, built)
    return built


def _draft(call: Call, rows: list[TranscriptSegment], viewer: User | None) -> dict[str, Any] | None:
    """The form the caller's words fill (智能填单), numbers masked for a viewer who may not see them.
    Nothing is saved: the operator confirms each field on the call and ticket forms."""
    if not any(r.speaker == "caller" for r in rows):
        return None
    draft = intake.extract(rows, gazetteer()).as_dict()
    if not sees_full_transcript(viewer, call):
        for name in ("caller_number", "id_number"):
            draft[name] = mask_numbers(draft[name]) if draft[name] else ""
        draft["fields_from_transcript"] = [{**f, "text": mask_numbers(f["text"])}
                                           for f in draft["fields_from_transcript"]]
    return draft


def assist_state(*, call: Call, viewer: User | None, now: datetime, engine: Any, call_json: dict[str, Any],
                 remember: bool = False) -> dict[str, Any]:
    """What the operator's screen shows for a live call. With `remember` (a request that writes: the
    transcript post), the top suggestion becomes the one later ones must clearly beat."""
    rows = segments_of(call)
    found = assist(call, rows, engine)
    top = found.suggestions
    if remember and top and call.assist_entry_id != top[0].id:
        call.assist_entry_id = top[0].id
        session.flush()
    needs = found.needs
    if not sees_full_transcript(viewer, call):    # the caller's words, masked as the transcript is
        needs = [{**n, "text": mask_numbers(n["text"])} for n in needs]
    return {"call": call_json, "transcript": transcript_json(call, viewer, now, rows),
            "suggestions": [s.as_json() for s in top], "needs": needs, "draft": _draft(call, rows, viewer)}


# --- retention ------------------------------------------------------------------------------------

def purge_transcripts(*, now: datetime, days: int) -> tuple[int, int]:
    """Delete the transcripts of calls that rang more than `days` ago (one audit event); returns (calls, segments)."""
    cutoff = now - timedelta(days=days)
    ids = list(session.execute(select(TranscriptSegment.call_id).join(Call, Call.id == TranscriptSegment.call_id)
                               .where(Call.started_at < cutoff).distinct()).scalars())
    if not ids:
        return 0, 0
    removed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        removed += session.execute(delete(TranscriptSegment).where(TranscriptSegment.call_id.in_(chunk))).rowcount
        session.execute(update(Call).where(Call.id.in_(chunk)).values(transcript_chars=0, transcript_purged_at=now))
    audit.record("purge", "transcript", "", actor=None, now=now,
                 changes={"calls": len(ids), "segments": removed, "before": cutoff.isoformat(), "retention_days": days})
    return len(ids), removed
