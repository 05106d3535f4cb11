"""Spot checks: the only code that changes plans, mystery calls, rectifications and summonses.

The hotline registry is hotlines.py; a fault's label, finding and measure are rubric.py's table.

Every service takes the acting user and the time, validates, changes rows, records the audit event in
the same transaction and flushes; the request, command or job that called it commits.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from audit import services as audit
from core import clock, files, humanize
from core.calendar import WorkCalendar, load_calendar
from core.choices import choose
from core.db import session
from core.errors import Conflict, Forbidden, NotFound
from core.models import Unit, User
from core.uploads import check_media
from kb.models import Entry
from spotchecks import hotlines, planner, rubrics
from spotchecks.common import SpotcheckError, clean_text, get_or_404, require_supervisor
from spotchecks.models import (
    CORRECTNESS,
    EVIDENCE_STAGES,
    IDENTIFIED,
    RECTIFICATION_PENDING,
    EvidenceFile,
    Hotline,
    MysteryCall,
    Rectification,
    SpotcheckItem,
    SpotcheckPlan,
    Summons,
)
from spotchecks.rubric import FAULT_TYPES, Observation, Rubric, assess, findings
from spotchecks.settings import SpotcheckSettings

# --- plans ---------------------------------------------------------------------------------------

@dataclass
class PlanResult:
    plan: SpotcheckPlan
    created: int


def week_key(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> tuple[int, int]:
    try:
        return planner.parse_week(text)
    except ValueError as err:
        raise SpotcheckError(str(err), field="week") from None


def week_of(day: date) -> str:
    iso = day.isocalendar()
    return week_key(iso.year, iso.week)


def week_bounds(year: int, week: int) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, Beijing time, as UTC."""
    monday = date.fromisocalendar(year, week, 1)
    start = clock.local_to_utc(datetime.combine(monday, time()))
    return start, start + timedelta(days=7)


def _week_words(week: str) -> str:
    """11月23日—11月27日，第48周: a week inside a sentence's brackets."""
    monday = humanize.iso_monday(week)
    return f"{humanize.week_range(monday)}，第{monday.isocalendar().week}周"


def default_seed(year: int, week: int) -> int:
    return year * 100 + week


def plan_for_week(week: str) -> SpotcheckPlan | None:
    return session.execute(select(SpotcheckPlan).where(SpotcheckPlan.week == week)).scalar_one_or_none()


def active_supervisors() -> list[User]:
    return list(session.execute(select(User).where(User.role == "supervisor", User.active.is_(True))
                                .order_by(User.id)).scalars())


def priority_hotline_ids(year: int, week: int) -> set[int]:
    """Hotlines re-checked first: an open rectification, or a fault in the week before."""
    open_ids = set(session.execute(select(Rectification.hotline_id).where(Rectification.state != "closed")).scalars())
    start, _ = week_bounds(year, week)
    faulty = session.execute(select(MysteryCall.hotline_id).where(
        MysteryCall.started_at >= start - timedelta(days=7), MysteryCall.started_at < start,
        MysteryCall.faults_json != "[]")).scalars()
    return open_ids | set(faulty)


def effective_quota(configured: int, hotline_count: int, day_count: int) -> tuple[int, str]:
    """The configured daily quota, or the smallest that covers every hotline this week, with a warning."""
    if day_count <= 0 or configured * day_count >= hotline_count:
        return configured, ""
    needed = math.ceil(hotline_count / day_count)
    warning = f"本周{day_count}个工作日，每日限额{configured}不足以覆盖{hotline_count}条热线，已按每日{needed}条安排"
    if needed > planner.MAX_QUOTA:
        warning += f"（超过常规上限{planner.MAX_QUOTA}条）"
    return needed, warning


def _outside(hotline: Hotline, at: time) -> bool:
    opens, closes = planner.parse_service_hours(hotline.service_hours)
    if planner.is_round_the_clock(opens, closes):
        return False
    return not opens <= at < closes


