"""The audit page as a supervisor reads it: labels, people by name and unit, changes, links, filters,
paging, and the CSV and xlsx exports with the same labels."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from audit import services as audit
from core import clock
from tests.builders import FORMULA_VALUES, make_user, some_unit


def _events(n, entity_type="spotcheck_item", action="move"):
    for i in range(n):
        audit.record(action, entity_type, i, actor=None, now=clock.now())


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr>\s*<td data-label=\"时间\">.*?</tr>", html, flags=re.S)


def _table(html: str) -> str:
    """The rows' text, without the filter form's option labels."""
    return re.sub(r"<[^>]+>", "", "".join(_rows(html)))


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_paging_walks_back_and_forth_keeping_the_filter(client, login, db):
    login("supervisor")
    _events(120)
    _events(3, entity_type="summons", action="hold")
    db.commit()
    first = client.get("/audit/?entity_type=spotcheck_item").get_data(as_text=True)
    assert "共 120 条，本页为第 1–50 条" in first and len(_rows(first)) == 50
    older = re.search(r'href="(/audit/\?before=\d+&amp;entity_type=spotcheck_item)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert "本页为第 51–100 条" in second and "调整抽查时间" in _table(second) and "约谈" not in _table(second)
    third = client.get(re.search(r'href="(/audit/\?before=\d+[^"]*)"', second).group(1).replace("&amp;", "&"))
    third = third.get_data(as_text=True)
    assert "本页为第 101–120 条" in third and len(_rows(third)) == 20 and "下一页（较早）" not in third
    back = re.search(r'href="(/audit/\?after=\d+[^"]*)"', third).group(1).replace("&amp;", "&")
    assert "本页为第 51–100 条" in client.get(back).get_data(as_text=True)
    # events added while paging do not shift a page
    _events(5)
    db.commit()
    assert "本页为第 56–105 条" in client.get(older).get_data(as_text=True)


def test_people_are_named_with_their_unit_and_the_system_is_labelled(client, login, db):
    supervisor = login("supervisor", display_name="周督查")
    unit = some_unit("county")
    worker = make_user("caseworker", display_name="王秀兰", unit_id=unit.id)
    audit.record("update", "hotline", 7, actor=worker, now=clock.now(), changes={"before": {"number": "0455-1"},
                                                                                  "after": {"number": "0455-2"}})
    with audit.origin("job:deadline_warnings", "scheduler"):
        audit.record("overdue", "rectification", 3, actor=None, now=clock.now())
    with audit.origin("cli:init", "cli"):
        audit.record("seed", "deadline_policy", "", actor=None, now=clock.now(), changes={"rows": 4})
    db.commit()
    html = client.get("/audit/").get_data(as_text=True)
    table = _table(html)
    assert "王秀兰" in table and unit.full_name in table and "承办人员" in table
    who = re.findall(r'<td data-label="操作人">(.*?)</td>', html, flags=re.S)
    assert who and not any(name in cell for cell in who for name in (worker.username, supervisor.username))
    assert any(supervisor.display_name in cell for cell in who)  # the supervisor's own log-in, by name
    assert "系统（定时任务）" in table and "系统（命令行）" in table and "定时任务 deadline_warnings" in table
    assert all(words in table for words in ("超期", "整改", "初始化", "办理时限规则", "登录"))


def test_changes_read_field_old_to_new_with_chinese_labels_and_values(client, login, db):
    login("admin")
    owner = make_user("caseworker", display_name="李建国")
    audit.record("dispatch", "ticket", 5, actor=None, now=clock.now(), changes={
        "before": {"state": "pending_dispatch", "first_owner_id": None},
        "after": {"state": "pending_accept", "first_owner_id": owner.id}, "number": "GD-1"})
    db.commit()
    html = client.get("/audit/?entity_type=ticket").get_data(as_text=True)
    text = _table(html)
    assert "状态：待派单 → 待签收" in text
    assert re.search(r"首派责任人：（空） → 李建国（[^）]+）", text)
    assert "编号：GD-1" in text and "派单" in text
    assert "pending_accept" not in text and "first_owner_id" not in text and "{&#34;" not in html


def test_each_event_links_to_its_record_and_to_its_other_events(client, login, db):
    login("supervisor")
    audit.record("close", "ticket", 42, actor=None, now=clock.now())
    audit.record("publish", "notice", 9, actor=None, now=clock.now())
    audit.record("update", "kb_entry", "Q007", actor=None, now=clock.now())
    db.commit()
    html = client.get("/audit/").get_data(as_text=True)
    assert 'href="/tickets/42"' in html and 'href="/spotchecks/notices/9"' in html and 'href="/kb/Q007"' in html
    assert 'href="/audit/?entity_type=ticket&amp;entity_id=42"' in html


def test_filters_by_person_unit_entity_action_and_dates(client, login, db):
    login("supervisor")
    unit = some_unit("county")
    alice = make_user("caseworker", display_name="甲某", unit_id=unit.id)
    bob = make_user("operator", display_name="乙某")
    now = clock.now()
    audit.record("update", "hotline", 1, actor=alice, now=now - timedelta(days=10))
    audit.record("close", "ticket", 2, actor=alice, now=now)
    audit.record("close", "ticket", 3, actor=bob, now=now)
    db.commit()

    def seqs(query: str) -> set[str]:
        html = client.get(f"/audit/?{query}").get_data(as_text=True)
        return set(re.findall(r'entity_id=(\d+)"', html))

    assert seqs(f"person={alice.id}") == {"1", "2"}
    assert seqs(f"unit={unit.id}&entity_type=ticket") == {"2"}
    assert seqs("action=close&entity_type=ticket") == {"2", "3"}
    day = clock.to_local(now).date()
    assert seqs(f"person={alice.id}&from={day - timedelta(days=1)}&to={day}") == {"2"}
    assert seqs(f"person={alice.id}&to={day - timedelta(days=5)}") == {"1"}
    assert seqs(f"person={bob.id}") == {"3"}
    assert seqs("person=system&entity_type=ticket") == set()


def test_a_bad_filter_is_told_in_chinese(client, login):
    login("supervisor")
    for query, message in (("from=2026-13-01", "开始日期格式应为"), ("person=abc", "操作人无效"),
                           ("from=2026-12-05&to=2026-12-01", "结束日期早于开始日期")):
        response = client.get(f"/audit/?{query}")
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_csv_export_uses_the_page_labels_and_is_recorded(client, login, db):
    login("supervisor")
    worker = make_user("caseworker", display_name="赵四")
    audit.record("close_out", "rectification", 11, actor=worker, now=clock.now(),
                 changes={"before": {"state": "answered"}, "after": {"state": "closed"}})
    db.commit()
    response = client.get("/audit/export.csv?action=close_out")
    rows = _csv(response)
    assert rows[0][:9] == ["序号", "时间（北京时间）", "操作人", "所属单位", "角色", "操作", "对象类型", "对象编号", "变更内容"]
    assert rows[1][2] == "赵四" and rows[1][5:9] == ["销号", "整改", "11", "状态：待核验 → 已销号"]
    assert len(rows) == 2
    exported = audit.find_events(audit.EventFilter(action="export", entity_type="audit_event"), limit=1)[0][0]
    assert '"rows":1' in exported.changes and '"format":"csv"' in exported.changes
    assert audit.verify().ok


def test_xlsx_export_holds_the_same_rows_as_the_csv(client, login, db):
    login("supervisor")
    _events(30, entity_type="summons", action="hold")
    db.commit()
    csv_rows = _csv(client.get("/audit/export.csv?entity_type=summons"))
    response = client.get("/audit/export.xlsx?entity_type=summons")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    xlsx_rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert len(xlsx_rows) == len(csv_rows) == 31
    assert [r[:9] for r in xlsx_rows] == [r[:9] for r in csv_rows]
    assert xlsx_rows[1][5:7] == ["约谈", "约谈"]


def test_an_unknown_export_format_is_404(client, login):
    login("supervisor")
    response = client.get("/audit/export.pdf")
    assert response.status_code == 404 and "导出格式" in response.get_data(as_text=True)


def test_csv_export_writes_formula_like_values_as_text(client, login, db):
    typed = FORMULA_VALUES[0]
    client.post("/accounts/login", data={"username": typed, "password": "x"})  # an anonymous caller's text
    for value in FORMULA_VALUES[1:]:
        audit.record("login_failed", "user", value, actor=None, now=clock.now(), changes={"username": value})
    db.commit()
    login("supervisor")
    rows = _csv(client.get("/audit/export.csv?action=login_failed"))
    ids = {row[7] for row in rows[1:]}
    assert {"'" + typed.lower(), *("'" + v for v in FORMULA_VALUES[1:])} <= ids
    assert all(cell[:1] not in "=+-@\t\r" for row in rows for cell in row if cell)
    assert all(row[0].isdigit() for row in rows[1:])
    assert {row[2] for row in rows[1:]} == {"未登录的访问者"}


def test_only_supervisors_and_admins_read_the_trail(client, login):
    login("operator")
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
