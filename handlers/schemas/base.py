"""The building blocks of request and response models: strict bodies (one spelling per field, unknown
fields refused by name, types checked, null the same as absent) and the field types they share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError


class Body(BaseModel):
    """A strict request body: unknown fields refused, no coercion (12 is not a string, "1" not a number);
    a field given as null counts as not given."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class Answer(BaseModel):
    """A response: the fields it always has; it may carry more."""

    model_config = ConfigDict(extra="allow")


class Query(BaseModel):
    """Query parameters: strings as sent; parameters the route does not know are ignored."""

    model_config = ConfigDict(extra="ignore")


def _clean_text(value: Any, *, max_len: int, choices: tuple[str, ...], required: bool, int_ok: bool) -> str:
    if int_ok and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PydanticCustomError("bad_text", "应为字符串")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("invalid_text", "含有无效字符（不是有效的UTF-8文本）") from None
    text = value.strip()
    if required and not text:
        raise PydanticCustomError("bad_text", "不能为空")
    if max_len and len(text) > max_len:
        raise PydanticCustomError("bad_text", "不能超过{max_len}个字符", {"max_len": max_len})
    if choices and text not in choices:
        raise PydanticCustomError("bad_text", "应为{choices}之一", {"choices": "、".join(choices)})
    return text


def Text(max_len: int = 0, *, choices: tuple[str, ...] = (), required: bool = False, int_ok: bool = False,
         description: str | None = None) -> Any:
    """A string field, stripped; `required` ones may not be blank; `int_ok`: an integer is read as its digits."""
    schema: dict[str, Any] = {"type": "string"}
    if max_len:
        schema["maxLength"] = max_len
    if choices:
        schema["enum"] = list(choices)
    if int_ok:
        schema = {"anyOf": [schema, {"type": "integer"}]}
        description = description or "字符串；整数也接受，按其十进制数字处理"
    if description:
        schema["description"] = description
    return Annotated[str, PlainValidator(lambda v: _clean_text(v, max_len=max_len, choices=choices,
                                                               required=required, int_ok=int_ok)),
                     WithJsonSchema(schema)]


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PydanticCustomError("bad_time", "应为ISO 8601时间，如2026-11-23T09：00：00+08：00")
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("bad_time", "应为ISO 8601时间，如2026-11-23T09：00：00+08：00") from None
    if at.tzinfo is None:
        raise PydanticCustomError("bad_time", "须带时区，如+08：00或Z")
    return at.astimezone(UTC)


#: A moment with its offset (ISO 8601), kept in UTC.
Time = Annotated[datetime, PlainValidator(_time), WithJsonSchema(
    {"type": "string", "format": "date-time", "example": "2026-11-23T09:00:00+08:00"})]

#: A moment as the API shows it: Beijing time with its offset.
LocalTime = Annotated[str, Field(json_schema_extra={"format": "date-time", "example": "2026-11-23T09:00:00+08:00"})]


def Count(high: int = 2**31 - 1, *, description: str | None = None) -> Any:
    """A whole number from 0 to `high` (true and false are not numbers)."""
    return Annotated[int, Field(strict=True, ge=0, le=high, description=description)]


class Person(Answer):
    id: int
    name: str
    unit_id: int | None = None


#: A JSON object whose fields this document does not list.
class Plain(Answer):
    pass


class Loose(BaseModel):
    """A request body the view reads itself (friendly spellings and aliases a strict model would refuse):
    declared for the document, fields beyond these ignored or read by name."""

    model_config = ConfigDict(extra="allow")
