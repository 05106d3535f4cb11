"""The spot-check API: the week's plan, logging a mystery call, and the hotline directory."""

from typing import Any

from pydantic import Field

from handlers.schemas.base import Answer, Loose, Query


class PlanQuery(Query):
    week: str | None = Field(None, description="ISO周，如2026-W48；默认本周")


class PlanItem(Answer):
    id: int
    hotline_id: int
    hotline: str
    number: str
    date: str
    time: str = Field(description="北京时间，如14:30")
    supervisor: str
    recheck: bool
    outside_hours: bool
    call_id: int | None


class Plan(Answer):
    week: str
    seed: Any
    quota: int
    warning: str | None
    items: list[PlanItem]


class CallLogged(Loose):
    ring_seconds: int = Field(description="响铃时长（秒）")
    connected: bool = Field(description="是否接通；也接受“1”“是”等")
    started_at: str | None = Field(None, description="拨打时间（北京时间），默认现在")
    identified: str | None = None
    answerer: str | None = None
    question_entry_id: str | None = Field(None, description="所问问题的知识库条目编号")
    correctness: str | None = None
    deflected: bool | None = None
    attitude: int | None = Field(None, description="服务态度评分")
    notes: str | None = None
    recording_ref: str | None = Field(None, description="录音编号")


class MysteryCall(Answer):
    id: int
    item_id: int
    hotline_id: int
    started_at: str
    connected: bool
    score: int | None
    passed: bool | None
    faults: list[str]
    fault_labels: list[str]
    rectification_id: int | None


class Hotline(Answer):
    id: int
    name: str
    number: str
    area: str
    unit: str
    unit_id: int
    level: str
    service_hours: str
    active: bool


class Hotlines(Answer):
    hotlines: list[Hotline]
