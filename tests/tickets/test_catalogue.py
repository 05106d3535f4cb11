"""The dispatch catalogue (派单目录): versions, the owner it proposes, the supervisor's desk, xlsx import."""

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import clock
from core.errors import Forbidden
from core.models import Unit
from tests.builders import make_unit, make_user, workbook_bytes
from tests.tickets.builders import department, make_caseworker, make_entry, make_ticket, township
from tickets import catalogue
from tickets.models import CatalogueVersion, Notification
from tickets.validation import TicketError


def _versions(db) -> int:
    return db.execute(select(func.count()).select_from(CatalogueVersion)).scalar_one()


def _disabled_department(db) -> Unit:
    unit = make_unit(name="绥化市停用测试局", level="city", kind="department", area="绥化市",
                     parent_id=some_city(db).id)
    unit.active = False
    db.flush()
    return unit


def some_city(db) -> Unit:
    return db.execute(select(Unit).where(Unit.level == "city", Unit.kind == "civil_affairs")).scalar_one()


def test_the_bundled_catalogue_is_loaded_as_version_1_with_the_desk_categories_left_out(db):
    current = catalogue.current_version()
    assert current is not None and current.source == "seed"
    categories = {m.category for m in current.matters}
    assert "最低生活保障" in categories and "其他救助与福利" not in categories


def test_a_township_matter_proposes_the_tickets_own_township_and_its_caseworker(db):
    worker = make_caseworker(unit=township(3))
    proposal = catalogue.propose(township(3).id, "最低生活保障", "help")
    assert proposal.unit.id == township(3).id
    assert proposal.owner.id == worker.id


def test_a_row_for_the_kind_wins_over_the_row_for_every_kind(db):
    county = township(3).parent
    worker = make_caseworker(unit=county)
    proposal = catalogue.propose(township(3).id, "最低生活保障", "complaint")
    assert proposal.unit.id == county.id and proposal.owner.id == worker.id


def test_an_entry_row_wins_over_its_category(db):
    entry = make_entry("Q951", category="医疗救助")
    med = department("医疗保障局")
    rows = [catalogue.matter_dict(m) for m in catalogue.current_matters()]
    rows.append({"entry_id": entry.id, "level": "city", "unit_id": med.id})
    catalogue.save_version(actor=make_user("admin"), now=clock.now(), rows=rows, source="page")
    assert catalogue.propose(township().id, "医疗救助", "help", [entry.id]).unit.id == med.id
    assert catalogue.propose(township().id, "医疗救助", "help").unit.id == township().parent_id


