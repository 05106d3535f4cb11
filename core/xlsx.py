"""Writing workbooks: one look for every export (bold shaded header row, column widths, frozen header),
and no cell a spreadsheet program would run as a formula."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

#: The media type of an .xlsx workbook (downloads, export kinds, attachments).
MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")

#: A text starting with one of these (after spaces) is run as a formula by Excel, WPS or LibreOffice
#: when opened or edited (OWASP "CSV injection"); the full-width forms are converted by Chinese input.
FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")


def formula_like(value: Any) -> bool:
    """True for a string a spreadsheet would take as a formula; numbers, even negative ones, are not."""
    return isinstance(value, str) and value.lstrip(" \u3000")[:1] in FORMULA_START


def new_workbook() -> Workbook:
    """A workbook without openpyxl's default empty sheet."""
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def add_sheet(wb: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              widths: Sequence[float] = (), default_width: float = 14, freeze: str = "A2",
              wrap: bool = False) -> Worksheet:
    """A sheet with a styled header; `widths` give the first columns' widths, the rest get `default_width`."""
    ws = wb.create_sheet(title)
    append_row(ws, header)
    for row in rows:
        append_row(ws, row)
    for col in range(1, len(header) + 1):
        cell = ws.cell(row=1, column=col)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        ws.column_dimensions[get_column_letter(col)].width = widths[col - 1] if col <= len(widths) else default_width
    if wrap:
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = freeze
    return ws


def append_row(ws: Worksheet, values: Sequence[Any]) -> None:
    """Append a row with every string stored as text: openpyxl would store "=…" as a formula, and a
    quote-prefixed cell stays text when someone edits it in Excel. Numbers stay numbers."""
    ws.append(list(values))
    row = ws.max_row
    for col, value in enumerate(values, start=1):
        if isinstance(value, str):
            cell = ws.cell(row=row, column=col)
            cell.data_type = "s"
            if formula_like(value):
                cell.quotePrefix = True


def to_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _stream_cell(ws: Any, value: Any, *, header: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, even "=…"
        if formula_like(value):
            cell.quotePrefix = True
    if header:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
    return cell


def stream_sheet(out: IO[bytes], title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 widths: Sequence[float] = (), progress: Callable[[int], None] | None = None) -> int:
    """A one-sheet workbook written row by row (openpyxl's write-only mode: memory stays flat however many
    rows), with the same look as `add_sheet`; returns the rows written. `progress` hears the count every
    500 rows."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    ws.append([_stream_cell(ws, h, header=True) for h in header])
    count = 0
    for row in rows:
        # A plain value is written as it is (a string as text) unless a spreadsheet would run it: only those
        # need a cell object of their own (building one per value doubled the time).
        ws.append([_stream_cell(ws, v) if formula_like(v) else v for v in row])
        count += 1
        if progress is not None and count % 500 == 0:
            progress(count)
    wb.save(out)
    return count
