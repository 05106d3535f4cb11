"""Writing workbooks: one look for every export (bold shaded header row, column widths, frozen header)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")


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
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
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


def to_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
