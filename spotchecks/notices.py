"""Notices (通报): drafted from a day's or a week's mystery calls, edited, then published with a number.

A published notice is immutable: the services refuse edits and the model refuses updates. Numbers
(绥民救通〔2026〕12号) come from a per-year counter bumped in the publishing transaction, so they have no gaps.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from audit import services as audit
from core import clock, humanize
from core.db import session
from core.errors import Conflict
from core.models import User
from spotchecks.common import SpotcheckError, clean_text, get_or_404, require_supervisor
from spotchecks.documents import NoticeDocument, chinese_date, notice_docx
from spotchecks.models import HOTLINE_LEVELS, NOTICE_KINDS, MysteryCall, Notice, NoticeCounter, Rectification
from spotchecks.rubric import FAULT_BY_KEY, FAULTS
from spotchecks.services import calls_between, day_bounds
from spotchecks.settings import SpotcheckSettings

RECIPIENTS = "各县（市、区）民政局，市本级各有关单位："
ORDINALS = "一二三四五六七八九十"


class NoticeError(SpotcheckError):
    def __init__(self, message: str, *, problems: list[str] | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        #: Each contradiction between the text and the logged calls, for the page to list.
        self.problems = problems or []


# --- the figures and what they mean ------------------------------------------------------------

#: The judgment a round earns: (word, lowest connection rate %, lowest pass rate %), best first. Each rate
#: earns the first word whose bound it reaches; the round as a whole is judged by the worse of the two.
JUDGMENTS: tuple[tuple[str, float, float], ...] = (
    ("良好", 95, 90),
    ("较好", 90, 80),
    ("一般", 80, 60),
    ("较差", 0, 0),
)
WORDS = [word for word, _, _ in JUDGMENTS]


def grade(rate: float, column: int) -> str:
    """The judgment word a rate (in %) earns in JUDGMENTS' column 1 (connection) or 2 (pass)."""
    return next(row[0] for row in JUDGMENTS if rate >= row[column])


@dataclass(frozen=True)
class Figures:
    """What a notice's counts and rates must say: computed from the logged calls, never typed."""

    called: int
    connected: int
    passed: int

    @classmethod
    def of(cls, calls: list[MysteryCall]) -> Figures:
        return cls(len(calls), sum(c.connected for c in calls), sum(c.passed for c in calls))

    @property
    def connection_rate(self) -> str:
        return humanize.percent(self.connected, self.called)

    @property
    def pass_rate(self) -> str:
        return humanize.percent(self.passed, self.called)

    @property
    def connection_word(self) -> str:
        return grade(humanize.rate(self.connected, self.called) or 0, 1)

    @property
    def pass_word(self) -> str:
        return grade(humanize.rate(self.passed, self.called) or 0, 2)

    @property
    def overall(self) -> str:
        return max(self.connection_word, self.pass_word, key=WORDS.index)

    def judgment(self) -> str:
        """总体较差（接通情况良好，接听质量较差）: the word, and why when the two rates differ."""
        if self.connection_word == self.pass_word:
            return f"总体{self.overall}"
        return f"总体{self.overall}（接通情况{self.connection_word}，接听质量{self.pass_word}）"


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
    groups: dict[str, list[MysteryCall]] = defaultdict(list)
    for call in calls:
        groups[call.hotline.unit.area].append(call)
    parts = []
    for area, group in groups.items():
        f = Figures.of(group)
        parts.append(f"{area}抽查{f.called}个、接通{f.connected}个、合格{f.passed}个")
    return "分县（市、区）看：" + "；".join(parts) + "。"


def _who(call: MysteryCall, *, with_day: bool) -> str:
    local = clock.to_local(call.started_at)
    when = f"{local.month}月{local.day}日" if with_day else ""
    return f"{call.hotline.unit.full_name}（{call.hotline.number}，{when}{local.hour}时{local.minute:02d}分）"


