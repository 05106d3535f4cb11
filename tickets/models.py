"""Calls, tickets, co-handling tasks, ticket events and the deadline presets."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.models import Unit, User

#: Ticket states, in the order a ticket normally moves through them.
STATES = {
    "pending_dispatch": "待派单",
    "pending_accept": "待签收",
    "in_progress": "办理中",
    "pending_callback": "待回访",
    "closed": "已办结",
    #: Merged into another open ticket (并单): it counts once, as that ticket; a split restores it.
    "merged": "已并单",
}
OPEN_STATES = ("pending_dispatch", "pending_accept", "in_progress")
KINDS = {"consult": "咨询", "help": "求助", "complaint": "投诉", "proxy_application": "代为申请"}
URGENCIES = {"urgent": "急难", "normal": "一般"}
OUTCOMES = {"answered": "即问即答", "ticket": "转工单", "referred": "转其他渠道", "dropped": "中途挂断"}
#: A call's state: telephony's events move it ringing → answered → ended (or ringing → missed); an
#: operator's record makes it "recorded" (from any of ringing, answered or ended).
CALL_STATES = {"ringing": "振铃中", "answered": "通话中", "ended": "已挂断待记录", "missed": "未接来电",
               "recorded": "已记录"}
#: What came of calling back a missed call (漏接回拨); the first two take it off the queue.
CALLBACK_OUTCOMES = {"reached": "已回拨接通", "not_needed": "无需回拨", "no_answer": "回拨未接通"}
CALLBACK_DONE = ("reached", "not_needed")
SPEAKERS = {"caller": "来电人", "operator": "接线员"}
SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}
TASK_STATES = {"open": "协办中", "done": "已反馈", "withdrawn": "已撤回"}
REQUEST_KINDS = {"extension": "延期", "return": "退单", "objection": "派单异议", "reopen": "重新办理"}
REQUEST_STATES = {"pending": "待审批", "approved": "已批准", "rejected": "未批准"}
FIRST_CONTACT_UNITS = {"hours": "小时", "working_days": "个工作日"}


class Call(Base):
    """One inbound call: announced by telephony (ringing) and/or recorded by an operator."""

    __tablename__ = "call"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The telephony system's id for the call; announcing the same id twice is harmless.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: One of CALL_STATES.
    status: Mapped[str] = mapped_column(String(20))
    caller_number: Mapped[str] = mapped_column(String(30))
    caller_name: Mapped[str] = mapped_column(String(50), default="")
    question: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(20))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    #: The operator the call was routed to (announced) or who recorded it.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: When it rang (telephony's rang_at), or began by the operator's record of a call telephony never announced.
    started_at: Mapped[datetime]
    #: Telephony's answered and ended events: ring, talk and wrap-up times come from these alone.
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: The assist's top suggestion last shown: kept until another entry is clearly better (no flicker).
    assist_entry_id: Mapped[str | None] = mapped_column(String(20))
    #: Characters of transcript stored for the call (the per-call cap is checked against it).
    transcript_chars: Mapped[int] = mapped_column(Integer, default=0)
    #: When the retention job deleted the call's transcript.
    transcript_purged_at: Mapped[datetime | None]
    #: A missed call leaves the callback queue when a callback reached the caller or was not needed.
    callback_done_at: Mapped[datetime | None]

    operator: Mapped[User | None] = relationship()
    entries: Mapped[list[CallEntry]] = relationship(order_by="CallEntry.position", cascade="all, delete-orphan")
    tickets: Mapped[list[Ticket]] = relationship(back_populates="call")
    callbacks: Mapped[list[CallbackAttempt]] = relationship(order_by="CallbackAttempt.id")

    __table_args__ = (
        Index("ix_call_caller_number", "caller_number"),
        Index("ix_call_started_at", "started_at"),
        # Covers the metrics' counts of a period's calls by outcome and day (read from the index alone).
        Index("ix_call_status_started_at_outcome", "status", "started_at", "outcome"),
        Index("ix_call_status", "status"),
    )

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome or "", "未记录")

    @property
    def kb_entry_ids(self) -> list[str]:
        return [e.entry_id for e in self.entries]

    @property
    def status_label(self) -> str:
        return CALL_STATES.get(self.status, self.status)

    @property
    def ring_seconds(self) -> int | None:
        end = self.answered_at or (self.ended_at if self.status == "missed" else None)
        return _seconds(self.started_at, end)

    @property
    def talk_seconds(self) -> int | None:
        return _seconds(self.answered_at, self.ended_at)

    @property
    def wrap_seconds(self) -> int | None:
        """From hanging up to the operator's record (整理时长)."""
        return _seconds(self.ended_at, self.recorded_at) if self.answered_at else None


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return max(0, int((end - start).total_seconds())) if start is not None and end is not None else None


