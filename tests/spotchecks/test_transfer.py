"""The hotline registry as xlsx: export, and an import that is validated and all-or-nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from spotchecks import hotlines, transfer
from spotchecks.models import Hotline
from tests.builders import bomb_workbook, forged_dimension_workbook, make_user, padded_workbook, within


def workbook_rows(data: bytes) -> list[list]:
    return [list(row) for row in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]


def to_bytes(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = transfer.SHEET
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def snapshot(db) -> list[tuple]:
    return [tuple(row) for row in db.execute(select(Hotline.id, Hotline.name, Hotline.number, Hotline.unit_id,
                                                    Hotline.active).order_by(Hotline.id))]


def test_export_lists_every_hotline_with_its_unit(db):
    rows = workbook_rows(transfer.export_xlsx(hotlines.hotlines()))
    assert rows[0][:6] == ["编号(新增留空)", "所属县(市、区)", "所属单位", "层级", "热线名称", "电话号码"]
    assert len(rows) == 184
    assert rows[1][1:3] == ["绥化市", "绥化市民政局"]


def test_reimporting_the_export_changes_nothing(db, frozen_now):
    before = snapshot(db)
    counts = transfer.import_xlsx(transfer.export_xlsx(hotlines.hotlines()), actor=make_user("admin"), now=frozen_now)
    assert counts == {"created": 0, "updated": 0, "unchanged": 183}
    assert snapshot(db) == before


def test_import_updates_and_adds_rows_and_may_swap_numbers(db, frozen_now):
    rows = workbook_rows(transfer.export_xlsx(hotlines.hotlines()))
    rows[2][5], rows[3][5] = rows[3][5], rows[2][5]  # two lines trade numbers
    rows[4][8] = "新联系人"
    rows.append(["", "北林区", "宝山镇", "", "北林区宝山镇第二救助热线", "0455-8330001", "08:30-17:00", "李四", "王五",
                 "副镇长", "在用"])
    counts = transfer.import_xlsx(to_bytes(rows), actor=make_user("admin"), now=frozen_now)
    assert counts == {"created": 1, "updated": 3, "unchanged": 180}
    assert db.get(Hotline, rows[2][0]).number == rows[2][5]
    added = db.execute(select(Hotline).where(Hotline.number == "0455-8330001")).scalar_one()
    assert (added.unit.name, added.level) == ("宝山镇", "township")


def test_a_duplicate_number_is_refused_naming_row_and_column_and_nothing_changes(db, frozen_now):
    before = snapshot(db)
    rows = workbook_rows(transfer.export_xlsx(hotlines.hotlines()))
    rows[5][8] = "会被丢弃的修改"
    rows[7][5] = rows[3][5]
    with pytest.raises(transfer.HotlineImportError) as caught:
        transfer.import_xlsx(to_bytes(rows), actor=make_user("admin"), now=frozen_now)
    assert caught.value.errors == [f"第8行「电话号码」列(F列):电话号码{rows[3][5]}与第4行重复"]
    assert snapshot(db) == before


def test_a_malformed_number_and_an_unknown_unit_are_both_reported(db, frozen_now):
    rows = workbook_rows(transfer.export_xlsx(hotlines.hotlines()))
    rows[10][5] = "0455-12"
    rows[12][2] = "不存在镇"
    with pytest.raises(transfer.HotlineImportError) as caught:
        transfer.import_xlsx(to_bytes(rows), actor=make_user("admin"), now=frozen_now)
    assert len(caught.value.errors) == 2
    assert caught.value.errors[0].startswith("第11行「电话号码」列(F列):电话号码格式不正确")
    assert caught.value.errors[1].startswith("第13行「所属单位」列(C列):")
    assert db.execute(select(func.count()).select_from(Hotline)).scalar_one() == 183


def test_a_number_clashing_with_a_hotline_not_in_the_file_is_refused(db, frozen_now):
    first = hotlines.hotlines()[0]
    rows = [[header for _, header in transfer.COLUMNS],
            ["", "北林区", "宝山镇", "", "新热线", first.number, "08:30-17:00", "", "", "", "在用"]]
    with pytest.raises(transfer.HotlineImportError, match="第2行「电话号码」列.*现有热线"):
        transfer.import_xlsx(to_bytes(rows), actor=None, now=frozen_now)


def test_a_file_that_is_not_a_workbook_is_refused(db, frozen_now):
    with pytest.raises(transfer.HotlineImportError, match="不是有效的xlsx"):
        transfer.import_xlsx(b"MZ\x90\x00 not a zip", actor=None, now=frozen_now)


def test_hostile_workbooks_are_refused_quickly_and_the_registry_is_unchanged(db, frozen_now):
    header = [[h for _, h in transfer.COLUMNS]]
    count = db.execute(select(func.count()).select_from(Hotline)).scalar_one()
    for content, words in ((bomb_workbook(header, title=transfer.SHEET), "解压后过大"),
                           (padded_workbook(header, title=transfer.SHEET), "压缩比异常")):
        with within(2), pytest.raises(transfer.HotlineImportError) as refused:
            transfer.import_xlsx(content, actor=make_user("admin"), now=frozen_now)
        assert words in refused.value.errors[0]
    assert db.execute(select(func.count()).select_from(Hotline)).scalar_one() == count


def test_workbook_declaring_a1_to_xfd1048576_imports_its_real_rows_quickly(db, frozen_now):
    rows = workbook_rows(transfer.export_xlsx(hotlines.hotlines()))
    with within(3):
        counts = transfer.import_xlsx(forged_dimension_workbook(rows, title=transfer.SHEET),
                                      actor=make_user("admin"), now=frozen_now)
    assert counts == {"created": 0, "updated": 0, "unchanged": len(rows) - 1}