def _fault_paragraphs(faulty: list[MysteryCall], *, with_day: bool) -> list[str]:
    """One sub-heading per fault type and each finding said once, naming every hotline it was found at."""
    paragraphs = []
    number = iter(ORDINALS)
    for fault in FAULTS:
        calls = [call for call in faulty if fault.key in call.faults]
        if not calls:
            continue
        said: dict[str, list[MysteryCall]] = defaultdict(list)
        for call in calls:
            said[fault.finding(call)].append(call)
        sentences = ["、".join(_who(c, with_day=with_day) for c in group) + finding + "。"
                     for finding, group in said.items()]
        paragraphs.append(f"（{next(number)}）{fault.label}（{len(calls)}个）。" + "".join(sentences))
    return paragraphs


def _inner(text: str) -> str:
    """Brackets inside brackets: GB/T 15834 puts the inner ones square — 鞠铁军［副乡长］."""
    return humanize.chinese_punctuation(text).replace("（", "［").replace("）", "］")


def _requirements(faulty: list[MysteryCall]) -> list[str]:
    """The rectification each unit owes; units owing the same measure by the same day share one sentence."""
    rects = {r.call_id: r for r in _rectifications_of(faulty)}
    groups: dict[tuple[str, str], list[Rectification]] = defaultdict(list)
    for call in faulty:
        rect = rects.get(call.id)
        if rect is None:
            continue
        due = chinese_date(clock.to_local(rect.deadline_at - timedelta(seconds=1)).date())
        measure = humanize.chinese_punctuation(rect.measure).rstrip("。；")
        groups[(measure, due)].append(rect)
    paragraphs = []
    for (measure, due), group in groups.items():
        units = "、".join(f"{r.unit.full_name}（整改事项{r.code}，责任人：{_inner(r.responsible_person)}）" for r in group)
        paragraphs.append(f"请{units}于{due}前完成整改：{measure}，并将整改情况及佐证材料报送市民政局。")
    return paragraphs


def compose(calls: list[MysteryCall], *, period: str, today_word: str, by_area: bool = False,
            with_day: bool = False) -> list[str]:
    """The body paragraphs: figures and the judgment they earn, each fault once by type, praise, requirements."""
    figures = Figures.of(calls)
    if not figures.called:
        return [f"{period}，未登记社会救助服务热线抽查结果。"]
    paragraphs = [
        f"{period}，市民政局对全市社会救助服务热线开展明察暗访。{today_word}抽查热线共计{figures.called}个"
        f"（{_level_counts(calls)}），接通{figures.connected}个，接通率{figures.connection_rate}；"
        f"合格{figures.passed}个，合格率{figures.pass_rate}；{figures.judgment()}。"]
    if by_area:
        paragraphs.append(_by_area(calls))
    faulty = [call for call in calls if call.faults]
    praised = [call for call in calls if call.passed and call.correctness == "correct" and (call.attitude or 0) >= 5]
    heading = iter(ORDINALS)
    paragraphs.append(f"{next(heading)}、存在的问题")
    if faulty:
        paragraphs += _fault_paragraphs(faulty, with_day=with_day)
    else:
        paragraphs.append("本次抽查未发现问题。")
    if praised:
        paragraphs.append(f"{next(heading)}、值得肯定的做法")
        names = "、".join(call.hotline.unit.full_name for call in praised[:10])
        more = f"等{len(praised)}个单位" if len(praised) > 10 else ""
        paragraphs.append(f"{names}{more}热线接听及时、主动报名报号、答复准确热情，予以表扬。")
    if faulty:
        paragraphs.append(f"{next(heading)}、整改要求")
        paragraphs += _requirements(faulty)
        paragraphs.append("各地要举一反三，对照问题全面自查，确保社会救助服务热线有人接、接得好、答得准；"
                          "市民政局将持续开展明察暗访，对整改不力、问题反复出现的单位进行约谈。")
    return paragraphs


def _period_calls(kind: str, start: date) -> list[MysteryCall]:
    lo, _ = day_bounds(start)
    return calls_between(lo, lo + timedelta(days=7 if kind == "weekly" else 1))


