"""Notices (通报): drafted from a day's or a week's mystery calls, edited, then published with a number.

A published notice is immutable: the services refuse edits and the model refuses updates. Numbers
(绥民救通〔2026〕12号) come from a per-year counter bumped in the publishing transaction, so they have no gaps.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from audit import services as audit
from core import clock
from core.db import session
from core.errors import Conflict
from core.models import User
from spotchecks.common import SpotcheckError, clean_text, get_or_404, require_supervisor
from spotchecks.documents import NoticeDocument, chinese_date, notice_docx
from spotchecks.models import HOTLINE_LEVELS, NOTICE_KINDS, MysteryCall, Notice, NoticeCounter, Rectification
from spotchecks.services import calls_between, day_bounds, describe_call
from spotchecks.settings import SpotcheckSettings

RECIPIENTS = "各县(市、区)民政局,市本级各有关单位:"


class NoticeError(SpotcheckError):
    pass


def _judgment(called: int, connected: int, passed: int) -> str:
    if not called:
        return "未开展抽查"
    rate, quality = connected / called, passed / max(connected, 1)
    if rate >= 0.95 and quality >= 0.9:
        return "总体接通情况较好"
    if rate >= 0.8:
        return "总体接通情况一般,部分热线接听不规范"
    return "总体接通情况较差"


def _level_counts(calls: list[MysteryCall]) -> str:
    counts = Counter(call.hotline.level for call in calls)
    parts = [f"{HOTLINE_LEVELS[level]}{counts[level]}个" for level in ("city", "county", "township") if counts[level]]
    return "、".join(parts)


def _rectifications_of(calls: list[MysteryCall]) -> list[Rectification]:
    ids = [call.id for call in calls]
    if not ids:
        return []
    return list(session.execute(select(Rectification).where(Rectification.call_id.in_(ids))
                                .order_by(Rectification.id)).scalars())


def _by_area(calls: list[MysteryCall]) -> str:
    called: Counter = Counter()
    connected: Counter = Counter()
    passed: Counter = Counter()
    for call in calls:
        area = call.hotline.unit.area
        called[area] += 1
        connected[area] += call.connected
        passed[area] += call.passed
    parts = [f"{area}抽查{called[area]}个、接通{connected[area]}个、合格{passed[area]}个" for area in called]
    return "分县(市、区)看:" + ";".join(parts) + "。"


def compose(calls: list[MysteryCall], *, period: str, today_word: str, by_area: bool = False) -> list[str]:
    """The body paragraphs: counts and judgment, each fault by unit and time, praise, required rectification."""
    called = len(calls)
    connected = sum(call.connected for call in calls)
    passed = sum(call.passed for call in calls)
    paragraphs = []
    if not called:
        return [f"{period},未登记社会救助服务热线抽查结果。"]
    rate = f"{connected * 100 / called:.1f}".rstrip("0").rstrip(".")
    opening = (f"{period},市民政局对全市社会救助服务热线开展明察暗访。{today_word}抽查热线共计{called}个"
               f"({_level_counts(calls)}),接通{connected}个,接通率{rate}%,{_judgment(called, connected, passed)}。")
    if passed:
        opening += f"其中{passed}个热线接听规范、答复准确,抽查合格。"
    paragraphs.append(opening)
    if by_area:
        paragraphs.append(_by_area(calls))
    faulty = [call for call in calls if call.faults]
    praised = [call for call in calls if call.passed and call.correctness == "correct" and (call.attitude or 0) >= 5]
    rects = {r.call_id: r for r in _rectifications_of(calls)}
    number = iter("一二三四五六七八九十")
    if faulty:
        paragraphs.append(f"{next(number)}、存在的问题")
        for index, call in enumerate(faulty, start=1):
            paragraphs.append(f"{index}. {call.hotline.unit.full_name}({call.hotline.number}){describe_call(call)}。"
                              f"问题类型:{'、'.join(call.fault_labels)}。")
    else:
        paragraphs.append(f"{next(number)}、存在的问题")
        paragraphs.append("本次抽查未发现问题。")
    if praised:
        paragraphs.append(f"{next(number)}、值得肯定的做法")
        names = "、".join(call.hotline.unit.full_name for call in praised[:10])
        more = f"等{len(praised)}个单位" if len(praised) > 10 else ""
        paragraphs.append(f"{names}{more}热线接听及时、主动报名报号、答复准确热情,予以表扬。")
    if faulty:
        paragraphs.append(f"{next(number)}、整改要求")
        for call in faulty:
            rect = rects.get(call.id)
            if rect is None:
                continue
            due = chinese_date(clock.to_local(rect.deadline_at - timedelta(seconds=1)).date())
            paragraphs.append(f"请{rect.unit.full_name}于{due}前完成整改(整改事项{rect.code},责任人:"
                              f"{rect.responsible_person}),{rect.measure.rstrip('。')},并将整改情况及佐证材料报送市民政局。")
        paragraphs.append("各地要举一反三,对照问题全面自查,确保社会救助服务热线有人接、接得好、答得准;"
                          "市民政局将持续开展明察暗访,对整改不力、问题反复出现的单位进行约谈。")
    return paragraphs


def daily_text(day: date) -> tuple[str, str]:
    calls = calls_between(*day_bounds(day))
    title = f"关于{chinese_date(day)}社会救助服务热线抽查情况的通报"
    body = compose(calls, period=f"{day.month}月{day.day}日", today_word="今日")
    return title, "\n".join(body)


def weekly_text(monday: date) -> tuple[str, str]:
    start, _ = day_bounds(monday)
    calls = calls_between(start, start + timedelta(days=7))
    iso = monday.isocalendar()
    sunday = monday + timedelta(days=6)
    title = f"关于{iso.year}年第{iso.week}周社会救助服务热线抽查情况的通报"
    period = f"{monday.month}月{monday.day}日至{sunday.month}月{sunday.day}日"
    return title, "\n".join(compose(calls, period=period, today_word="本周", by_area=True))


def get_notice(notice_id: int) -> Notice:
    return get_or_404(Notice, notice_id, "通报不存在")


def notices(*, status: str = "") -> list[Notice]:
    query = select(Notice).order_by(Notice.period_start.desc(), Notice.kind, Notice.id.desc())
    if status:
        query = query.where(Notice.status == status)
    return list(session.execute(query).scalars())


def _snapshot(notice: Notice) -> dict:
    return {"title": notice.title, "recipients": notice.recipients, "body": notice.body, "status": notice.status,
            "number": notice.number}


def draft_notice(*, actor: User | None, now: datetime, kind: str, day: date) -> tuple[Notice, bool]:
    """The draft for a day (daily) or the week containing `day` (weekly); an existing one is returned as it is."""
    require_supervisor(actor, "起草通报")
    if kind not in NOTICE_KINDS:
        raise NoticeError("通报类型应为日通报或周通报", field="kind")
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=6)
        title, body = weekly_text(start)
    else:
        start = end = day
        title, body = daily_text(day)
    existing = session.execute(select(Notice).where(Notice.kind == kind, Notice.period_start == start)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    notice = Notice(kind=kind, period_start=start, period_end=end, title=title, recipients=RECIPIENTS, body=body,
                    status="draft", created_at=now, updated_at=now, created_by_id=actor.id if actor else None)
    session.add(notice)
    session.flush()
    audit.record("create", "notice", notice.id, actor=actor, now=now, changes={"after": _snapshot(notice)})
    return notice, True


def _editable(notice: Notice) -> None:
    if notice.status == "published":
        raise Conflict(f"通报{notice.number}已发布,不能修改;如需更正请另发通报", code="published")


def update_notice(*, actor: User, now: datetime, notice: Notice, title: str, recipients: str, body: str) -> Notice:
    require_supervisor(actor, "修改通报")
    _editable(notice)
    before = _snapshot(notice)
    notice.title = clean_text(title, "标题", "title", required=True, limit=200)
    notice.recipients = clean_text(recipients, "主送单位", "recipients", limit=200)
    notice.body = clean_text(body, "正文", "body", required=True, limit=20000)
    changes = audit.diff(before, _snapshot(notice))
    if changes["after"]:
        notice.updated_at = now
        session.flush()
        audit.record("update", "notice", notice.id, actor=actor, now=now, changes=changes)
    return notice


def regenerate(*, actor: User, now: datetime, notice: Notice) -> Notice:
    """Redraft a draft's text from the current results (after more calls were logged)."""
    require_supervisor(actor, "重新生成通报")
    _editable(notice)
    title, body = weekly_text(notice.period_start) if notice.kind == "weekly" else daily_text(notice.period_start)
    return update_notice(actor=actor, now=now, notice=notice, title=title, recipients=notice.recipients, body=body)


