"""Notices fit to publish: figures and judgments from the logged calls, Chinese punctuation, each fault said
once, an editable draft re-checked at publication, and the Word file as LibreOffice prints it."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from spotchecks import notices
from spotchecks.models import NoticeCounter
from tests.spotchecks.builders import SETTINGS, at_local, good_call, item_for, log, make_plan
from tests.spotchecks.office import docx_to_pdf, first_page_png, needs_office, pdf_pages, pdf_text

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(("called", "connected", "passed", "judgment"), [
    (10, 10, 10, "总体良好"),
    (10, 10, 9, "总体良好"),
    (10, 9, 8, "总体较好"),
    (10, 10, 7, "总体一般（接通情况良好，接听质量一般）"),
    (2, 2, 1, "总体较差（接通情况良好，接听质量较差）"),
    (10, 7, 7, "总体较差（接通情况较差，接听质量一般）"),
    (10, 0, 0, "总体较差"),
])
def test_the_judgment_follows_from_both_rates_by_the_rule_table(called, connected, passed, judgment):
    figures = notices.Figures(called, connected, passed)
    assert figures.judgment() == judgment


def test_a_full_connection_rate_is_never_called_ordinary_connection():
    figures = notices.Figures(2, 2, 1)
    assert (figures.connection_rate, figures.connection_word) == ("100%", "良好")


def _calls(db, *overrides):
    plan = make_plan()
    calls = []
    for index, extra in enumerate(overrides):
        item = item_for(plan, index, day=MONDAY)
        calls.append(log(item, good_call(item, **extra)))
    return calls


def _draft(calls, kind="daily"):
    notice, _ = notices.draft_notice(actor=calls[0].supervisor, now=at_local(2026, 11, 23, 18, 0), kind=kind,
                                     day=MONDAY)
    return notice


def test_the_draft_is_in_chinese_punctuation_and_says_each_fault_once(db):
    calls = _calls(db, {"identified": "none"}, {"identified": "none", "notes": "说:(不清楚),找社区"},
                   {"connected": False, "ring_seconds": 60}, {})
    notice = _draft(calls)
    body = notice.body
    assert not re.search(r"[,;:()?!]", body.replace("0455-", "")), body  # no half-width marks
    assert "，" in body and "。" in body and "；" in body and "：" in body and "（" in body
    assert body.count("接听人员未报姓名或工号") == 1  # two hotlines, one sentence naming both
    assert calls[0].hotline.unit.full_name in body and calls[1].hotline.unit.full_name in body
    assert "（一）未接通（1个）" in body and "（二）未报姓名工号（2个）" in body
    sentences = [s for s in re.split(r"[。；\n]", body) if s.strip()]
    assert len(sentences) == len(set(sentences))
    assert "接通3个，接通率75%；合格1个，合格率25%；总体较差（接通情况较差，接听质量较差）" not in body
    assert "抽查热线共计4个" in body and "接通率75%" in body and "合格率25%" in body and "总体较差" in body
    assert notices.check_figures(notice) == []


def test_publishing_an_edited_text_that_contradicts_the_calls_is_refused_whole(db):
    calls = _calls(db, {}, {"identified": "none"})
    notice = _draft(calls)
    supervisor = calls[0].supervisor
    edited = notice.body.replace("接通率100%", "接通率90%").replace("总体较差", "总体良好")
    with pytest.raises(notices.NoticeError) as refused:
        notices.publish(actor=supervisor, now=at_local(2026, 11, 23, 19, 0), notice=notice, settings=SETTINGS,
                        title=notice.title, recipients=notice.recipients, body=edited)
    assert refused.value.code == "figures_mismatch"
    assert "正文写接通率为90%，登记的抽查结果为100%" in refused.value.message
    assert "正文评价为“总体良好”，按接通率100%、合格率50%应为“总体较差（接通情况良好，接听质量较差）”" \
        in refused.value.message
    assert (notice.status, notice.number) == ("draft", None)  # the page rolls the edit back (handler test)
    assert db.execute(select(NoticeCounter)).first() is None


def test_a_call_logged_after_drafting_stops_the_old_figures_being_published(db):
    calls = _calls(db, {}, {})
    notice = _draft(calls)
    item = item_for(make_plan(), 2, day=MONDAY)
    log(item, good_call(item, connected=False, ring_seconds=40))
    problems = notices.check_figures(notice)
    assert "正文写抽查数为2个，登记的抽查结果为3个" in problems
    assert any("正文没有提到" in p for p in problems)  # the new faulty hotline is not named


def test_the_supervisor_may_publish_a_contradiction_knowingly_and_the_audit_says_so(db):
    calls = _calls(db, {})
    notice = _draft(calls)
    now = at_local(2026, 11, 23, 19, 0)
    notices.publish(actor=calls[0].supervisor, now=now, notice=notice, settings=SETTINGS, title="关于抽查情况的通报",
                    recipients="各县（市、区）民政局：", body="今天抽查了一些热线。", issuer="绥化市民政局社会救助科",
                    confirmed=True)
    assert notice.status == "published" and notice.issuer == "绥化市民政局社会救助科"
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "publish")).scalar_one()
    assert "正文没有写明抽查数（应为1）" in json.loads(event.changes)["figures_confirmed_despite"]


def test_every_part_of_the_draft_is_editable_and_the_word_file_uses_it(db):
    calls = _calls(db, {})
    notice = _draft(calls)
    notices.update_notice(actor=calls[0].supervisor, now=at_local(2026, 11, 23, 18, 30), notice=notice,
                          title="新标题", recipients="各乡镇（街道）：", body=notice.body + "\n特此通报。",
                          issuer="绥化市民政局办公室")
    document = notices.document(notice, SETTINGS)
    assert (document.title, document.recipients, document.issuer) == ("新标题", "各乡镇（街道）：", "绥化市民政局办公室")
    assert document.paragraphs[-1] == "特此通报。"


@needs_office
def test_the_published_notice_prints_through_libreoffice(db, tmp_path):
    calls = _calls(db, {"identified": "none"}, {"connected": False, "ring_seconds": 45}, {})
    notice = _draft(calls)
    notices.publish(actor=calls[0].supervisor, now=at_local(2026, 11, 23, 19, 0), notice=notice, settings=SETTINGS)
    data = notices.export_docx(actor=calls[0].supervisor, now=at_local(2026, 11, 23, 19, 5), notice=notice,
                               settings=SETTINGS)
    pdf = docx_to_pdf(data, tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert 1 <= pdf_pages(pdf) <= 2
    text = re.sub(r"\s+", "", pdf_text(pdf))
    for expected in ("关于2026年11月23日社会救助服务热线抽查情况的通报", "绥民救通〔2026〕1号", "绥化市民政局",
                     "2026年11月23日", "接通率66.7%", "接听人员未报姓名或工号", calls[1].hotline.unit.full_name):
        assert expected in text, expected
    assert first_page_png(pdf).stat().st_size > 5000


def test_on_the_page_a_contradicting_edit_is_warned_saved_nowhere_and_publishable_only_when_confirmed(client, login, db):
    calls = _calls(db, {}, {"identified": "none"})
    notice = _draft(calls)
    original = notice.body
    db.commit()
    login("supervisor")
    form = {"op": "publish", "title": notice.title, "recipients": notice.recipients, "issuer": "绥化市民政局",
            "body": original.replace("合格率50%", "合格率100%")}
    response = client.post(f"/spotchecks/notices/{notice.id}", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "通报未发布：正文与登记的抽查结果不一致" in page and "正文写合格率为100%，登记的抽查结果为50%" in page
    assert 'name="confirmed"' in page and "合格率100%" in page  # the edit stays on the screen to fix
    db.expire_all()
    saved = db.get(type(notice), notice.id)
    assert (saved.status, saved.number, saved.body) == ("draft", None, original)
    response = client.post(f"/spotchecks/notices/{notice.id}", data={**form, "confirmed": "1"}, follow_redirects=True)
    assert "已发布，文号绥民救通〔2026〕1号" in response.get_data(as_text=True)
