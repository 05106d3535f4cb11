import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import accounts, clock
from core.errors import Conflict, DomainError, Forbidden
from tests.builders import make_user
from tests.tickets.builders import (
    PDF,
    attach,
    department,
    make_call,
    make_caseworker,
    make_entry,
    make_task,
    make_ticket,
    township,
    valid_id_number,
)
from tickets import actions, presenters, queries, services
from tickets.models import Notification


def _audit(db, ticket, action):
    return db.execute(select(AuditEvent).where(AuditEvent.entity_type == "ticket", AuditEvent.action == action,
                                               AuditEvent.entity_id == str(ticket.id))).scalars().all()


def test_number_is_year_month_sequence_in_beijing_time(db):
    at = clock.local_to_utc(__import__("datetime").datetime(2026, 12, 1, 0, 30))  # still 30 Nov in UTC
    first, second = make_ticket(now=at), make_ticket(now=at)
    assert first.number.startswith("202612-") and first.number[-4:].isdigit()
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1


def test_dispatch_makes_first_owner_with_event_and_audit(db):
    owner = make_caseworker()
    ticket = make_ticket("pending_accept", owner=owner)
    assert ticket.first_owner_id == owner.id and ticket.unit_id == owner.unit_id
    assert [e.action for e in ticket.events] == ["create", "dispatch"]
    assert ticket.events[-1].from_state == "pending_dispatch" and ticket.events[-1].to_state == "pending_accept"
    assert _audit(db, ticket, "dispatch")
    assert db.execute(select(Notification).where(Notification.user_id == owner.id)).scalars().first()


def test_whole_life_keeps_the_first_owner(db):
    operator, owner, supervisor = make_user("operator"), make_caseworker(), make_user("supervisor")
    med = department("医疗保障局")
    med_worker = make_caseworker(unit=med)
    now = clock.now()
    call = make_call(operator=operator, outcome="ticket", kb_entry_ids=[make_entry().id])
    t = services.create_ticket(actor=operator, now=now, kind="help", urgency="normal", citizen_name="李四",
                               citizen_phone=call.caller_number, township_id=township().id,
                               description="住院费用报销", call_id=call.id, topic="医疗救助")
    services.dispatch(actor=operator, now=now, ticket=t, user_id=owner.id, version=t.version)
    services.accept(actor=owner, now=now, ticket=t, version=t.version)
    task = services.add_task(actor=owner, now=now, ticket=t, version=t.version, unit_id=med.id,
                             user_id=med_worker.id, request="核实医疗救助比例")
    services.complete_task(actor=med_worker, now=now, ticket=t, version=t.version, task_id=task.id,
                           report="已按规定比例报销")
    services.close(actor=owner, now=now, ticket=t, version=t.version, resolution="已协调报销")
    services.callback(actor=operator, now=now, ticket=t, version=t.version, satisfaction="dissatisfied",
                      note="群众对到账时间不满意")
    assert t.state == "pending_callback"
    services.decide_reopen(actor=supervisor, now=now, ticket=t, version=t.version, approved=True)
    assert t.state == "in_progress" and t.reopen_count == 1
    services.close(actor=owner, now=now, ticket=t, version=t.version, resolution="已到账")
    services.callback(actor=supervisor, now=now, ticket=t, version=t.version, satisfaction="satisfied")
    assert t.state == "closed" and t.first_owner_id == owner.id
    actions = [e.action for e in t.events]
    assert actions == ["create", "dispatch", "accept", "cohandle", "complete_task", "close", "callback", "reopen",
                       "close", "callback"]
    assert all(e.actor_name for e in t.events)
    for action in set(actions):
        assert _audit(db, t, action), action