def test_each_change_is_a_new_version_with_its_history_and_an_audit_event(db):
    admin = make_user("admin")
    before = catalogue.current_version().number
    old = catalogue.current_matters()[0]
    version = catalogue.put_matter(actor=admin, now=clock.now(), matter_id=old.id,
                                   row={**catalogue.matter_dict(old), "level": "county", "note": "改为县级首办"})
    assert version.number == before + 1
    assert catalogue.get_version(before).matters[0].level == old.level  # the old version reads as it stood
    assert catalogue.get_version(version.number).matters[0].level == "county"
    event = db.execute(select(AuditEvent).where(AuditEvent.entity_type == "dispatch_catalogue")
                       .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert event.action == "create" and event.entity_id == str(version.number)
    assert json.loads(event.changes)["updated"][0]["level"] == "county"


def test_a_row_pointing_at_a_disabled_unit_is_refused_and_nothing_written(db):
    unit = _disabled_department(db)
    count = _versions(db)
    with pytest.raises(TicketError, match="已停用") as refused:
        catalogue.put_matter(actor=make_user("admin"), now=clock.now(), matter_id=None,
                             row={"category": "其他救助与福利", "level": "city", "unit_id": unit.id})
    assert refused.value.field == "unit_id"
    assert _versions(db) == count


def test_only_admins_change_the_catalogue(db):
    with pytest.raises(Forbidden):
        catalogue.put_matter(actor=make_user("supervisor"), now=clock.now(), matter_id=None,
                             row={"category": "其他救助与福利", "level": "township"})


def test_a_matter_outside_the_catalogue_goes_to_the_desk_and_notifies_the_supervisors(db):
    supervisor = make_user("supervisor")
    ticket = make_ticket(topic="其他救助与福利", citizen_phone="13900000001")
    inside = make_ticket(topic="最低生活保障", citizen_phone="13900000002")
    desk = catalogue.desk_tickets()
    assert ticket in desk and inside not in desk
    notes = db.execute(select(Notification).where(Notification.user_id == supervisor.id,
                                                  Notification.ticket_id == ticket.id)).scalars().all()
    assert [n.kind for n in notes] == ["desk"]


def test_the_supervisor_dispatches_from_the_desk_and_adds_the_matter_in_one_step(db):
    supervisor = make_user("supervisor")
    owner = make_caseworker(unit=department("慈善总会"))
    ticket = make_ticket(topic="其他救助与福利", citizen_phone="13900000003")
    catalogue.dispatch(actor=supervisor, now=clock.now(), ticket=ticket, user_id=owner.id, version=ticket.version,
                       add_to_catalogue=True)
    assert ticket.first_owner_id == owner.id and ticket not in catalogue.desk_tickets()
    assert catalogue.current_version().source == "desk"
    assert catalogue.propose(township(5).id, "其他救助与福利", "help").unit.id == owner.unit_id


def test_an_operator_cannot_add_to_the_catalogue_while_dispatching(db):
    ticket = make_ticket(topic="其他救助与福利", citizen_phone="13900000004")
    with pytest.raises(Forbidden):
        catalogue.dispatch(actor=make_user("operator"), now=clock.now(), ticket=ticket,
                           user_id=make_caseworker().id, version=ticket.version, add_to_catalogue=True)


def _sheet(rows: list[list]) -> bytes:
    header = [h for _, h in catalogue.COLUMNS]
    return workbook_bytes([header, *rows], title=catalogue.SHEET)


def test_an_import_with_errors_reports_every_row_and_column_and_writes_nothing(db):
    disabled = _disabled_department(db)
    count = _versions(db)
    content = _sheet([
        ["最低生活保障", "", "", "乡镇(街道)", "", "", ""],
        ["不存在的类别", "", "", "县级", "", "", ""],
        ["医疗救助", "", "求助", "市级", disabled.name, "", ""],
        ["教育救助", "", "闲聊", "县级", "", "", ""],
        ["住房救助", "", "", "省级", "", "没有这个局", ""],
    ])
    with pytest.raises(catalogue.CatalogueImportError) as refused:
        catalogue.import_xlsx(content, actor=make_user("admin"), now=clock.now())
    errors = refused.value.errors
    assert len(errors) == 4, errors
    assert errors[0].startswith("工作表“派单目录”第3行「问题类别」列（A列）")
    assert "第4行「首派单位" in errors[1] and "已停用" in errors[1]
    assert "第5行「工单类型" in errors[2]
    assert "第6行「协办单位" in errors[3]
    assert _versions(db) == count


def test_an_import_missing_a_column_names_it(db):
    content = workbook_bytes([["问题类别"], ["最低生活保障"]], title=catalogue.SHEET)
    with pytest.raises(catalogue.CatalogueImportError, match="缺少列：责任层级"):
        catalogue.plan_import(content)


def test_an_exported_catalogue_imports_back_as_a_new_version_with_the_same_matters(db):
    admin = make_user("admin")
    content = catalogue.export_xlsx(actor=admin, now=clock.now())
    ws = load_workbook(io.BytesIO(content))[catalogue.SHEET]
    ws.append(["其他救助与福利", "", "", "县级", "", "绥化市慈善总会", "新增"])
    out = io.BytesIO()
    ws.parent.save(out)
    before = {(m.category, m.kind, m.level, m.unit_id) for m in catalogue.current_matters()}
    version = catalogue.import_xlsx(out.getvalue(), actor=admin, now=clock.now())
    after = {(m.category, m.kind, m.level, m.unit_id) for m in version.matters}
    assert after == before | {("其他救助与福利", "", "county", None)}
    added = next(m for m in version.matters if m.category == "其他救助与福利")
    assert added.cohandling_ids == [department("慈善总会").id]


def test_a_duplicate_row_in_an_import_names_the_sheet_row_it_repeats(db):
    content = _sheet([
        ["医疗救助", "", "", "省级", "", "", ""],
        ["最低生活保障", "", "", "乡镇（街道）", "", "", ""],
        ["最低生活保障", "", "", "县级", "", "", ""],
    ])
    with pytest.raises(catalogue.CatalogueImportError) as refused:
        catalogue.plan_import(content)
    duplicate = next(e for e in refused.value.errors if "重复" in e)
    assert duplicate.startswith("工作表“派单目录”第4行") and "与第3行重复" in duplicate


def test_the_export_writes_full_width_brackets_and_a_sheet_with_the_older_half_width_headers_still_imports(db):
    content = catalogue.export_xlsx(actor=make_user("admin"), now=clock.now())
    header = [c.value for c in load_workbook(io.BytesIO(content))[catalogue.SHEET][1]]
    assert "工单类型（空为全部）" in header and not any("(" in h for h in header)
    old = ["问题类别", "知识库条目编号", "工单类型(空为全部)", "责任层级", "首派单位(空为所在乡镇或县)",
           "协办单位(用、分隔)", "说明"]
    rows = catalogue.plan_import(workbook_bytes([old, ["最低生活保障", "", "投诉", "乡镇(街道)", "", "", ""]],
                                                title=catalogue.SHEET))
    assert rows[0]["kind"] == "complaint" and rows[0]["level"] == "township"


def _statements(db, work) -> int:
    from sqlalchemy import event

    count = [0]

    def counted(*_args, **_kwargs):
        count[0] += 1

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count[0]


def test_the_desk_reads_its_tickets_in_the_same_few_queries_however_many_wait(client, login, db):
    login("supervisor")
    for n in range(2):
        make_ticket(topic="其他救助与福利", citizen_phone=f"1390000001{n}")
    db.commit()
    client.get("/tickets/desk")  # the first request fills the app's caches
    few = _statements(db, lambda: client.get("/tickets/desk"))
    for n in range(2, 7):
        make_ticket(topic="其他救助与福利", citizen_phone=f"1390000001{n}", township_id=township(n).id)
    db.commit()
    many = _statements(db, lambda: client.get("/tickets/desk"))
    assert many == few
