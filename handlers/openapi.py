"""The API described by its code. `@api_doc` on a view declares the route once — summary, request body
and query (pydantic models), responses and refusals — and checks the JSON body (and the query) against
those models before the view runs; `document()` walks the app's /api/v1/ rules and builds the OpenAPI
document from the same declarations, so a route nobody declared is missing from it (a test fails).

Declare a route (innermost decorator, under the role check):

    @api_bp.route("/calls/<int:call_id>/callback", methods=["POST"])
    @roles_required("operator", "supervisor")
    @refusals
    @api_doc("登记一次回拨", tags=("calls",), body=schemas.Callback, responses={200: schemas.Call},
             errors=(403, 404, 409, 422))
    def api_callback(call_id: int, body: schemas.Callback): ...

The view gets the checked body as `body`. A refused body is a 400 naming the field in Chinese
(`unknown_fields`, `missing_field`, `too_many`, `invalid_text`, otherwise `bad_request`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Flask, request
from pydantic import BaseModel, ValidationError

from core.errors import DomainError
from core.idempotency import KEY_PATTERN
from handlers.common import domain_error_response, json_body
from handlers.idempotency import CHANGING, HEADER

PREFIX = "/api/v1"

#: What each refusal means, unless a route says more.
ERRORS = {
    400: "请求格式错误（非JSON对象、字段类型不符、未知字段等），错误中的field指明哪个字段",
    401: "未登录或令牌无效",
    403: "没有权限（角色不符，或不是首派责任人）；网页会话调用须带CSRF令牌",
    404: "对象不存在",
    409: "版本已过期（他人已修改）或状态冲突，未做任何修改",
    413: "请求体太大",
    422: "内容无效或状态不允许此操作",
    429: "提交过于频繁：按Retry-After（秒）稍后重试",
    503: "暂时无法服务，按Retry-After（秒）稍后重试",
}


@dataclass(frozen=True)
class Doc:
    """One route and method as declared: what the document says and what the body is checked against."""

    summary: str
    tags: tuple[str, ...] = ()
    description: str = ""
    body: type[BaseModel] | None = None
    #: False: an empty body is taken as {} (still checked against `body`).
    body_required: bool = True
    #: False: `body` only documents the request; the view reads it itself (friendly spellings and
    #: aliases the model would refuse). Say why where you use it.
    validate: bool = True
    query: type[BaseModel] | None = None
    #: status → a model, (model, description), or (media type, description) for a non-JSON answer.
    responses: Mapping[int, Any] = field(default_factory=dict)
    errors: Mapping[int, str] = field(default_factory=dict)
    #: A request body larger than this is refused with 413 before it is read (0: no limit here).
    max_bytes: int = 0
    #: The request is not JSON: (media type, schema) such as a multipart upload.
    upload: tuple[str, dict[str, Any]] | None = None
    #: Open to anyone: no token needed.
    public: bool = False


def api_doc(summary: str, *, methods: Iterable[str] | None = None, errors: Iterable[int] | Mapping[int, str] = (),
            **declared: Any) -> Callable:
    """Declare the view's route for `methods` (default: every method of its rule) and check its input.
    `errors` are the refusal statuses (401 is always listed), with a description each or the usual one."""
    described = {} if declared.get("public") else {401: ERRORS[401]}
    if declared.get("body") is not None or declared.get("upload") is not None:
        described[400] = ERRORS[400]
    described.update({code: ERRORS[code] for code in errors} if not isinstance(errors, Mapping)
                     else {code: text or ERRORS[code] for code, text in errors.items()})
    doc = Doc(summary, errors=described, **declared)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any):
            mine = methods is None or request.method in methods
            if mine and (doc.body is not None or doc.query is not None):
                try:
                    kwargs.update(_checked_input(doc))
                except DomainError as err:
                    return domain_error_response(err)
            return view(*args, **kwargs)

        checked.api_docs = {**getattr(view, "api_docs", {}),  # type: ignore[attr-defined]
                            **{m: doc for m in (methods or ("*",))}}
        return checked

    return decorator


def _checked_input(doc: Doc) -> dict[str, Any]:
    given: dict[str, Any] = {}
    if doc.query is not None:
        check(doc.query, request.args.to_dict())
    if doc.body is not None and doc.validate:
        if doc.max_bytes and (request.content_length or 0) > doc.max_bytes:
            raise DomainError(f"请求体不能超过{doc.max_bytes // 1024}KB", code="too_large", status=413)
        data = json_body() if doc.body_required or request.get_data(cache=True) else {}
        given["body"] = check(doc.body, data)
    return given


# --- refusals in Chinese, naming the field -------------------------------------------------------------

#: Refusals of pydantic's own checks, by error type: the text after the field's name.
_SAID = {
    "string_type": "应为字符串", "int_type": "应为整数", "int_parsing": "应为整数", "bool_type": "应为true或false",
    "bool_parsing": "应为true或false", "float_type": "应为数字", "float_parsing": "应为数字", "list_type": "应为数组",
    "model_type": "应为JSON对象", "model_attributes_type": "应为JSON对象", "dict_type": "应为JSON对象",
    "int_from_float": "应为整数", "enum": "取值不在允许的范围内",
}
_CODES = {"missing": "missing_field", "extra_forbidden": "unknown_fields", "too_long": "too_many"}


def field_path(loc: tuple[Any, ...]) -> str:
    """("segments", 2, "text") → "segments[2].text"."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def check(model: type[BaseModel], data: Any) -> Any:
    """`data` checked against `model`: the model, or a 400 DomainError naming the (first) field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise refusal(model, err) from None


def refusal(model: type[BaseModel], err: ValidationError) -> DomainError:
    problems = err.errors(include_url=False)
    unknown = [field_path(p["loc"]) for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        allowed = "、".join(_fields_at(model, problems[0]["loc"][:-1]))
        return DomainError(f"未知字段：{'、'.join(unknown)}（可用字段：{allowed}）", code="unknown_fields", status=400,
                           field=unknown[0])
    first = problems[0]
    path = field_path(first["loc"])
    code = _CODES.get(first["type"], first["type"] if first["type"] in ("invalid_text",) else "bad_request")
    ctx = first.get("ctx") or {}
    if first["type"] == "missing":
        message = f"缺少字段：{path}"
    elif first["type"] == "too_long":
        message = f"{path}一次最多{ctx.get('max_length')}项"
    elif first["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = f"{path}超出允许的范围（{_bound(first['type'], ctx)}）"
    elif first["type"] == "string_too_long":
        message = f"{path}不能超过{ctx.get('max_length')}个字符"
    elif first["type"] == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = f"{path}应为{'、'.join(allowed)}之一"
    elif first["type"] in _SAID:
        message = f"{path}{_SAID[first['type']]}"
    elif first["type"] == "value_error":
        message = f"{path}：{str(ctx.get('error', first['msg']))}" if path else str(ctx.get("error", first["msg"]))
    else:  # our own checks (PydanticCustomError) say it in Chinese after the field's name
        message = f"{path}{first['msg']}"
    return DomainError(message, code=code, status=400, field=path or None)


def _bound(kind: str, ctx: Mapping[str, Any]) -> str:
    words = {"greater_than_equal": "不小于", "less_than_equal": "不大于", "greater_than": "大于", "less_than": "小于"}
    limit = next(iter(ctx.values()), "")
    return f"应{words[kind]}{limit}"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the object at `loc` inside `model` (to list with an unknown field)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# --- the document ------------------------------------------------------------------------------------

_INFO = {"title": "热线坐席助手 API", "version": "1.0.0",
         "description": ("来电、工单（首派责任制）、知识库审核、抽查与统计。用 `flask --app app users token NAME` 取得令牌，"
                         "以 `Authorization: Bearer TOKEN` 调用；本站网页以登录会话调用，须带 X-CSRFToken。"
                         "错误统一为 `{\"error\": {\"code\", \"message\", \"field\"}}`，field指明出错的字段"
                         "（如 segments[2].text）。改变数据的请求（POST）可带 Idempotency-Key：重试得到第一次的回答，"
                         "只办一次。时间均为北京时间（+08:00）。本文档由各接口的声明生成。")}

_ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "example": "stale_version"},
        "message": {"type": "string", "example": "工单已被他人修改，请刷新后重试"},
        "field": {"type": "string", "description": "出错的字段，如 segments[2].text"}}}}}

_IDEMPOTENCY = {"name": HEADER, "in": "header", "required": False,
                "schema": {"type": "string", "pattern": KEY_PATTERN.pattern},
                "description": ("客户端为每次操作生成的唯一键（1至100个可见ASCII字符）：网络中断后带同一键重试，"
                                "得到第一次的回答，不会重复办理；同一键用于不同请求返回422")}

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


def document(app: Flask, server: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every /api/v1/ route, from the declarations on their views."""
    schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        docs = getattr(app.view_functions[rule.endpoint], "api_docs", {})
        for path, params in _paths(rule.rule[len(PREFIX):]):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                doc = docs.get(method) or docs.get("*")
                if doc is None:
                    continue
                operation = _operation(doc, method, schemas)
                if params:
                    operation["parameters"] = params + operation.get("parameters", [])
                paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": _INFO,
        "servers": [{"url": f"{server}{PREFIX}"}],
        "security": [{"bearer": []}, {"session": [], "csrf": []}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API令牌（flask --app app users token NAME）"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session", "description": "本站网页的登录会话"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                     "description": "网页会话调用接口时必带，取自页面"}}, "schemas": schemas},
        "paths": paths,
    }