def create_plan(*, actor: User | None, now: datetime, week: str, settings: SpotcheckSettings,
                seed: int | None = None, calendar: WorkCalendar | None = None) -> PlanResult:
    """Create the week's plan if it has none; return it with the number of items this call added.

    The plan row is unique per week and items are unique per (week, hotline), so a second planner
    running at the same moment fails on insert; it then reports the winner's plan with created=0.
    A hotline added after the plan was made is slotted into the week's remaining working days.
    """
    year, number = parse_week(week)
    key = week_key(year, number)
    calendar = calendar or load_calendar()
    existing = plan_for_week(key)
    if existing is not None:
        return PlanResult(existing, _top_up(existing, actor=actor, now=now, calendar=calendar))
    days = planner.working_days_of_week(year, number, calendar.is_working_day)
    lines = hotlines.hotlines(active_only=True)
    staff = active_supervisors()
    if not staff:
        raise SpotcheckError("没有在岗的督查人员账号（角色为督查人员且未停用），无法分配抽查任务；请先创建督查人员账号")
    if not days:
        raise SpotcheckError(f"{humanize.week_label(key)}没有工作日（节假日），本周不安排抽查")
    if not lines:
        raise SpotcheckError("热线名录为空，无法制定抽查计划")
    configured = settings.daily_quota
    quota, warning = effective_quota(configured, len(lines), len(days))
    seed = default_seed(year, number) if seed is None else int(seed)
    if not 0 <= seed < 2**31:
        raise SpotcheckError("随机种子应为0到2147483647之间的整数", field="seed")
    priority = priority_hotline_ids(year, number)
    inputs = []
    for line in lines:
        opens, closes = planner.parse_service_hours(line.service_hours)
        inputs.append(planner.PlanHotline(id=line.id, area=line.unit.area, level=line.level, opens=opens,
                                          closes=closes, priority=line.id in priority))
    try:
        planned = planner.plan_week(inputs, [u.id for u in staff], days, quota=quota, seed=seed,
                                    outside_share=settings.outside_percent / 100,
                                    max_quota=quota)
    except planner.PlanError as err:
        raise SpotcheckError(str(err)) from None
    try:
        with session.begin_nested():
            plan = SpotcheckPlan(week=key, seed=seed, configured_quota=configured, quota=quota, warning=warning,
                                 created_at=now, created_by_id=actor.id if actor else None)
            session.add(plan)
            session.flush()
            session.add_all(SpotcheckItem(
                plan_id=plan.id, week=key, hotline_id=p.hotline_id, day=p.day,
                planned_at=clock.local_to_utc(datetime.combine(p.day, p.at)), supervisor_id=p.supervisor_id,
                outside_hours=p.outside_hours, recheck=p.hotline_id in priority, move_reason="") for p in planned)
            session.flush()
            audit.record("create", "spotcheck_plan", plan.id, actor=actor, now=now, changes={
                "week": key, "seed": seed, "items": len(planned), "quota": quota, "configured_quota": configured,
                "warning": warning, "rechecks": len(priority & {p.hotline_id for p in planned})})
    except IntegrityError:
        existing = plan_for_week(key)
        if existing is None:
            raise
        return PlanResult(existing, 0)
    session.refresh(plan)
    return PlanResult(plan, len(planned))


