"""The OpenAPI 3 document served at /api/v1/openapi.json: the tickets API and the account/unit pickers."""

from __future__ import annotations

from typing import Any

from tickets import actions, live
from tickets.models import CALL_STATES, KINDS, OUTCOMES, SATISFACTION, SPEAKERS, STATES, URGENCIES
from tickets.shapes import Field


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "成功") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "请求格式错误(非JSON对象、缺少version等)"),
    "401": _json(_ref("Error"), "未登录或令牌无效"),
    "403": _json(_ref("Error"), "没有权限(角色不符,或不是首派责任人)"),
    "404": _json(_ref("Error"), "对象不存在"),
    "409": _json(_ref("Error"), "版本已过期(他人已修改),未做任何修改"),
    "422": _json(_ref("Error"), "内容无效或状态不允许此操作"),
}


def _errors(*codes: str) -> dict[str, Any]:
    return {c: _ERRORS[c] for c in codes}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TIME = {"type": "string", "format": "date-time", "description": "北京时间,带时区(+08:00)"}


_EVENTS_NOTE = ("通话事件接口只接受话务平台账号（`flask --app app users create NAME --role telephony`）的令牌，该账号访问"
                "其他任何页面和接口均为403。字段名唯一、不设别名，未知字段返回400并列出字段名。每个令牌每个服务进程"
                "每秒HOTLINE_CALL_EVENTS_PER_SECOND次（突发HOTLINE_CALL_EVENTS_BURST次），超出返回429和Retry-After，"
                "被拒的请求不写入任何内容。")


def _events_errors() -> dict[str, Any]:
    return {**_errors("400", "401", "403", "404", "422"),
            "429": _json(_ref("Error"), "提交过于频繁：按Retry-After（秒）稍后重试")}


_KINDS = {"str": {"type": "string"}, "int": {"type": "integer"}, "bool": {"type": "boolean"},
          "time": {"type": "string", "format": "date-time", "example": "2026-11-23T09:00:00+08:00"},
          "strs": {"type": "array", "items": {"type": "string"}}}


def _shape(fields: dict[str, Field], notes: dict[str, str]) -> dict[str, Any]:
    """The JSON schema of a strict request shape (tickets.shapes): the same fields the API checks."""
    props: dict[str, Any] = {}
    for name, spec in fields.items():
        if spec.kind == "list":
            prop: dict[str, Any] = {"type": "array", "items": _shape(spec.item or {}, {}), "maxItems": spec.max_items}
        else:
            prop = dict(_KINDS[spec.kind])
        if spec.choices:
            prop["enum"] = list(spec.choices)
        if spec.max_len and spec.kind == "str":
            prop["maxLength"] = spec.max_len
        if spec.int_ok:
            prop["description"] = "字符串；整数也接受，按其十进制数字处理"
        if name in notes:
            prop["description"] = notes[name]
        props[name] = prop
    return {"type": "object", "additionalProperties": False, "properties": props,
            "required": [n for n, f in fields.items() if f.required]}


