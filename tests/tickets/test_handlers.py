"""The pages: call panel, dispatch form, ticket page, my tickets, board and exports, admin pages."""

import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from core.db import session
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket, township
from tickets.models import Call, Ticket


def _in_app(app, fn):
    with app.app_context():
        result = fn()
        session.commit()
        session.remove()
        return result


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_operator_records_a_call_and_opens_a_ticket_from_it(app, client, login):
    login("operator")
    owner_id, town_id = _in_app(app, lambda: (make_caseworker(unit=township(1)).id, township(1).id))
    r = client.post("/tickets/calls", data={"caller_number": "138 1234 5678", "question": "低保金没到账",
                                            "outcome": "ticket", "duration": "3:10", "next": "/kb/search"})
    assert r.status_code == 302 and "/tickets/new?call_id=" in r.headers["Location"]
    form = client.get(r.headers["Location"])
    assert form.status_code == 200 and "低保金没到账" in _text(form) and "138****5678" in _text(form)
    call_id = int(r.headers["Location"].rsplit("=", 1)[1])
    r = client.post("/tickets/new", data={"call_id": call_id, "kind": "help", "urgency": "normal",
                                          "citizen_name": "赵六", "citizen_phone": "", "township_id": town_id,
                                          "description": "低保金两个月没到账", "user_id": owner_id})
    assert r.status_code == 302, _text(r)
    page = client.get(r.headers["Location"])
    body = _text(page)
    assert "待签收" in body and "派单" in body and "138****5678" in body
    with app.app_context():
        ticket = session.execute(select(Ticket)).scalar_one()
        assert ticket.citizen_phone == "13812345678" and ticket.first_owner_id == owner_id
        assert session.get(Call, call_id).duration_seconds == 190


def test_answered_call_goes_back_to_the_search_page(client, login):
    login("operator")
    r = client.post("/tickets/calls", data={"caller_number": "13812345678", "outcome": "answered",
                                            "next": "/kb/search?q=x"})
    assert r.status_code == 302 and r.headers["Location"] == "/kb/search?q=x"


def test_bad_call_form_is_a_422_with_a_chinese_message(client, login):
    login("operator")
    r = client.post("/tickets/calls", data={"caller_number": "abc", "outcome": "answered"})
    assert r.status_code == 422 and "来电号码格式不正确" in _text(r)


def test_ticket_form_refuses_bad_id_number_and_keeps_nothing(app, client, login):
    login("operator")
    town_id = _in_app(app, lambda: township().id)
    r = client.post("/tickets/new", data={"kind": "help", "urgency": "normal", "citizen_name": "赵六",
                                          "citizen_phone": "13800000000", "citizen_id_number": "231202198001011230",
                                          "township_id": town_id, "description": "x"})
    assert r.status_code == 422 and "校验位" in _text(r)
    with app.app_context():
        assert session.execute(select(Ticket)).first() is None


def test_attachment_exe_renamed_pdf_refused_on_the_page(app, client, login):
    owner = login("caseworker")
    ticket_id = _in_app(app, lambda: make_ticket("in_progress", owner=session.get(type(owner), owner.id)).id)
    r = client.post(f"/tickets/{ticket_id}/attachments",
                    data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 64), "诊断.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "不允许的文件类型" in _text(r)
    ok = client.post(f"/tickets/{ticket_id}/attachments",
                     data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "照片.png")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    page = _text(client.get(f"/tickets/{ticket_id}"))
    assert "照片.png" in page and "上传附件" in page