def daily_text(day: date) -> tuple[str, str]:
    calls = _period_calls("daily", day)
    title = f"关于{chinese_date(day)}社会救助服务热线抽查情况的通报"
    body = compose(calls, period=humanize.day_with_weekday(day), today_word="当日")
    return title, "\n".join(body)


#: Paragraphs other areas add to the weekly notice as of a time (composition registers the tickets
#: overdue past their margin): the spot-check area knows no ticket.
WEEKLY_APPENDICES: list[Callable[[datetime], list[str]]] = []


def weekly_text(monday: date, now: datetime | None = None) -> tuple[str, str]:
    """The weekly notice; given `now`, it ends with the tickets overdue past the margin as of then."""
    calls = _period_calls("weekly", monday)
    # The working week, or up to the last day a call was logged on if one fell on the weekend.
    days = max([5] + [(clock.to_local(c.started_at).date() - monday).days + 1 for c in calls])
    title = f"关于{humanize.week_range(monday, days=days, year=True)}社会救助服务热线抽查情况的通报"
    period = f"{humanize.week_range(monday, days=days)}（第{monday.isocalendar().week}周）"
    body = compose(calls, period=period, today_word="本周", by_area=True, with_day=True)
    appendix = [line for part in WEEKLY_APPENDICES for line in part(now)] if now is not None else []
    if appendix:
        body += ["附：超期工单", *appendix]
    return title, "\n".join(body)


# --- checking an edited text against the calls ------------------------------------------------

_NUM = r"(\d+(?:\.\d+)?)"
#: What the opening paragraph states, how to find it in the text, and which figure it must equal.
_STATED = (
    ("抽查数", re.compile(rf"抽查热线共计{_NUM}个"), lambda f: str(f.called)),
    ("接通数", re.compile(rf"(?<![、率])接通{_NUM}个"), lambda f: str(f.connected)),
    ("接通率", re.compile(rf"接通率{_NUM}%"), lambda f: f.connection_rate.rstrip("%")),
    ("合格数", re.compile(rf"(?<![、率])合格{_NUM}个"), lambda f: str(f.passed)),
    ("合格率", re.compile(rf"合格率{_NUM}%"), lambda f: f.pass_rate.rstrip("%")),
)
_JUDGED = re.compile(r"总体(?:接通)?(?:情况)?(良好|较好|一般|较差)")


def check_figures(notice: Notice, body: str | None = None) -> list[str]:
    """Where the notice's text says something the logged calls do not: each a sentence for the supervisor.

    The counts and rates the text states, the judgment word, and every unit with a fault (a notice must
    name it), against the calls logged in the notice's period now; `body` checks a text not yet saved."""
    calls = _period_calls(notice.kind, notice.period_start)
    figures = Figures.of(calls)
    text = humanize.chinese_punctuation(notice.body if body is None else body).replace(" ", "")
    problems = []
    if not calls:
        return problems
    opening = text.split("\n", 1)[0] if "抽查热线共计" in text.split("\n", 1)[0] else text
    for label, pattern, expected in _STATED:
        stated = pattern.findall(opening)[:1]
        want = expected(figures)
        if not stated:
            problems.append(f"正文没有写明{label}（应为{want}）")
        elif stated[0] != want:
            unit = "%" if label.endswith("率") else "个"
            problems.append(f"正文写{label}为{stated[0]}{unit}，登记的抽查结果为{want}{unit}")
    judged = _JUDGED.findall(text)
    if not judged:
        problems.append(f"正文没有写明总体评价（按接通率{figures.connection_rate}、合格率{figures.pass_rate}"
                        f"应为“{figures.judgment()}”）")
    elif any(word != figures.overall for word in judged):
        wrong = next(word for word in judged if word != figures.overall)
        problems.append(f"正文评价为“总体{wrong}”，按接通率{figures.connection_rate}、合格率{figures.pass_rate}"
                        f"应为“{figures.judgment()}”")
    for call in calls:
        if call.faults and call.hotline.unit.full_name not in text:
            labels = "、".join(FAULT_BY_KEY[f].label if f in FAULT_BY_KEY else f for f in call.faults)
            problems.append(f"正文没有提到{call.hotline.unit.full_name}（抽查发现：{labels}）")
    return problems


