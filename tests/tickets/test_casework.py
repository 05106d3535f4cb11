"""The caseworker's day: alerts (stream and polling), a change refused for a stale version keeping its
text and showing what changed, the printed work order and "my tickets" as a workbook and a print."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from tests.builders import make_user
from tests.tickets.builders import department, make_caseworker, make_ticket, township
from tests.tickets.test_stream import _events
from tickets import changes, services

STREAM = "/api/v1/notifications/stream"


# --- alerts ------------------------------------------------------------------------------------

def test_stream_pushes_a_ticket_dispatched_to_me_with_the_unread_count(client, db, bearer, app):
    app.config.update(CALL_STREAM_POLL_SECONDS=0, CALL_STREAM_SECONDS=60, CALL_STREAM_HEARTBEAT_SECONDS=60)
    owner, operator = make_caseworker(), make_user("operator")
    ticket = make_ticket(operator=operator)
    db.commit()
    response = client.get(STREAM, headers=bearer(owner), buffered=False)
    chunks = iter(response.response)

    def next_events():
        while True:
            found = _events(next(chunks).decode())
            if found:
                return found

    assert next(chunks).decode().startswith("retry:")
    assert next_events() == [("unread", {"unread": 0, "latest_id": 0})]
    services.dispatch(actor=operator, now=clock.now(), ticket=ticket, user_id=owner.id, version=ticket.version)
    db.commit()
    found = next_events()
    kinds = [k for k, _ in found]
    if kinds == ["notification"]:
        found += next_events()
    (kind, note), (count_kind, count) = found
    assert kind == "notification" and note["alert"] is True and note["kind"] == "dispatched"
    assert ticket.number in note["message"] and note["ticket_id"] == ticket.id
    assert count_kind == "unread" and count["unread"] == 1
    response.close()


def test_stream_is_for_signed_in_people_only(client, db):
    assert client.get(STREAM).status_code == 401


def test_alert_streams_have_their_own_pool_and_never_take_the_calls_streams(client, db, bearer, app):
    app.config.update(CALL_STREAM_POLL_SECONDS=0, CALL_STREAM_SECONDS=60, NOTIFICATION_STREAMS_PER_PROCESS=1,
                      CALL_STREAMS_PER_PROCESS=1)
    operator = bearer(make_user("operator"))
    first = client.get(STREAM, headers=operator, buffered=False)
    assert next(iter(first.response)).startswith(b"retry:")
    refused = client.get(STREAM, headers=bearer(make_caseworker()))
    assert refused.status_code == 503 and refused.json["error"]["code"] == "too_many_streams"
    calls = client.get("/api/v1/calls/stream", headers=operator, buffered=False)
    assert calls.status_code == 200
    calls.close()
    first.close()


def test_polling_fallback_gives_notifications_after_the_last_seen(client, db, bearer):
    owner, operator = make_caseworker(), make_user("operator")
    headers = bearer(owner)
    first = client.get("/api/v1/notifications/alerts", headers=headers).json
    assert first["unread"] == 0 and first["notifications"] == []
    ticket = make_ticket("pending_accept", owner=owner, operator=operator)
    db.commit()
    later = client.get(f"/api/v1/notifications/alerts?after={first['latest_id']}", headers=headers).json
    assert later["unread"] == 1 and [n["ticket_id"] for n in later["notifications"]] == [ticket.id]
    assert later["notifications"][0]["alert"] is True and later["latest_id"] > first["latest_id"]
    again = client.get(f"/api/v1/notifications/alerts?after={later['latest_id']}", headers=headers).json
    assert again["notifications"] == [] and again["unread"] == 1
    assert client.get("/api/v1/notifications/alerts?after=x", headers=headers).status_code == 400


def test_cohandling_unit_staff_get_an_alert_for_the_task(client, db, bearer):
    owner = make_caseworker(unit=township(0))
    med = department("医疗保障局")
    colleague = make_caseworker(unit=med)
    ticket = make_ticket("in_progress", owner=owner)
    services.add_task(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, unit_id=med.id,
                      request="核实医保报销情况")
    db.commit()
    found = client.get("/api/v1/notifications/alerts?after=0", headers=bearer(colleague)).json
    assert [(n["kind"], n["alert"]) for n in found["notifications"]] == [("cohandle", True)]


def test_every_page_shows_the_badge_with_the_unread_count(client, db, login, app):
    user = login("caseworker")
    with app.app_context():
        make_ticket("pending_accept", owner=db.get(type(user), user.id))
        db.commit()
    page = client.get("/tickets/mine").get_data(as_text=True)
    badge = re.search(r'<span class="alert-count" data-alert-count[^>]*>(\d+)</span>', page)
    assert badge and badge.group(1) == "1"
    assert 'id="alert-sound"' in page and "alerts.js" in page


# --- stale versions ---------------------------------------------------------------------------

def _note_conflict(db):
    owner = make_caseworker(unit=township(0), display_name="孙承办")
    supervisor = make_user("supervisor", display_name="李督查")
    ticket = make_ticket("in_progress", owner=owner)
    seen = ticket.version
    med = department("医疗保障局")
    services.add_task(actor=owner, now=clock.now(), ticket=ticket, version=seen, unit_id=med.id,
                      request="核实医保报销情况")
    services.escalate(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version,
                      note="请尽快联系群众")
    db.commit()
    return owner, supervisor, ticket, seen


def test_events_since_a_version_are_the_changes_made_after_it(db):
    owner, supervisor, ticket, seen = _note_conflict(db)
    since = changes.since_json(ticket, seen, owner)
    assert since["your_version"] == seen and since["current_version"] == ticket.version
    assert [c["action"] for c in since["changes"]] == ["cohandle", "escalate"]
    first, second = (c["text"] for c in since["changes"])
    unit = owner.unit.name
    assert first.startswith(f"{owner.display_name}（{unit}）于") and "发起协办" in first and "医疗保障局" in first
    assert second.startswith("李督查") and "督办" in second and "请尽快联系群众" in second
    assert owner.username not in first + second


def test_api_stale_note_gets_409_with_the_current_version_and_changes(client, db, bearer):
    owner, supervisor, ticket, seen = _note_conflict(db)
    r = client.post(f"/api/v1/tickets/{ticket.id}/actions", headers=bearer(owner),
                    json={"action": "note", "version": seen, "note": "已电话联系群众"})
    error = r.json["error"]
    assert r.status_code == 409 and error["code"] == "stale_version"
    assert error["current_version"] == ticket.version and error["your_version"] == seen
    assert [c["label"] for c in error["changes"]] == ["发起协办", "督办"]
    assert error["changes"][1]["actor"]["name"] == "李督查"


def test_page_keeps_the_typed_note_and_shows_what_changed_then_resubmits(client, db, login, app):
    user = login("caseworker", unit_id=township(0).id)
    with app.app_context():
        from core.models import User

        owner = db.get(User, user.id)
        ticket = make_ticket("in_progress", owner=owner)
        seen = ticket.version
        services.escalate(actor=make_user("supervisor", display_name="王督查"), now=clock.now(), ticket=ticket,
                          version=seen, note="三天内答复")
        db.commit()
        ticket_id, current = ticket.id, ticket.version
    r = client.post(f"/tickets/{ticket_id}/action", data={"action": "note", "version": seen,
                                                           "note": "已入户核实，材料齐全"})
    page = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "已被他人修改" in page and "王督查" in page and "三天内答复" in page
    kept = re.search(r'<form method="post" action="/tickets/\d+/action" class="stack" data-action="resubmit">(.*?)</form>',
                     page, re.S).group(1)
    assert "已入户核实，材料齐全</textarea>" in kept and f'name="version" value="{current}"' in kept
    again = client.post(f"/tickets/{ticket_id}/action", data={"action": "note", "version": current,
                                                               "note": "已入户核实，材料齐全"})
    assert again.status_code == 302
    shown = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert "已入户核实，材料齐全" in shown


# --- the printed work order and "my tickets" ---------------------------------------------------

def test_print_page_has_the_work_order_fields_masked_for_the_viewer(client, db, login, app):
    login("operator")
    with app.app_context():
        owner = make_caseworker(unit=township(0), display_name="赵承办")
        ticket = make_ticket("in_progress", owner=owner, description="低保金没到账，电话13912345678")
        services.escalate(actor=make_user("supervisor", display_name="钱督查"), now=clock.now(), ticket=ticket,
                          version=ticket.version, note="加快办理")
        db.commit()
        ticket_id, number, unit = ticket.id, ticket.number, owner.unit.name
    page = client.get(f"/tickets/{ticket_id}/print").get_data(as_text=True)
    for field in ("工单编号", "来电人", "联系电话", "受理时间", "诉求类型", "紧急程度", "诉求内容", "所属乡镇(街道)",
                  "首派责任人", "主办单位", "协办单位", "督办", "办结情况", "回访结果", "办理过程", "注意保密"):
        assert field in page, field
    assert number in page and "<svg" in page and f"赵承办（{unit}）" in page
    assert "138****5678" in page and "13812345678" not in page and "139****5678" in page
    assert "钱督查" in page and "加快办理" in page and "派单" in page and "签收" in page


def test_print_page_is_refused_to_someone_who_may_not_see_the_ticket(client, db, login, app):
    login("caseworker")
    with app.app_context():
        ticket_id = make_ticket("in_progress").id
        db.commit()
    assert client.get(f"/tickets/{ticket_id}/print").status_code == 403


def test_my_tickets_export_has_the_columns_and_is_audited(client, db, login, app):
    user = login("caseworker")
    with app.app_context():
        from core.models import User

        owner = db.get(User, user.id)
        ticket = make_ticket("in_progress", owner=owner)
        db.commit()
        number = ticket.number
    r = client.get("/tickets/mine.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data))["我的工单"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == ["我的角色", "工单编号", "状态", "类型", "紧急程度", "群众姓名", "联系电话", "乡镇(街道)",
                             "诉求内容", "首派责任人", "主办单位", "协办单位", "当前时限", "到期时间", "是否超期",
                             "创建时间"]
    assert rows[1][:3] == ("首派责任人", number, "办理中") and rows[1][6] == "13812345678"
    assert rows[1][9] == f"{user.display_name}（{owner.unit.name}）"
    with app.app_context():
        assert db.execute(select(AuditEvent).where(AuditEvent.action == "export",
                                                   AuditEvent.actor_id == user.id)).first()


def test_my_tickets_print_lists_them(client, db, login, app):
    user = login("caseworker")
    with app.app_context():
        from core.models import User

        number = make_ticket("in_progress", owner=db.get(User, user.id)).number
        db.commit()
    page = client.get("/tickets/mine/print").get_data(as_text=True)
    assert number in page and "共1件" in page and "首派责任人" in page


# --- type-to-filter pickers -------------------------------------------------------------------

def test_long_selects_carry_pinyin_initials_for_the_picker(client, db, login, app):
    from core import pinyin

    login("supervisor")
    with app.app_context():
        owner = make_caseworker(unit=township(0), display_name="周承办")
        ticket_id = make_ticket("pending_dispatch").id
        db.commit()
        town, med = township(0), department("医疗保障局")
        town_py, med_py, owner_id = pinyin.initials(town.name), pinyin.initials(med.name), owner.id
        med_id = med.id
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert f'<option value="{med_id}" data-py="{med_py}">' in page
    assert f'<option value="{owner_id}" data-unit="{town.id}" data-py="zcb">' in page
    board = client.get("/tickets/").get_data(as_text=True)
    assert f'data-py="{town_py}"' in board and "picker.js" in board


def test_ticket_timeline_names_people_with_their_unit(client, db, login, app):
    login("operator")
    with app.app_context():
        owner = make_caseworker(unit=township(0), display_name="吴承办")
        ticket = make_ticket("in_progress", owner=owner)
        db.commit()
        ticket_id, unit, username = ticket.id, owner.unit.name, owner.username
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert f"吴承办（{unit}）" in page and username not in page