def test_a_refused_upload_leaves_no_ticket_and_no_file_on_disk(app, client, login):
    login("operator")
    town_id = _in_app(app, lambda: township().id)
    uploads = Path(app.instance_path) / "uploads" / "tickets"

    def stored() -> set[Path]:
        return {p for p in uploads.rglob("*") if p.is_file()}

    before = stored()
    r = client.post("/tickets/new", data={
        "kind": "help", "urgency": "normal", "citizen_name": "赵六", "citizen_phone": "13800000000",
        "township_id": town_id, "description": "低保金没到账",
        "files": [(io.BytesIO(b"%PDF-1.4\n" + b"0" * 64), "证明.pdf"), (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 64), "病历.pdf")]},
        content_type="multipart/form-data")
    assert r.status_code == 422 and "不允许的文件类型" in _text(r)
    assert stored() == before
    with app.app_context():
        assert session.execute(select(Ticket)).first() is None


def test_owner_accepts_and_closes_on_the_ticket_page(app, client, login):
    owner = login("caseworker")

    def setup():
        return make_ticket("pending_accept", owner=session.get(type(owner), owner.id))

    ticket = _in_app(app, setup)
    page = _text(client.get(f"/tickets/{ticket.id}"))
    assert "签收工单" in page and "13812345678" in page  # the first owner sees the full number
    r = client.post(f"/tickets/{ticket.id}/action", data={"action": "accept", "version": ticket.version})
    assert r.status_code == 302
    stale = client.post(f"/tickets/{ticket.id}/action", data={"action": "close", "version": ticket.version,
                                                              "resolution": "办好了"})
    assert stale.status_code == 409 and "已被他人修改" in _text(stale)
    with app.app_context():
        version = session.get(Ticket, ticket.id).version
    r = client.post(f"/tickets/{ticket.id}/action", data={"action": "close", "version": version,
                                                          "resolution": "已补发"})
    assert r.status_code == 302
    page = _text(client.get(f"/tickets/{ticket.id}"))
    assert "待回访" in page and "已补发" in page


def test_caseworker_cannot_open_someone_elses_ticket(app, client, login):
    login("caseworker")
    ticket_id = _in_app(app, lambda: make_ticket("pending_accept").id)
    r = client.get(f"/tickets/{ticket_id}")
    assert r.status_code == 403
    with app.app_context():
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "permission_denied")).first()


def test_operator_cannot_escalate(app, client, login):
    login("operator")
    ticket = _in_app(app, lambda: make_ticket("in_progress"))
    r = client.post(f"/tickets/{ticket.id}/action", data={"action": "escalate", "version": ticket.version,
                                                          "note": "快"})
    assert r.status_code == 403 and "没有权限" in _text(r)


def test_my_tickets_overdue_first(app, client, login):
    owner = login("caseworker")

    def setup():
        me = session.get(type(owner), owner.id)
        fresh = make_ticket("in_progress", owner=me, kind="complaint")
        late = make_ticket("in_progress", owner=me, kind="consult",
                           now=clock.now() - timedelta(days=30))
        return fresh.number, late.number

    fresh, late = _in_app(app, setup)
    page = _text(client.get("/tickets/mine"))
    assert page.index(late) < page.index(fresh) and "已超期" in page


def test_board_filters_and_masked_export(app, client, login):
    login("operator")

    def setup():
        make_ticket("in_progress", citizen_phone="13722223333", now=clock.now() - timedelta(days=30))
        make_ticket(citizen_phone="13744445555")

    _in_app(app, setup)
    board = _text(client.get("/tickets/?overdue=1"))
    assert "137****3333" in board and "137****5555" not in board and "13722223333" not in board
    export = client.get("/tickets/export.xlsx")
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "工单编号" and len(rows) == 3
    assert all("****" in r[6] and "*" in r[7] for r in rows[1:])
    with app.app_context():
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "export",
                                                        AuditEvent.entity_type == "ticket")).first()


def test_supervisor_export_shows_full_numbers(app, client, login):
    login("supervisor")
    _in_app(app, lambda: make_ticket(citizen_phone="13766667777"))
    rows = list(load_workbook(io.BytesIO(client.get("/tickets/export.xlsx").data)).active.iter_rows(values_only=True))
    assert rows[1][6] == "13766667777"


