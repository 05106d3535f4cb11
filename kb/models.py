"""Knowledge-base entries with their versions, local parameters, and the KB revision counter."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.models import User

CATEGORIES = (
    "最低生活保障", "特困人员救助供养", "低保边缘与低收入人口", "临时救助", "医疗救助", "教育救助", "住房救助",
    "就业救助", "受灾人员救助", "残疾人福利", "儿童福利", "老年人福利", "流浪乞讨人员救助", "办理渠道与服务",
    "其他救助与福利",
)
LEVELS = ("国家", "省", "市")
STATUSES = {"draft": "草稿", "published": "已发布", "retired": "已停用"}

#: The content fields of an entry, in display order; a version stores all of them.
TEXT_FIELDS = ("category", "question", "answer", "detail", "level", "eligibility", "materials", "process",
               "handling_unit", "contact", "status")
LIST_FIELDS = ("similar", "keywords", "policy_basis")
FIELD_LABELS = {
    "id": "编号", "category": "分类", "question": "标准问题", "similar": "相似问法", "keywords": "关键词",
    "answer": "答复口径", "detail": "详细解答", "policy_basis": "政策依据", "level": "层级",
    "eligibility": "申请条件", "materials": "所需材料", "process": "办理流程及时限", "handling_unit": "承办单位",
    "contact": "联系方式", "status": "状态", "review_date": "复核日期",
}


class Entry(Base):
    __tablename__ = "kb_entry"

    id: Mapped[str] = mapped_column(String(10), primary_key=True)
    category: Mapped[str] = mapped_column(String(50))
    question: Mapped[str] = mapped_column(String(300))
    #: JSON list of strings: the ways callers ask.
    similar_json: Mapped[str] = mapped_column(Text, default="[]")
    keywords_json: Mapped[str] = mapped_column(Text, default="[]")
    answer: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    #: JSON list of {"name", "number", "article"}.
    policy_basis_json: Mapped[str] = mapped_column(Text, default="[]")
    level: Mapped[str] = mapped_column(String(10))
    eligibility: Mapped[str] = mapped_column(Text, default="")
    materials: Mapped[str] = mapped_column(Text, default="")
    process: Mapped[str] = mapped_column(Text, default="")
    handling_unit: Mapped[str] = mapped_column(String(300), default="")
    contact: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    review_date: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: SHA-256 of the bundled file last loaded into this entry, so `kb load` applies only changed files.
    bundle_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    versions: Mapped[list[EntryVersion]] = relationship(back_populates="entry", order_by="EntryVersion.number",
                                                        cascade="all, delete-orphan")

    @property
    def similar(self) -> list[str]:
        return json.loads(self.similar_json)

    @property
    def keywords(self) -> list[str]:
        return json.loads(self.keywords_json)

    @property
    def policy_basis(self) -> list[dict[str, str]]:
        return json.loads(self.policy_basis_json)

    def as_data(self) -> dict[str, Any]:
        """All content fields as plain data (what a version stores and export writes)."""
        data: dict[str, Any] = {"id": self.id}
        for f in TEXT_FIELDS:
            data[f] = getattr(self, f)
        for f in LIST_FIELDS:
            data[f] = getattr(self, f)
        data["review_date"] = self.review_date.isoformat() if self.review_date else ""
        return data


class EntryVersion(Base):
    __tablename__ = "kb_entry_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entry.id"))
    number: Mapped[int] = mapped_column(Integer)
    #: Canonical JSON of Entry.as_data() at this version.
    data_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]

    entry: Mapped[Entry] = relationship(back_populates="versions")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("entry_id", "number"),)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_json)


class Parameter(Base):
    """A named local figure (低保标准_城市 …) that answers refer to as {{name}}."""

    __tablename__ = "kb_parameter"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    #: Unit of measure shown after the value (元/人·月 …).
    unit: Mapped[str] = mapped_column(String(30), default="")
    #: What a value must look like (PARAMETER_KINDS): a text for an amount is refused.
    kind: Mapped[str] = mapped_column(String(20), default="text", server_default="text")

    values: Mapped[list[ParameterValue]] = relationship(order_by="ParameterValue.effective_date",
                                                        cascade="all, delete-orphan")


class ParameterValue(Base):
    """One setting of a parameter from its effective date on; the latest one in effect is current."""

    __tablename__ = "kb_parameter_value"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(ForeignKey("kb_parameter.name"))
    #: Empty means "unset from this date on" (answers show the gap 【未设置：…】).
    value: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(30), default="")
    effective_date: Mapped[date] = mapped_column(Date)
    #: The document or notice that set the figure.
    source: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]


class KbRevision(Base):
    """One row counting KB changes; search indexes follow it to know when to rebuild."""

    __tablename__ = "kb_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime]
    #: SHA-256 of kb/data/synonyms.tsv when last loaded: the file is applied again only when it changes.
    synonyms_hash: Mapped[str] = mapped_column(String(64), default="")


class Synonym(Base):
    """A caller's word and the term it means (俺→我, 五保→特困); kb_editors maintain the table."""

    __tablename__ = "kb_synonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(50), unique=True)
    canonical: Mapped[str] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SearchLog(Base):
    """One search an operator made, what was shown, and which entry (if any) was opened."""

    __tablename__ = "kb_search_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    query: Mapped[str] = mapped_column(String(500))
    normalized: Mapped[str] = mapped_column(String(500), default="")
    #: JSON list of the entry ids shown, best first.
    result_ids: Mapped[str] = mapped_column(Text, default="[]")
    top_score: Mapped[float] = mapped_column(default=0.0)
    confident: Mapped[bool] = mapped_column(default=False)
    took_ms: Mapped[float] = mapped_column(default=0.0)
    opened_id: Mapped[str | None] = mapped_column(String(10))
    opened_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(10), default="page")
    #: One search box session on the operator's page (typing updates its row); None for API searches.
    session_key: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_kb_search_log_at", "at"), Index("ix_kb_search_log_session_key", "session_key"))


