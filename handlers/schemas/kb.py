"""The knowledge-base API: search, and changes submitted for review and decided by a second editor."""

from typing import Any

from pydantic import Field

from handlers.schemas.base import Answer, Body, Loose, Query, Text
from kb.lookup import MAX_LIMIT


class SearchQuery(Query):
    q: str = Field("", description="来电人的话或关键词")
    limit: str | None = Field(None, description=f"1到{MAX_LIMIT}，默认5")


class Hit(Answer):
    id: str
    question: str
    category: str
    score: float
    answer: str = Field(description="答复口径，本地参数已填入")
    highlights: list[Any]


class SearchResult(Answer):
    query: str
    results: list[Hit]
    confident: bool
    level: str
    level_label: str
    reason: str
    dispatch_to: Any = Field(description="知识库外的事项：应转哪个部门")
    pair: Any
    took_ms: float


class Author(Answer):
    id: int
    name: str


class Change(Answer):
    id: int
    entry_id: str
    state: str
    base_version: int
    note: str
    author: Author
    created_at: str
    applied_version: int | None
    decision_note: str | None


class Changes(Answer):
    changes: list[Change]


class ChangeSubmitted(Loose):
    version: int = Field(description="您编辑的条目版本")
    note: str = Field("", description="修改说明")
    emergency: bool = Field(False, description="紧急发布：先生效，事后复核")


class ChangeAnswer(Answer):
    status: str = Field(description="pending_review（202，待他人审核）、saved 或 unchanged")
    change: Change | None = None
    entry_id: str | None = None
    version: int | None = None


class Decision(Body):
    note: Text(description="审核意见") | None = None


class Decided(Answer):
    change: Change


