"""Issue 16's dispatch rules through the API and the pages: catalogue, objections, merged requests."""

import io
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core import clock, humanize
from tests.builders import make_unit, make_user, workbook_bytes
from tests.tickets.builders import make_caseworker, make_ticket, township
from tickets import catalogue, disputes
from tickets.models import CatalogueVersion, Ticket

MONDAY = clock.local_to_utc(datetime(2026, 11, 23, 9, 0))


def _new(client, headers, **overrides):
    body = {"kind": "help", "urgency": "normal", "citizen_name": "赵六", "citizen_phone": "13512340000",
            "township_id": township(4).id, "topic": "最低生活保障", "description": "低保金没到账"}
    body.update(overrides)
    return client.post("/api/v1/tickets", json=body, headers=headers)


def test_a_new_ticket_is_proposed_to_the_catalogues_unit(client, db, bearer):
    worker = make_caseworker(unit=township(4))
    op = bearer(make_user("operator"))
    r = _new(client, op)
    assert r.status_code == 201, r.json
    assert r.json["proposal"]["in_catalogue"] and r.json["proposal"]["unit"]["id"] == township(4).id
    assert r.json["proposal"]["owner_id"] == worker.id
    r = client.get("/api/v1/tickets/proposal", query_string={"township_id": township(4).id, "topic": "最低生活保障",
                                                             "kind": "complaint"}, headers=op)
    assert r.json["unit"]["id"] == township(4).parent_id


def test_a_matter_outside_the_catalogue_waits_on_the_desk_until_dispatched_and_added(client, db, bearer):
    sup = bearer(make_user("supervisor"))
    owner = make_caseworker(unit=township(4))
    r = _new(client, bearer(make_user("operator")), topic="其他救助与福利")
    t = r.json
    assert t["proposal"]["in_catalogue"] is False
    assert [x["id"] for x in client.get("/api/v1/tickets/desk", headers=sup).json["tickets"]] == [t["id"]]
    r = client.post(f"/api/v1/tickets/{t['id']}/dispatch", headers=sup,
                    json={"user_id": owner.id, "version": t["version"], "add_to_catalogue": True})
    assert r.status_code == 200, r.json
    assert client.get("/api/v1/tickets/desk", headers=sup).json["tickets"] == []
    current = client.get("/api/v1/tickets/catalogue", headers=sup).json["version"]
    assert current["source"] == "desk" and {"category": "其他救助与福利", "kind": "help", "level": "township"}.items() \
        <= next(m for m in current["matters"] if m["category"] == "其他救助与福利").items()


def _act(client, headers, ticket_id, version, key=None, **body):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/v1/tickets/{ticket_id}/actions", json={"version": version, **body},
                       headers={**headers, **extra})


def _dispatched(owner, now=None):
    return make_ticket("in_progress", owner=owner, now=now or clock.now(), citizen_phone="13512349999",
                       township_id=township(4).id)


def test_objections_upheld_and_rejected_through_the_api_record_both_owners(client, db, bearer):
    first, second = make_caseworker(unit=township(4)), make_caseworker(unit=township(5))
    sup = bearer(make_user("supervisor"))
    upheld, rejected = _dispatched(first), _dispatched(first)
    db.commit()
    for ticket in (upheld, rejected):
        r = _act(client, bearer(first), ticket.id, ticket.version, action="object_dispatch", reason="户籍在邻镇")
        assert r.status_code == 200, r.json
    version = client.get(f"/api/v1/tickets/{upheld.id}", headers=sup).json["version"]
    body = {"action": "decide_objection", "upheld": True, "user_id": second.id, "note": "属实"}
    r = _act(client, sup, upheld.id, version, key="decide-1", **body)
    assert r.status_code == 200, r.json
    replay = _act(client, sup, upheld.id, version, key="decide-1", **body)  # a retry: answered again, done once
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json == r.json
    reassign = r.json["timeline"][-1]
    assert reassign["action"] == "reassign" and reassign["label"] == "改派"
    assert (reassign["data"]["old_owner"]["id"], reassign["data"]["new_owner"]["id"]) == (first.id, second.id)
    assert r.json["first_owner"]["id"] == second.id
    version = client.get(f"/api/v1/tickets/{rejected.id}", headers=sup).json["version"]
    r = _act(client, sup, rejected.id, version, action="decide_objection", upheld=False, note="属本乡镇职责")
    assert r.status_code == 200, r.json
    assert r.json["timeline"][-1]["action"] == "reject_objection" and r.json["first_owner"]["id"] == first.id
    assert [q["state"] for q in r.json["requests"] if q["kind"] == "objection"] == ["rejected"]