def get_notice(notice_id: int) -> Notice:
    return get_or_404(Notice, notice_id, "通报不存在")


def notices(*, status: str = "", limit: int | None = None, offset: int = 0) -> list[Notice]:
    """Notices, the latest period first; `limit` and `offset` page them (a daily notice a working day)."""
    query = select(Notice).order_by(Notice.period_start.desc(), Notice.kind, Notice.id.desc())
    if status:
        query = query.where(Notice.status == status)
    return list(session.execute(query.offset(offset).limit(limit)).scalars())


def _snapshot(notice: Notice) -> dict:
    return {"title": notice.title, "recipients": notice.recipients, "body": notice.body, "issuer": notice.issuer,
            "status": notice.status, "number": notice.number}


def draft_notice(*, actor: User | None, now: datetime, kind: str, day: date) -> tuple[Notice, bool]:
    """The draft for a day (daily) or the week containing `day` (weekly); an existing one is returned as it is."""
    require_supervisor(actor, "起草通报")
    if kind not in NOTICE_KINDS:
        raise NoticeError("通报类型应为日通报或周通报", field="kind")
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=6)
        title, body = weekly_text(start, now)
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
        raise Conflict(f"通报{notice.number}已发布，不能修改；如需更正请另发通报", code="published")


def update_notice(*, actor: User, now: datetime, notice: Notice, title: str, recipients: str, body: str,
                  issuer: str | None = None) -> Notice:
    """Save the draft as edited: title, recipients, body and issuer (the issue date is the publication's)."""
    require_supervisor(actor, "修改通报")
    _editable(notice)
    before = _snapshot(notice)
    notice.title = clean_text(title, "标题", "title", required=True, limit=200)
    notice.recipients = clean_text(recipients, "主送单位", "recipients", limit=200)
    notice.body = clean_text(body, "正文", "body", required=True, limit=20000)
    if issuer is not None:
        notice.issuer = clean_text(issuer, "发文单位", "issuer", limit=100)
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
    title, body = weekly_text(notice.period_start, now) if notice.kind == "weekly" else daily_text(notice.period_start)
    return update_notice(actor=actor, now=now, notice=notice, title=title, recipients=notice.recipients, body=body,
                         issuer=notice.issuer)


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
            recipients: str = "", body: str = "", issuer: str | None = None, confirmed: bool = False) -> Notice:
    """Number and freeze a draft; given a `body`, the text as edited on the screen is saved first and published.

    The text is checked against the calls logged in its period at this moment: where it contradicts them
    the draft is refused (nothing saved or numbered) with every contradiction named, unless the supervisor
    confirmed publishing it as it stands, which the audit event records."""
    require_supervisor(actor, "发布通报")
    _editable(notice)
    if body:
        update_notice(actor=actor, now=now, notice=notice, title=title, recipients=recipients, body=body,
                      issuer=issuer)
    if not notice.body.strip() or not notice.title.strip():
        raise NoticeError("标题和正文不能为空")
    problems = check_figures(notice)
    if problems and not confirmed:
        raise NoticeError("通报未发布：正文与登记的抽查结果不一致——" + "；".join(problems)
                          + "。请修改正文（或按最新结果重新生成），核对无误后再发布。",
                          code="figures_mismatch", status=422, problems=problems)
    before = _snapshot(notice)
    _claim(notice, actor=actor, now=now)
    year = clock.to_local(now).year
    sequence = _next_number(year)
    notice.year, notice.sequence = year, sequence
    notice.number = f"{settings.notice_prefix}〔{year}〕{sequence}号"
    notice.status, notice.published_at, notice.published_by_id = "published", now, actor.id
    notice.updated_at = now
    session.flush()
    audit.record("publish", "notice", notice.id, actor=actor, now=now,
                 changes={**audit.diff(before, _snapshot(notice)), "figures_confirmed_despite": problems})
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
                          paragraphs=notice.paragraphs, issuer=notice.issuer or settings.issuer, issued_on=issued)