@pytest.mark.parametrize("state,action,kwargs", [
    ("pending_dispatch", "accept", {}),
    ("pending_accept", "close", {"resolution": "x"}),
    ("in_progress", "callback", {"satisfaction": "satisfied"}),
    ("closed", "decide_reopen", {}),
    ("pending_callback", "cohandle", {"unit_id": 1, "request": "x"}),
])
def test_illegal_transitions_are_refused(db, state, action, kwargs):
    operator, owner, supervisor = make_user("operator"), make_caseworker(), make_user("supervisor")
    ticket = make_ticket(state, owner=owner, operator=operator)
    actor = {"accept": owner, "close": owner, "callback": operator, "decide_reopen": supervisor, "cohandle": owner}[action]
    if action == "accept":
        actor = make_caseworker()  # nobody owns it yet
        with pytest.raises(Forbidden):
            actions.run(actor=actor, now=clock.now(), ticket=ticket,
                        data={"action": action, "version": ticket.version, **kwargs})
        return
    before = (ticket.state, ticket.version)
    with pytest.raises(DomainError) as err:
        actions.run(actor=actor, now=clock.now(), ticket=ticket,
                    data={"action": action, "version": ticket.version, **kwargs})
    assert "不能" in err.value.message
    assert (ticket.state, ticket.version) == before


def test_callback_before_closure_refused(db):
    ticket = make_ticket("in_progress")
    with pytest.raises(DomainError, match="尚未办结"):
        services.callback(actor=make_user("operator"), now=clock.now(), ticket=ticket, version=ticket.version,
                          satisfaction="satisfied")


def test_stale_version_is_a_conflict_and_changes_nothing(db):
    owner = make_caseworker()
    ticket = make_ticket("pending_accept", owner=owner)
    stale = ticket.version - 1
    with pytest.raises(Conflict):
        services.accept(actor=owner, now=clock.now(), ticket=ticket, version=stale)
    assert ticket.state == "pending_accept"
    assert not _audit(db, ticket, "accept")


def test_only_the_first_owner_accepts_and_closes(db):
    owner, other = make_caseworker(), make_caseworker()
    ticket = make_ticket("pending_accept", owner=owner)
    with pytest.raises(Forbidden, match="首派责任人"):
        services.accept(actor=other, now=clock.now(), ticket=ticket, version=ticket.version)
    with pytest.raises(Forbidden):
        services.accept(actor=make_user("admin"), now=clock.now(), ticket=ticket, version=ticket.version)


def test_close_refused_while_task_open(db):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    task = make_task(ticket, department("残疾人联合会"), request="核实残疾等级")
    with pytest.raises(DomainError, match="协办任务未反馈或撤回") as err:
        services.close(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, resolution="办好了")
    assert err.value.code == "open_tasks" and ticket.state == "in_progress"
    services.withdraw_task(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, task_id=task.id,
                           reason="群众已自行办理")
    services.close(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, resolution="办好了")
    assert ticket.state == "pending_callback"


def test_task_report_only_by_its_unit_or_the_first_owner(db):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    med = department("医疗保障局")
    task = make_task(ticket, med)
    with pytest.raises(Forbidden):
        services.complete_task(actor=make_caseworker(), now=clock.now(), ticket=ticket, version=ticket.version,
                               task_id=task.id, report="x")
    colleague = make_caseworker(unit=med)
    services.complete_task(actor=colleague, now=clock.now(), ticket=ticket, version=ticket.version,
                           task_id=task.id, report="已核实")
    assert task.state == "done"


def test_reassignment_needs_a_supervisor_and_records_old_and_new_owner(db):
    owner, new_owner, supervisor = make_caseworker(), make_caseworker(), make_user("supervisor")
    ticket = make_ticket("in_progress", owner=owner)
    services.request_return(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version,
                            reason="不属于本单位职责")
    assert ticket.first_owner_id == owner.id
    with pytest.raises(Forbidden):
        services.decide_return(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version,
                               user_id=new_owner.id)
    services.decide_return(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version,
                           user_id=new_owner.id, note="改派至属地")
    assert ticket.first_owner_id == new_owner.id and ticket.state == "pending_accept"
    event = ticket.events[-1]
    assert event.action == "reassign"
    assert event.data["old_owner"]["id"] == owner.id and event.data["new_owner"]["id"] == new_owner.id
    assert event.data["reason"] == "不属于本单位职责"
    assert "原责任人" in presenters.event_summary(event)