def _top_up(plan: SpotcheckPlan, *, actor: User | None, now: datetime, calendar: WorkCalendar) -> int:
    """Add hotlines missing from an existing plan (added to the registry since) on the least-loaded days left."""
    covered = set(session.execute(select(SpotcheckItem.hotline_id).where(SpotcheckItem.plan_id == plan.id)).scalars())
    missing = [h for h in hotlines.hotlines(active_only=True) if h.id not in covered]
    staff = active_supervisors()
    if not missing or not staff:
        return 0
    year, number = parse_week(plan.week)
    local_now = clock.to_local(now).replace(tzinfo=None)
    days = [d for d in planner.working_days_of_week(year, number, calendar.is_working_day) if d >= local_now.date()]
    items = plan_items(plan)
    load = Counter(item.day for item in items)
    per_supervisor = {u.id: 0 for u in staff}
    for item in items:
        if item.supervisor_id in per_supervisor:
            per_supervisor[item.supervisor_id] += 1
    rng = random.Random(plan.seed * 7919 + len(covered))
    added: list[SpotcheckItem] = []
    for line in missing:
        opens, closes = planner.parse_service_hours(line.service_hours)
        for day in sorted(days, key=lambda d: (load[d], d)):
            earliest = local_now.hour * 60 + local_now.minute + 30 if day == local_now.date() else 0
            window = [m for m in planner.call_window(opens, closes) if m >= earliest]
            if not window:
                continue
            minute = rng.choice(window)
            supervisor_id = min(per_supervisor, key=lambda u: (per_supervisor[u], u))
            added.append(SpotcheckItem(
                plan_id=plan.id, week=plan.week, hotline_id=line.id, day=day,
                planned_at=clock.local_to_utc(datetime.combine(day, time(minute // 60, minute % 60))),
                supervisor_id=supervisor_id, outside_hours=False, recheck=False, move_reason=""))
            load[day] += 1
            per_supervisor[supervisor_id] += 1
            break
    if not added:
        return 0
    try:
        with session.begin_nested():
            session.add_all(added)
            session.flush()
            audit.record("top_up", "spotcheck_plan", plan.id, actor=actor, now=now,
                         changes={"week": plan.week, "hotline_ids": [i.hotline_id for i in added]})
    except IntegrityError:
        return 0  # another planner slotted them in at the same moment
    return len(added)


def plan_items(plan: SpotcheckPlan) -> list[SpotcheckItem]:
    query = (select(SpotcheckItem).where(SpotcheckItem.plan_id == plan.id)
             .options(selectinload(SpotcheckItem.hotline).joinedload(Hotline.unit),
                      selectinload(SpotcheckItem.supervisor), selectinload(SpotcheckItem.call))
             .order_by(SpotcheckItem.planned_at, SpotcheckItem.id))
    return list(session.execute(query).scalars())


def get_item(item_id: Any) -> SpotcheckItem:
    key = int(item_id) if str(item_id or "").isdigit() else 0
    return get_or_404(SpotcheckItem, key, "该抽查任务不存在，不在任何周计划中；只能登记计划内的抽查")


def _item_snapshot(item: SpotcheckItem) -> dict:
    return {"day": item.day, "planned_at": item.planned_at, "supervisor_id": item.supervisor_id,
            "outside_hours": item.outside_hours}


def _check_movable(item: SpotcheckItem) -> None:
    if item.call is not None:
        raise SpotcheckError(f"“{item.hotline.name}”已登记抽查结果，不能再调整")


def move_item(*, actor: User, now: datetime, item: SpotcheckItem, day: date, at: time, reason: str,
              supervisor_id: int | None = None, calendar: WorkCalendar | None = None) -> SpotcheckItem:
    """Move a planned call to another working day or time of the same week (and optionally to another supervisor)."""
    require_supervisor(actor, "调整抽查计划")
    reason = clean_text(reason, "调整原因", "reason", required=True, limit=500)
    _check_movable(item)
    year, number = parse_week(item.week)
    if day.isocalendar()[:2] != (year, number):
        raise SpotcheckError(f"只能在本周内调整（{_week_words(item.week)}）", field="day")
    calendar = calendar or load_calendar()
    if not calendar.is_working_day(day):
        raise SpotcheckError(f"{humanize.day_with_weekday(day, year=True)}不是工作日", field="day")
    moment = clock.local_to_utc(datetime.combine(day, at))
    if moment < now:
        raise SpotcheckError("不能调整到已经过去的时间", field="at")
    if day != item.day:
        load = session.execute(select(func.count()).select_from(SpotcheckItem).where(
            SpotcheckItem.plan_id == item.plan_id, SpotcheckItem.day == day)).scalar_one()
        if load >= item.plan.quota:
            raise SpotcheckError(f"{humanize.day_with_weekday(day)}已排满{item.plan.quota}条，请改用“互换”", field="day")
    if supervisor_id is not None and supervisor_id != item.supervisor_id \
            and supervisor_id not in {u.id for u in active_supervisors()}:
        raise SpotcheckError("所选督查人员不存在或已停用", field="supervisor_id")
    before = _item_snapshot(item)
    if supervisor_id is not None:
        item.supervisor_id = supervisor_id
    item.day, item.planned_at = day, moment
    item.outside_hours = _outside(item.hotline, at)
    item.move_reason = reason
    session.flush()
    audit.record("move", "spotcheck_item", item.id, actor=actor, now=now,
                 changes={**audit.diff(before, _item_snapshot(item)), "reason": reason})
    return item


def swap_items(*, actor: User, now: datetime, first: SpotcheckItem, second: SpotcheckItem,
               reason: str) -> None:
    """Two hotlines trade their slots (day, time and supervisor) in the same week's plan."""
    require_supervisor(actor, "调整抽查计划")
    reason = clean_text(reason, "调整原因", "reason", required=True, limit=500)
    if first.id == second.id:
        raise SpotcheckError("请选择另一条抽查任务进行互换", field="other")
    if first.plan_id != second.plan_id:
        raise SpotcheckError("只能与同一周计划内的任务互换", field="other")
    _check_movable(first)
    _check_movable(second)
    if min(first.planned_at, second.planned_at) < now:
        raise SpotcheckError("不能与已经过去的时间互换", field="other")
    before = {"first": _item_snapshot(first), "second": _item_snapshot(second)}
    first.day, second.day = second.day, first.day
    first.planned_at, second.planned_at = second.planned_at, first.planned_at
    first.supervisor_id, second.supervisor_id = second.supervisor_id, first.supervisor_id
    for item in (first, second):
        item.outside_hours = _outside(item.hotline, clock.to_local(item.planned_at).time())
        item.move_reason = reason
    session.flush()
    audit.record("swap", "spotcheck_item", f"{first.id},{second.id}", actor=actor, now=now, changes={
        "before": before, "after": {"first": _item_snapshot(first), "second": _item_snapshot(second)},
        "reason": reason})


# --- test questions ------------------------------------------------------------------------------

def published_entries() -> list[Entry]:
    return list(session.execute(select(Entry).where(Entry.status == "published").order_by(Entry.id)).scalars())


def questions_for_day(plan: SpotcheckPlan, day: date) -> dict[int, Entry]:
    """The day's test questions: the published entries shuffled by the plan's seed and the date, one per item."""
    entries = published_entries()
    if not entries:
        return {}
    rng = random.Random(plan.seed * 1_000_003 + day.toordinal())
    rng.shuffle(entries)
    items = session.execute(select(SpotcheckItem).where(SpotcheckItem.plan_id == plan.id, SpotcheckItem.day == day)
                            .order_by(SpotcheckItem.hotline_id)).scalars()
    return {item.id: entries[index % len(entries)] for index, item in enumerate(items)}


def question_for(item: SpotcheckItem) -> Entry | None:
    return questions_for_day(item.plan, item.day).get(item.id)


def question_and_script(item: SpotcheckItem, entry_id: str = "", *, today: date) -> tuple[Entry | None, str]:
    """The test question for a call (the one the supervisor picked, else the day's) and its expected answer
    script with today's local figures."""
    from kb import services as kb

    entry = session.get(Entry, entry_id.strip().upper()) if entry_id.strip() else None
    entry = entry or question_for(item)
    return entry, kb.render(entry.answer, kb.parameter_states(today)) if entry else ""


# --- mystery calls -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallInput:
    started_at: datetime
    ring_seconds: int
    connected: bool
    identified: str = ""
    answerer: str = ""
    question_entry_id: str = ""
    correctness: str = ""
    deflected: bool = False
    attitude: int | None = None
    notes: str = ""
    recording_ref: str = ""


def _choice(value: Any, choices: dict[str, str], label: str, field: str) -> str:
    return choose(value, choices, label, field, SpotcheckError)


def _check_call(item: SpotcheckItem, data: CallInput, now: datetime) -> CallInput:
    if data.started_at.tzinfo is None:
        raise SpotcheckError("开始时间缺少时区", field="started_at")
    if data.started_at > now:
        raise SpotcheckError("开始时间不能晚于当前时间", field="started_at")
    start, end = week_bounds(*parse_week(item.week))
    if not start <= data.started_at < end:
        raise SpotcheckError(f"开始时间应在该任务所在的周内（{_week_words(item.week)}）", field="started_at")
    if not 0 <= data.ring_seconds <= 600:
        raise SpotcheckError("响铃时长应在0到600秒之间", field="ring_seconds")
    notes = clean_text(data.notes, "备注", "notes")
    recording = clean_text(data.recording_ref, "录音编号", "recording_ref", limit=200)
    entry_id = (data.question_entry_id or "").strip().upper()
    if entry_id and session.get(Entry, entry_id) is None:
        raise SpotcheckError(f"知识库中没有条目 {entry_id}", field="question_entry_id")
    if not data.connected:
        return CallInput(started_at=data.started_at, ring_seconds=data.ring_seconds, connected=False,
                         question_entry_id=entry_id, notes=notes, recording_ref=recording)
    identified = _choice(data.identified, IDENTIFIED, "接听人是否报姓名或工号", "identified")
    correctness = _choice(data.correctness, CORRECTNESS, "答复是否正确", "correctness")
    if data.attitude is None or not 1 <= data.attitude <= 5:
        raise SpotcheckError("请为服务态度打分(1-5)", field="attitude")
    return CallInput(started_at=data.started_at, ring_seconds=data.ring_seconds, connected=True,
                     identified=identified, answerer=clean_text(data.answerer, "接听人", "answerer", limit=50),
                     question_entry_id=entry_id, correctness=correctness, deflected=bool(data.deflected),
                     attitude=data.attitude, notes=notes, recording_ref=recording)


def log_call(*, actor: User, now: datetime, item: SpotcheckItem, data: CallInput, settings: SpotcheckSettings,
             calendar: WorkCalendar | None = None) -> MysteryCall:
    """Record a planned mystery call's result; a fault opens a rectification for the hotline's unit."""
    require_supervisor(actor, "登记抽查结果")
    if item.call is not None:
        raise Conflict("该抽查任务已登记过结果，不能重复登记")
    data = _check_call(item, data, now)
    version, rubric = rubrics.current(settings)
    verdict = assess(Observation(connected=data.connected, ring_seconds=data.ring_seconds,
                                 identified=data.identified, correctness=data.correctness,
                                 deflected=data.deflected, attitude=data.attitude), rubric)
    entry = session.get(Entry, data.question_entry_id) if data.question_entry_id else None
    call = MysteryCall(hotline_id=item.hotline_id, supervisor_id=actor.id,
                       started_at=data.started_at, ring_seconds=data.ring_seconds, connected=data.connected,
                       identified=data.identified, answerer=data.answerer,
                       question_entry_id=entry.id if entry else None, question=entry.question if entry else "",
                       correctness=data.correctness, deflected=data.deflected, attitude=data.attitude,
                       notes=data.notes, recording_ref=data.recording_ref, score=verdict.score,
                       passed=verdict.passed, faults_json=audit.canonical(verdict.faults),
                       rubric_version_id=version.id if version else None, created_at=now)
    try:
        with session.begin_nested():
            call.item = item
            session.add(call)
            session.flush()
    except IntegrityError:
        raise Conflict("该抽查任务已由他人登记结果，请刷新") from None
    audit.record("create", "mystery_call", call.id, actor=actor, now=now, changes={
        "item_id": item.id, "hotline_id": item.hotline_id, "started_at": data.started_at,
        "connected": data.connected, "score": verdict.score, "passed": verdict.passed, "faults": verdict.faults,
        "rubric_version": version.number if version else None})
    if verdict.faults:
        open_rectification(actor=actor, now=now, call=call, settings=settings, calendar=calendar, rubric=rubric)
    return call


def describe_call(call: MysteryCall) -> str:
    """What happened, as the call's page says it: 在14时46分电话虽已接听，但推诿不予受理，……"""
    local = clock.to_local(call.started_at)
    parts = findings(call, call.faults)
    if not parts:
        parts.append("接听规范，答复准确" if call.passed else "存在不规范情况")
    text = f"在{local.hour}时{local.minute:02d}分" + "，".join(parts)
    notes = re.sub(r"[。；]+$", "", humanize.chinese_punctuation(call.notes.strip()))
    if notes:
        text += f"，{notes}"
    return text


def open_rectification(*, actor: User | None, now: datetime, call: MysteryCall, settings: SpotcheckSettings,
                       calendar: WorkCalendar | None = None, rubric: Rubric | None = None) -> Rectification:
    calendar = calendar or load_calendar()
    hotline = call.hotline or session.get(Hotline, call.hotline_id)
    days = settings.rectify_days
    person = f"{hotline.leader}（{hotline.leader_title}）" if hotline.leader_title else hotline.leader
    rect = Rectification(
        call_id=call.id, hotline_id=hotline.id, unit_id=hotline.unit_id, faults_json=call.faults_json,
        finding=f"{hotline.unit.full_name}{describe_call(call)}",
        responsible_person=person or hotline.contact or "单位负责人",
        measure=(rubric or settings.rubric).required_measures(call.faults),
        deadline_at=calendar.end_of_working_day_after(now, days), state="open", created_at=now)
    session.add(rect)
    session.flush()
    # A later week already planned (made early from the command line): flag its item as the re-check.
    later = session.execute(select(SpotcheckItem).where(SpotcheckItem.hotline_id == hotline.id,
                                                        SpotcheckItem.planned_at > now)).scalars().all()
    for item in later:
        if item.week != call.item.week and item.call is None:
            item.recheck = True
    audit.record("create", "rectification", rect.id, actor=actor, now=now, changes={
        "call_id": call.id, "unit_id": rect.unit_id, "faults": call.faults, "deadline_at": rect.deadline_at})
    return rect


# --- rectification -------------------------------------------------------------------------------

def get_rectification(rect_id: int) -> Rectification:
    return get_or_404(Rectification, rect_id, "整改事项不存在")


def unit_scope(user: User) -> set[int]:
    """Units whose rectifications a caseworker answers: their own and, for a bureau, its townships."""
    if user.unit_id is None:
        return set()
    children = session.execute(select(Unit.id).where(Unit.parent_id == user.unit_id)).scalars()
    return {user.unit_id, *children}


def scope_of(user: User) -> set[int] | None:
    """Units whose rectifications this person sees: every unit (None) for supervisors, else their scope."""
    return None if user.has_role("supervisor") else unit_scope(user)


def can_see(user: User, rect: Rectification) -> bool:
    scope = scope_of(user)
    return scope is None or rect.unit_id in scope


def can_answer(user: User, rect: Rectification) -> bool:
    if user.has_role("supervisor"):
        return True
    return user.role == "caseworker" and rect.unit_id in unit_scope(user)


def _rect_snapshot(rect: Rectification) -> dict:
    return {"state": rect.state, "response": rect.response, "evidence": rect.evidence,
            "attachment_ref": rect.attachment_ref, "return_reason": rect.return_reason,
            "close_note": rect.close_note, "no_evidence_reason": rect.no_evidence_reason,
            "responsible_person": rect.responsible_person, "measure": rect.measure,
            "deadline_at": rect.deadline_at, "version": rect.version}


def _stale(rect: Rectification) -> Conflict:
    current = session.execute(select(Rectification.version).where(Rectification.id == rect.id)).scalar_one()
    return Conflict(f"该整改已被他人更新（当前版本为{current}），请刷新后重试", code="stale_version")


def _expected_version(rect: Rectification, version: Any) -> int:
    """The version the form started from (None: the one loaded); a stale one is refused at once."""
    if version is None:
        return rect.version
    if not str(version).strip().isdigit():
        raise SpotcheckError("缺少或无效的版本号，请刷新页面后重试", code="version_required", status=400,
                             field="version")
    expected = int(str(version).strip())
    if expected != rect.version:
        raise _stale(rect)
    return expected


def _claim(rect: Rectification, expected: int) -> None:
    """Take the next version if the row is still at `expected`; call it before changing anything.

    UPDATE … SET version = version + 1 WHERE version = :v takes the row lock, and on PostgreSQL a
    second writer re-checks the condition after the first commits, so only one of them goes on; what
    was loaded at that version is then still current.
    """
    claimed = session.execute(
        update(Rectification).where(Rectification.id == rect.id, Rectification.version == expected)
        .values(version=Rectification.version + 1).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise _stale(rect)
    set_committed_value(rect, "version", expected + 1)


#: What rectification evidence may be: photos, scanned letters and recordings, told by their bytes.
EVIDENCE_KINDS = ("jpg", "png", "pdf", "mp3", "m4a", "wav")
MAX_EVIDENCE_FILES = 10
#: An upload as the entry point hands it over: the file's name and its stream.
Upload = tuple[str, IO[bytes]]


@dataclass(frozen=True)
class EvidenceStore:
    """Where evidence files live and how large one may be (the entry point's settings)."""

    directory: Path
    max_bytes: int

    def path(self, evidence: EvidenceFile) -> Path:
        return self.directory / str(evidence.rectification_id) / evidence.stored_name


def _read_evidence(uploads: list[Upload], store: EvidenceStore) -> list[tuple[str, Any, bytes]]:
    """Every upload checked by content and size before anything is written: (name, media, bytes)."""
    uploads = [(name, stream) for name, stream in uploads if name]
    if len(uploads) > MAX_EVIDENCE_FILES:
        raise SpotcheckError(f"一次最多上传{MAX_EVIDENCE_FILES}个佐证文件", field="files")
    checked = []
    for name, stream in uploads:
        data = stream.read(store.max_bytes + 1)
        safe, media = check_media(name, data, allowed=EVIDENCE_KINDS, max_bytes=store.max_bytes)
        checked.append((safe, media, data))
    return checked


def _attach_evidence(rect: Rectification, checked: list[tuple[str, Any, bytes]], *, stage: str, actor: User,
                     now: datetime, store: EvidenceStore) -> list[EvidenceFile]:
    """Rows for the checked files; the files are written for this transaction (removed if it does not commit)."""
    assert stage in EVIDENCE_STAGES
    added = []
    for name, media, data in checked:
        evidence = EvidenceFile(stage=stage, filename=name,
                                stored_name=f"{uuid.uuid4().hex}.{media.kind}", kind=media.kind,
                                content_type=media.content_type, size=len(data),
                                sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=actor.id, uploaded_at=now)
        rect.evidence_files.append(evidence)
        added.append((evidence, data))
    session.flush()
    for evidence, data in added:
        files.write(store.path(evidence), data)
    return [evidence for evidence, _ in added]


def _evidence_summary(evidence: list[EvidenceFile]) -> list[dict]:
    return [{"id": e.id, "filename": e.filename, "kind": e.kind, "size": e.size, "sha256": e.sha256} for e in evidence]


def get_evidence(rect: Rectification, evidence_id: int) -> EvidenceFile:
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.rectification_id != rect.id:
        raise NotFound("佐证材料不存在")
    return evidence


def answer_rectification(*, actor: User, now: datetime, rect: Rectification, response: str, evidence: str,
                         attachment_ref: str = "", version: Any = None, uploads: list[Upload] | None = None,
                         store: EvidenceStore | None = None) -> Rectification:
    """The unit reports what it did, with evidence files (photos, scans, recordings) or a written account of
    its evidence; the item then waits for a supervisor's check."""
    if not can_answer(actor, rect):
        raise Forbidden("只有该单位（或其上级民政局）的承办人员可以报送整改情况")
    expected = _expected_version(rect, version)
    if rect.state not in RECTIFICATION_PENDING:
        raise SpotcheckError(f"整改事项当前为“{rect.state_label}”，不能再报送")
    response = clean_text(response, "整改情况", "response", required=True)
    checked = _read_evidence(uploads or [], store) if uploads and store else []
    evidence = clean_text(evidence, "佐证材料说明", "evidence", required=not checked)
    attachment_ref = clean_text(attachment_ref, "附件编号", "attachment_ref", limit=200)
    before = _rect_snapshot(rect)
    _claim(rect, expected)
    rect.response, rect.evidence, rect.attachment_ref = response, evidence, attachment_ref
    rect.state, rect.answered_at, rect.answered_by_id = "answered", now, actor.id
    session.flush()
    added = _attach_evidence(rect, checked, stage="answer", actor=actor, now=now, store=store) if checked else []
    audit.record("answer", "rectification", rect.id, actor=actor, now=now,
                 changes={**audit.diff(before, _rect_snapshot(rect)), "evidence_files": _evidence_summary(added)})
    return rect


def close_out(*, actor: User, now: datetime, rect: Rectification, evidence: str, attachment_ref: str = "",
              version: Any = None, uploads: list[Upload] | None = None, store: EvidenceStore | None = None,
              no_evidence_reason: str = "") -> Rectification:
    """销号: a supervisor verified the fix. The verification is required, and at least one evidence file
    (the unit's or uploaded now) or a written reason why there is none."""
    require_supervisor(actor, "销号")
    expected = _expected_version(rect, version)
    if rect.state == "closed":
        raise SpotcheckError("该整改事项已销号")
    if rect.state != "answered":
        raise SpotcheckError("单位尚未报送整改情况，不能销号")
    note = clean_text(evidence, "核验情况", "evidence", required=True)
    checked = _read_evidence(uploads or [], store) if uploads and store else []
    reason = clean_text(no_evidence_reason, "没有佐证材料的原因", "no_evidence_reason")
    if not checked and not rect.evidence_files and not reason:
        raise SpotcheckError("销号需要至少一份佐证材料（照片、扫描件或录音），或写明没有佐证材料的原因",
                             code="evidence_required", field="files")
    attachment_ref = clean_text(attachment_ref, "附件编号", "attachment_ref", limit=200)
    before = _rect_snapshot(rect)
    _claim(rect, expected)
    rect.close_note, rect.no_evidence_reason = note, reason
    if attachment_ref:
        rect.attachment_ref = attachment_ref
    rect.state, rect.closed_at, rect.closed_by_id = "closed", now, actor.id
    session.flush()
    added = _attach_evidence(rect, checked, stage="close", actor=actor, now=now, store=store) if checked else []
    audit.record("close_out", "rectification", rect.id, actor=actor, now=now,
                 changes={**audit.diff(before, _rect_snapshot(rect)), "evidence_files": _evidence_summary(added)})
    return rect


def return_rectification(*, actor: User, now: datetime, rect: Rectification, reason: str,
                         version: Any = None) -> Rectification:
    require_supervisor(actor, "退回整改")
    expected = _expected_version(rect, version)
    if rect.state != "answered":
        raise SpotcheckError("只有待核验的整改事项可以退回")
    reason = clean_text(reason, "退回原因", "reason", required=True)
    before = _rect_snapshot(rect)
    _claim(rect, expected)
    rect.return_reason = reason
    rect.state = "returned"
    rect.returned_count = Rectification.returned_count + 1
    session.flush()
    audit.record("return", "rectification", rect.id, actor=actor, now=now,
                 changes=audit.diff(before, _rect_snapshot(rect)))
    return rect


def edit_rectification(*, actor: User, now: datetime, rect: Rectification, responsible_person: str, measure: str,
                       deadline: date | None, version: Any = None) -> Rectification:
    """A supervisor adjusts the responsible person, the required measure or the deadline."""
    require_supervisor(actor, "修改整改要求")
    expected = _expected_version(rect, version)
    if rect.state == "closed":
        raise SpotcheckError("已销号的整改事项不能修改")
    before = _rect_snapshot(rect)
    after = {**before, "responsible_person": clean_text(responsible_person, "责任人", "responsible_person",
                                                   required=True, limit=50),
             "measure": clean_text(measure, "整改措施", "measure", required=True)}
    if deadline is not None:
        new_deadline = clock.local_to_utc(datetime.combine(deadline + timedelta(days=1), time()))
        if new_deadline != rect.deadline_at:
            if new_deadline < now:
                raise SpotcheckError("整改期限不能早于今天", field="deadline")
            after["deadline_at"] = new_deadline
    if not audit.diff(before, after)["after"]:
        return rect
    _claim(rect, expected)
    rect.responsible_person, rect.measure = after["responsible_person"], after["measure"]
    if after["deadline_at"] != rect.deadline_at:
        rect.deadline_at, rect.overdue_at = after["deadline_at"], None
    session.flush()
    audit.record("update", "rectification", rect.id, actor=actor, now=now,
                 changes=audit.diff(before, _rect_snapshot(rect)))
    return rect


def is_overdue(rect: Rectification, now: datetime) -> bool:
    return rect.state in RECTIFICATION_PENDING and now > rect.deadline_at


def working_days_overdue(rect: Rectification, now: datetime, calendar: WorkCalendar) -> int:
    if not is_overdue(rect, now):
        return 0
    # The deadline is the end of a working day; count the working days that have fully or partly passed since.
    first = clock.to_local(rect.deadline_at).date()
    return len(calendar.working_days_between(first, clock.to_local(now).date()))


def flag_overdue(*, now: datetime) -> int:
    """Mark pending rectifications past their deadline (once each); returns how many were newly flagged."""
    rows = session.execute(select(Rectification).where(Rectification.state.in_(RECTIFICATION_PENDING),
                                                       Rectification.deadline_at < now,
                                                       Rectification.overdue_at.is_(None))).scalars().all()
    for rect in rows:
        rect.overdue_at = now
        audit.record("overdue", "rectification", rect.id, actor=None, now=now,
                     changes={"deadline_at": rect.deadline_at, "unit_id": rect.unit_id})
    session.flush()
    return len(rows)


def _rectifications_where(query, *, state: str, unit_ids: set[int] | None, area: str, overdue_only: bool,
                          pending_only: bool, late):
    if state:
        query = query.where(Rectification.state == state)
    if pending_only:
        query = query.where(Rectification.state.in_(RECTIFICATION_PENDING))
    if unit_ids is not None:
        query = query.where(Rectification.unit_id.in_(unit_ids or {0}))
    if area:
        query = query.where(Unit.area == area)
    if overdue_only:
        query = query.where(late)
    return query


def rectifications(*, state: str = "", unit_ids: set[int] | None = None, area: str = "",
                   overdue_only: bool = False, pending_only: bool = False, now: datetime | None = None,
                   limit: int | None = None, offset: int = 0) -> list[Rectification]:
    """Rectifications, open ones first, the overdue among them first, then by deadline; `limit` and
    `offset` page them (in SQL: the ledger grows by every faulty spot check)."""
    now = now or clock.now()
    late = and_(Rectification.state.in_(RECTIFICATION_PENDING), Rectification.deadline_at < now)
    query = (select(Rectification).join(Unit, Rectification.unit_id == Unit.id)
             .options(contains_eager(Rectification.unit), selectinload(Rectification.call)))
    query = _rectifications_where(query, state=state, unit_ids=unit_ids, area=area, overdue_only=overdue_only,
                                  pending_only=pending_only, late=late)
    query = query.order_by(case((Rectification.state == "closed", 1), else_=0), case((late, 0), else_=1),
                           Rectification.deadline_at, Rectification.id)
    return list(session.execute(query.offset(offset).limit(limit)).scalars())


def count_rectifications(*, state: str = "", overdue_only: bool = False, pending_only: bool = False,
                         now: datetime | None = None) -> int:
    """How many rectifications `rectifications` would list (the dashboards' figures), counted in SQL."""
    late = and_(Rectification.state.in_(RECTIFICATION_PENDING), Rectification.deadline_at < (now or clock.now()))
    query = _rectifications_where(select(func.count(Rectification.id)), state=state, unit_ids=None, area="",
                                  overdue_only=overdue_only, pending_only=pending_only, late=late)
    return session.execute(query).scalar_one()


# --- summons -------------------------------------------------------------------------------------

def _leader_of(unit_id: int) -> tuple[Hotline | None, str, str]:
    hotline = session.execute(select(Hotline).where(Hotline.unit_id == unit_id).order_by(Hotline.active.desc(),
                                                                                           Hotline.id)).scalars().first()
    if hotline is None:
        return None, "", ""
    return hotline, hotline.leader, hotline.leader_title


def _propose(*, now: datetime, unit_id: int, rule: str, key: str, reason: str) -> Summons | None:
    if session.execute(select(Summons.id).where(Summons.trigger_key == key)).first():
        return None
    hotline, leader, title = _leader_of(unit_id)
    summons = Summons(unit_id=unit_id, hotline_id=hotline.id if hotline else None, rule=rule, trigger_key=key,
                      reason=reason, leader=leader, leader_title=title, state="proposed", proposed_at=now)
    session.add(summons)
    session.flush()
    audit.record("propose", "summons", summons.id, actor=None, now=now,
                 changes={"unit_id": unit_id, "rule": rule, "reason": reason})
    return summons


def propose_summonses(*, now: datetime, settings: SpotcheckSettings,
                      calendar: WorkCalendar | None = None) -> list[Summons]:
    """Apply the summons rule: N faulty checks of a unit within W weeks, or a rectification overdue by D working days.

    Faulty checks already covered by an earlier proposal (held, dismissed or pending) do not count again.
    """
    calendar = calendar or load_calendar()
    threshold, weeks = settings.summons_faults, settings.summons_weeks
    overdue_days = settings.summons_overdue_days
    created: list[Summons] = []
    since = now - timedelta(weeks=weeks)
    rows = session.execute(select(MysteryCall, Hotline.unit_id).join(Hotline, MysteryCall.hotline_id == Hotline.id)
                           .where(MysteryCall.started_at >= since, MysteryCall.faults_json != "[]")
                           .order_by(MysteryCall.started_at, MysteryCall.id)).all()
    by_unit: dict[int, list[MysteryCall]] = {}
    for call, unit_id in rows:
        by_unit.setdefault(unit_id, []).append(call)
    for unit_id, calls in by_unit.items():
        last = session.execute(select(func.max(Summons.proposed_at)).where(Summons.unit_id == unit_id,
                                                                         Summons.rule == "faults")).scalar()
        fresh = [c for c in calls if last is None or c.created_at > last]
        if len(fresh) < threshold:
            continue
        when = "、".join(f"{clock.to_local(c.started_at):%m月%d日}({'、'.join(c.fault_labels)})" for c in fresh)
        reason = f"{weeks}周内{len(fresh)}次抽查发现问题：{when}"
        summons = _propose(now=now, unit_id=unit_id, rule="faults", key=f"faults:{unit_id}:{fresh[-1].id}",
                           reason=reason)
        if summons:
            created.append(summons)
    pending = session.execute(select(Rectification).where(Rectification.state.in_(RECTIFICATION_PENDING),
                                                          Rectification.deadline_at < now)).scalars().all()
    for rect in pending:
        late = working_days_overdue(rect, now, calendar)
        if late > overdue_days:
            reason = (f"整改事项{rect.code}逾期{late}个工作日未报送(期限"
                      f"{clock.to_local(rect.deadline_at - timedelta(seconds=1)):%Y-%m-%d})")
            summons = _propose(now=now, unit_id=rect.unit_id, rule="overdue", key=f"overdue:{rect.id}", reason=reason)
            if summons:
                created.append(summons)
    return created


def get_summons(summons_id: int) -> Summons:
    return get_or_404(Summons, summons_id, "约谈记录不存在")


def _summons_snapshot(s: Summons) -> dict:
    return {"state": s.state, "held_on": s.held_on, "attendees": s.attendees, "outcome": s.outcome,
            "leader": s.leader, "leader_title": s.leader_title}


def _decide(summons: Summons, state: str) -> None:
    """Move a proposal on with UPDATE … WHERE state = 'proposed': of two supervisors deciding at once,
    the second changes nothing and is told so."""
    claimed = session.execute(
        update(Summons).where(Summons.id == summons.id, Summons.state == "proposed")
        .values(state=state).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise Conflict("该约谈建议已由他人处理，请刷新后查看", code="stale_state")


def confirm_summons(*, actor: User, now: datetime, summons: Summons, held_on: date | None, attendees: str,
                    outcome: str, leader: str = "") -> Summons:
    """A supervisor records the summons held: date, attendees and outcome."""
    require_supervisor(actor, "确认约谈")
    if summons.state != "proposed":
        raise SpotcheckError(f"该约谈已处理({summons.state_label})")
    if held_on is None:
        raise SpotcheckError("请填写约谈日期", field="held_on")
    if held_on > clock.to_local(now).date():
        raise SpotcheckError("约谈日期不能晚于今天（约谈后再登记）", field="held_on")
    before = _summons_snapshot(summons)
    attendees = clean_text(attendees, "参加人员", "attendees", required=True)
    outcome = clean_text(outcome, "约谈结果", "outcome", required=True)
    leader = clean_text(leader, "被约谈人", "leader", limit=50)
    _decide(summons, "held")
    summons.attendees, summons.outcome = attendees, outcome
    if leader:
        summons.leader = leader
    summons.held_on, summons.state = held_on, "held"
    summons.decided_at, summons.decided_by_id = now, actor.id
    session.flush()
    audit.record("hold", "summons", summons.id, actor=actor, now=now, changes=audit.diff(before, _summons_snapshot(summons)))
    return summons


def dismiss_summons(*, actor: User, now: datetime, summons: Summons, reason: str) -> Summons:
    require_supervisor(actor, "处理约谈建议")
    if summons.state != "proposed":
        raise SpotcheckError(f"该约谈已处理({summons.state_label})")
    before = _summons_snapshot(summons)
    reason = clean_text(reason, "不予约谈的理由", "reason", required=True)
    _decide(summons, "dismissed")
    summons.outcome = reason
    summons.state, summons.decided_at, summons.decided_by_id = "dismissed", now, actor.id
    session.flush()
    audit.record("dismiss", "summons", summons.id, actor=actor, now=now,
                 changes=audit.diff(before, _summons_snapshot(summons)))
    return summons


# --- small queries the pages share ---------------------------------------------------------------

def open_rectification_of(hotline_id: int) -> Rectification | None:
    return session.execute(select(Rectification).where(Rectification.hotline_id == hotline_id,
                                                       Rectification.state != "closed")
                           .order_by(Rectification.id.desc())).scalars().first()


def rectification_of_call(call_id: int) -> Rectification | None:
    return session.execute(select(Rectification).where(Rectification.call_id == call_id)).scalar_one_or_none()


def get_call(call_id: int) -> MysteryCall:
    return get_or_404(MysteryCall, call_id, "抽查记录不存在")


def summons_list(*, state: str = "") -> list[Summons]:
    query = select(Summons).order_by(Summons.state != "proposed", Summons.proposed_at.desc(), Summons.id.desc())
    if state:
        query = query.where(Summons.state == state)
    return list(session.execute(query).scalars())


def summons_rule(settings: SpotcheckSettings) -> str:
    return (f"{settings.summons_weeks}周内{settings.summons_faults}次及以上抽查发现问题，"
            f"或整改逾期超过{settings.summons_overdue_days}个工作日")


def calls_between(start: datetime, end: datetime) -> list[MysteryCall]:
    query = (select(MysteryCall).where(MysteryCall.started_at >= start, MysteryCall.started_at < end)
             .options(selectinload(MysteryCall.hotline).joinedload(Hotline.unit))
             .order_by(MysteryCall.started_at, MysteryCall.id))
    return list(session.execute(query).scalars())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = clock.local_to_utc(datetime.combine(day, time()))
    return start, start + timedelta(days=1)


def fault_label(key: str) -> str:
    return FAULT_TYPES.get(key, key)