def _next_number(year: int) -> int:
    """Bump the year's counter in this transaction (the row lock orders concurrent publishers)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(NoticeCounter).values(year=year, last_number=1)
    stmt = stmt.on_conflict_do_update(index_elements=["year"], set_={"last_number": NoticeCounter.last_number + 1})
    return session.execute(stmt.returning(NoticeCounter.last_number)).scalar_one()


def _claim(notice: Notice, *, actor: User, now: datetime) -> None:
    """Mark the draft published with UPDATE … WHERE status = 'draft', before any number is taken.

    Of two publishers the second waits on the row and then matches nothing (PostgreSQL re-checks the
    condition on the committed row), so it takes no number and is told who was first.
    """
    claimed = session.execute(
        update(Notice).where(Notice.id == notice.id, Notice.status == "draft")
        .values(status="published", published_at=now, published_by_id=actor.id, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        number = session.execute(select(Notice.number).where(Notice.id == notice.id)).scalar_one_or_none()
        raise Conflict(f"该通报已由他人发布（{number or '文号生成中'}），无需重复发布；请刷新页面查看", code="published")


def publish(*, actor: User, now: datetime, notice: Notice, settings: SpotcheckSettings, title: str = "",
            recipients: str = "", body: str = "") -> Notice:
    """Number and freeze a draft; given a `body`, the text as edited on the screen is saved first and published."""
    require_supervisor(actor, "发布通报")
    _editable(notice)
    if body:
        update_notice(actor=actor, now=now, notice=notice, title=title, recipients=recipients, body=body)
    if not notice.body.strip() or not notice.title.strip():
        raise NoticeError("标题和正文不能为空")
    before = _snapshot(notice)
    _claim(notice, actor=actor, now=now)
    year = clock.to_local(now).year
    sequence = _next_number(year)
    notice.year, notice.sequence = year, sequence
    notice.number = f"{settings.notice_prefix}〔{year}〕{sequence}号"
    notice.status, notice.published_at, notice.published_by_id = "published", now, actor.id
    notice.updated_at = now
    session.flush()
    audit.record("publish", "notice", notice.id, actor=actor, now=now, changes=audit.diff(before, _snapshot(notice)))
    audit.checkpoint_on_commit(f"notice:{notice.id}", now)  # printed on the notice: the trail as it stood
    return notice


def export_docx(*, actor: User, now: datetime, notice: Notice, settings: SpotcheckSettings) -> bytes:
    """The notice as a Word document (audited)."""
    data = notice_docx(document(notice, settings))
    audit.record("export", "notice", notice.id, actor=actor, now=now, changes={"format": "docx", "number": notice.number})
    return data


def document(notice: Notice, settings: SpotcheckSettings) -> NoticeDocument:
    issued = clock.to_local(notice.published_at or notice.updated_at).date()
    return NoticeDocument(title=notice.title, number=notice.number or "", recipients=notice.recipients,
                          paragraphs=notice.paragraphs, issuer=settings.issuer, issued_on=issued)
