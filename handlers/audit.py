"""The audit page: the trail as people read it, filtered and paged, and its CSV and xlsx exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for

from audit import export, labels, present, services
from composition import AUDIT_VALUE_LABELS as VALUE_LABELS
from core import clock, exports
from core.errors import DomainError
from handlers import exports as exports_view
from handlers.common import actor, now, roles_required, writes

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50
FILTERS = ("person", "unit", "entity_type", "entity_id", "action", "from", "to")

#: Where each kind of record is shown: entity type → (endpoint, its id argument, whether the id is a number).
RECORD_PAGES: dict[str, tuple[str, str | None, bool]] = {
    "ticket": ("tickets.show", "ticket_id", True), "user": ("accounts.user", "user_id", True),
    "unit": ("units.edit", "unit_id", True), "kb_entry": ("kb.entry", "entry_id", False),
    "hotline": ("spotchecks.hotline_edit", "hotline_id", True), "mystery_call": ("spotchecks.call", "call_id", True),
    "spotcheck_item": ("spotchecks.log", "item_id", True),
    "rectification": ("spotchecks.rectification", "rect_id", True),
    "summons": ("spotchecks.summons", "summons_id", True), "notice": ("spotchecks.notice", "notice_id", True),
    "call": ("tickets.calls", None, True), "kb_parameter": ("kb.parameters", None, False),
    "kb_synonym": ("kb.synonyms", None, False), "workday_override": ("calendar.index", None, False),
    "deadline_policy": ("presets.index", None, False),
    "deadline_preset": ("presets.edit", "preset_id", True), "spotcheck_plan": ("spotchecks.plan", None, False),
}


def record_url(entity_type: str, entity_id: str) -> str | None:
    """The page of the record an event is about, where it has one."""
    target = RECORD_PAGES.get(entity_type)
    if target is None or not entity_id:
        return None
    endpoint, arg, numeric = target
    if arg is None:
        return url_for(endpoint)
    if numeric and not entity_id.isdigit():
        return None
    return url_for(endpoint, **{arg: int(entity_id) if numeric else entity_id})


def _date(name: str, label: str) -> datetime | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return clock.local_to_utc(datetime.strptime(raw, "%Y-%m-%d"))
    except ValueError:
        raise DomainError(f"{label}格式应为“年-月-日”，例如 2026-11-23", status=400) from None


def _number(name: str, label: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw or raw == "system":
        return None
    if not raw.isdigit():
        raise DomainError(f"{label}无效：{raw[:20]}", status=400)
    return int(raw)


def _filter() -> services.EventFilter:
    start, end = _date("from", "开始日期"), _date("to", "结束日期")
    if start and end and end < start:
        raise DomainError("结束日期早于开始日期", status=400)
    return services.EventFilter(
        actor_id=_number("person", "操作人"), system=request.args.get("person") == "system",
        unit_id=_number("unit", "单位"), entity_type=request.args.get("entity_type", "").strip(),
        entity_id=request.args.get("entity_id", "").strip()[:64], action=request.args.get("action", "").strip(),
        start=start, end=end + timedelta(days=1) if end else None)


def _query() -> dict[str, str]:
    """The filter as given (non-empty), without the paging: pager and export links add their own."""
    return {k: v for k in FILTERS if (v := request.args.get(k, "").strip())}


def _page(**context: Any) -> str:
    people, units = present.filter_choices()
    return render_template("audit/index.html", query=_query(), args=request.args, people=people, units=units,
                           actions=labels.ACTIONS, entities=labels.ENTITIES, record_url=record_url, **context)


@bp.route("/")
@roles_required("admin", "supervisor")
def index():
    try:
        flt = _filter()
        before, after = _number("before", "页码"), _number("after", "页码")
    except DomainError as err:
        return _page(page=None, views=[], error=err.message), 400
    page = services.page_of_events(flt, before=before, after=after, size=PAGE)
    views = present.Reader(VALUE_LABELS, text_limit=300).read(page.events)
    return _page(page=page, views=views, error="")


@bp.route("/export.<fmt>")
@writes
@roles_required("admin", "supervisor")
def export_file(fmt: str):
    if fmt not in export.FORMATS:
        return _page(page=None, views=[], error="导出格式只有 CSV 和 Excel（xlsx）两种"), 404
    try:
        flt = _filter()
    except DomainError as err:
        return _page(page=None, views=[], error=err.message), 400
    asked = exports.request_export(actor=actor(), now=now(), kind=f"audit_{fmt}", params={"filter": flt})
    return exports_view.deliver(asked)