def test_approved_return_without_new_owner_goes_back_to_dispatch(db):
    owner, supervisor = make_caseworker(), make_user("supervisor")
    ticket = make_ticket("pending_accept", owner=owner)
    services.request_return(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, reason="派错了")
    services.decide_return(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version)
    assert ticket.state == "pending_dispatch" and ticket.first_owner_id is None


def test_rejected_return_keeps_the_owner(db):
    owner, supervisor = make_caseworker(), make_user("supervisor")
    ticket = make_ticket("in_progress", owner=owner)
    services.request_return(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, reason="太难")
    services.decide_return(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version,
                           approved=False, note="请继续办理")
    assert ticket.first_owner_id == owner.id and ticket.state == "in_progress"
    assert ticket.events[-1].action == "reject_return"


def test_extension_approved_moves_the_deadline_visibly(db):
    owner, supervisor = make_caseworker(), make_user("supervisor")
    ticket = make_ticket("in_progress", owner=owner)
    old_due = ticket.closure_due_at
    services.request_extension(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, days=3,
                               reason="需等待医保结算")
    with pytest.raises(DomainError, match="已有待审批"):
        services.request_extension(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, days=3,
                                   reason="再次")
    services.decide_extension(actor=supervisor, now=clock.now(), ticket=ticket, version=ticket.version)
    assert ticket.closure_due_at > old_due
    event = ticket.events[-1]
    assert event.action == "approve_extension" and "办结时限" in presenters.event_summary(event)


def test_extension_must_be_asked_before_the_deadline(db):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    late = ticket.closure_due_at + timedelta(minutes=1)
    with pytest.raises(DomainError, match="已超过办结时限"):
        services.request_extension(actor=owner, now=late, ticket=ticket, version=ticket.version, days=2,
                                   reason="来不及")


def test_escalation_by_supervisor_only_and_owner_is_told(db):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    with pytest.raises(Forbidden):
        services.escalate(actor=make_user("operator"), now=clock.now(), ticket=ticket, version=ticket.version,
                          note="快办")
    services.escalate(actor=make_user("supervisor"), now=clock.now(), ticket=ticket, version=ticket.version,
                      note="请今日内联系群众")
    assert ticket.escalation_count == 1
    kinds = db.execute(select(Notification.kind).where(Notification.user_id == owner.id)).scalars().all()
    assert "escalated" in kinds


def test_reopen_only_after_dissatisfied_callback(db):
    ticket = make_ticket("pending_callback")
    with pytest.raises(DomainError, match="没有待审批的重新办理申请"):
        services.decide_reopen(actor=make_user("supervisor"), now=clock.now(), ticket=ticket, version=ticket.version)


def test_first_contact_is_recorded_once(db):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    actions.run(actor=owner, now=clock.now(), ticket=ticket,
                data={"action": "note", "version": ticket.version, "note": "已电话联系", "contacted": True})
    assert ticket.first_contact_at is not None
    with pytest.raises(DomainError):
        services.record_contact(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version)


def test_notifications_and_reading_them_are_audited(db):
    owner = make_caseworker()
    make_ticket("pending_accept", owner=owner)
    notice = db.execute(select(Notification).where(Notification.user_id == owner.id)).scalar_one()

    def audited():
        return [e.action for e in db.execute(select(AuditEvent).where(
            AuditEvent.entity_type == "notification", AuditEvent.entity_id == str(notice.id))
            .order_by(AuditEvent.seq)).scalars()]

    assert audited() == ["create"]
    assert services.mark_read(actor=owner, now=clock.now(), notification_id=notice.id) == 1
    assert notice.read_at is not None and audited() == ["create", "read"]
    assert services.mark_read(actor=owner, now=clock.now()) == 0 and audited() == ["create", "read"]