class TranscriptSegment(Base):
    """One stretch of speech the telephony platform's ASR recognised; later versions of a segment id
    replace a non-final one."""

    __tablename__ = "transcript_segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"))
    #: The ASR's id for the segment, unique within the call.
    segment_id: Mapped[str] = mapped_column(String(64))
    #: One of SPEAKERS.
    speaker: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    #: Offsets from the start of the call's audio, in milliseconds; the transcript reads in start_ms order.
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("call_id", "segment_id"),
        Index("ix_transcript_segment_received_at", "received_at"),
    )


class CallbackAttempt(Base):
    """One callback of a missed call (漏接回拨), by an operator."""

    __tablename__ = "callback_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    #: One of CALLBACK_OUTCOMES.
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime]

    by: Mapped[User] = relationship()

    @property
    def outcome_label(self) -> str:
        return CALLBACK_OUTCOMES.get(self.outcome, self.outcome)


class CallEntry(Base):
    """A knowledge-base entry used during a call."""

    __tablename__ = "call_entry"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entry.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


#: What an operator did with a knowledge-base entry during a call, as the call page records it by itself.
ENTRY_USES = {"shown": "展示", "opened": "打开", "copied": "复制"}


class CallEntryUse(Base):
    """An entry shown to (the assist's top card), opened or copied by the operator during a call; the
    first time of each entry and use only."""

    __tablename__ = "call_entry_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"))
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entry.id"))
    #: One of ENTRY_USES.
    action: Mapped[str] = mapped_column(String(10))
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("call_id", "entry_id", "action"),)


class Ticket(Base):
    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Year-month-sequence in Beijing time (202611-0001), gap-free per month.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    citizen_name: Mapped[str] = mapped_column(String(50))
    citizen_phone: Mapped[str] = mapped_column(String(30))
    citizen_id_number: Mapped[str] = mapped_column(String(18), default="")
    township_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    #: The knowledge-base category the need belongs to (医疗救助 …), used to suggest owners.
    topic: Mapped[str] = mapped_column(String(50), default="")
    description: Mapped[str] = mapped_column(Text)
    #: The first owner (首派责任人): set by the first dispatch, changed only by an approved reassignment.
    first_owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The lead unit: the first owner's unit at dispatch.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    #: When the first owner last closed it (办结) with the resolution note.
    closed_at: Mapped[datetime | None]
    callback_at: Mapped[datetime | None]
    #: When a satisfied callback finished the ticket (state 已办结).
    finished_at: Mapped[datetime | None]
    resolution: Mapped[str] = mapped_column(Text, default="")
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    first_contact_due_at: Mapped[datetime | None]
    closure_due_at: Mapped[datetime | None]
    #: When the closure clock started: opening, or the latest reopening (the 75% warning counts from here).
    closure_started_at: Mapped[datetime | None]
    callback_due_at: Mapped[datetime | None]
    #: Set by the deadline job (conditionally, so repeated or parallel runs warn once).
    first_contact_warned_at: Mapped[datetime | None]
    closure_warned_at: Mapped[datetime | None]
    first_contact_overdue_at: Mapped[datetime | None]
    closure_overdue_at: Mapped[datetime | None]
    callback_overdue_at: Mapped[datetime | None]
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The open ticket this one was merged into (state 已并单); cleared by a split.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    #: Optimistic concurrency: every change bumps it with UPDATE … WHERE version = the version read.
    version: Mapped[int] = mapped_column(Integer)

    call: Mapped[Call | None] = relationship(back_populates="tickets")
    township: Mapped[Unit] = relationship(foreign_keys=[township_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    first_owner: Mapped[User | None] = relationship(foreign_keys=[first_owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    merged_into: Mapped[Ticket | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])
    tasks: Mapped[list[Task]] = relationship(back_populates="ticket", order_by="Task.id")
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")
    requests: Mapped[list[TicketRequest]] = relationship(back_populates="ticket", order_by="TicketRequest.id")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="ticket", order_by="Attachment.id")
    #: Requests merged into this ticket (并单), split ones included.
    contacts: Mapped[list[TicketContact]] = relationship(foreign_keys="TicketContact.ticket_id",
                                                         back_populates="ticket", order_by="TicketContact.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_ticket_state", "state"),
        Index("ix_ticket_first_owner_id", "first_owner_id"),
        Index("ix_ticket_citizen_phone", "citizen_phone"),
        Index("ix_ticket_created_at", "created_at"),
        # The owners suggested for a ticket: who handled the township's tickets on its topic (queries.suggest_owners).
        Index("ix_ticket_township_topic_owner", "township_id", "topic", "first_owner_id"),
    )

    @property
    def state_label(self) -> str:
        return STATES.get(self.state, self.state)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def urgency_label(self) -> str:
        return URGENCIES.get(self.urgency, self.urgency)

    @property
    def satisfaction_label(self) -> str:
        return SATISFACTION.get(self.satisfaction or "", "")

    @property
    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.state == "open"]

    def pending_request(self, kind: str) -> TicketRequest | None:
        return next((r for r in self.requests if r.kind == kind and r.state == "pending"), None)

    def current_deadline(self) -> tuple[str, datetime] | None:
        """The limit that applies now: first contact, closure or callback."""
        if self.state in OPEN_STATES:
            if self.first_contact_at is None and self.first_contact_due_at is not None and (
                    self.closure_due_at is None or self.first_contact_due_at <= self.closure_due_at):
                return "first_contact", self.first_contact_due_at
            if self.closure_due_at is not None:
                return "closure", self.closure_due_at
        if self.state == "pending_callback" and self.callback_at is None and self.callback_due_at is not None:
            return "callback", self.callback_due_at
        return None

    def is_overdue(self, now: datetime) -> bool:
        if self.state in OPEN_STATES:
            if self.closure_due_at is not None and now > self.closure_due_at:
                return True
            if self.first_contact_at is None and self.first_contact_due_at is not None \
                    and now > self.first_contact_due_at:
                return True
        return (self.state == "pending_callback" and self.callback_at is None
                and self.callback_due_at is not None and now > self.callback_due_at)


