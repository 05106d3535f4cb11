"""Hotlines, weekly plans, mystery-call results, notices, rectifications and summonses."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.models import Unit, User
from spotchecks.rubric import FAULT_TYPES

HOTLINE_LEVELS = {"city": "市级", "county": "县级", "township": "乡镇(街道)"}

#: How the person who answered identified themselves.
IDENTIFIED = {"name": "报了姓名", "staff_number": "报了工号", "both": "姓名和工号", "none": "未报姓名工号"}
#: Whether the answer to the test question was right.
CORRECTNESS = {"correct": "正确", "partial": "部分正确", "wrong": "错误", "none": "未作答复"}

NOTICE_KINDS = {"daily": "日通报", "weekly": "周通报"}
NOTICE_STATES = {"draft": "草稿", "published": "已发布"}

RECTIFICATION_STATES = {
    "open": "待整改",
    "answered": "待核验",
    "returned": "已退回",
    "closed": "已销号",
}
#: States in which the unit still owes an answer (the deadline runs).
RECTIFICATION_PENDING = ("open", "returned")

SUMMONS_STATES = {"proposed": "待确认", "held": "已约谈", "dismissed": "不予约谈"}
SUMMONS_RULES = {"faults": "多次抽查发现问题", "overdue": "整改逾期"}


class HasFaults:
    """For a model with a `faults_json` column: a JSON list of FAULT_TYPES keys."""

    @property
    def faults(self) -> list[str]:
        return json.loads(self.faults_json)

    @property
    def fault_labels(self) -> list[str]:
        return [FAULT_TYPES.get(f, f) for f in self.faults]


class Hotline(Base):
    """One of the published assistance hotlines (社会救助热线)."""

    __tablename__ = "hotline"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: Landline as published, e.g. 0455-8331481 (public: never masked).
    number: Mapped[str] = mapped_column(String(20), unique=True)
    level: Mapped[str] = mapped_column(String(20))
    #: "08:30-17:00", or "00:00-24:00" for a line answered round the clock.
    service_hours: Mapped[str] = mapped_column(String(20))
    contact: Mapped[str] = mapped_column(String(50), default="")
    leader: Mapped[str] = mapped_column(String(50), default="")
    leader_title: Mapped[str] = mapped_column(String(50), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The bundled registry's name for this line, so the seed loader never re-creates one an admin edited.
    bundle_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    unit: Mapped[Unit] = relationship()

    @property
    def area(self) -> str:
        return self.unit.area

    @property
    def level_label(self) -> str:
        return HOTLINE_LEVELS.get(self.level, self.level)


class SpotcheckPlan(Base):
    """The plan of one ISO week; its row is unique per week, so two planners can never both make one."""

    __tablename__ = "spotcheck_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ISO week, e.g. 2026-W48.
    week: Mapped[str] = mapped_column(String(8), unique=True)
    seed: Mapped[int] = mapped_column(Integer)
    #: The configured daily quota when the plan was made ...
    configured_quota: Mapped[int] = mapped_column(Integer)
    #: ... and the one used: higher when the configured one cannot cover every hotline this week.
    quota: Mapped[int] = mapped_column(Integer)
    warning: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    items: Mapped[list[SpotcheckItem]] = relationship(back_populates="plan",
                                                      order_by="(SpotcheckItem.planned_at, SpotcheckItem.id)")
    created_by: Mapped[User | None] = relationship()


class SpotcheckItem(Base):
    """One planned mystery call: a hotline, a day and time, a supervisor."""

    __tablename__ = "spotcheck_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_plan.id"))
    #: Copied from the plan so the database itself refuses a second item for a hotline in a week.
    week: Mapped[str] = mapped_column(String(8))
    hotline_id: Mapped[int] = mapped_column(ForeignKey("hotline.id"))
    #: The local (Beijing) day of the call; planned_at is the moment.
    day: Mapped[date] = mapped_column(Date)
    planned_at: Mapped[datetime]
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    outside_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Open rectification or a fault the week before: placed on the first days as a re-check.
    recheck: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why a supervisor moved or swapped the item (empty if never moved).
    move_reason: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[SpotcheckPlan] = relationship(back_populates="items")
    hotline: Mapped[Hotline] = relationship()
    supervisor: Mapped[User] = relationship()
    call: Mapped[MysteryCall | None] = relationship(back_populates="item", uselist=False)

    __table_args__ = (
        UniqueConstraint("week", "hotline_id"),
        Index("ix_spotcheck_item_day", "day"),
    )


class MysteryCall(HasFaults, Base):
    """The result of one planned mystery call, scored by the rubric."""

    __tablename__ = "mystery_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_item.id"), unique=True)
    hotline_id: Mapped[int] = mapped_column(ForeignKey("hotline.id"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime]
    ring_seconds: Mapped[int] = mapped_column(Integer)
    connected: Mapped[bool] = mapped_column(Boolean)
    #: One of IDENTIFIED; empty when not connected.
    identified: Mapped[str] = mapped_column(String(20), default="")
    answerer: Mapped[str] = mapped_column(String(50), default="")
    question_entry_id: Mapped[str | None] = mapped_column(ForeignKey("kb_entry.id"))
    #: The question as asked (kept even if the entry changes later).
    question: Mapped[str] = mapped_column(String(300), default="")
    correctness: Mapped[str] = mapped_column(String(20), default="")
    deflected: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 1 (rude) to 5 (exemplary); None when not connected.
    attitude: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    recording_ref: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    #: JSON list of FAULT_TYPES keys.
    faults_json: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime]

    item: Mapped[SpotcheckItem] = relationship(back_populates="call")
    hotline: Mapped[Hotline] = relationship()
    supervisor: Mapped[User] = relationship()

    __table_args__ = (
        Index("ix_mystery_call_started_at", "started_at"),
        Index("ix_mystery_call_hotline_id", "hotline_id"),
    )


class Notice(Base):
    """A daily or weekly notice (通报); once published it has a number and never changes."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: The day (daily) or the Monday (weekly) the notice reports on.
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    year: Mapped[int | None] = mapped_column(Integer)
    sequence: Mapped[int | None] = mapped_column(Integer)
    #: 绥民救通〔2026〕12号, assigned at publication.
    number: Mapped[str | None] = mapped_column(String(50), unique=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    __table_args__ = (
        UniqueConstraint("kind", "period_start"),
        UniqueConstraint("year", "sequence"),
    )

    @property
    def kind_label(self) -> str:
        return NOTICE_KINDS.get(self.kind, self.kind)

    @property
    def paragraphs(self) -> list[str]:
        return [line.strip() for line in self.body.splitlines() if line.strip()]


class NoticeCounter(Base):
    """The last notice number of a year: bumped in the publishing transaction, so numbers have no gaps."""

    __tablename__ = "notice_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class Rectification(HasFaults, Base):
    """A required fix after a faulty mystery call: the unit answers, a supervisor closes it out (销号)."""

    __tablename__ = "rectification"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("mystery_call.id"), unique=True)
    hotline_id: Mapped[int] = mapped_column(ForeignKey("hotline.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    #: JSON list of FAULT_TYPES keys, copied from the call.
    faults_json: Mapped[str] = mapped_column(Text)
    #: What happened, as the notice names it.
    finding: Mapped[str] = mapped_column(Text)
    responsible_person: Mapped[str] = mapped_column(String(50))
    measure: Mapped[str] = mapped_column(Text)
    deadline_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="open")
    response: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    attachment_ref: Mapped[str] = mapped_column(String(200), default="")
    #: When the unit last answered; on time means this is before the deadline.
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    return_reason: Mapped[str] = mapped_column(Text, default="")
    returned_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The supervisor's verification when closing out.
    close_note: Mapped[str] = mapped_column(Text, default="")
    #: Set once by the overdue job.
    overdue_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: Optimistic lock: every change by a person is UPDATE … SET version = version + 1 WHERE version = the
    #: version their form started from, so a stale form changes nothing.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    call: Mapped[MysteryCall] = relationship()
    hotline: Mapped[Hotline] = relationship()
    unit: Mapped[Unit] = relationship()
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    __table_args__ = (Index("ix_rectification_state", "state"),)

    @property
    def code(self) -> str:
        return f"ZG{self.id:05d}"

    @property
    def state_label(self) -> str:
        return RECTIFICATION_STATES.get(self.state, self.state)


class Summons(Base):
    """A proposed or held summons (约谈) of a unit's responsible leader."""

    __tablename__ = "summons"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    hotline_id: Mapped[int | None] = mapped_column(ForeignKey("hotline.id"))
    rule: Mapped[str] = mapped_column(String(20))
    #: What triggered the proposal (faults:<unit>:<latest call> or overdue:<rectification>): one proposal each.
    trigger_key: Mapped[str] = mapped_column(String(100), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    leader: Mapped[str] = mapped_column(String(50), default="")
    leader_title: Mapped[str] = mapped_column(String(50), default="")
    state: Mapped[str] = mapped_column(String(20), default="proposed")
    proposed_at: Mapped[datetime]
    held_on: Mapped[date | None] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    unit: Mapped[Unit] = relationship()
    hotline: Mapped[Hotline | None] = relationship()
    decided_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_summons_unit_id", "unit_id"),)

    @property
    def state_label(self) -> str:
        return SUMMONS_STATES.get(self.state, self.state)

    @property
    def rule_label(self) -> str:
        return SUMMONS_RULES.get(self.rule, self.rule)


@event.listens_for(Notice, "before_update")
def _published_notices_are_immutable(_mapper, _connection, target: Notice) -> None:
    """A last line behind the service's check: no code path may change a published notice."""
    status = inspect(target).attrs.status.history
    was = (status.deleted or status.unchanged or [None])[0]
    if was == "published":
        raise PermissionError(f"notice {target.id} is published and cannot change")