def _paths(rule: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """A Flask rule as OpenAPI paths and their path parameters: `<int:call_id>` → `{id}` (the rule's one
    identifier), `<any(a, b):event>` → one path per choice."""
    found = list(_CONVERTER.finditer(rule))
    ids = [m for m in found if m["name"].endswith("_id")]
    results: list[tuple[str, list[dict[str, Any]]]] = [("", [])]
    at = 0
    for match in found:
        literal = rule[at:match.start()]
        at = match.end()
        if match["conv"] == "any":
            choices = [c.strip().strip("'\"") for c in match["args"].split(",")]
            results = [(p + literal + c, ps) for p, ps in results for c in choices]
            continue
        name = "id" if len(ids) == 1 and match in ids else match["name"]
        param = {"name": name, "in": "path", "required": True,
                 "schema": {"type": "integer"} if match["conv"] == "int" else {"type": "string"}}
        results = [(p + literal + "{" + name + "}", [*ps, param]) for p, ps in results]
    return [(p + rule[at:], ps) for p, ps in results]


def _schema_of(model: type[BaseModel], schemas: dict[str, Any], mode: str, *, inline: bool = False) -> dict[str, Any]:
    """`model`'s schema (`inline`, as request bodies are shown) or a reference to it in components/schemas;
    the models it nests are moved there either way."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
    for name, nested in [*schema.pop("$defs", {}).items(), *([] if inline else [(model.__name__, schema)])]:
        if schemas.setdefault(name, nested) != nested:
            raise ValueError(f"two different models are named {name}: rename one")
    return schema if inline else {"$ref": f"#/components/schemas/{model.__name__}"}


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: a query string is never null."""
    schema = {k: v for k, v in prop.items() if k not in ("title", "description", "anyOf")}
    choices = [c for c in prop.get("anyOf", ()) if c.get("type") != "null"]
    if schema.get("default") is None:
        schema.pop("default", None)
    return {**schema, **choices[0]} if len(choices) == 1 else {**schema, **({"anyOf": choices} if choices else {})}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(doc: Doc, method: str, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": doc.summary, "tags": list(doc.tags)}
    if doc.description:
        operation["description"] = doc.description
    if doc.public:
        operation["security"] = []
    parameters: list[dict[str, Any]] = []
    if doc.query is not None:
        for name, info in doc.query.model_fields.items():
            prop = doc.query.model_json_schema(mode="validation")["properties"][info.alias or name]
            parameters.append({"name": info.alias or name, "in": "query", "required": info.is_required(),
                               "schema": _not_null(prop),
                               **({"description": info.description} if info.description else {})})
    if method in CHANGING:
        parameters.append(_IDEMPOTENCY)
    if parameters:
        operation["parameters"] = parameters
    if doc.upload is not None:
        media, schema = doc.upload
        operation["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
    elif doc.body is not None:
        operation["requestBody"] = {"required": doc.body_required, "content": {"application/json": {
            "schema": _schema_of(doc.body, schemas, "validation", inline=True)}}}
    responses: dict[str, Any] = {}
    for status, answer in sorted(doc.responses.items()):
        model, description = answer if isinstance(answer, tuple) else (answer, "成功")
        if isinstance(model, str):
            responses[str(status)] = {"description": description, "content": {model: {"schema": {"type": "string"}}}}
        else:
            responses[str(status)] = _json(_schema_of(model, schemas, "serialization"), description)
    for status, text in sorted(doc.errors.items()):
        responses.setdefault(str(status), _json({"$ref": "#/components/schemas/Error"}, text))
    operation["responses"] = responses
    return operation