def test_a_late_objection_is_refused_with_a_json_error(client, db, bearer):
    owner = make_caseworker(unit=township(4))
    ticket = _dispatched(owner, now=MONDAY)
    db.commit()
    with clock.freeze(MONDAY + timedelta(days=3)):
        r = _act(client, bearer(owner), ticket.id, ticket.version, action="object_dispatch", reason="不属本单位")
    assert r.status_code == 422 and r.json["error"]["code"] == "too_late"
    assert "工作日内" in r.json["error"]["message"]


def test_a_repeat_call_is_offered_merged_and_then_split(client, db, bearer):
    op, sup = bearer(make_user("operator")), bearer(make_user("supervisor"))
    first = _new(client, op).json
    second = _new(client, op, citizen_name="赵六之子")
    assert [c["id"] for c in second.json["merge_candidates"]] == [first["id"]]
    r = _new(client, op, citizen_name="赵六之女", merge_into=first["id"])
    assert r.status_code == 201, r.json
    merged = r.json["merged_ticket"]
    assert r.json["id"] == first["id"] and merged["state"] == "merged"
    assert [m["number"] for m in r.json["merged_requests"]] == [merged["number"]]
    version = client.get(f"/api/v1/tickets/{merged['id']}", headers=sup).json["version"]
    r = _act(client, sup, merged["id"], version, key="split-1", action="split", reason="不是同一诉求")
    assert r.status_code == 200, r.json
    assert r.json["state"] == "pending_dispatch" and r.json["number"] == merged["number"]
    assert r.json["merged_into"] is None


def test_an_operator_merging_across_jurisdictions_is_refused(client, db, bearer):
    op = bearer(make_user("operator"))
    first = _new(client, op).json
    other = _new(client, op, township_id=township(9).id).json
    r = _act(client, op, other["id"], other["version"], action="merge", into=first["id"])
    assert r.status_code == 403 and "督查人员" in r.json["error"]["message"]
    assert db.get(Ticket, other["id"]).state == "pending_dispatch"


def _versions(db) -> int:
    return db.execute(select(func.count()).select_from(CatalogueVersion)).scalar_one()


def test_a_catalogue_import_with_errors_reports_them_all_and_writes_nothing(client, db, bearer):
    admin = bearer(make_user("admin"))
    count = _versions(db)
    header = [h for _, h in catalogue.COLUMNS]
    content = workbook_bytes([header, ["无此类别", "", "", "县级"], ["医疗救助", "", "", "无此层级"]],
                             title=catalogue.SHEET)
    r = client.post("/api/v1/tickets/catalogue/import", headers=admin,
                    data={"file": (io.BytesIO(content), "目录.xlsx")})
    assert r.status_code == 422
    assert len(r.json["error"]["errors"]) == 2 and "第2行" in r.json["error"]["errors"][0]
    assert "第3行「责任层级」" in r.json["error"]["errors"][1]
    assert _versions(db) == count


def test_the_catalogue_api_refuses_a_disabled_unit_and_non_admins(client, db, bearer):
    unit = make_unit()
    unit.active = False
    db.commit()
    body = {"category": "其他救助与福利", "level": "township", "unit_id": unit.id}
    r = client.post("/api/v1/tickets/catalogue/matters", json=body, headers=bearer(make_user("admin")))
    assert r.status_code == 422 and r.json["error"]["field"] == "unit_id" and "已停用" in r.json["error"]["message"]
    r = client.post("/api/v1/tickets/catalogue/matters", json=body, headers=bearer(make_user("supervisor")))
    assert r.status_code == 403


def test_the_catalogue_api_adds_a_matter_as_a_new_version_with_history(client, db, bearer):
    admin = bearer(make_user("admin"))
    before = client.get("/api/v1/tickets/catalogue/versions", headers=admin).json["versions"]
    r = client.post("/api/v1/tickets/catalogue/matters", headers={**admin, "Idempotency-Key": "add-1"},
                    json={"category": "其他救助与福利", "level": "county", "version_note": "新增兜底事项"})
    assert r.status_code == 201, r.json
    after = client.get("/api/v1/tickets/catalogue/versions", headers=admin).json["versions"]
    assert len(after) == len(before) + 1 and after[0]["note"] == "新增兜底事项"
    old = client.get(f"/api/v1/tickets/catalogue/versions/{before[0]['number']}", headers=admin).json["version"]
    assert all(m["category"] != "其他救助与福利" for m in old["matters"])


# --- pages ---------------------------------------------------------------------------------------

