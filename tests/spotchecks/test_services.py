"""Spot-check services on the database: registry, plans, logging, rectification, summons, notices."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import replace
from datetime import date, time, timedelta

import pytest
from docx import Document
from sqlalchemy import func, select

from audit.models import AuditEvent
from core.errors import Conflict, DomainError, NotFound
from spotchecks import hotlines, notices, reports, services, transfer
from spotchecks.documents import notice_docx
from spotchecks.models import (
    Hotline,
    MysteryCall,
    Rectification,
    SpotcheckItem,
    SpotcheckPlan,
    Summons,
)
from tests.builders import make_user
from tests.spotchecks.builders import (
    SETTINGS,
    WEEK,
    at_local,
    deflecting_call,
    good_call,
    item_for,
    log,
    make_fault,
    make_plan,
    make_supervisors,
)


def count(db, model) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


# --- plans -----------------------------------------------------------------------------------------

def test_plan_covers_all_183_hotlines_with_the_smallest_sufficient_quota_and_says_so(db):
    plan = make_plan()
    items = services.plan_items(plan)
    assert sorted(i.hotline_id for i in items) == sorted(h.id for h in hotlines.hotlines(active_only=True))
    per_day = Counter(i.day for i in items)
    assert sorted(per_day) == [date(2026, 11, 23) + timedelta(days=d) for d in range(5)]
    assert max(per_day.values()) <= 37
    assert (plan.configured_quota, plan.quota) == (30, 37)
    assert plan.warning == "本周5个工作日，每日限额30不足以覆盖183条热线，已按每日37条安排"
    assert plan.seed == 202648


def test_plan_spreads_items_over_supervisors_and_times_within_service_hours(db):
    staff = make_supervisors(3)
    plan = make_plan(supervisors=staff)
    items = services.plan_items(plan)
    per_supervisor = Counter(i.supervisor_id for i in items)
    assert set(per_supervisor) == {u.id for u in staff}
    assert max(per_supervisor.values()) - min(per_supervisor.values()) <= 1
    inside = [i for i in items if not i.outside_hours]
    assert not any(services._outside(i.hotline, services.clock.to_local(i.planned_at).time()) for i in inside)
    assert 0 < sum(i.outside_hours for i in items) <= 25  # about 10% placed just outside service hours


def test_plan_is_identical_for_the_same_seed(db):
    make_supervisors()

    def snapshot(seed):
        nested = db.begin_nested()
        plan = make_plan(seed=seed)
        result = [(i.hotline_id, i.day, i.planned_at, i.supervisor_id) for i in services.plan_items(plan)]
        nested.rollback()
        return result

    first, again, other = snapshot(7), snapshot(7), snapshot(8)
    assert first == again
    assert first != other


def test_a_second_run_adds_nothing(db, frozen_now):
    plan = make_plan()
    result = services.create_plan(actor=None, now=frozen_now, week=WEEK, settings=SETTINGS)
    assert (result.plan.id, result.created) == (plan.id, 0)
    assert count(db, SpotcheckItem) == 183


def test_the_database_refuses_a_second_item_for_a_hotline_in_a_week(db):
    from sqlalchemy.exc import IntegrityError

    plan = make_plan()
    item = item_for(plan)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(SpotcheckItem(plan_id=plan.id, week=plan.week, hotline_id=item.hotline_id, day=item.day,
                             planned_at=item.planned_at, supervisor_id=item.supervisor_id))
        db.flush()


def test_plan_refused_without_active_supervisors(db, frozen_now):
    with pytest.raises(DomainError, match="没有在岗的督查人员"):
        services.create_plan(actor=None, now=frozen_now, week=WEEK, settings=SETTINGS)
    assert count(db, SpotcheckPlan) == 0


def test_a_short_holiday_week_raises_the_quota_beyond_37_to_keep_coverage(db):
    plan = make_plan(week="2026-W41")  # National Day: 8–10 October are the working days
    items = services.plan_items(plan)
    assert len(items) == 183 and {i.day for i in items} == {date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)}
    assert plan.quota == 61
    assert plan.warning == "本周3个工作日，每日限额30不足以覆盖183条热线，已按每日61条安排（超过常规上限37条）"


def test_a_configured_quota_that_covers_the_week_is_kept(db):
    plan = make_plan(settings=replace(SETTINGS, daily_quota=37))
    assert (plan.quota, plan.warning) == (37, "")


def test_malformed_week_is_refused_in_chinese(db, frozen_now):
    make_supervisors(1)
    with pytest.raises(DomainError, match="周次格式"):
        services.create_plan(actor=None, now=frozen_now, week="2026-48", settings=SETTINGS)


def test_hotline_with_open_rectification_is_rechecked_first_next_week(db):
    item = make_fault(index=20).item
    next_plan = make_plan(week="2026-W49")
    recheck = next(i for i in services.plan_items(next_plan) if i.hotline_id == item.hotline_id)
    assert recheck.recheck
    assert recheck.day == date(2026, 11, 30)  # the first working day of the week
    assert sum(i.recheck for i in services.plan_items(next_plan)) == 1


def test_move_and_swap_keep_the_week_and_record_the_reason(db):
    plan = make_plan()
    supervisor = plan.items[0].supervisor
    first, second = item_for(plan, 0), item_for(plan, -1)
    now = at_local(2026, 11, 23, 7, 0)
    services.move_item(actor=supervisor, now=now, item=first, day=date(2026, 11, 26), at=time(9, 30),
                       reason="该镇周一停电")
    assert (first.day, services.clock.to_local(first.planned_at).time()) == (date(2026, 11, 26), time(9, 30))
    with pytest.raises(DomainError, match="只能在本周"):
        services.move_item(actor=supervisor, now=now, item=first, day=date(2026, 12, 1), at=time(9, 0), reason="x")
    with pytest.raises(DomainError, match="调整原因"):
        services.move_item(actor=supervisor, now=now, item=first, day=date(2026, 11, 26), at=time(9, 0), reason=" ")
    slot_a, slot_b = (first.day, first.planned_at), (second.day, second.planned_at)
    services.swap_items(actor=supervisor, now=now, first=first, second=second, reason="两名督查人员对调")
    assert (second.day, second.planned_at) == slot_a and (first.day, first.planned_at) == slot_b
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "swap")).scalar_one()


# --- logging a mystery call ------------------------------------------------------------------------

def test_logging_a_result_for_an_item_not_in_a_plan_is_refused(db):
    with pytest.raises(NotFound, match="不在任何周计划中"):
        services.get_item(999999)
    with pytest.raises(NotFound):
        services.get_item("abc")


def test_a_start_time_in_the_future_is_refused_and_nothing_is_written(db):
    plan = make_plan()
    item = item_for(plan)
    with pytest.raises(DomainError, match="开始时间不能晚于当前时间"):
        log(item, good_call(item), now=item.planned_at - timedelta(minutes=1))
    assert count(db, MysteryCall) == 0


def test_a_start_time_outside_the_items_week_is_refused(db):
    plan = make_plan()
    item = item_for(plan)
    with pytest.raises(DomainError, match="周内"):
        log(item, good_call(item, started_at=at_local(2026, 11, 20, 10, 0)))


def test_a_good_call_passes_without_rectification(db):
    plan = make_plan()
    item = item_for(plan)
    call = log(item, good_call(item))
    assert (call.score, call.passed, call.faults) == (100, True, [])
    assert call.question.startswith(services.session.get(services.Entry, "Q001").question[:5])
    assert count(db, Rectification) == 0


def test_an_item_is_logged_once(db):
    plan = make_plan()
    item = item_for(plan)
    log(item, good_call(item))
    with pytest.raises(Conflict, match="已登记过结果"):
        log(item, good_call(item))


def test_an_unanswered_call_is_a_fault_with_score_zero(db):
    plan = make_plan()
    item = item_for(plan)
    call = log(item, services.CallInput(started_at=item.planned_at, ring_seconds=60, connected=False))
    assert (call.score, call.passed, call.fault_labels) == (0, False, ["未接通"])
    assert call.attitude is None and call.identified == ""


def test_a_connected_call_needs_the_observations(db):
    plan = make_plan()
    item = item_for(plan)
    with pytest.raises(DomainError, match="服务态度"):
        log(item, good_call(item, attitude=None))
    with pytest.raises(DomainError, match="答复是否正确"):
        log(item, good_call(item, correctness="maybe"))


def test_a_logged_fault_opens_a_rectification_and_the_daily_notice_names_it(db):
    plan = make_plan()
    item = item_for(plan)
    call = log(item, deflecting_call(item))
    assert call.fault_labels == ["推诿", "未报姓名工号"]
    rect = db.execute(select(Rectification).where(Rectification.call_id == call.id)).scalar_one()
    assert rect.unit_id == item.hotline.unit_id and rect.state == "open"
    assert rect.deadline_at == at_local(2026, 12, 1, 0, 0)  # the end of the 5th working day, Mon 30 Nov
    assert "有问题找社区网格员" in rect.finding
    notice, created = notices.draft_notice(actor=item.supervisor, now=call.created_at, kind="daily", day=item.day)
    assert created and notice.status == "draft"
    assert "当日抽查热线共计1个" in notice.body and "接通1个" in notice.body
    assert rect.unit.full_name in notice.body and rect.code in notice.body
    assert services.clock.to_local(call.started_at).strftime("%-H时%M分") in notice.body
    assert "2026年11月30日前完成整改" in notice.body


# --- notices ---------------------------------------------------------------------------------------

def _notice(db, day=date(2026, 11, 23)):
    supervisor = make_fault(day=day).supervisor
    notice, _ = notices.draft_notice(actor=supervisor, now=at_local(2026, 11, 27, 18, 0), kind="daily", day=day)
    return notice, supervisor


def test_publishing_assigns_gap_free_numbers_per_year_and_freezes_the_notice(db):
    first, supervisor = _notice(db)
    now = at_local(2026, 11, 27, 18, 30)
    notices.update_notice(actor=supervisor, now=now, notice=first, title=first.title, recipients=first.recipients,
                          body=first.body + "\n特此通报。")
    notices.publish(actor=supervisor, now=now, notice=first, settings=SETTINGS)
    second, _ = notices.draft_notice(actor=supervisor, now=now, kind="weekly", day=date(2026, 11, 27))
    notices.publish(actor=supervisor, now=now, notice=second, settings=SETTINGS)
    assert (first.number, second.number) == ("绥民救通〔2026〕1号", "绥民救通〔2026〕2号")
    with pytest.raises(Conflict, match="已发布，不能修改"):
        notices.update_notice(actor=supervisor, now=now, notice=first, title="改标题", recipients="", body="改")
    with pytest.raises(Conflict):
        notices.publish(actor=supervisor, now=now, notice=first, settings=SETTINGS)
    actions = [e.action for e in db.execute(select(AuditEvent).where(AuditEvent.entity_type == "notice")).scalars()]
    assert actions.count("publish") == 2 and "update" in actions


def test_a_published_notice_cannot_be_changed_even_bypassing_the_service(db):
    notice, supervisor = _notice(db)
    notices.publish(actor=supervisor, now=at_local(2026, 11, 27, 18, 30), notice=notice, settings=SETTINGS)
    notice.body = "偷偷修改"
    with pytest.raises(PermissionError):
        db.flush()
    db.rollback()


def test_the_notice_exports_as_a_valid_word_document(db):
    notice, supervisor = _notice(db)
    notices.publish(actor=supervisor, now=at_local(2026, 11, 27, 18, 30), notice=notice, settings=SETTINGS)
    data = notice_docx(notices.document(notice, SETTINGS))
    document = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert notice.title in text and "绥民救通〔2026〕1号" in text and "绥化市民政局" in text
    assert "2026年11月27日" in text


def test_a_day_without_calls_drafts_a_notice_saying_so(db):
    supervisor = make_supervisors(1)[0]
    notice, _ = notices.draft_notice(actor=supervisor, now=at_local(2026, 11, 23, 18, 0), kind="daily",
                                     day=date(2026, 11, 23))
    assert "未登记" in notice.body


def test_exports_leave_an_audit_event(db, frozen_now):
    supervisor = make_supervisors(1)[0]
    notice, _ = notices.draft_notice(actor=supervisor, now=frozen_now, kind="daily", day=date(2026, 11, 23))
    assert notices.export_docx(actor=supervisor, now=frozen_now, notice=notice, settings=SETTINGS).startswith(b"PK")
    assert transfer.export_hotlines(actor=supervisor, now=frozen_now).startswith(b"PK")
    assert reports.export(actor=supervisor, now=frozen_now, start=date(2026, 11, 1),
                          end=date(2026, 11, 29)).startswith(b"PK")
    exported = db.execute(select(AuditEvent.entity_type).where(AuditEvent.action == "export")).scalars().all()
    assert sorted(exported) == ["hotline", "notice", "spotcheck_report"]


# --- rectification ---------------------------------------------------------------------------------

def _rectification(db):
    call = make_fault()
    return db.execute(select(Rectification).where(Rectification.call_id == call.id)).scalar_one(), call.supervisor


def test_the_units_caseworker_answers_and_a_supervisor_closes_out_with_evidence(db):
    rect, supervisor = _rectification(db)
    caseworker = make_user("caseworker", unit_id=rect.unit_id)
    now = at_local(2026, 11, 25, 10, 0)
    services.answer_rectification(actor=caseworker, now=now, rect=rect, response="已约谈接听人员,调整值班表",
                                  evidence="值班表、培训签到表")
    assert rect.state == "answered"
    with pytest.raises(DomainError, match="请填写核验情况"):
        services.close_out(actor=supervisor, now=now, rect=rect, evidence="  ")
    with pytest.raises(DomainError, match="销号需要至少一份佐证材料（照片、扫描件或录音），或写明没有佐证材料的原因"):
        services.close_out(actor=supervisor, now=now, rect=rect, evidence="11月25日复拨，接听规范")
    assert rect.state == "answered"
    services.close_out(actor=supervisor, now=now, rect=rect, evidence="11月25日复拨，接听规范",
                       no_evidence_reason="复拨未录音，单位佐证为纸质材料，已现场查看")
    assert (rect.state, rect.closed_by_id) == ("closed", supervisor.id)


def test_close_out_is_refused_before_the_unit_answered(db):
    rect, supervisor = _rectification(db)
    with pytest.raises(DomainError, match="尚未报送整改情况"):
        services.close_out(actor=supervisor, now=at_local(2026, 11, 25, 10, 0), rect=rect, evidence="复拨正常")


def test_a_caseworker_of_another_unit_cannot_answer(db):
    rect, _ = _rectification(db)
    other = db.execute(select(Hotline).where(Hotline.unit_id != rect.unit_id, Hotline.level == "township")).scalars().first()
    outsider = make_user("caseworker", unit_id=other.unit_id)
    with pytest.raises(DomainError, match="只有该单位"):
        services.answer_rectification(actor=outsider, now=at_local(2026, 11, 25, 10, 0), rect=rect,
                                      response="x", evidence="y")


def test_a_county_bureau_caseworker_answers_for_its_townships(db):
    rect, _ = _rectification(db)
    bureau = rect.unit.parent_id
    assert services.can_answer(make_user("caseworker", unit_id=bureau), rect)


def test_returned_rectification_goes_back_to_the_unit(db):
    rect, supervisor = _rectification(db)
    caseworker = make_user("caseworker", unit_id=rect.unit_id)
    now = at_local(2026, 11, 25, 10, 0)
    services.answer_rectification(actor=caseworker, now=now, rect=rect, response="已整改", evidence="说明")
    services.return_rectification(actor=supervisor, now=now, rect=rect, reason="佐证不足")
    assert (rect.state, rect.returned_count) == ("returned", 1)
    services.answer_rectification(actor=caseworker, now=now, rect=rect, response="已整改并培训", evidence="培训照片")
    assert rect.state == "answered"


def test_overdue_rectifications_are_flagged_once(db):
    rect, _ = _rectification(db)
    assert services.flag_overdue(now=rect.deadline_at - timedelta(minutes=1)) == 0
    assert services.flag_overdue(now=rect.deadline_at + timedelta(hours=1)) == 1
    assert services.flag_overdue(now=rect.deadline_at + timedelta(hours=2)) == 0
    assert rect.overdue_at == rect.deadline_at + timedelta(hours=1)


# --- summons ---------------------------------------------------------------------------------------

def test_two_faults_of_a_unit_within_four_weeks_propose_one_summons(db):
    item = make_fault().item
    assert services.propose_summonses(now=at_local(2026, 11, 27, 8, 0), settings=SETTINGS) == []
    second_plan = make_plan(week="2026-W49")
    again = next(i for i in services.plan_items(second_plan) if i.hotline_id == item.hotline_id)
    log(again, services.CallInput(started_at=again.planned_at, ring_seconds=60, connected=False))
    created = services.propose_summonses(now=at_local(2026, 12, 4, 8, 0), settings=SETTINGS)
    assert len(created) == 1
    summons = created[0]
    assert (summons.unit_id, summons.rule, summons.state) == (item.hotline.unit_id, "faults", "proposed")
    assert summons.leader == item.hotline.leader and "2次" in summons.reason
    assert services.propose_summonses(now=at_local(2026, 12, 4, 9, 0), settings=SETTINGS) == []


def test_a_rectification_overdue_by_more_than_five_working_days_proposes_a_summons(db):
    rect, _ = _rectification(db)
    # Deadline: end of Mon 30 Nov; five more working days (1–7 Dec) are 1, 2, 3, 4, 7 December.
    assert services.propose_summonses(now=at_local(2026, 12, 7, 12, 0), settings=SETTINGS) == []
    created = services.propose_summonses(now=at_local(2026, 12, 8, 9, 0), settings=SETTINGS)
    assert [s.rule for s in created] == ["overdue"]
    assert rect.code in created[0].reason


def test_a_supervisor_confirms_a_summons_with_date_attendees_and_outcome(db):
    rect, supervisor = _rectification(db)
    summons = services.propose_summonses(now=at_local(2026, 12, 9, 9, 0), settings=SETTINGS)[0]
    now = at_local(2026, 12, 10, 16, 0)
    with pytest.raises(DomainError, match="参加人员"):
        services.confirm_summons(actor=supervisor, now=now, summons=summons, held_on=date(2026, 12, 10),
                                 attendees="", outcome="表态整改")
    with pytest.raises(DomainError, match="不能晚于今天"):
        services.confirm_summons(actor=supervisor, now=now, summons=summons, held_on=date(2026, 12, 11),
                                 attendees="王局长", outcome="表态整改")
    services.confirm_summons(actor=supervisor, now=now, summons=summons, held_on=date(2026, 12, 10),
                             attendees="市民政局王局长;镇分管领导", outcome="表态一周内完成整改")
    assert (summons.state, summons.held_on) == ("held", date(2026, 12, 10))
    assert db.execute(select(Summons).where(Summons.state == "held")).scalar_one()
    with pytest.raises(DomainError, match="已处理"):
        services.dismiss_summons(actor=supervisor, now=now, summons=summons, reason="x")


def test_only_supervisors_run_the_spot_checks(db):
    plan = make_plan()
    item = item_for(plan)
    operator = make_user("operator")
    with pytest.raises(DomainError, match="督查人员"):
        services.log_call(actor=operator, now=item.planned_at + timedelta(minutes=5), item=item, data=good_call(item),
                          settings=SETTINGS)
    assert count(db, MysteryCall) == 0


def test_a_hotline_added_after_planning_is_slotted_into_the_rest_of_the_week(db):
    plan = make_plan()
    admin = make_user("admin")
    wednesday = at_local(2026, 11, 25, 10, 0)
    unit = hotlines.find_unit("北林区", "宝山镇")
    added = hotlines.create_hotline(actor=admin, now=wednesday, data={
        "unit_id": unit.id, "name": "宝山镇第二救助热线", "number": "0455-8330001", "service_hours": "08:30-17:00"})
    result = services.create_plan(actor=None, now=wednesday, week=WEEK, settings=SETTINGS)
    assert (result.plan.id, result.created) == (plan.id, 1)
    item = next(i for i in services.plan_items(plan) if i.hotline_id == added.id)
    assert item.planned_at > wednesday + timedelta(minutes=29)
    assert item.day in (date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27))
    assert services.create_plan(actor=None, now=wednesday, week=WEEK, settings=SETTINGS).created == 0


def test_the_weekly_notice_sums_up_the_week_by_county(db):
    plan = make_plan()
    monday, tuesday = item_for(plan, day=date(2026, 11, 23)), item_for(plan, day=date(2026, 11, 24))
    log(monday, deflecting_call(monday))
    log(tuesday, good_call(tuesday))
    notice, _ = notices.draft_notice(actor=monday.supervisor, now=at_local(2026, 11, 27, 18, 0), kind="weekly",
                                     day=date(2026, 11, 26))
    assert notice.title == "关于2026年11月23日—11月27日社会救助服务热线抽查情况的通报"
    assert notice.body.startswith("11月23日—11月27日（第48周），")
    assert (notice.period_start, notice.period_end) == (date(2026, 11, 23), date(2026, 11, 29))
    assert "本周抽查热线共计2个" in notice.body and "分县（市、区）看：" in notice.body
    assert monday.hotline.unit.full_name in notice.body
