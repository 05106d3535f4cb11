"""Writing CSV exports: UTF-8 with a BOM (so Excel reads the Chinese), and no cell run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from core.xlsx import formula_like


def cell(value: Any) -> Any:
    """A string a spreadsheet would run as a formula gets a leading single quote (OWASP's advice for CSV,
    which has no cell types); numbers, even negative ones, stay numbers."""
    return "'" + value if formula_like(value) else value


def to_text(rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")
    csv.writer(buf).writerows([cell(v) for v in row] for row in rows)
    return buf.getvalue()
