"""The notice as a Word document: it opens, and it follows the official-document layout."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt

from spotchecks.documents import NoticeDocument, chinese_date, notice_docx

BODY = [
    "今日抽查乡镇(街道)共计30个,接通30个,总体接通情况较好。",
    "一、存在的问题。某县某街道在14时46分座机电话虽已接听,但表示任何诉求均不能受理,有问题找社区网格员。",
    "(一)整改要求。请相关单位于5个工作日内完成整改并报送整改情况。",
]


def notice(**overrides) -> NoticeDocument:
    fields = {"title": "关于2026年11月23日社会救助服务热线抽查情况的通报", "number": "绥民救通〔2026〕12号",
              "recipients": "各县(市、区)民政局:", "paragraphs": BODY, "issuer": "绥化市民政局",
              "issued_on": date(2026, 11, 23)}
    return NoticeDocument(**{**fields, **overrides})


def reopen(data: bytes):
    return Document(io.BytesIO(data))


def east_asian_font(run) -> str | None:
    fonts = run._element.rPr.find(qn("w:rFonts"))
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def texts(document) -> list[str]:
    return [paragraph.text for paragraph in document.paragraphs]


def test_the_docx_is_a_zip_with_a_main_document_and_reopens_in_python_docx():
    data = notice_docx(notice())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert "word/document.xml" in archive.namelist()
        assert "绥民救通〔2026〕12号" in archive.read("word/document.xml").decode("utf-8")
    document = reopen(data)
    assert document.core_properties.title == notice().title
    assert document.core_properties.author == "绥化市民政局"


def test_page_is_a4_with_the_official_margins():
    section = reopen(notice_docx(notice())).sections[0]
    size = [round(length.mm) for length in (section.page_width, section.page_height)]
    margins = [round(length.mm) for length in (section.top_margin, section.bottom_margin,
                                                section.left_margin, section.right_margin)]
    assert size == [210, 297]  # stored in twentieths of a point, so compared to the millimetre
    assert margins == [37, 35, 28, 26]


def test_title_is_22pt_xiaobiaosong_centred_and_the_number_under_it():
    paragraphs = reopen(notice_docx(notice())).paragraphs
    title, number = paragraphs[0], paragraphs[1]
    assert title.text == notice().title
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.runs[0].font.size == Pt(22)
    assert east_asian_font(title.runs[0]) == "方正小标宋简体"
    assert number.text == "绥民救通〔2026〕12号"
    assert number.alignment == WD_ALIGN_PARAGRAPH.CENTER


def test_body_is_16pt_fangsong_indented_two_characters_on_a_fixed_28pt_line():
    document = reopen(notice_docx(notice()))
    body = [paragraph for paragraph in document.paragraphs if paragraph.text in BODY]
    assert [paragraph.text for paragraph in body] == BODY
    for paragraph in body:
        fmt = paragraph.paragraph_format
        assert fmt.first_line_indent == Pt(32)
        assert fmt.line_spacing_rule == WD_LINE_SPACING.EXACTLY
        assert fmt.line_spacing == Pt(28)
        assert all(run.font.size == Pt(16) for run in paragraph.runs)
    assert east_asian_font(body[0].runs[0]) == "仿宋_GB2312"


def test_numbered_headings_take_heiti_and_kaiti_and_the_rest_stays_fangsong():
    document = reopen(notice_docx(notice()))
    first = next(p for p in document.paragraphs if p.text.startswith("一、"))
    second = next(p for p in document.paragraphs if p.text.startswith("(一)"))
    assert (first.runs[0].text, east_asian_font(first.runs[0])) == ("一、存在的问题。", "黑体")
    assert east_asian_font(first.runs[1]) == "仿宋_GB2312"
    assert east_asian_font(second.runs[0]) == "楷体_GB2312"


def test_recipients_come_before_the_body_flush_left():
    lines = texts(reopen(notice_docx(notice())))
    recipients = lines.index("各县(市、区)民政局:")
    assert recipients < lines.index(BODY[0])


def test_issuer_and_chinese_date_close_the_notice_right_aligned():
    paragraphs = [p for p in reopen(notice_docx(notice())).paragraphs if p.text]
    issuer, issued = paragraphs[-2], paragraphs[-1]
    assert (issuer.text, issued.text) == ("绥化市民政局", "2026年11月23日")
    assert issuer.alignment == issued.alignment == WD_ALIGN_PARAGRAPH.RIGHT


def test_chinese_dates_pad_neither_month_nor_day():
    assert chinese_date(date(2026, 1, 5)) == "2026年1月5日"
    assert chinese_date(date(2026, 11, 23)) == "2026年11月23日"


def test_footer_carries_a_page_number_field_on_odd_and_even_pages():
    document = reopen(notice_docx(notice()))
    section = document.sections[0]
    for footer in (section.footer, section.even_page_footer):
        xml = footer._element.xml
        assert "PAGE" in xml and 'w:fldCharType="begin"' in xml
        assert footer.paragraphs[0].text.startswith("— ") and footer.paragraphs[0].text.endswith(" —")
    assert document.settings.odd_and_even_pages_header_footer


def test_line_breaks_in_a_paragraph_become_paragraphs_and_blank_lines_vanish():
    lines = texts(reopen(notice_docx(notice(paragraphs=["第一段。\n\n第二段。", "  ", "第三段。"]))))
    assert [line for line in lines if line.startswith("第")] == ["第一段。", "第二段。", "第三段。"]


def test_control_characters_from_pasted_text_are_dropped_not_fatal():
    data = notice_docx(notice(title="抽查\x0b通报", paragraphs=["接通\x00情况\x1f较好。"]))
    assert "接通情况较好。" in texts(reopen(data))
    assert texts(reopen(data))[0] == "抽查通报"


def test_a_notice_without_number_or_recipients_still_renders():
    lines = texts(reopen(notice_docx(notice(number="", recipients=""))))
    assert lines[0] == notice().title
    assert "绥化市民政局" in lines


@pytest.mark.parametrize(("overrides", "message"), [({"title": "  "}, "标题"), ({"issuer": ""}, "发文单位")])
def test_a_notice_without_title_or_issuer_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        notice_docx(notice(**overrides))