def test_marking_all_read_records_one_event_naming_them(db):
    owner = make_caseworker()
    for _ in range(3):
        make_ticket("pending_accept", owner=owner)
    unread = db.execute(select(Notification.id).where(Notification.user_id == owner.id)).scalars().all()
    before = db.execute(select(func.max(AuditEvent.seq))).scalar_one()
    assert services.mark_read(actor=owner, now=clock.now()) == 3
    events = db.execute(select(AuditEvent).where(AuditEvent.seq > before)).scalars().all()
    assert [(e.action, e.entity_type) for e in events] == [("read_all", "notification")]
    changes = json.loads(events[0].changes)
    assert changes["ids"] == sorted(unread) and changes["count"] == 3
    assert queries.unread_count(owner) == 0


# --- bad input -----------------------------------------------------------------------------------

def test_dispatch_to_unknown_disabled_or_non_caseworker_refused(db):
    operator, admin = make_user("operator"), make_user("admin")
    ticket = make_ticket(operator=operator)
    with pytest.raises(DomainError, match="承办人不存在"):
        services.dispatch(actor=operator, now=clock.now(), ticket=ticket, user_id=999999, version=ticket.version)
    gone = make_caseworker()
    accounts.set_active(actor=admin, now=clock.now(), user=gone, active=False)
    with pytest.raises(DomainError, match="已停用"):
        services.dispatch(actor=operator, now=clock.now(), ticket=ticket, user_id=gone.id, version=ticket.version)
    with pytest.raises(DomainError, match="不是承办人员"):
        services.dispatch(actor=operator, now=clock.now(), ticket=ticket, user_id=operator.id,
                          version=ticket.version)
    assert ticket.state == "pending_dispatch" and ticket.first_owner_id is None


def test_caseworker_cannot_dispatch(db):
    ticket = make_ticket()
    with pytest.raises(Forbidden):
        services.dispatch(actor=make_caseworker(), now=clock.now(), ticket=ticket, user_id=make_caseworker().id)


def test_unknown_units_refused(db):
    with pytest.raises(DomainError, match="乡镇\\(街道\\)不存在"):
        make_ticket(township_id=999999)
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    with pytest.raises(DomainError, match="协办单位不存在"):
        services.add_task(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version, unit_id=999999,
                          request="x")


def test_id_number_check_digit(db):
    good = valid_id_number("11010519491231002")
    assert good == "11010519491231002X"
    assert make_ticket(citizen_id_number=good.lower()).citizen_id_number == good
    bad = good[:-1] + "1"
    with pytest.raises(DomainError, match="校验位"):
        make_ticket(citizen_id_number=bad)
    with pytest.raises(DomainError, match="18位"):
        make_ticket(citizen_id_number="12345")


def test_attachment_checked_by_content_and_size(db, tmp_path):
    ticket = make_ticket("in_progress")
    att = attach(ticket, tmp_path)
    assert services.attachment_path(att, tmp_path).read_bytes() == PDF
    with pytest.raises(DomainError, match="不允许的文件类型"):
        attach(ticket, tmp_path, "病历.pdf", b"MZ\x90\x00" + b"\x00" * 100)
    with pytest.raises(DomainError, match="与扩展名不符"):
        attach(ticket, tmp_path, "照片.png")
    with pytest.raises(DomainError, match="不能超过") as err:
        attach(ticket, tmp_path, "大.pdf", b"%PDF-" + b"0" * 2048, max_bytes=1024)
    assert err.value.status == 413
    assert len(ticket.attachments) == 1


def test_attachment_file_is_removed_when_its_transaction_rolls_back(db, tmp_path):
    ticket = make_ticket("in_progress")
    db.commit()
    assert services.attachment_path(attach(ticket, tmp_path), tmp_path).is_file()
    db.rollback()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_attachment_file_stays_once_its_transaction_commits(db, tmp_path):
    att = attach(make_ticket("in_progress"), tmp_path)
    db.commit()
    db.rollback()  # a later transaction's rollback leaves the committed file alone
    assert services.attachment_path(att, tmp_path).read_bytes() == PDF