def _schemas() -> dict[str, Any]:
    nullable_time = {**_TIME, "nullable": True}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string", "example": "stale_version"},
                           "message": {"type": "string", "example": "工单已被他人修改,请刷新后重试"},
                           "field": {"type": "string"}}}}},
        "Person": {"type": "object", "nullable": True, "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "unit_id": {"type": "integer", "nullable": True}}},
        "Task": {"type": "object", "properties": {
            "id": {"type": "integer"}, "unit_id": {"type": "integer"}, "unit": {"type": "string"},
            "assignee": _ref("Person"), "request": {"type": "string"},
            "state": {"type": "string", "enum": ["open", "done", "withdrawn"]}, "due_at": _TIME,
            "report": {"type": "string"}, "finished_at": nullable_time}},
        "Event": {"type": "object", "properties": {
            "id": {"type": "integer"}, "at": _TIME,
            "actor": {"type": "object", "properties": {"id": {"type": "integer", "nullable": True},
                                                       "name": {"type": "string"}}},
            "action": {"type": "string"}, "label": {"type": "string"},
            "from_state": {"type": "string", "nullable": True}, "to_state": {"type": "string", "nullable": True},
            "note": {"type": "string"}, "data": {"type": "object"}, "summary": {"type": "string"}}},
        "TimeLeft": {"type": "object", "nullable": True, "properties": {
            "limit": {"type": "string", "enum": ["first_contact", "closure", "callback"]}, "due_at": _TIME,
            "seconds_left": {"type": "integer"}, "overdue": {"type": "boolean"}}},
        "TicketSummary": {"type": "object", "properties": {
            "id": {"type": "integer"}, "number": {"type": "string", "example": "202611-0001"},
            "state": {"type": "string", "enum": list(STATES)}, "state_label": {"type": "string"},
            "version": {"type": "integer"}, "kind": {"type": "string", "enum": list(KINDS)},
            "urgency": {"type": "string", "enum": list(URGENCIES)}, "citizen_name": {"type": "string"},
            "citizen_phone": {"type": "string", "description": "首派责任人、督查人员、管理员看到完整号码,其他人为138****5678"},
            "township": {"type": "object"}, "first_owner": _ref("Person"), "created_at": _TIME,
            "time_left": _ref("TimeLeft"), "overdue": {"type": "boolean"}}},
        "Ticket": {"allOf": [_ref("TicketSummary"), {"type": "object", "properties": {
            "call_id": {"type": "integer", "nullable": True}, "topic": {"type": "string"},
            "description": {"type": "string"},
            "citizen": {"type": "object", "properties": {
                "name": {"type": "string"}, "phone": {"type": "string"},
                "id_number": {"type": "string", "description": "同电话号码的遮挡规则"},
                "masked": {"type": "boolean"}}},
            "unit": {"type": "object", "nullable": True},
            "tasks": {"type": "array", "items": _ref("Task")},
            "requests": {"type": "array", "items": {"type": "object"}},
            "deadlines": {"type": "object", "properties": {
                "first_contact_due_at": nullable_time, "closure_due_at": nullable_time,
                "callback_due_at": nullable_time, "current": _ref("TimeLeft")}},
            "resolution": {"type": "string"},
            "satisfaction": {"type": "string", "nullable": True, "enum": [*SATISFACTION, None]},
            "escalation_count": {"type": "integer"}, "reopen_count": {"type": "integer"},
            "attachments": {"type": "array", "items": {"type": "object"}},
            "timeline": {"type": "array", "items": _ref("Event")}}}]},
        "Call": {"type": "object", "properties": {
            "id": {"type": "integer"}, "external_id": {"type": "string", "nullable": True},
            "status": {"type": "string", "enum": list(CALL_STATES)}, "status_label": {"type": "string"},
            "answered_at": nullable_time, "ended_at": nullable_time,
            "ring_seconds": {"type": "integer", "nullable": True, "description": "振铃到接通（话务平台事件）"},
            "talk_seconds": {"type": "integer", "nullable": True, "description": "接通到挂断（话务平台事件）"},
            "wrap_seconds": {"type": "integer", "nullable": True, "description": "挂断到接线员记录"},
            "caller_number": {"type": "string", "description": "遮挡规则同工单电话"},
            "caller_name": {"type": "string"}, "question": {"type": "string"},
            "outcome": {"type": "string", "nullable": True, "enum": [*OUTCOMES, None]},
            "duration_seconds": {"type": "integer", "nullable": True},
            "kb_entry_ids": {"type": "array", "items": {"type": "string", "example": "Q012"}},
            "started_at": _TIME, "recorded_at": nullable_time,
            "ticket_ids": {"type": "array", "items": {"type": "integer"}},
            "open_tickets": {"type": "array", "items": {"type": "object"},
                             "description": "同一号码尚未办结的工单(重复来电)"}}},
        "Assist": {"type": "object", "properties": {
            "call": _ref("Call"),
            "transcript": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "speaker": {"type": "string", "enum": list(SPEAKERS)},
                "text": {"type": "string", "description": "无权查看号码的角色看到遮挡后的文本"},
                "start_ms": {"type": "integer"}, "end_ms": {"type": "integer"}, "final": {"type": "boolean"}}}},
            "suggestions": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string", "example": "Q001"}, "question": {"type": "string"},
                "score": {"type": "number"}, "confident": {"type": "boolean"},
                "why": {"type": "string", "example": "来电人说到“低保”“申请”"}}}},
            "needs": {"type": "array", "items": {"type": "object"}},
            "draft": {"type": "object", "nullable": True}}},
        "Metrics": {"type": "object", "properties": {
            "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
            "goal": {"type": "number", "example": 0.95},
            "calls": {"type": "object", "properties": {
                "total": {"type": "integer"}, "answered_on_the_spot": {"type": "integer"},
                "on_the_spot_rate": {"type": "number", "nullable": True,
                                     "description": "即问即答来电数 / 已记录来电总数"},
                "by_outcome": {"type": "object"}}},
            "by_day": {"type": "array", "items": {"type": "object"}},
            "by_week": {"type": "array", "items": {"type": "object"}},
            "tickets": {"type": "object"}, "callbacks": {"type": "object"},
            "per_unit": {"type": "array", "items": {"type": "object"}},
            "per_person": {"type": "array", "items": {"type": "object"}}}},
    }


