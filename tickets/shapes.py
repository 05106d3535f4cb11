"""Strict JSON shapes of the call events API: one spelling per field, unknown fields refused by name,
types checked, every refusal a 400 naming the field (segments[2].text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tickets.validation import TicketError


class ShapeError(TicketError):
    status = 400
    code = "bad_request"


@dataclass(frozen=True)
class Field:
    #: "str", "int", "bool", "time" (ISO 8601 with its offset), "strs" (a list of strings) or "list"
    #: (of objects shaped `item`).
    kind: str
    required: bool = False
    max_len: int = 0
    low: int = 0
    high: int = 2**31 - 1
    choices: tuple[str, ...] = ()
    item: dict[str, Field] | None = None
    max_items: int = 0
    #: An integer is also taken for a string field and read as its decimal digits (ASR segment ids).
    int_ok: bool = False


def parse(data: Any, fields: dict[str, Field], where: str = "") -> dict[str, Any]:
    """`data` checked against `fields`: the values by name (None for an optional field not given)."""
    if not isinstance(data, dict):
        raise ShapeError(f"{where or '请求体'}应为JSON对象", field=where or None)
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ShapeError(f"未知字段：{'、'.join(_path(where, k) for k in unknown)}（可用字段：{'、'.join(fields)}）",
                         code="unknown_fields", field=_path(where, unknown[0]))
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        path = _path(where, name)
        value = data.get(name)
        if value is None:
            if spec.required:
                raise ShapeError(f"缺少字段：{path}", code="missing_field", field=path)
            out[name] = None
            continue
        out[name] = _value(value, spec, path)
    return out


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _value(value: Any, spec: Field, path: str) -> Any:
    if spec.kind == "str":
        if spec.int_ok and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ShapeError(f"{path}应为字符串", field=path)
        text = check_text(value, path).strip()
        if spec.required and not text:
            raise ShapeError(f"{path}不能为空", field=path)
        if spec.max_len and len(text) > spec.max_len:
            raise ShapeError(f"{path}不能超过{spec.max_len}个字符", field=path)
        if spec.choices and text not in spec.choices:
            raise ShapeError(f"{path}应为{'、'.join(spec.choices)}之一", field=path)
        return text
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(f"{path}应为整数", field=path)
        if not spec.low <= value <= spec.high:
            raise ShapeError(f"{path}应在{spec.low}到{spec.high}之间", field=path)
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ShapeError(f"{path}应为true或false", field=path)
        return value
    if spec.kind == "time":
        return parse_time(value, path)
    if spec.kind == "strs":
        if not isinstance(value, list):
            raise ShapeError(f"{path}应为字符串数组", field=path)
        if spec.max_items and len(value) > spec.max_items:
            raise ShapeError(f"{path}最多{spec.max_items}项", code="too_many", field=path)
        return [_value(item, Field("str", max_len=spec.max_len), f"{path}[{i}]") for i, item in enumerate(value)]
    if spec.kind == "list":
        if not isinstance(value, list):
            raise ShapeError(f"{path}应为数组", field=path)
        if spec.max_items and len(value) > spec.max_items:
            raise ShapeError(f"{path}一次最多{spec.max_items}项", code="too_many", field=path)
        return [parse(item, spec.item or {}, f"{path}[{i}]") for i, item in enumerate(value)]
    raise AssertionError(spec.kind)


def check_text(value: str, path: str) -> str:
    """Text a database can store: no lone surrogates ("\\ud800" in JSON is not UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ShapeError(f"{path}含有无效字符（不是有效的UTF-8文本）", code="invalid_text", field=path) from None
    return value


def parse_time(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise ShapeError(f"{path}应为ISO 8601时间，如2026-11-23T09：00：00+08：00", field=path)
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ShapeError(f"{path}应为ISO 8601时间，如2026-11-23T09：00：00+08：00", field=path) from None
    if at.tzinfo is None:
        raise ShapeError(f"{path}须带时区，如+08：00或Z", field=path)
    return at.astimezone(UTC)