def test_the_new_ticket_page_offers_merging_before_opening_a_second_case(client, db, login):
    login("operator")
    first = make_ticket("in_progress", citizen_phone="13512340000", township_id=township(4).id)
    db.commit()
    form = {"kind": "help", "urgency": "normal", "citizen_name": "赵六", "citizen_phone": "13512340000",
            "township_id": str(township(4).id), "topic": "最低生活保障", "description": "再次催问"}
    count = db.execute(select(func.count()).select_from(Ticket)).scalar_one()
    r = client.post("/tickets/new", data=form)
    assert r.status_code == 200 and "重复诉求原则上并单" in r.get_data(as_text=True)
    assert db.execute(select(func.count()).select_from(Ticket)).scalar_one() == count
    r = client.post("/tickets/new", data={**form, "merge_into": str(first.id)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tickets/{first.id}")
    r = client.post("/tickets/new", data={**form, "new_anyway": "1"})
    assert r.status_code == 302
    assert db.execute(select(func.count()).select_from(Ticket)).scalar_one() == count + 2


def test_the_catalogue_page_shows_the_import_errors_and_the_history(client, db, login):
    login("admin")
    r = client.get("/tickets/catalogue")
    assert r.status_code == 200 and "版本历史" in r.get_data(as_text=True)
    content = workbook_bytes([[h for _, h in catalogue.COLUMNS], ["无此类别", "", "", "县级"]], title=catalogue.SHEET)
    r = client.post("/tickets/catalogue/import", data={"file": (io.BytesIO(content), "目录.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "问题类别“无此类别”不存在" in r.get_data(as_text=True)


def test_the_supervisors_desk_lists_a_ticket_outside_the_catalogue(client, db, login):
    login("supervisor")
    ticket = make_ticket(topic="其他救助与福利", citizen_phone="13512348888")
    db.commit()
    r = client.get("/tickets/desk")
    assert r.status_code == 200 and ticket.number in r.get_data(as_text=True)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "该事项不在派单目录中" in page and 'name="add_to_catalogue"' in page


def test_the_first_owner_sees_the_objection_form_and_the_time_in_dispute(client, db, login):
    owner = login("caseworker", unit_id=township(4).id)
    ticket = _dispatched(owner)
    db.commit()
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-action="object_dispatch"' in page
    r = client.post(f"/tickets/{ticket.id}/action", data={"action": "object_dispatch", "version": ticket.version,
                                                         "reason": "户籍在邻镇"})
    assert r.status_code == 302
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "争议用时" in page and "待审核" in page


def test_a_refused_change_on_the_page_keeps_the_typed_matter_and_writes_no_version(client, db, login):
    login("admin")
    unit = make_unit()
    unit.active = False
    matter = catalogue.current_matters()[0]
    db.commit()
    count = _versions(db)
    r = client.post("/tickets/catalogue/matters", data={
        "matter_id": str(matter.id), "category": matter.category, "level": "township", "unit_id": str(unit.id),
        "matter_note": "改派停用单位"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "已停用" in page and 'value="改派停用单位"' in page
    assert _versions(db) == count


def test_the_objection_on_the_ticket_page_names_its_owner_by_unit_and_says_its_deadline_and_times(client, db, login):
    owner = login("caseworker", unit_id=township(4).id)
    ticket = _dispatched(owner)
    db.commit()
    who = f"{owner.display_name}（{township(4).name}）"
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "下班前提出" in page and " 00:00" not in page
    page = client.post(f"/tickets/{ticket.id}/action", data={"action": "object_dispatch", "version": ticket.version,
                                                            "reason": "户籍在邻镇"}, follow_redirects=True
                       ).get_data(as_text=True)
    assert "：已完成" in page and ":已完成" not in page
    objection = next(r for r in ticket.requests if r.kind == "objection")
    local = clock.to_local(objection.requested_at)
    said = f"{humanize.day_with_short_weekday(local.date())}{local:%H:%M}"
    assert f"{said} {who}：户籍在邻镇" in page
    assert "异议期限：" in page and "异议期限:" not in page


def test_dispatching_from_the_desk_says_who_by_unit_and_the_catalogue_version_it_added(client, db, login):
    login("supervisor")
    ticket = make_ticket(topic="其他救助与福利", citizen_phone="13512347777")
    owner = make_caseworker(unit=township(4))
    db.commit()
    who = f"{owner.display_name}（{township(4).name}）"
    r = client.post(f"/tickets/{ticket.id}/dispatch", data={"user_id": str(owner.id), "version": ticket.version,
                                                           "add_to_catalogue": "1"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    number = catalogue.current_version().number
    assert f"已派单给{who}；该事项已加入派单目录（第{number}版）" in page


def test_upholding_an_objection_never_offers_the_owner_who_objected(client, db, login):
    owner = make_caseworker(unit=township(4))
    other = make_caseworker(unit=township(5))
    ticket = _dispatched(owner)
    disputes.file_objection(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, reason="户籍在邻镇")
    login("supervisor")
    db.commit()
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    form = page.split('data-action="decide_objection"', 1)[1].split("</form>", 1)[0]
    assert f'<option value="{other.id}" data-unit' in form and f'<option value="{owner.id}" data-unit' not in form
    assert f'data-pick-user="{owner.id}"' not in form
