"""The dispatch catalogue's API, the owner it proposes, the supervisor's desk, merge candidates, time-limit
presets and background exports: request and response models for the API document."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from handlers.schemas.base import Answer, Loose, Query


class MatterRow(Loose):
    category: str | None = Field(None, description="知识库类别（与entry_id至少填一项）")
    entry_id: str | None = Field(None, description="知识库条目编号，如Q012")
    kind: str | None = Field(None, description="工单类型；不填为全部类型")
    level: str = Field(description="负责的单位层级：city、county或township")
    unit_id: int | None = Field(None, description="首派单位；不填为工单所在乡镇（街道）或其县级民政部门")
    cohandling_ids: list[int] | None = Field(None, description="协办单位")


class CatalogueWrite(Loose):
    matters: list[MatterRow] = Field(description="整张目录：写成新的一版")
    note: str | None = Field(None, description="本版说明")


class MatterWrite(MatterRow):
    version_note: str | None = Field(None, description="本版说明")


class Matter(Answer):
    id: int
    level_label: str
    kind_label: str
    unit: str | None
    cohandling: list[str]


class Version(Answer):
    number: int
    source: str
    source_label: str
    note: str
    created_at: str
    created_by: str | None
    matters_count: int
    matters: list[Matter] | None = None


class VersionAnswer(Answer):
    version: Version | None


class Versions(Answer):
    versions: list[Version]


class ImportErrors(Answer):
    error: dict[str, Any] = Field(description="code、message，以及errors：每个错误的工作表、行、列和原因（一次列全）")


class ProposalQuery(Query):
    township_id: str = Field(description="工单所在乡镇（街道）")
    topic: str | None = Field(None, description="知识库类别")
    kind: str | None = None
    entry_ids: str | None = Field(None, description="用到的知识库条目，逗号分隔")
    call_id: str | None = Field(None, description="来电：用其用到的条目")


class Proposal(Answer):
    in_catalogue: bool
    matter: Matter | None
    unit: dict[str, Any] | None
    owner_id: int | None
    owners: list[dict[str, Any]]
    cohandling: list[dict[str, Any]]
    message: str | None = Field(description="不在目录时：转督查人员派单")


class Desk(Answer):
    tickets: list[dict[str, Any]] = Field(description="不在派单目录、等督查人员决定派单的工单")


class MergeQuery(Query):
    citizen_phone: str | None = None
    citizen_id_number: str | None = None
    citizen_name: str | None = None
    topic: str | None = None


class Candidate(Answer):
    id: int
    number: str
    state: str
    state_label: str
    citizen_name: str
    township: str
    version: int
    reasons: list[str] = Field(description="为什么算重复诉求（同一电话、同一身份证号、同一人同一事项）")


class Candidates(Answer):
    window_days: int
    candidates: list[Candidate]


class Limit(Loose):
    kind: str
    urgency: str
    first_contact: dict[str, Any] = Field(description='{"amount": 数, "unit": "hours"或"working_days"}')
    closure: dict[str, Any] = Field(description='{"amount": 数, "unit": "hours"或"working_days"}')
    callback: dict[str, Any] | None = None


class PresetWrite(Loose):
    name: str | None = None
    description: str | None = None
    limits: list[Limit] | None = Field(None, description="每种类型和紧急程度一行，不能缺")
    version: int | None = Field(None, description="修改时必填：读到的版本")


class Preset(Answer):
    id: int
    name: str
    description: str
    active: bool
    version: int
    limits: list[dict[str, Any]]


class Presets(Answer):
    presets: list[Preset]


class Export(Answer):
    id: int
    kind: str
    filename: str
    state: str = Field(description="queued、running、done或failed")
    state_label: str
    total_rows: int
    done_rows: int
    percent: int
    size: int | None
    error: str
    requested_at: str
    finished_at: str | None
    download_url: str | None = Field(None, description="生成后可下载")


class Exports(Answer):
    exports: list[Export]
