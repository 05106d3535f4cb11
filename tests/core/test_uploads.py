"""Uploads within limits: workbooks checked as archives before parsing, sheets read to a cap, safe names."""

import re
import time
import tracemalloc

import pytest

from core import uploads
from tests.builders import (
    bomb_workbook,
    forged_dimension_workbook,
    many_member_workbook,
    padded_workbook,
    within,
    workbook_bytes,
)

LIMITS = uploads.SheetLimits(max_unpacked_bytes=20 * 1024 * 1024, max_rows=100, max_columns=20)
ROWS = [["编号", "名称"], ["1", "低保"]]


def _refusal(content: bytes) -> tuple[str, float, int]:
    """The refusal message, the seconds it took and the peak bytes Python allocated meanwhile."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(uploads.UploadError) as refused:
            uploads.read_sheet(content, LIMITS, "Sheet")
        return refused.value.message, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_workbook_that_unpacks_to_hundreds_of_megabytes_is_refused_unread():
    content = bomb_workbook(ROWS, unpacked_mb=200)
    assert len(content) < 1024 * 1024
    message, seconds, peak = _refusal(content)
    assert "解压后过大" in message and "200MB" in message
    assert seconds < 1 and peak < 5 * 1024 * 1024


def test_workbook_compressed_far_beyond_any_real_sheet_is_refused():
    message, seconds, peak = _refusal(padded_workbook(ROWS, unpacked_mb=5))
    assert "压缩比异常" in message and seconds < 1 and peak < 5 * 1024 * 1024


def test_workbook_with_thousands_of_members_is_refused():
    message, _, _ = _refusal(many_member_workbook(ROWS, members=2000))
    assert "内部文件" in message


def test_file_that_is_no_zip_is_refused_with_a_chinese_message():
    message, _, _ = _refusal(b"PK\x03\x04 not really a workbook")
    assert "不是有效的xlsx" in message


def test_sheet_declaring_a1_to_xfd1048576_is_read_by_its_real_rows_quickly():
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with within(2):
            title, rows = uploads.read_sheet(forged_dimension_workbook(ROWS), LIMITS, "Sheet")
        seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [list(r[:2]) for r in rows[:2]] == ROWS and all(len(r) == LIMITS.max_columns for r in rows)
    assert not any(any(v not in (None, "", " ") for v in r) for r in rows[2:])
    assert len(rows) <= LIMITS.max_rows + 1
    assert seconds < 2 and peak < 20 * 1024 * 1024


def test_sheet_with_more_rows_than_the_cap_is_refused_naming_the_cap():
    content = workbook_bytes([["编号"]] + [[str(n)] for n in range(LIMITS.max_rows + 1)], title="热线")
    with pytest.raises(uploads.UploadError, match=re.escape("工作表“热线”行数过多（超过100行数据）")):
        uploads.read_sheet(content, LIMITS, "热线")
    rows = uploads.read_sheet(workbook_bytes([["编号"]] + [[str(n)] for n in range(LIMITS.max_rows)]), LIMITS,
                              "Sheet")[1]
    assert len(rows) == LIMITS.max_rows + 1


@pytest.mark.parametrize("raw, clean", [
    ("证明.pdf", "证明.pdf"),
    ("诊断\x00证明\r\n.pdf", "诊断证明.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\张三\\低保 材料.docx", "低保 材料.docx"),
    ('a"b<c>|d?.png', "a_b_c__d_.png"),
    ("照片\u202egnp.exe", "照片gnp.exe"),
    ("\x00\r\n", "附件"),
    ("...", "附件"),
])
def test_file_names_keep_chinese_and_lose_controls_and_separators(raw, clean):
    assert uploads.safe_filename(raw) == clean


def test_long_file_name_is_cut_keeping_its_extension():
    name = uploads.safe_filename("材料" * 200 + ".xlsx")
    assert len(name) == uploads.MAX_FILENAME and name.startswith("材料材料") and name.endswith(".xlsx")


def test_content_disposition_carries_the_name_percent_encoded_and_an_ascii_fallback():
    header = uploads.content_disposition('证明\r\n"; x=1.pdf')
    assert header == ("attachment; filename=\"x_1.pdf\"; "
                      "filename*=UTF-8''%E8%AF%81%E6%98%8E_%3B%20x%3D1.pdf")
    assert uploads.content_disposition("report.pdf") == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf")
