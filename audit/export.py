"""The audit trail's exports, CSV and xlsx, with the audit page's labels, written a chunk at a time.

Each export is recorded first (`services.start_export`) and holds the events before its own, so the file
holds exactly the rows the audit event says. Up to EXPORT_INLINE_ROWS events are written in the request;
more are written in the background by a scheduler, in a read-only transaction (core.exports).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from audit import services
from audit.present import EventView, Reader
from core.csvfile import cell as csv_cell
from core.exports import Kind, Progress
from core.models import User
from core.xlsx import MIMETYPE as XLSX
from core.xlsx import stream_sheet

HEADER = ["序号", "时间（北京时间）", "操作人", "所属单位", "角色", "操作", "对象类型", "对象编号", "变更内容",
          "来源", "客户端地址", "请求编号", "校验码"]
WIDTHS = [8, 20, 16, 24, 12, 16, 14, 12, 60, 18, 16, 34, 66]
FORMATS = ("csv", "xlsx")


def row(view: EventView) -> list[Any]:
    return [view.seq, view.local_time, view.who, view.unit, view.role, view.action_label, view.entity_label,
            view.entity_id, view.changes_text(), view.origin, view.client_addr, view.request_id, view.hash]


def _chunks(flt: services.EventFilter, before: int, reader: Reader) -> Iterator[list[EventView]]:
    for chunk in services.iter_events(flt, before=before):
        yield reader.read(chunk)


def _csv_pieces(views: Iterator[list[EventView]], progress: Progress | None = None) -> Iterator[str]:
    """UTF-8 CSV with a BOM (Excel reads the Chinese), a chunk of rows per piece, no cell run as a formula."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(HEADER)
    count = 0
    for chunk in views:
        writer.writerows([csv_cell(v) for v in row(view)] for view in chunk)
        count += len(chunk)
        if progress is not None:
            progress(count)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def _write_xlsx(views: Iterator[list[EventView]], out: IO[bytes], progress: Progress | None = None) -> int:
    rows = (row(view) for chunk in views for view in chunk)
    return stream_sheet(out, "审计日志", HEADER, rows, widths=WIDTHS, progress=progress)


def _filter_of(params: dict[str, Any]) -> services.EventFilter:
    values = dict(params.get("filter", {}))
    for key in ("start", "end"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    return services.EventFilter(**values)


def _prepare(fmt: str):
    def prepare(params: dict[str, Any], viewer: User, now: datetime) -> tuple[dict[str, Any], int]:
        flt = params["filter"]
        upto, total = services.start_export(flt, fmt=fmt, actor=viewer, now=now)
        plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in flt.__dict__.items()}
        return {"filter": plain, "before": upto}, total
    return prepare


def kinds(value_labels: dict) -> list[Kind]:
    """The audit trail's two exports, showing the areas' codes with `value_labels` (composition's)."""

    def write_csv(params: dict[str, Any], _viewer: User, _now: datetime, out: IO[bytes], progress: Progress) -> int:
        count = 0

        def counted(rows: int) -> None:
            nonlocal count
            count = rows
            progress(rows)
        chunks = _chunks(_filter_of(params), params["before"], Reader(value_labels))
        for piece in _csv_pieces(chunks, counted):
            out.write(piece.encode("utf-8"))
        return count

    def write_xlsx(params: dict[str, Any], _viewer: User, _now: datetime, out: IO[bytes], progress: Progress) -> int:
        return _write_xlsx(_chunks(_filter_of(params), params["before"], Reader(value_labels)), out, progress)

    return [Kind("audit_csv", "审计日志", "csv", "text/csv; charset=utf-8", ("admin", "supervisor"), _prepare("csv"),
                 write_csv),
            Kind("audit_xlsx", "审计日志", "xlsx", XLSX, ("admin", "supervisor"), _prepare("xlsx"), write_xlsx)]
