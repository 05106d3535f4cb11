import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core import clock
from kb import services, transfer
from kb.models import EntryVersion


def _versions(db):
    return db.execute(select(func.count()).select_from(EntryVersion)).scalar_one()


def _xlsx_path(tmp_path, mutate=None, name="kb.xlsx"):
    content = transfer.export_xlsx(services.entries())
    if mutate:
        wb = load_workbook(io.BytesIO(content))
        mutate(wb.active)
        buf = io.BytesIO()
        wb.save(buf)
        content = buf.getvalue()
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _import(path):
    plan = transfer.plan_import(transfer.read_rows(path), path.name)
    return transfer.apply_import(plan, actor=None, now=clock.now())


def test_xlsx_export_then_import_is_a_no_op(db, tmp_path):
    before = _versions(db)
    plan = _import(_xlsx_path(tmp_path))
    assert plan.unchanged >= 100 and plan.created == plan.updated == 0 and _versions(db) == before


def test_yaml_export_then_import_is_a_no_op(db, tmp_path):
    transfer.export_yaml(services.entries(), tmp_path / "y")
    before = _versions(db)
    plan = _import(tmp_path / "y")
    assert plan.updated == 0 and _versions(db) == before


def test_jsonl_has_required_fields(db):
    import json

    lines = transfer.export_jsonl(services.entries(status="published")).splitlines()
    first = json.loads(lines[0])
    assert {"id", "category", "question", "similar", "keywords", "answer", "detail"} <= set(first)


def test_changed_row_imports_as_new_version(db, tmp_path):
    def edit(ws):
        ws["F3"] = "新的答复口径。第二句。"  # row 3 = second entry, column F = answer

    plan = _import(_xlsx_path(tmp_path, edit))
    assert plan.updated == 1 and services.get_entry("Q002").answer == "新的答复口径。第二句。"


@pytest.mark.parametrize("mutate, message", [
    (lambda ws: ws.__setitem__("F1", "回答"), "第1行F列:无法识别的列名“回答”"),
    (lambda ws: ws.__setitem__("A5", None), "第5行A列(编号):编号不能为空"),
    (lambda ws: ws.__setitem__("A5", "Q001"), "第5行A列:编号Q001重复"),
    (lambda ws: ws.__setitem__("F7", "  "), "第7行F列(答复口径):答复口径不能为空"),
    (lambda ws: ws.__setitem__("I9", "乡"), "第9行I列(层级):层级无效"),
])
def test_broken_xlsx_is_refused_naming_sheet_row_column_and_changes_nothing(db, tmp_path, mutate, message):
    before = _versions(db)
    answer = services.get_entry("Q006").answer

    def also_edit(ws):
        ws["F7"] = ws["F7"].value if "F7" in message else "本应不被导入的修改。"
        mutate(ws)

    with pytest.raises(transfer.ImportError_) as err:
        _import(_xlsx_path(tmp_path, also_edit))
    assert any(message in e and "工作表“知识库条目”" in e for e in err.value.errors), err.value.errors
    assert _versions(db) == before and services.get_entry("Q006").answer == answer


def test_missing_required_column_is_refused(db, tmp_path):
    with pytest.raises(transfer.ImportError_, match="缺少必填列:答复口径"):
        _import(_xlsx_path(tmp_path, lambda ws: ws.delete_cols(6)))


def test_non_xlsx_renamed_is_refused(db, tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"MZ\x90\x00 this is not a spreadsheet")
    with pytest.raises(transfer.ImportError_, match="不是有效的xlsx"):
        _import(path)


def test_ten_megabyte_file_is_refused(db, tmp_path):
    path = tmp_path / "big.xlsx"
    path.write_bytes(b"PK" + b"0" * (10 * 1024 * 1024))
    with pytest.raises(transfer.ImportError_, match="文件过大"):
        _import(path)


def test_empty_sheet_is_refused(db, tmp_path):
    wb = Workbook()
    path = tmp_path / "empty.xlsx"
    wb.save(path)
    with pytest.raises(transfer.ImportError_, match="表头"):
        _import(path)


def test_broken_yaml_is_refused(db, tmp_path):
    (tmp_path / "bad.yaml").write_text("id: Q001\nanswer: [unclosed", encoding="utf-8")
    with pytest.raises(transfer.ImportError_, match="不是有效的YAML"):
        _import(tmp_path / "bad.yaml")


def test_cli_import_of_broken_file_exits_non_zero_and_changes_nothing(runner, db, tmp_path):
    path = _xlsx_path(tmp_path, lambda ws: ws.__setitem__("F4", ""))
    before = _versions(db)
    result = runner.invoke(args=["kb", "import", str(path)])
    assert result.exit_code != 0 and "第4行F列" in result.output
    assert _versions(db) == before


def test_cli_export_jsonl_prints_published_entries(runner):
    result = runner.invoke(args=["kb", "export", "--jsonl"])
    assert result.exit_code == 0 and len(result.output.splitlines()) >= 100
