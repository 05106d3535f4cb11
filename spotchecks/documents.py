"""A spot-check notice (通报) as a Word document laid out after GB/T 9704 (党政机关公文格式).

Pure: takes the notice's text and returns the .docx bytes; the caller stores, audits and serves it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONTS = {1: "黑体", 2: "楷体_GB2312"}  # GB/T 9704: 一、 in 黑体, (一) in 楷体
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"
TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
PAGE_NUMBER_SIZE = Pt(14)  # 四号
LINE = Pt(28)  # fixed 28 pt gives the standard 22 lines a page
TITLE_LINE = Pt(36)  # 二号 characters are taller than the body's fixed line
MAX_HEADING = 25  # a longer opening clause is running text, not a heading

_HEADING = (
    (1, re.compile(r"^[一二三四五六七八九十]+、[^。]*?(?:。|$)")),
    (2, re.compile(r"^[((][一二三四五六七八九十]+[))][^。]*?(?:。|$)")),
)
# python-docx refuses characters XML 1.0 forbids; pasted text sometimes carries them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class NoticeDocument:
    title: str
    number: str  #: e.g. 绥民救通〔2026〕12号
    recipients: str  #: 主送机关, e.g. 各县(市、区)民政局:
    paragraphs: list[str]
    issuer: str  #: 发文机关署名, e.g. 绥化市民政局
    issued_on: date


def chinese_date(day: date) -> str:
    """2026年11月23日: GB/T 9704 writes the year in full and pads neither month nor day."""
    return f"{day.year}年{day.month}月{day.day}日"


def notice_docx(doc: NoticeDocument) -> bytes:
    title = _clean(doc.title)
    issuer = _clean(doc.issuer)
    if not title:
        raise ValueError("通报标题不能为空")
    if not issuer:
        raise ValueError("发文单位不能为空")
    document = Document()
    _page_setup(document)
    _base_style(document)
    _core_properties(document, title, issuer, doc.issued_on)

    body = document.paragraphs[0] if document.paragraphs else document.add_paragraph()
    _line(body, title, font=TITLE_FONT, size=TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, spacing=TITLE_LINE)
    number = _clean(doc.number)
    if number:
        _line(document.add_paragraph(), number, align=WD_ALIGN_PARAGRAPH.CENTER)
    _line(document.add_paragraph(), "")
    recipients = _clean(doc.recipients)
    if recipients:
        _line(document.add_paragraph(), recipients)  # 主送机关 starts flush left
    for text in _body_lines(doc.paragraphs):
        _body_paragraph(document.add_paragraph(), text)

    _line(document.add_paragraph(), "")
    _line(document.add_paragraph(), "")
    issued = chinese_date(doc.issued_on)
    # GB/T 9704: the date stands four characters from the right margin, the issuer centred over it.
    date_indent = 4.0
    issuer_indent = max(0.0, date_indent + (_width(issued) - _width(issuer)) / 2)
    _line(document.add_paragraph(), issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=issuer_indent)
    _line(document.add_paragraph(), issued, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=date_indent)

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "").strip()


def _body_lines(paragraphs: list[str]) -> list[str]:
    """One Word paragraph per non-blank line, so an edited draft's line breaks become paragraphs."""
    lines = []
    for paragraph in paragraphs:
        for line in _clean(paragraph).splitlines():
            if line.strip():
                lines.append(line.strip())
    return lines


def _width(text: str) -> float:
    """Width in body characters: CJK is one, digits and Latin letters half."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def _page_setup(document: Document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(20)
    # GB/T 9704: page numbers sit right on odd pages and left on even pages, one character in.
    document.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


def _base_style(document: Document) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr")) if defaults is not None else None
    if rpr is not None:
        # Theme fonts in the defaults would win over the explicit East Asian face in some Word versions.
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is not None:
            for attr in ("w:asciiTheme", "w:eastAsiaTheme", "w:hAnsiTheme", "w:cstheme"):
                fonts.attrib.pop(qn(attr), None)
        _set_fonts(rpr, BODY_FONT)
        lang = rpr.find(qn("w:lang"))
        if lang is not None:
            lang.set(qn("w:eastAsia"), "zh-CN")
    style = document.styles["Normal"]
    style.font.size = BODY_SIZE
    _set_fonts(style.element.get_or_add_rPr(), BODY_FONT)
    fmt = style.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE


def _core_properties(document: Document, title: str, issuer: str, issued_on: date) -> None:
    props = document.core_properties
    props.title = title
    props.author = issuer
    props.last_modified_by = issuer
    props.comments = ""
    props.keywords = "通报"
    props.language = "zh-CN"
    props.revision = 1
    moment = datetime(issued_on.year, issued_on.month, issued_on.day)
    props.created = props.modified = moment


def _set_fonts(rpr, east_asian: str, latin: str = LATIN_FONT) -> None:
    """Word picks the CJK face from w:eastAsia; ascii/hAnsi cover digits and Latin letters."""
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)


def _run(paragraph: Paragraph, text: str, *, font: str = BODY_FONT, size: Pt = BODY_SIZE) -> None:
    run = paragraph.add_run(text)
    run.font.size = size
    # The title and page numbers keep one face for digits too; body digits follow common practice.
    latin = font if font in (TITLE_FONT, PAGE_NUMBER_FONT) else LATIN_FONT
    _set_fonts(run._element.get_or_add_rPr(), font, latin)


def _line(paragraph: Paragraph, text: str, *, font: str = BODY_FONT, size: Pt = BODY_SIZE,
          align: WD_ALIGN_PARAGRAPH | None = None, spacing: Pt = LINE, right_chars: float = 0.0) -> None:
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = spacing
    if align is not None:
        paragraph.alignment = align
    if right_chars:
        fmt.right_indent = Pt(BODY_SIZE.pt * right_chars)
    if text:
        _run(paragraph, text, font=font, size=size)


def _body_paragraph(paragraph: Paragraph, text: str) -> None:
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE
    fmt.first_line_indent = Pt(BODY_SIZE.pt * 2)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    # firstLineChars keeps the indent at two characters even if the reader's font size differs.
    ind = paragraph._p.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        ind.set(qn("w:firstLineChars"), "200")
    for level, pattern in _HEADING:
        match = pattern.match(text)
        if match and len(match.group(0)) <= MAX_HEADING:
            _run(paragraph, match.group(0), font=HEADING_FONTS[level])
            rest = text[match.end():]
            if rest:
                _run(paragraph, rest)
            return
    _run(paragraph, text)


def _page_number(paragraph: Paragraph, align: WD_ALIGN_PARAGRAPH) -> None:
    """"— 7 —" with a PAGE field, in 四号 宋体 as GB/T 9704 asks."""
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        fmt.right_indent = PAGE_NUMBER_SIZE
    else:
        fmt.left_indent = PAGE_NUMBER_SIZE
    _run(paragraph, "— ", font=PAGE_NUMBER_FONT, size=PAGE_NUMBER_SIZE)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        run.font.size = PAGE_NUMBER_SIZE
        _set_fonts(run._element.get_or_add_rPr(), PAGE_NUMBER_FONT, PAGE_NUMBER_FONT)
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._element.append(char)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._element.append(instr)
        else:
            run.text = text
    _run(paragraph, " —", font=PAGE_NUMBER_FONT, size=PAGE_NUMBER_SIZE)
