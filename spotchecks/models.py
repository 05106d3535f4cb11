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
from spotchecks.rubric import FAULT_TYPES, Rubric

HOTLINE_LEVELS = {"city": "市级", "county": "县级", "township": "乡镇（街道）"}

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

RUBRIC_STATES = {"proposed": "待审批", "approved": "已生效", "rejected": "未批准", "superseded": "已停用"}
#: What a piece of rectification evidence was sent with.
EVIDENCE_STAGES = {"answer": "单位报送", "close": "销号核验"}

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


class RubricVersion(Base):
    """A version of the scoring rubric: proposed by a supervisor, in force from an admin's approval.

    Never changed once decided; the version in force is the approved one approved last. A mystery call
    keeps the version it was scored with (none: the rubric shipped or set in the environment)."""

    __tablename__ = "rubric_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3 … in the order proposed.
    number: Mapped[int] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(20), default="proposed")
    #: The weights as JSON: Rubric's fields (ring, late, anonymous, wrong, deflect, attitude, partial, ...).
    weights_json: Mapped[str] = mapped_column(Text)
    #: Fault key → {"label", "measure"} as JSON.
    faults_json: Mapped[str] = mapped_column(Text)
    #: Why the supervisor proposed the change.
    reason: Mapped[str] = mapped_column(Text, default="")
    proposed_at: Mapped[datetime]
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")

    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (Index("ix_rubric_version_state", "state"),)

    @property
    def rubric(self) -> Rubric:
        faults = json.loads(self.faults_json)
        return Rubric(**json.loads(self.weights_json),
                      labels={key: text["label"] for key, text in faults.items()},
                      measures={key: text["measure"] for key, text in faults.items()})

    @property
    def state_label(self) -> str:
        return RUBRIC_STATES.get(self.state, self.state)


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
    #: The rubric version the call was scored with (None: the shipped or environment rubric).
    rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_version.id"))
    created_at: Mapped[datetime]

    item: Mapped[SpotcheckItem] = relationship(back_populates="call")
    hotline: Mapped[Hotline] = relationship()
    supervisor: Mapped[User] = relationship()
    rubric_version: Mapped[RubricVersion | None] = relationship()

    @property
    def fault_labels(self) -> list[str]:
        """The faults as the rubric the call was scored with names them."""
        version = self.rubric_version
        if version is None:
            return super().fault_labels
        labels = version.rubric.labels
        return [labels.get(f) or FAULT_TYPES.get(f, f) for f in self.faults]

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
    #: 发文机关署名 as edited on the draft (empty: the configured issuer).
    issuer: Mapped[str] = mapped_column(String(100), default="", server_default="")
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
    #: Why the close-out has no evidence file, when it has none.
    no_evidence_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
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
    evidence_files: Mapped[list[EvidenceFile]] = relationship(back_populates="rectification",
                                                               order_by="EvidenceFile.id")

    __table_args__ = (Index("ix_rectification_state", "state"),)

    @property
    def code(self) -> str:
        return f"ZG{self.id:05d}"

    @property
    def state_label(self) -> str:
        return RECTIFICATION_STATES.get(self.state, self.state)


class EvidenceFile(Base):
    """A photo, scanned letter or recording proving a rectification, checked by its content on upload."""

    __tablename__ = "rectification_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectification.id"))
    #: One of EVIDENCE_STAGES.
    stage: Mapped[str] = mapped_column(String(10))
    #: The uploader's file name (shown, and offered on download).
    filename: Mapped[str] = mapped_column(String(200))
    #: Its name under the uploads folder: random, never the uploader's.
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    #: What its bytes are (core.uploads.MEDIA kind: jpg, png, pdf, mp3, m4a, wav ...).
    kind: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime]

    rectification: Mapped[Rectification] = relationship(back_populates="evidence_files")
    uploaded_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_rectification_evidence_rectification_id", "rectification_id"),)

    @property
    def stage_label(self) -> str:
        return EVIDENCE_STAGES.get(self.stage, self.stage)


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
