"""Spot-check pages, the public directory and the API: what each role sees and can do."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import clock
from spotchecks import hotlines, services, transfer
from spotchecks.models import Hotline, MysteryCall, Notice, Rectification, SpotcheckPlan
from tests.spotchecks.builders import SETTINGS, at_local, item_for, make_fault, make_plan


def body(response) -> str:
    return response.get_data(as_text=True)


# --- permissions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/spotchecks/", "/spotchecks/plan", "/spotchecks/notices", "/spotchecks/summons",
                                  "/spotchecks/reports", "/spotchecks/hotlines", "/spotchecks/reports.xlsx"])
def test_operators_cannot_see_supervisor_pages(client, login, path):
    login("operator")
    assert client.get(path).status_code == 403


def test_caseworkers_see_the_ledger_but_not_the_plan(client, login):
    login("caseworker")
    assert client.get("/spotchecks/rectifications").status_code == 200
    assert client.get("/spotchecks/plan").status_code == 403


def test_pages_need_a_login(client):
    response = client.get("/spotchecks/plan")
    assert response.status_code == 302 and "/accounts/login" in response.headers["Location"]


def test_only_admins_edit_the_registry(client, login, db):
    login("supervisor")
    assert client.get("/spotchecks/hotlines").status_code == 200
    assert client.get("/spotchecks/hotlines/1").status_code == 403
    assert client.get("/spotchecks/hotlines/import").status_code == 403


# --- plan and logging pages ------------------------------------------------------------------------

def test_supervisor_makes_the_plan_from_the_page_and_sees_the_quota_warning(client, login, db):
    user = login("supervisor")
    with clock.freeze(at_local(2026, 11, 23, 8, 30)):
        response = client.post("/spotchecks/plan", data={"week": "2026-W48"}, follow_redirects=True)
    page = body(response)
    assert response.status_code == 200
    assert "已生成11月23日—11月27日（第48周）抽查计划，共183条" in page
    assert "每日限额30不足以覆盖183条热线，已按每日37条安排" in page
    assert db.execute(select(func.count()).select_from(SpotcheckPlan)).scalar_one() == 1
    mine = body(client.get("/spotchecks/plan", query_string={"week": "2026-W48", "mine": "1"}))
    assert mine.count('class="mine"') == 183  # the only supervisor gets every item
    assert user.display_name in mine


def test_the_logging_screen_shows_the_test_question_and_its_answer_script(client, login, db):
    login("supervisor")
    plan = make_plan()
    item = item_for(plan)
    db.commit()
    page = body(client.get(f"/spotchecks/items/{item.id}"))
    question = services.question_for(item)
    assert item.hotline.number in page and question.question in page
    assert "应答口径" in page
    other = body(client.get(f"/spotchecks/items/{item.id}", query_string={"question_entry_id": "Q010"}))
    assert services.session.get(services.Entry, "Q010").question in other


def test_logging_a_fault_from_the_page_opens_a_rectification(client, login, db):
    supervisor = login("supervisor")
    plan = make_plan()
    item = item_for(plan)
    db.commit()
    start = clock.to_local(item.planned_at).strftime("%Y-%m-%dT%H:%M")
    with clock.freeze(item.planned_at + timedelta(minutes=10)):
        response = client.post(f"/spotchecks/items/{item.id}", data={
            "started_at": start, "ring_seconds": "9", "connected": "1", "identified": "none", "answerer": "",
            "question_entry_id": "Q001", "correctness": "none", "deflected": "1", "attitude": "3",
            "notes": "表示任何诉求均不能受理,有问题找社区网格员"}, follow_redirects=True)
    page = body(response)
    assert response.status_code == 200 and "已生成整改事项" in page
    call = db.execute(select(MysteryCall)).scalar_one()
    assert call.supervisor_id == supervisor.id and call.fault_labels == ["推诿", "未报姓名工号"]
    assert db.execute(select(Rectification)).scalar_one().call_id == call.id


def test_a_future_start_time_is_refused_on_the_page_and_nothing_is_saved(client, login, db):
    login("supervisor")
    plan = make_plan()
    item = item_for(plan)
    db.commit()
    with clock.freeze(at_local(2026, 11, 23, 7, 0)):
        response = client.post(f"/spotchecks/items/{item.id}", data={
            "started_at": "2026-11-23T10:00", "ring_seconds": "5", "connected": "0"})
    assert response.status_code == 422 and "开始时间不能晚于当前时间" in body(response)
    assert db.execute(select(func.count()).select_from(MysteryCall)).scalar_one() == 0


def test_an_item_not_in_any_plan_cannot_be_logged(client, login):
    login("supervisor")
    assert client.post("/spotchecks/items/987654", data={"connected": "0"}).status_code == 404


# --- notices ---------------------------------------------------------------------------------------

def _fault(db):
    item = make_fault().item
    db.commit()
    return item


def test_supervisor_drafts_edits_publishes_and_downloads_a_notice(client, login, db):
    login("supervisor")
    item = _fault(db)
    with clock.freeze(at_local(2026, 11, 23, 18, 0)):
        response = client.post("/spotchecks/notices/draft", data={"kind": "daily", "day": "2026-11-23"})
        assert response.status_code == 302
        notice = db.execute(select(Notice)).scalar_one()
        edit = body(client.get(f"/spotchecks/notices/{notice.id}"))
        assert item.hotline.unit.full_name in edit
        response = client.post(f"/spotchecks/notices/{notice.id}", data={
            "op": "publish", "title": notice.title, "recipients": notice.recipients,
            "body": notice.body + "\n特此通报。"}, follow_redirects=True)
    assert "已发布，文号绥民救通〔2026〕1号" in body(response)
    refused = client.post(f"/spotchecks/notices/{notice.id}", data={"op": "save", "title": "改", "body": "改"})
    assert refused.status_code == 409 and "不能修改" in body(refused)
    db.expire_all()
    assert db.get(Notice, notice.id).body.endswith("特此通报。")
    word = client.get(f"/spotchecks/notices/{notice.id}.docx")
    assert word.status_code == 200 and word.mimetype.endswith("wordprocessingml.document")
    assert "绥民救通〔2026〕1号" in "\n".join(p.text for p in Document(io.BytesIO(word.data)).paragraphs)
    printable = body(client.get(f"/spotchecks/notices/{notice.id}/print"))
    assert "绥民救通〔2026〕1号" in printable and "绥化市民政局" in printable


# --- rectification and summons ---------------------------------------------------------------------

def test_the_units_caseworker_answers_and_another_unit_cannot_see_it(client, login, db):
    item = _fault(db)
    rect = db.execute(select(Rectification)).scalar_one()
    other_unit = db.execute(select(Hotline.unit_id).where(Hotline.unit_id != rect.unit_id,
                                                         Hotline.level == "township")).scalars().first()
    login("caseworker", unit_id=other_unit)
    assert client.get(f"/spotchecks/rectifications/{rect.id}").status_code == 403
    assert rect.code not in body(client.get("/spotchecks/rectifications"))
    client.post("/accounts/logout")
    login("caseworker", unit_id=item.hotline.unit_id)
    assert rect.code in body(client.get("/spotchecks/rectifications"))
    response = client.post(f"/spotchecks/rectifications/{rect.id}", data={
        "op": "answer", "response": "已调整值班", "evidence": "值班表", "version": rect.version})
    assert response.status_code == 302
    refused = client.post(f"/spotchecks/rectifications/{rect.id}", data={"op": "close", "evidence": "x"})
    assert refused.status_code == 403
    db.expire_all()
    assert db.get(Rectification, rect.id).state == "answered"


def test_close_out_without_evidence_is_refused_on_the_page(client, login, db):
    _fault(db)
    rect = db.execute(select(Rectification)).scalar_one()
    rect.state, rect.response, rect.evidence = "answered", "已整改", "值班表"
    db.commit()
    login("supervisor")
    response = client.post(f"/spotchecks/rectifications/{rect.id}", data={"op": "close", "evidence": "", "version": rect.version})
    assert response.status_code == 422 and "请填写核验情况" in body(response)
    db.expire_all()
    assert db.get(Rectification, rect.id).state == "answered"


def test_summons_page_runs_the_rule_and_records_the_meeting(client, login, db):
    _fault(db)
    login("supervisor")
    with clock.freeze(at_local(2026, 12, 9, 9, 0)):
        response = client.post("/spotchecks/summons", follow_redirects=True)
        assert "新增1条约谈建议" in body(response)
        from spotchecks.models import Summons

        summons = db.execute(select(Summons)).scalar_one()
        response = client.post(f"/spotchecks/summons/{summons.id}", data={
            "op": "confirm", "held_on": "2026-12-09", "attendees": "市局王局长", "outcome": "表态整改"})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(Summons, summons.id).state == "held"


# --- registry import, reports, API -----------------------------------------------------------------

def test_admin_import_with_a_duplicate_number_names_row_and_column_and_changes_nothing(client, login, db):
    login("admin")
    data = transfer.export_xlsx(hotlines.hotlines())
    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    ws["F10"] = ws["F3"].value
    ws["H4"] = "不会保存"
    out = io.BytesIO()
    wb.save(out)
    response = client.post("/spotchecks/hotlines/import", data={"file": (io.BytesIO(out.getvalue()), "hotlines.xlsx")},
                           content_type="multipart/form-data")
    page = body(response)
    assert response.status_code == 422
    assert "第10行「电话号码」列(F列)" in page and "与第3行重复" in page
    assert db.execute(select(func.count()).select_from(Hotline).where(Hotline.contact == "不会保存")).scalar_one() == 0


def test_reports_show_svg_charts_and_unchecked_hotlines_and_export_xlsx(client, login, db):
    login("supervisor")
    _fault(db)
    with clock.freeze(at_local(2026, 11, 27, 18, 0)):
        page = body(client.get("/spotchecks/reports", query_string={"from": "2026-11-01", "to": "2026-11-29"}))
        assert page.count("<svg") == 3 and "<script" not in page.split("</main>")[0]
        assert "近7日未抽查的热线" in page and "以下 182 条热线近7日没有抽查记录" in page
        workbook = load_workbook(io.BytesIO(client.get("/spotchecks/reports.xlsx",
                                                       query_string={"from": "2026-11-01", "to": "2026-11-29"}).data))
    assert "单位排名" in workbook.sheetnames and "近7日未抽查热线" in workbook.sheetnames
    assert workbook["按周"]["B2"].value is not None


def test_the_api_gives_the_plan_and_logs_a_result(client, db):
    from core import accounts

    plan = make_plan()
    item = item_for(plan)
    user = item.supervisor
    token = accounts.issue_token(actor=None, now=clock.now(), user=user)
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    data = client.get("/api/v1/spotchecks/plan", query_string={"week": "2026-W48"}, headers=headers).json
    assert len(data["items"]) == 183 and data["warning"]
    with clock.freeze(at_local(2026, 11, 28, 9, 0)):
        created = client.post(f"/api/v1/spotchecks/items/{item.id}/result", headers=headers, json={
            "started_at": item.planned_at.isoformat(), "ring_seconds": 50, "connected": False})
        assert created.status_code == 201 and created.json["faults"] == ["no_answer"]
        assert created.json["rectification_id"]
        again = client.post(f"/api/v1/spotchecks/items/{item.id}/result", headers=headers, json={
            "started_at": item.planned_at.isoformat(), "ring_seconds": 50, "connected": False})
        assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
        missing = client.post("/api/v1/spotchecks/items/999999/result", headers=headers, json={"connected": False})
        assert missing.status_code == 404


def test_the_api_refuses_other_roles(client, db):
    from core import accounts
    from tests.builders import make_user

    token = accounts.issue_token(actor=None, now=clock.now(), user=make_user("operator"))
    db.commit()
    response = client.get("/api/v1/spotchecks/plan", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_every_page_renders_for_a_supervisor_with_data(client, login, db):
    item = _fault(db)
    rect = db.execute(select(Rectification)).scalar_one()
    login("admin")
    with clock.freeze(at_local(2026, 11, 23, 18, 0)):
        client.post("/spotchecks/notices/draft", data={"kind": "weekly", "day": "2026-11-23"})
        services.propose_summonses(now=at_local(2026, 12, 9, 9, 0), settings=SETTINGS)
        db.commit()
        notice = db.execute(select(Notice)).scalar_one()
        from spotchecks.models import Summons

        summons = db.execute(select(Summons)).scalar_one()
        pages = ["/", "/spotchecks/", "/spotchecks/plan?week=2026-W48", "/spotchecks/plan?week=2026-W49",
                 f"/spotchecks/items/{item.id}", f"/spotchecks/calls/{item.call.id}", "/spotchecks/notices",
                 f"/spotchecks/notices/{notice.id}", f"/spotchecks/notices/{notice.id}/print",
                 "/spotchecks/rectifications", "/spotchecks/rectifications?overdue=1&area=北林区",
                 f"/spotchecks/rectifications/{rect.id}", "/spotchecks/summons", f"/spotchecks/summons/{summons.id}",
                 "/spotchecks/hotlines", "/spotchecks/hotlines?q=blq", "/spotchecks/hotlines/new",
                 f"/spotchecks/hotlines/{item.hotline_id}", "/spotchecks/hotlines/import", "/spotchecks/reports",
                 "/spotchecks/reports?weeks=26", "/spotchecks/hotlines/export.xlsx"]
        for path in pages:
            response = client.get(path)
            expected = 302 if path.startswith(("/spotchecks/items/", "/?")) else 200
            assert response.status_code == expected, (path, response.status_code)


def test_home_page_shows_the_days_checks_and_the_units_rectifications(client, login, db):
    item = _fault(db)
    login("caseworker", unit_id=item.hotline.unit_id)
    assert "本单位热线抽查整改" in body(client.get("/"))
    client.post("/accounts/logout")
    login("supervisor")
    with clock.freeze(at_local(2026, 11, 23, 10, 0)):
        assert "今日热线抽查" in body(client.get("/"))


def test_a_stale_rectification_answer_gets_409_and_keeps_the_typed_text(client, login, db):
    item = _fault(db)
    rect = db.execute(select(Rectification)).scalar_one()
    login("caseworker", unit_id=item.hotline.unit_id)
    started_from = rect.version
    services.edit_rectification(actor=item.supervisor, now=clock.now(), rect=rect, responsible_person="李站长",
                                measure="落实专人值守", deadline=None, version=started_from)
    db.commit()
    response = client.post(f"/spotchecks/rectifications/{rect.id}", data={
        "op": "answer", "response": "已安排专人值守", "evidence": "排班表", "version": started_from})
    page = body(response)
    assert response.status_code == 409
    assert f"该整改已被他人更新（当前版本为{started_from + 1}），请刷新后重试" in page
    assert "已安排专人值守</textarea>" in page and f'name="version" value="{started_from + 1}"' in page
    db.expire_all()
    assert (db.get(Rectification, rect.id).state, db.get(Rectification, rect.id).response) == ("open", "")

