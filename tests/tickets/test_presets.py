"""Time-limit presets: shipped examples, complete tables only, one active, versioned edits, page and API."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import clock
from core.errors import Conflict
from tests.builders import make_user
from tests.tickets.builders import make_ticket, township
from tickets import policy, presets
from tickets.models import DeadlinePreset, DeadlinePresetVersion


def local(*args) -> datetime:
    return clock.local_to_utc(datetime(*args))


def _rows(**changes):
    """The current defaults as table rows, with some cells changed or (value None) removed."""
    rows = []
    for p in policy.DEFAULT_POLICIES.values():
        row = {"kind": p.kind, "urgency": p.urgency, "first_contact": f"{p.first_contact_amount} "
               f"{'小时' if p.first_contact_unit == 'hours' else '工作日'}",
               "closure": f"{p.closure_amount} 工作日", "callback": "1 工作日"}
        rows.append(row)
    for key, value in changes.items():
        kind, urgency, part = key.split("__")
        row = next(r for r in rows if r["kind"] == kind and r["urgency"] == urgency)
        if value is None:
            row.pop(part)
        else:
            row[part] = value
    return rows


def _count(db, model) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def by_name(db, name) -> DeadlinePreset:
    return db.execute(select(DeadlinePreset).where(DeadlinePreset.name == name)).scalar_one()


def test_the_shipped_examples_are_loaded_and_the_current_defaults_are_active(db):
    names = {p.name: p for p in presets.list_presets()}
    assert {"现行默认", "广东式（按诉求类型）", "北京式（接诉即办）"} <= set(names)
    assert [p.name for p in presets.list_presets() if p.active] == ["现行默认"]
    guangdong = {(p.kind, p.urgency): p for p in presets.policies_of(names["广东式（按诉求类型）"])}
    assert guangdong[("consult", "normal")].closure_label == "2个工作日"
    assert guangdong[("help", "normal")].closure_label == "10个工作日"
    assert guangdong[("complaint", "normal")].closure_label == "15个工作日"
    beijing = {(p.kind, p.urgency): p for p in presets.policies_of(names["北京式（接诉即办）"])}
    assert beijing[("help", "urgent")].first_contact_label == "2小时"


def test_a_table_with_a_gap_is_refused_and_nothing_is_written(db):
    admin = make_user("admin")
    before = (_count(db, DeadlinePreset), _count(db, DeadlinePresetVersion), _count(db, AuditEvent))
    rows = [r for r in _rows() if r["kind"] != "proxy_application"]
    with pytest.raises(presets.PresetError) as err:
        presets.create_preset(actor=admin, now=clock.now(), name="缺行", limits=rows)
    assert "缺少代为申请/急难、代为申请/一般的时限" in err.value.message
    with pytest.raises(presets.PresetError) as err:
        presets.create_preset(actor=None, now=clock.now(), name="缺格", limits=_rows(help__normal__closure=None,
                                                                                   consult__urgent__callback="2 小时"))
    assert err.value.problems == ["咨询/急难的回访时限应按工作日计", "求助/一般缺少办结时限（如“2 小时”或“5 工作日”）"]
    assert (_count(db, DeadlinePreset), _count(db, DeadlinePresetVersion), _count(db, AuditEvent)) == before


def test_closure_in_hours_only_for_urgent_tickets(db):
    with pytest.raises(presets.PresetError, match="一般的办结时限应按工作日计"):
        presets.create_preset(actor=None, now=clock.now(), name="按小时", limits=_rows(help__normal__closure="48 小时"))


def test_a_duplicate_name_or_a_second_active_preset_is_refused(db):
    with pytest.raises(presets.PresetError, match="已有名为“现行默认”的时限预设"):
        presets.create_preset(actor=None, now=clock.now(), name="现行默认", limits=_rows())
    with pytest.raises(presets.PresetError, match="已有启用中的时限预设"):
        presets.create_preset(actor=None, now=clock.now(), name="另一套", limits=_rows(), active=True)
    assert len([p for p in presets.list_presets() if p.active]) == 1


def test_an_edit_is_a_new_version_kept_and_audited_and_a_stale_one_is_refused(db):
    admin = make_user("admin")
    preset = by_name(db, "广东式（按诉求类型）")
    presets.update_preset(actor=admin, now=clock.now(), preset=preset, version=preset.version,
                          limits=_rows(consult__normal__closure="4 工作日"))
    assert preset.version == 2 and [v.version for v in preset.versions] == [1, 2]
    event = db.execute(select(AuditEvent).where(AuditEvent.entity_type == "deadline_preset",
                                                AuditEvent.action == "update")).scalars().all()[-1]
    assert event.entity_id == str(preset.id)
    with pytest.raises(Conflict, match="第2版"):
        presets.update_preset(actor=admin, now=clock.now(), preset=preset, version=1, limits=_rows())


def test_activating_a_preset_switches_the_limits_of_new_tickets(db):
    presets.activate(actor=make_user("admin"), now=clock.now(), preset=by_name(db, "广东式（按诉求类型）"))
    assert [p.name for p in presets.list_presets() if p.active] == ["广东式（按诉求类型）"]
    ticket = make_ticket(now=local(2026, 12, 7, 10, 0), kind="consult")  # Monday; 2 working days
    assert ticket.closure_due_at == local(2026, 12, 9, 17, 30)


def test_the_page_lists_presets_and_refuses_a_table_with_gaps(app, client, db, login):
    login("admin")
    page = client.get("/tickets/policies/").get_data(as_text=True)
    assert "当前启用：现行默认" in page and "北京式（接诉即办）" in page
    form = {"name": "不完整", "consult.normal.first_contact_amount": "1"}
    r = client.post("/tickets/policies/", data=form)
    assert r.status_code == 422 and "缺少" in r.get_data(as_text=True)
    assert db.execute(select(DeadlinePreset).where(DeadlinePreset.name == "不完整")).scalar_one_or_none() is None


def test_only_admins_see_the_presets(client, login):
    login("operator")
    assert client.get("/tickets/policies/").status_code == 403


def test_the_api_lists_creates_edits_and_activates_presets(client, db, bearer):
    headers = bearer(make_user("admin"))
    listed = client.get("/api/v1/presets", headers=headers).json["presets"]
    assert listed[0]["active"] and listed[0]["name"] == "现行默认" and len(listed[0]["limits"]) == 8
    bad = client.post("/api/v1/presets", json={"name": "缺行", "limits": _rows()[:3]}, headers=headers)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_preset"
    assert any("缺少" in p for p in bad.json["error"]["problems"])
    body = {"name": "本市试行", "limits": _rows(help__normal__closure={"amount": 7, "unit": "working_days"})}
    created = client.post("/api/v1/presets", json=body, headers={**headers, "Idempotency-Key": "preset-1"})
    again = client.post("/api/v1/presets", json=body, headers={**headers, "Idempotency-Key": "preset-1"})
    assert created.status_code == 201 and again.status_code == 201 and again.json["id"] == created.json["id"]
    preset_id = created.json["id"]
    edited = client.put(f"/api/v1/presets/{preset_id}", json={"version": 1, "limits": _rows()}, headers=headers)
    assert edited.status_code == 200 and edited.json["version"] == 2
    stale = client.put(f"/api/v1/presets/{preset_id}", json={"version": 1, "limits": _rows()}, headers=headers)
    assert stale.status_code == 409
    active = client.post(f"/api/v1/presets/{preset_id}/activate", headers=headers)
    assert active.status_code == 200 and active.json["active"]
    assert [p["name"] for p in client.get("/api/v1/presets", headers=headers).json["presets"] if p["active"]] \
        == ["本市试行"]


def test_the_preset_page_names_who_saved_each_version_by_unit_and_when_as_people_say_it(client, db, login):
    admin = login("admin", unit_id=township(1).id)
    who = f"{admin.display_name}（{township(1).name}）"
    preset = by_name(db, "广东式（按诉求类型）")
    saved_at = local(2026, 12, 4, 9, 15)  # a Friday
    presets.update_preset(actor=admin, now=saved_at, preset=preset, version=preset.version,
                          limits=_rows(consult__normal__closure="4 工作日"))
    db.commit()
    page = client.get(f"/tickets/policies/{preset.id}").get_data(as_text=True)
    assert who in page
    assert "12月4日（周五）09:15" in page and "2026-12-04" not in page
    assert "系统（示例预设）" in page
