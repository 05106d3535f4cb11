"""How an event's changes read: labels for fields and codes, people and units by name, times in Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime

from audit import services as audit
from audit.present import Change, Reader
from core import clock
from tests.builders import make_user, some_unit


def _read(changes: dict, entity_type: str = "ticket", labels: dict | None = None, **kwargs) -> list[str]:
    ev = audit.record("update", entity_type, 1, actor=None, now=clock.now(), changes=changes)
    return [c.text() for c in Reader(labels, **kwargs).read([ev])[0].changes]


def test_a_change_reads_field_old_to_new_and_a_new_record_its_values(db):
    assert Change("状态", "待签收", "待派单").text() == "状态：待派单 → 待签收"
    assert _read({"before": {"active": True}, "after": {"active": False}}, "user") == ["启用：是 → 否"]
    assert _read({"after": {"name": "紫来街道", "number": "0455-8331869"}}, "hotline") == [
        "热线名称：紫来街道", "电话号码：0455-8331869"]
    assert _read({"before": {"term": "低保", "canonical": "最低生活保障"}}, "kb_synonym") == [
        "词语：低保 → （删除）", "标准词：最低生活保障 → （删除）"]


def test_codes_people_units_times_and_lists_read_as_words(db):
    unit = some_unit("county")
    owner = make_user("caseworker", display_name="孙立", unit_id=unit.id)
    lines = _read({"before": {"state": "in_progress", "unit_id": None},
                   "after": {"state": "closed", "unit_id": unit.id},
                   "data": {"old_owner": {"id": owner.id, "name": "孙立", "unit_id": unit.id}},
                   "due_at": datetime(2026, 12, 1, 1, 30, tzinfo=UTC).isoformat(), "ids": [3, 4]},
                  labels={("ticket", "state"): {"in_progress": "办理中", "closed": "已办结"}})
    assert lines[0] == "状态：办理中 → 已办结"
    assert lines[1] == f"单位：（空） → {unit.full_name}"
    assert f"详情：原首派责任人：孙立（{unit.full_name}）" in lines
    assert "到期时间：2026-12-01 09:30" in lines and "编号：3、4" in lines


def test_an_export_names_its_filter_in_words(db):
    person = make_user("operator", display_name="钱七")
    assert _read({"filter": {"action": "close_out", "entity_type": "rectification", "actor_id": person.id},
                  "rows": 2}, "audit_event") == ["行数：2", "筛选条件：操作：销号；对象类型：整改；操作人：钱七"]


def test_long_text_is_cut_on_the_page_only(db):
    body = "通" * 400
    assert _read({"after": {"body": body}}, "notice", text_limit=300) == [f"正文：{'通' * 300}…"]
    assert _read({"after": {"body": body}}, "notice") == [f"正文：{body}"]