class Task(Base):
    """A co-handling task (协办): another unit's part of the work, reported back into the ticket."""

    __tablename__ = "ticket_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    request: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    report: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    finished_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    finished_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship(back_populates="tasks")
    unit: Mapped[Unit] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    __table_args__ = (Index("ix_ticket_task_ticket_id", "ticket_id"), Index("ix_ticket_task_unit_id", "unit_id"))

    @property
    def state_label(self) -> str:
        return TASK_STATES.get(self.state, self.state)


class TicketEvent(Base):
    """One line of a ticket's timeline: who did what, when, and how the state moved."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The actor's display name at the time (empty for the system).
    actor_name: Mapped[str] = mapped_column(String(50), default="")
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    #: JSON object with the action's details (owners, deadlines, task ids …).
    data_json: Mapped[str] = mapped_column(Text, default="{}")

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    __table_args__ = (Index("ix_ticket_event_ticket_id", "ticket_id"), Index("ix_ticket_event_at", "at"),
                      Index("ix_ticket_event_action_at", "action", "at"))

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_json or "{}")


class TicketRequest(Base):
    """A request that needs a supervisor's decision: an extension (延期), a return (退单), or reopening a ticket
    after a dissatisfied callback (重新办理)."""

    __tablename__ = "ticket_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    #: Extensions: how many working days to add to the closure deadline.
    days: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[Ticket] = relationship(back_populates="requests")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    __table_args__ = (Index("ix_ticket_request_ticket_id", "ticket_id"),)

    @property
    def kind_label(self) -> str:
        return REQUEST_KINDS.get(self.kind, self.kind)

    @property
    def state_label(self) -> str:
        return REQUEST_STATES.get(self.state, self.state)


class Attachment(Base):
    __tablename__ = "ticket_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    #: The name the uploader's file had (shown and used for downloads).
    filename: Mapped[str] = mapped_column(String(200))
    #: The file's name under the uploads folder (random, never the uploader's name).
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_ticket_attachment_ticket_id", "ticket_id"),)


class TicketCounter(Base):
    """The last ticket number given out in a month; bumped in the ticket's own transaction."""

    __tablename__ = "ticket_counter"

    year_month: Mapped[str] = mapped_column(String(6), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class DeadlinePreset(Base):
    """A named table of time limits, one per kind and urgency (tickets.presets); exactly one is active."""

    __tablename__ = "deadline_preset"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The whole table as canonical JSON: a list of rows (kind, urgency, first contact, closure, callback).
    table_json: Mapped[str] = mapped_column(Text)
    #: Bumped by every edit; an edit names the version it started from (a stale one is refused).
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    versions: Mapped[list[DeadlinePresetVersion]] = relationship(order_by="DeadlinePresetVersion.version")


class DeadlinePresetVersion(Base):
    """One saved state of a preset: the table as it was after each edit."""

    __tablename__ = "deadline_preset_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    preset_id: Mapped[int] = mapped_column(ForeignKey("deadline_preset.id"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    table_json: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime]
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    saved_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("preset_id", "version"),)


