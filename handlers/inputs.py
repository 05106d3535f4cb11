"""Input every request must pass before a handler sees it: no NUL characters, JSON of sane depth,
ids a database column can hold. Each refusal is a 400 with a message, never a 500 from the driver."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

#: The largest id a BIGINT (and SQLite's INTEGER) column holds.
MAX_ID = 2**63 - 1
MAX_JSON_DEPTH = 32


class BadInput(BadRequest):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: an id beyond what the database holds is a bad request, not a crash."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise BadInput("编号超出范围")
        return number


def _walk(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise BadInput(f"JSON嵌套超过{MAX_JSON_DEPTH}层")
    if isinstance(value, str):
        if "\x00" in value:
            raise BadInput("请求中含有无效字符（NUL）")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -MAX_ID - 1 <= value <= MAX_ID:
            raise BadInput("数值超出范围")
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, depth + 1)
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)


def check_request() -> None:
    """Refuse NUL characters in what a request may store (path, form fields, JSON) and JSON bodies too
    deep or out of range. Query strings are left to their handlers (a search cleans its query; a
    value that reaches the database anyway is a 400 through app._out_of_range)."""
    if "\x00" in request.path:
        raise BadInput("请求中含有无效字符（NUL）")
    view = current_app.view_functions.get(request.endpoint or "")
    if request.form and not getattr(view, "cleans_own_input", False):
        for key, values in request.form.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                raise BadInput("请求中含有无效字符（NUL）", field=key)
    if request.is_json and request.content_length != 0:
        raw = request.get_data(cache=True)
        if not raw:
            return
        try:
            # Parsed once, through Flask's cache: the handler's get_json() reuses this result.
            data = request.get_json(silent=True)
        except RecursionError:
            raise BadInput(f"JSON嵌套超过{MAX_JSON_DEPTH}层") from None
        if data is None:
            raise BadInput("请求体不是有效的JSON")
        _walk(data)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)
