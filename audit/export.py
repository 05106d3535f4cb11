"""The audit trail's exports, CSV and xlsx, with the audit page's labels, written a chunk at a time.

Each export is recorded first (`services.start_export`), in the request's transaction; the rows are then
read after that commit, in a read-only transaction of their own (no write lock held while a large export
streams), up to the export's own event, so the file holds exactly the rows the audit event says.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from audit import services
from audit.present import EventView, Reader
from core import db
from core.csvfile import cell as csv_cell
from core.xlsx import HEADER_FILL, formula_like

HEADER = ["序号", "时间（北京时间）", "操作人", "所属单位", "角色", "操作", "对象类型", "对象编号", "变更内容",
          "来源", "客户端地址", "请求编号", "校验码"]
WIDTHS = [8, 20, 16, 24, 12, 16, 14, 12, 60, 18, 16, 34, 66]
FORMATS = ("csv", "xlsx")


def row(view: EventView) -> list[Any]:
    return [view.seq, view.local_time, view.who, view.unit, view.role, view.action_label, view.entity_label,
            view.entity_id, view.changes_text(), view.origin, view.client_addr, view.request_id, view.hash]


def _views(flt: services.EventFilter, before: int, reader: Reader) -> Iterator[list[EventView]]:
    """The events to export, read in a read-only transaction begun after the request's commit."""
    db.read_only(db.session)
    try:
        for chunk in services.iter_events(flt, before=before):
            yield reader.read(chunk)
    finally:
        db.session.rollback()


def csv_chunks(flt: services.EventFilter, before: int, reader: Reader) -> Iterator[str]:
    """UTF-8 CSV with a BOM (Excel reads the Chinese), a chunk of rows per piece, no cell run as a formula."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(HEADER)
    for views in _views(flt, before, reader):
        writer.writerows([csv_cell(v) for v in row(view)] for view in views)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def _cell(ws: Any, value: Any, *, header: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, even "=…"
        if formula_like(value):
            cell.quotePrefix = True
    if header:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
    return cell


def xlsx_chunks(flt: services.EventFilter, before: int, reader: Reader, *, piece: int = 64 * 1024) -> Iterator[bytes]:
    """An xlsx workbook written row by row (openpyxl's write-only mode, memory flat) into a temporary file,
    then sent in pieces."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计日志")
    for index, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, h, header=True) for h in HEADER])
    for views in _views(flt, before, reader):
        for view in views:
            ws.append([_cell(ws, v) for v in row(view)])
    with tempfile.TemporaryFile() as out:
        wb.save(out)
        out.seek(0)
        while data := out.read(piece):
            yield data