class Notification(Base):
    """An in-app message to one person (deadline warnings, new tickets, escalations)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]

    ticket: Mapped[Ticket | None] = relationship()

    __table_args__ = (Index("ix_notification_user_id_read_at", "user_id", "read_at"),)


class CatalogueVersion(Base):
    """One version of the dispatch catalogue (派单目录): every change writes a whole new version, so any
    earlier one can be read as it stood."""

    __tablename__ = "dispatch_catalogue_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3 …: the highest is the catalogue in force.
    number: Mapped[int] = mapped_column(Integer, unique=True)
    #: page, import, desk (a supervisor's dispatch added the matter) or seed.
    source: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]

    created_by: Mapped[User | None] = relationship()
    matters: Mapped[list[CatalogueMatter]] = relationship(back_populates="version", order_by="CatalogueMatter.id",
                                                          cascade="all, delete-orphan")


class CatalogueMatter(Base):
    """One matter of a catalogue version: which tickets it covers and who answers for them."""

    __tablename__ = "dispatch_matter"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dispatch_catalogue_version.id"))
    #: The knowledge-base category ("" with an entry: the entry alone decides).
    category: Mapped[str] = mapped_column(String(50), default="")
    #: A knowledge-base entry (Q012 …) narrowing the matter; "" for the whole category.
    entry_id: Mapped[str] = mapped_column(String(20), default="")
    #: A ticket kind (KINDS), or "" for every kind.
    kind: Mapped[str] = mapped_column(String(20), default="")
    #: The responsible level (UNIT_LEVELS); without a unit the ticket's own township or its county bureau.
    level: Mapped[str] = mapped_column(String(20))
    #: The first owner's unit when it is one fixed unit (a city department, say).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    #: JSON list of co-handling unit ids.
    cohandling_json: Mapped[str] = mapped_column(Text, default="[]")
    note: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[CatalogueVersion] = relationship(back_populates="matters")
    unit: Mapped[Unit | None] = relationship()

    __table_args__ = (Index("ix_dispatch_matter_version_id", "version_id"),)

    @property
    def cohandling_ids(self) -> list[int]:
        return [int(i) for i in json.loads(self.cohandling_json or "[]")]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.category, self.entry_id, self.kind)


class TicketContact(Base):
    """A ticket merged into an open one (并单): the merged request, its caller and their callback stay
    on the open ticket; a split ends the link and restores the merged ticket."""

    __tablename__ = "ticket_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The open ticket the request was merged into.
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    #: The merged ticket (state 已并单 while merged): its caller, number and request.
    source_ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    #: The merged ticket's state before the merge, restored by a split.
    source_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    merged_at: Mapped[datetime]
    split_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    split_at: Mapped[datetime | None]
    #: This caller's own callback (回访) after the open ticket is closed.
    callback_at: Mapped[datetime | None]
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    callback_note: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[Ticket] = relationship(foreign_keys=[ticket_id], back_populates="contacts")
    source: Mapped[Ticket] = relationship(foreign_keys=[source_ticket_id])
    merged_by: Mapped[User | None] = relationship(foreign_keys=[merged_by_id])

    __table_args__ = (Index("ix_ticket_contact_ticket_id", "ticket_id"),
                      Index("ix_ticket_contact_source_ticket_id", "source_ticket_id"))

    @property
    def satisfaction_label(self) -> str:
        return SATISFACTION.get(self.satisfaction or "", "")