def test_calls_list_is_masked_for_operators(app, client, login):
    user = login("operator")
    from tests.tickets.builders import make_call

    _in_app(app, lambda: make_call(operator=session.get(type(user), user.id), caller_number="13988887777"))
    page = _text(client.get("/tickets/calls/list"))
    assert "139****7777" in page and "13988887777" not in page


def test_metrics_page_draws_charts_and_exports(app, client, login):
    user = login("supervisor")
    from tests.tickets.builders import make_call

    def setup():
        op = make_user("operator")
        for outcome in ("answered", "answered", "ticket"):
            make_call(operator=op, outcome=outcome)
        return user

    _in_app(app, setup)
    page = _text(client.get("/tickets/metrics"))
    assert "<svg" in page and "66.7%" in page and "目标95%" in page
    export = client.get("/tickets/metrics.xlsx")
    wb = load_workbook(io.BytesIO(export.data))
    assert {"概览", "按日", "按周", "按单位", "按人员"} <= set(wb.sheetnames)
    assert client.get("/tickets/metrics?from=bad").status_code == 400


def test_admin_pages_for_the_calendar(app, client, login, frozen_now):
    login("admin")
    home = _text(client.get("/"))
    assert "2027年的节假日安排尚未录入" in home
    r = client.post("/calendar/?year=2027", data={"day": "2027-02-08", "working": "0", "note": "春节"})
    assert r.status_code == 302
    assert "2027年的节假日安排尚未录入" not in _text(client.get("/"))
    assert "春节" in _text(client.get("/calendar/?year=2027"))


def test_supervisor_home_shows_overdue_count(app, client, login, frozen_now):
    login("supervisor")
    _in_app(app, lambda: make_ticket("in_progress", now=frozen_now - timedelta(days=30)))
    assert "超期工单 1 件" in _text(client.get("/"))


def test_call_panel_partial_renders_for_operators(app, client, login):
    login("operator")
    page = _text(client.get("/tickets/calls/new"))
    assert 'id="call-panel"' in page and "kb-opened-ids" in page and "tickets.js" in page


def test_notifications_page_marks_read(app, client, login):
    owner = login("caseworker")
    _in_app(app, lambda: make_ticket("pending_accept", owner=session.get(type(owner), owner.id)))
    page = _text(client.get("/tickets/notifications"))
    assert "新工单待签收" in page and "未读" in page
    client.post("/tickets/notifications", data={})
    assert "未读" not in _text(client.get("/tickets/notifications")).replace("未读通知", "")


def test_supervisor_decides_requests_on_the_ticket_page(app, client, login):
    login("supervisor")

    def setup():
        from tickets import services

        owner = make_caseworker()
        ticket = make_ticket("in_progress", owner=owner)
        services.request_extension(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, days=2,
                                   reason="等待医保结算")
        services.request_return(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version,
                                reason="不属于本单位")
        return ticket.id, ticket.version, ticket.closure_due_at

    ticket_id, version, due = _in_app(app, setup)
    page = _text(client.get(f"/tickets/{ticket_id}"))
    assert "延期申请待审批" in page and "退单申请待审批" in page and "督办" in page
    r = client.post(f"/tickets/{ticket_id}/action", data={"action": "approve_extension", "version": version,
                                                          "approved": "1", "note": "同意"})
    assert r.status_code == 302
    page = _text(client.get(f"/tickets/{ticket_id}"))
    assert "批准延期" in page and "办结时限：" in page and "延期申请待审批" not in page


def test_board_export_writes_formula_like_text_as_text(app, client, login):
    from tests.builders import FORMULA_VALUES, assert_written_as_text

    def setup():
        for value in FORMULA_VALUES:  # set on the row: the services strip the leading tab
            ticket = make_ticket()
            ticket.description = ticket.citizen_name = value

    login("supervisor")
    _in_app(app, setup)
    export = client.get("/tickets/export.xlsx")
    assert export.status_code == 200
    assert_written_as_text(export.data)