# --- issue 13: parameter kinds, the policy register, review before publish ------------------------
# (kept together in this block; the review workflow lives in kb/review.py, the register in kb/register.py)

#: What a parameter's value must look like: an amount of money, a whole number, a phone number or free text.
PARAMETER_KINDS = {"amount": "金额", "number": "整数", "phone": "电话号码", "text": "文字"}
POLICY_STATUSES = ("有效", "已废止", "被替代")
CHANGE_STATES = {"pending": "待审核", "approved": "已通过", "rejected": "已退回", "withdrawn": "已撤回"}
REVIEW_KINDS = {"approve": "审核通过", "recheck": "复核确认", "emergency": "管理员紧急发布（未经第二人审核）"}


class PolicyDocument(Base):
    """A policy document entries rest on (a law, regulation or notice), with its level and validity."""

    __tablename__ = "kb_policy_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: As titled, without 《》; an entry's policy_basis names it by this title.
    title: Mapped[str] = mapped_column(String(200), unique=True)
    number: Mapped[str] = mapped_column(String(100), default="")
    issuer: Mapped[str] = mapped_column(String(200), default="")
    level: Mapped[str] = mapped_column(String(10))
    effective_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="有效")
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("kb_policy_document.id"))
    #: What was confirmed about the document, and where.
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    superseded_by: Mapped[PolicyDocument | None] = relationship(remote_side=[id])


class EntryFlag(Base):
    """An entry to be re-checked because a document it rests on changed; operators see a notice until
    an editor re-checks the entry."""

    __tablename__ = "kb_entry_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entry.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("kb_policy_document.id"))
    reason: Mapped[str] = mapped_column(String(500))
    flagged_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    document: Mapped[PolicyDocument | None] = relationship()


class EntryChange(Base):
    """A change to an entry that would go live, waiting for a second kb_editor's approval."""

    __tablename__ = "kb_entry_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Not a foreign key: a new entry exists only once its change is approved.
    entry_id: Mapped[str] = mapped_column(String(10), index=True)
    #: The entry's version the change was made from (None: a new entry).
    base_version: Mapped[int | None] = mapped_column(Integer)
    #: Canonical JSON of the proposed Entry.as_data().
    data_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    #: The entry version the approval wrote.
    applied_version: Mapped[int | None] = mapped_column(Integer)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_json)


class EntryReview(Base):
    """A review of an entry: a second editor's approval, a periodic re-check, or an admin's emergency publish."""

    __tablename__ = "kb_entry_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entry.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime]
    #: The entry's version that was reviewed.
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")

    reviewer: Mapped[User] = relationship()
class OutsideMatter(Base):
    """A 12345 matter callers bring to this seat that the knowledge base does not answer (公积金, 户籍 …),
    with the department that usually owns it: search says 不在知识库 and suggests dispatching there."""

    __tablename__ = "kb_outside_matter"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter: Mapped[str] = mapped_column(String(50), unique=True)
    department: Mapped[str] = mapped_column(String(100))
    #: JSON list of the words callers use for it (公积金贷款, 提取公积金 …).
    terms_json: Mapped[str] = mapped_column(Text, default="[]")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def terms(self) -> list[str]:
        return json.loads(self.terms_json)


class PairNote(Base):
    """What tells two easily confused entries apart, and one question that decides between them,
    written by kb_editors; shown when a search finds the two close together. entry_a < entry_b."""

    __tablename__ = "kb_pair_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_a: Mapped[str] = mapped_column(ForeignKey("kb_entry.id"))
    entry_b: Mapped[str] = mapped_column(ForeignKey("kb_entry.id"))
    note: Mapped[str] = mapped_column(String(300))
    question: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("entry_a", "entry_b"),)
