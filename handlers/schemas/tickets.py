"""The tickets API: the ticket list, creating and dispatching, the actions, attachments, the dispatch
suggestions, the statistics and notifications."""

from typing import Any, Literal

from pydantic import Field

from handlers.schemas.base import Answer, Body, LocalTime, Loose, Person, Plain, Query
from tickets import actions
from tickets.models import KINDS, SATISFACTION, STATES, URGENCIES

_VERSION = "客户端看到的工单版本号；过期则返回409且不做任何修改"


def _action_names(schema: dict[str, Any]) -> None:
    schema["enum"] = actions.names()  # read when the document is built: a new row of the table shows


class TicketList(Query):
    state: str | None = Field(None, description="状态，逗号分隔可多选")
    unit: str | None = Field(None, description="单位编号")
    overdue: str | None = Field(None, description="1：只看超期")
    kind: str | None = None
    from_: str | None = Field(None, alias="from", description="北京时间日期，含")
    to: str | None = Field(None, description="北京时间日期，含")
    q: str | None = Field(None, description="编号、姓名、电话或诉求内容")
    limit: str | None = Field(None, description="每页条数，最多500，默认100")
    offset: str | None = None


class TicketNew(Loose):
    kind: Literal[tuple(KINDS)] = Field(description="也接受中文类别名，如“咨询”")  # type: ignore[valid-type]
    urgency: Literal[tuple(URGENCIES)] = Field("normal", description="也接受中文，如“急难”")  # type: ignore[valid-type]
    citizen_name: str = Field(description="也可写作name")
    citizen_phone: str | None = Field(None, description="也可写作phone；不填且有call_id时取来电号码")
    citizen_id_number: str | None = Field(None, description="18位，按GB 11643校验；也可写作id_number")
    township_id: int | str = Field(description="乡镇（街道）单位编号，也接受名称；也可写作township")
    topic: str | None = Field(None, examples=["医疗救助"])
    description: str
    call_id: int | None = None
    user_id: int | None = Field(None, description="同时派单给该承办人员（首派责任人）；也可写作owner_id")
    merge_into: int | str | None = Field(None, description="并单：并入这张在办工单（编号或工单号），不另建工单")


class Dispatch(Body):
    user_id: int = Field(description="首派责任人；也可写作owner_id")
    version: int | None = Field(None, description=_VERSION)
    note: str | None = None
    add_to_catalogue: bool | None = Field(None, description="派单目录以外的事项：同时把本次派单加入派单目录")


class TicketAction(Loose):
    action: str = Field(json_schema_extra=_action_names)
    version: int = Field(description=_VERSION)
    note: str | None = Field(None, description="办理记录 / 督办意见 / 回访情况 / 审批意见")
    contacted: bool | None = Field(None, description="note：同时记录首次联系群众")
    unit_id: int | None = Field(None, description="cohandle：协办单位")
    user_id: int | None = Field(None, description="cohandle：协办人（可选）；approve_return：改派给谁（可选，不填则退回待派单）")
    request: str | None = Field(None, description="cohandle：协办事项")
    days: int | None = Field(None, description="cohandle：协办时限（工作日）；request_extension：延期工作日数")
    task_id: int | None = Field(None, description="complete_task / withdraw_task")
    report: str | None = Field(None, description="complete_task：协办结果")
    resolution: str | None = Field(None, description="close：办结情况")
    satisfaction: Literal[tuple(SATISFACTION)] | None = Field(None, description="callback")  # type: ignore[valid-type]
    reason: str | None = Field(None, description="reopen / request_extension / request_return / withdraw_task")
    approved: bool = Field(True, description="approve_extension / approve_return")


class TimeLeft(Answer):
    limit: Literal["first_contact", "closure", "callback"]
    due_at: LocalTime
    seconds_left: int
    overdue: bool


class Place(Answer):
    id: int
    name: str


class TicketSummary(Answer):
    id: int
    number: str = Field(examples=["202611-0001"])
    state: Literal[tuple(STATES)]  # type: ignore[valid-type]
    state_label: str
    version: int
    kind: Literal[tuple(KINDS)]  # type: ignore[valid-type]
    urgency: Literal[tuple(URGENCIES)]  # type: ignore[valid-type]
    citizen_name: str
    citizen_phone: str = Field(description="首派责任人、督查人员、管理员看到完整号码，其他人为138****5678")
    township: Place
    first_owner: Person | None
    created_at: LocalTime
    time_left: TimeLeft | None
    overdue: bool


class Task(Answer):
    id: int
    unit_id: int
    unit: str
    assignee: Person | None
    request: str
    state: Literal["open", "done", "withdrawn"]
    state_label: str
    due_at: LocalTime
    report: str
    finished_at: LocalTime | None


class Event(Answer):
    id: int
    at: LocalTime
    actor: Plain = Field(description="{id, name}")
    action: str
    label: str
    from_state: str | None
    to_state: str | None
    note: str
    data: Plain
    summary: str


class Ticket(TicketSummary):
    kind_label: str
    urgency_label: str
    call_id: int | None
    topic: str
    description: str
    citizen: Plain = Field(description="{name, phone, id_number, masked}：号码同电话的遮挡规则")
    unit: Place | None
    tasks: list[Task]
    requests: list[Plain] = Field(description="延期、退单申请")
    deadlines: Plain = Field(description="{first_contact_due_at, closure_due_at, callback_due_at, current}")
    resolution: str
    satisfaction: Literal[tuple(SATISFACTION)] | None  # type: ignore[valid-type]
    escalation_count: int
    reopen_count: int
    attachments: list[Plain]
    timeline: list[Event]


class Tickets(Answer):
    total: int
    tickets: list[TicketSummary]


class Upload(Answer):
    id: int
    filename: str
    size: int
    content_type: str
    ticket: Ticket


class SuggestionQuery(Query):
    township_id: str | None = Field(None, description="乡镇（街道）单位编号")
    topic: str | None = None


class OwnerSuggestion(Person):
    unit: str
    reason: str


class OwnerSuggestions(Answer):
    suggestions: list[OwnerSuggestion]


class MetricsQuery(Query):
    from_: str | None = Field(None, alias="from", description="北京时间日期，含；默认为to前29天")
    to: str | None = Field(None, description="北京时间日期，含；默认今天")


class CallCounts(Answer):
    total: int
    answered_on_the_spot: int
    on_the_spot_rate: float | None = Field(description="即问即答来电数 / 已记录来电总数")
    by_outcome: Plain


class Metrics(Answer):
    from_: str = Field(alias="from")
    to: str
    goal: float = Field(examples=[0.95])
    calls: CallCounts
    by_day: list[Plain]
    by_week: list[Plain]
    tickets: Plain
    callbacks: Plain
    per_unit: list[Plain]
    per_person: list[Plain]


class NotificationQuery(Query):
    unread: str | None = Field(None, description="1：只看未读")


class Notification(Answer):
    id: int
    kind: str
    message: str
    ticket_id: int | None
    created_at: LocalTime
    read_at: LocalTime | None


class AlertsQuery(Query):
    after: str | None = Field(None, description="只要比这个编号新的通知；不填时从最新的开始")


class Alerts(Answer):
    unread: int = Field(description="未读通知数（导航栏角标）")
    latest_id: int
    notifications: list[Notification]


class Notifications(Answer):
    unread: int
    notifications: list[Notification]


class MarkRead(Body):
    id: int | None = Field(None, description="不填则全部标记已读")


class MarkedRead(Answer):
    marked_read: int
