"""The audit page: filter the trail and export it as CSV."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, render_template, request

from audit import services
from core import clock, csvfile
from core.errors import DomainError
from handlers.common import actor, now, roles_required, writes

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 100


def _date(name: str, label: str) -> datetime | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return clock.local_to_utc(datetime.strptime(raw, "%Y-%m-%d"))
    except ValueError:
        raise DomainError(f"{label}格式应为 年-月-日,例如 2026-11-23", status=400) from None


def _query() -> dict[str, str]:
    """The filter as given, without the page number: the pager and export links add their own."""
    return {k: v for k, v in request.args.items() if k != "page"}


def _filter() -> services.EventFilter:
    end = _date("to", "结束日期")
    return services.EventFilter(
        actor=request.args.get("actor", "").strip(), entity_type=request.args.get("entity_type", ""),
        entity_id=request.args.get("entity_id", "").strip(), action=request.args.get("action", ""),
        start=_date("from", "开始日期"), end=end + timedelta(days=1) if end else None)


@bp.route("/")
@roles_required("admin", "supervisor")
def index():
    try:
        flt = _filter()
    except DomainError as err:
        return render_template("audit/index.html", events=[], total=0, error=err.message, page=1, pages=1,
                               args=request.args, query=_query(), entity_types=services.distinct_values("entity_type"),
                               actions=services.distinct_values("action")), 400
    page = max(1, request.args.get("page", 1, type=int) or 1)
    events, total = services.find_events(flt, limit=PAGE, offset=(page - 1) * PAGE)
    return render_template("audit/index.html", events=events, total=total, page=page,
                           pages=max(1, (total + PAGE - 1) // PAGE), args=request.args, query=_query(),
                           entity_types=services.distinct_values("entity_type"),
                           actions=services.distinct_values("action"))


@bp.route("/export.csv")
@writes
@roles_required("admin", "supervisor")
def export():
    rows = services.export_rows(_filter(), actor=actor(), now=now())
    stamp = clock.to_local(now()).strftime("%Y%m%d-%H%M")
    return Response(csvfile.to_text(rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=audit-{stamp}.csv"})