def document(server: str = "") -> dict[str, Any]:
    version_prop = {"type": "integer", "description": "客户端看到的工单版本号;过期则返回409且不做任何修改"}
    action_body = {"type": "object", "required": ["action", "version"], "properties": {
        "action": {"type": "string", "enum": actions.names()}, "version": version_prop,
        "note": {"type": "string", "description": "办理记录 / 督办意见 / 回访情况 / 审批意见"},
        "contacted": {"type": "boolean", "description": "note:同时记录首次联系群众"},
        "unit_id": {"type": "integer", "description": "cohandle:协办单位"},
        "user_id": {"type": "integer", "description": "cohandle:协办人(可选);approve_return:改派给谁(可选,不填则退回待派单)"},
        "request": {"type": "string", "description": "cohandle:协办事项"},
        "days": {"type": "integer", "description": "cohandle:协办时限(工作日);request_extension:延期工作日数"},
        "task_id": {"type": "integer", "description": "complete_task / withdraw_task"},
        "report": {"type": "string", "description": "complete_task:协办结果"},
        "resolution": {"type": "string", "description": "close:办结情况"},
        "satisfaction": {"type": "string", "enum": list(SATISFACTION), "description": "callback"},
        "reason": {"type": "string", "description": "reopen / request_extension / request_return / withdraw_task"},
        "approved": {"type": "boolean", "default": True, "description": "approve_extension / approve_return"}}}
    ticket_ok = _json(_ref("Ticket"))
    paths: dict[str, Any] = {
        "/me": {"get": {"summary": "当前令牌对应的账号", "tags": ["accounts"], "responses": {
            "200": _json({"type": "object", "properties": {"id": {"type": "integer"}, "username": {"type": "string"},
                                                           "name": {"type": "string"}, "role": {"type": "string"},
                                                           "unit_id": {"type": "integer", "nullable": True}}}),
            **_errors("401")}}},
        "/units": {"get": {"summary": "在用单位(派单选择用)", "tags": ["accounts"], "responses": {
            "200": _json({"type": "object", "properties": {"units": {"type": "array", "items": {
                "type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                                 "level": {"type": "string"}, "kind": {"type": "string"},
                                                 "area": {"type": "string"},
                                                 "parent_id": {"type": "integer", "nullable": True}}}}}}),
            **_errors("401")}}},
        "/users": {"get": {"summary": "在用账号(派单选择用):承办人员;接线员、督查人员另可查接线员;登录名和角色仅管理员可见",
                           "tags": ["accounts"], "parameters": [
            {"name": "role", "in": "query", "schema": {"type": "string"}, "example": "caseworker"},
            {"name": "unit", "in": "query", "schema": {"type": "integer"}}], "responses": {
            "200": _json({"type": "object", "properties": {"users": {"type": "array", "items": {
                "type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                                 "unit_id": {"type": "integer", "nullable": True},
                                                 "unit": {"type": "string"},
                                                 "username": {"type": "string", "description": "仅管理员"},
                                                 "role": {"type": "string", "description": "仅管理员"}}}}}}),
            **_errors("400", "401", "403")}}},
        "/calls": {"post": {
            "summary": "话务平台通报来电（振铃）；同一external_id再次通报返回同一来电（200）", "tags": ["call events"],
            "description": _EVENTS_NOTE, "requestBody": _body(_shape(live.ANNOUNCE, {
                "external_id": "话务平台的通话编号", "caller_number": "来电号码", "operator": "转接给哪位接线员（登录名）",
                "rang_at": "振铃时间（可选，默认收到时）"})),
            "responses": {"201": _json(_ref("Call"), "已创建"), "200": _json(_ref("Call"), "该通话已通报过，未做修改"),
                          **_events_errors()}}},
        "/calls/{id}/answered": {"parameters": [_ID], "post": {
            "summary": "话务平台：来电已接通（振铃时长由此计算）；重复通报返回200且不修改", "tags": ["call events"],
            "requestBody": _body(_shape(live.EVENT, {"at": "接通时间（可选，默认收到时）"}), False),
            "responses": {"200": _json(_ref("Call")), **_events_errors(),
                          "409": _json(_ref("Error"), "该来电已未接挂断（call_ended）")}}},
        "/calls/{id}/ended": {"parameters": [_ID], "post": {
            "summary": "话务平台：来电已挂断（通话时长由此计算；未接通即挂断的进入漏接回拨）；重复通报返回200且不修改",
            "tags": ["call events"],
            "requestBody": _body(_shape(live.EVENT, {"at": "挂断时间（可选，默认收到时）"}), False),
            "responses": {"200": _json(_ref("Call")), **_events_errors()}}},
        "/calls/{id}/transcript": {"parameters": [_ID], "post": {
            "summary": "话务平台：语音识别的转写片段，返回当前的辅助状态", "tags": ["call events"],
            "description": ("按片段id幂等：未定稿（final=false）的片段被同id的新版本替换，定稿的不会被未定稿版本替换；"
                            "乱序到达无妨，读取时按start_ms排序。一次请求全部通过校验才写入。"
                            f"每段不超过{live.MAX_SEGMENT_CHARS}字，每通来电合计不超过{live.MAX_CALL_CHARS}字（超出413），"
                            f"一次最多{live.MAX_SEGMENTS}段。挂断后HOTLINE_TRANSCRIPT_GRACE_SECONDS（默认60）秒内仍接收迟到的片段，"
                            "之后409 call_ended；未接来电409 call_missed。"),
            "requestBody": _body(_shape(live.TRANSCRIPT, {"segments": "转写片段"})),
            "responses": {"200": _json(_ref("Assist")), **_events_errors(),
                          "409": _json(_ref("Error"), "通话已结束超过宽限期、未接来电或转写已删除"),
                          "413": _json(_ref("Error"), "转写过长")}}},
        "/calls/{id}/assist": {"parameters": [_ID], "get": {
            "summary": "来电辅助：转写、知识库推荐（偏重来电人最近的话，首位稳定）、诉求、智能填单（接线员、督查人员）",
            "tags": ["calls"], "description": ("转写中的电话和身份证号码：本通来电的接线员、督查人员、管理员及由此来电所建工单的"
                                               "首派责任人看到完整号码（非本通接线员的完整读取记入审计日志），其他人遮挡。"),
            "responses": {"200": _json(_ref("Assist")), **_errors("401", "403", "404")}}},
        "/calls/record": {"post": {
            "summary": "接线员记录一次没有话务平台通报的来电", "tags": ["calls"],
            "requestBody": _body(_shape(live.RECORD_NEW, {"duration_seconds": "通话时长（秒）"})),
            "responses": {"201": _json(_ref("Call"), "已记录"), **_errors("400", "401", "403", "422")}}},
        "/calls/{id}/record": {"parameters": [_ID], "post": {
            "summary": "接线员记录已通报来电的结果（时长取自接通、挂断事件）", "tags": ["calls"],
            "requestBody": _body(_shape(live.RECORD, {})),
            "responses": {"200": _json(_ref("Call")), **_errors("400", "401", "403", "404", "409", "422")}}},
        "/calls/missed": {"get": {"summary": "漏接回拨：尚未回拨的未接来电，按振铃先后", "tags": ["calls"], "responses": {
            "200": _json({"type": "object", "properties": {"calls": {"type": "array", "items": _ref("Call")}}}),
            **_errors("401", "403")}}},
        "/calls/{id}/callback": {"parameters": [_ID], "post": {
            "summary": "登记一次回拨（已回拨接通、无需回拨则移出漏接回拨）", "tags": ["calls"],
            "requestBody": _body(_shape(live.CALLBACK, {"note": "回拨备注"})),
            "responses": {"200": _json(_ref("Call")), **_errors("400", "401", "403", "404", "409", "422")}}},
        "/calls/{id}": {
            "parameters": [_ID],
            "get": {"summary": "来电详情", "tags": ["calls"],
                    "responses": {"200": _json(_ref("Call")), **_errors("401", "403", "404")}}},
        "/calls/incoming": {"get": {"summary": "待接听的来电(接线员页面轮询)", "tags": ["calls"], "responses": {
            "200": _json({"type": "object", "properties": {"calls": {"type": "array", "items": _ref("Call")}}}),
            **_errors("401", "403")}}},
        "/calls/lookup": {"get": {"summary": "按号码查询未办结工单(重复来电)", "tags": ["calls"],
                                  "parameters": [{"name": "number", "in": "query", "required": True,
                                                  "schema": {"type": "string"}}],
                                  "responses": {"200": _json({"type": "object"}), **_errors("401", "403")}}},
        "/tickets": {
            "get": {"summary": "工单列表(承办人员为本人的工单)", "tags": ["tickets"], "parameters": [
                {"name": n, "in": "query", "schema": {"type": "string"}} for n in
                ("state", "unit", "overdue", "kind", "from", "to", "q", "limit", "offset")],
                "responses": {"200": _json({"type": "object", "properties": {
                    "total": {"type": "integer"},
                    "tickets": {"type": "array", "items": _ref("TicketSummary")}}}), **_errors("400", "401", "403")}},
            "post": {"summary": "创建工单(可同时派单)", "tags": ["tickets"], "requestBody": _body({
                "type": "object", "required": ["kind", "citizen_name", "township_id", "description"], "properties": {
                    "call_id": {"type": "integer"}, "kind": {"type": "string", "enum": list(KINDS)},
                    "urgency": {"type": "string", "enum": list(URGENCIES), "default": "normal"},
                    "citizen_name": {"type": "string"},
                    "citizen_phone": {"type": "string", "description": "不填且有call_id时取来电号码"},
                    "citizen_id_number": {"type": "string", "description": "18位,按GB 11643校验"},
                    "township_id": {"type": "integer", "description": "乡镇(街道)单位编号"},
                    "topic": {"type": "string", "example": "医疗救助"}, "description": {"type": "string"},
                    "user_id": {"type": "integer", "description": "同时派单给该承办人员(首派责任人)"}}}),
                "responses": {"201": _json(_ref("Ticket"), "已创建"), **_errors("400", "401", "403", "404", "422")}}},
        "/tickets/{id}": {"parameters": [_ID], "get": {"summary": "工单详情(含时间线)", "tags": ["tickets"],
                                                       "responses": {"200": ticket_ok,
                                                                     **_errors("401", "403", "404")}}},
        "/tickets/{id}/dispatch": {"parameters": [_ID], "post": {
            "summary": "派单:首次派单确定首派责任人", "tags": ["tickets"],
            "requestBody": _body({"type": "object", "required": ["user_id"], "properties": {
                "user_id": {"type": "integer"}, "version": version_prop, "note": {"type": "string"}}}),
            "responses": {"200": ticket_ok, **_errors("400", "401", "403", "404", "409", "422")}}},
        "/tickets/{id}/actions": {"parameters": [_ID], "post": {
            "summary": "办理操作:签收、协办、办结、回访、重新办理、督办、延期、退单/改派", "tags": ["tickets"],
            "description": ("accept、contact、close、cohandle、withdraw_task、request_extension、request_return仅限首派责任人;"
                            "complete_task限协办单位人员或首派责任人;callback、reopen限接线员、督查人员;"
                            "escalate、approve_extension、approve_return限督查人员。"),
            "requestBody": _body(action_body),
            "responses": {"200": ticket_ok, **_errors("400", "401", "403", "404", "409", "422")}}},
        "/tickets/{id}/attachments": {"parameters": [_ID], "post": {
            "summary": "上传附件(PDF/JPG/PNG/DOCX/XLSX,按内容识别类型,有大小上限)", "tags": ["tickets"],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"201": _json({"type": "object"}, "已上传"),
                          **_errors("400", "401", "403", "404", "422"),
                          "413": _json(_ref("Error"), "文件太大")}}},
        "/tickets/suggestions": {"get": {"summary": "按乡镇和问题类别推荐承办人", "tags": ["tickets"], "parameters": [
            {"name": "township_id", "in": "query", "schema": {"type": "integer"}},
            {"name": "topic", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object"}), **_errors("401", "403")}}},
        "/metrics": {"get": {"summary": "统计:在线答复率(按日、按周)、工单、时限、满意度、按单位和人员（督查人员、管理员）", "tags": ["metrics"],
                             "parameters": [
                                 {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
                                  "description": "北京时间日期,含;默认为to前29天"},
                                 {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"},
                                  "description": "北京时间日期,含;默认今天"}],
                             "responses": {"200": _json(_ref("Metrics")), **_errors("400", "401", "403")}}},
        "/notifications": {
            "get": {"summary": "本人的站内通知", "tags": ["notifications"],
                    "parameters": [{"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["1"]}}],
                    "responses": {"200": _json({"type": "object"}), **_errors("401")}},
            "post": {"summary": "标记已读({\"id\"}或全部)", "tags": ["notifications"],
                     "requestBody": _body({"type": "object", "properties": {"id": {"type": "integer"}}}, False),
                     "responses": {"200": _json({"type": "object"}), **_errors("401")}}},
        "/openapi.json": {"get": {"summary": "本文档", "tags": ["meta"], "security": [],
                                  "responses": {"200": _json({"type": "object"})}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "热线坐席助手 API", "version": "1.0.0",
                 "description": ("来电、工单(首派责任制)与统计。用 `flask --app app users token NAME` 取得令牌,"
                                 "以 `Authorization: Bearer TOKEN` 调用。错误统一为 "
                                 "`{\"error\": {\"code\", \"message\"}}`。时间均为北京时间(+08:00)。")},
        "servers": [{"url": f"{server}/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": _schemas()},
        "paths": paths,
    }
