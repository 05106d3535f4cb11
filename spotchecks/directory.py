"""The public hotline directory: grouped by county, searchable by place name, pinyin, number and by need.

"By need" (低保, 临时救助 …): the registry records no "handles what" per line, because every line in it is a
social-assistance hotline (社会救助热线), and who takes which application follows from its level under the
Interim Measures for Social Assistance (社会救助暂行办法): a township or street office (乡镇人民政府、街道办事处)
takes applications for 低保, 特困供养, 临时救助, 医疗救助, 住房救助 and 受灾人员救助; a county civil-affairs
bureau takes urgent temporary assistance directly (急难型临时救助), runs the help for people stranded or
sleeping rough (流浪乞讨人员救助), and hears complaints, as the city line does. `NEEDS` says so, one row a need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from core.clock import to_local
from core.pinyin import initials, spelled
from spotchecks import hotlines
from spotchecks.models import Hotline

#: The city-wide government service line, named on every page and poster.
CITY_SERVICE_LINE = "12345"


@dataclass(frozen=True)
class Need:
    key: str
    label: str
    #: What callers type for it (the label included); matched inside the query, spaces or not.
    words: tuple[str, ...]
    #: Hotline levels that take it (see the module docstring).
    levels: tuple[str, ...]
    #: Where to turn, said to the caller above the lines found.
    advice: str


NEEDS: tuple[Need, ...] = (
    Need("dibao", "低保", ("低保", "最低生活保障", "低保金", "低保户"), ("township",),
         "低保向户籍所在地的乡镇人民政府（街道办事处）申请，下列乡镇（街道）热线都可以咨询。"),
    Need("tekun", "特困供养", ("特困供养", "特困", "五保", "供养"), ("township",),
         "特困人员供养向户籍所在地的乡镇人民政府（街道办事处）申请。"),
    Need("linshi", "临时救助", ("临时救助", "急难", "救急", "临时困难"), ("township", "county"),
         "临时救助向乡镇（街道）申请；情况紧急的，可直接拨打县（市、区）热线。"),
    Need("yiliao", "医疗救助", ("医疗救助", "看病", "大病", "住院"), ("township",),
         "医疗救助可向乡镇（街道）提出，由县级医疗保障部门审批。"),
    Need("zhufang", "住房救助", ("住房救助", "危房", "住房"), ("township",),
         "住房救助向乡镇（街道）申请，由县级住房城乡建设部门审核。"),
    Need("shouzai", "受灾人员救助", ("受灾", "灾害", "灾民"), ("township",),
         "遇到自然灾害，请向所在乡镇（街道）求助。"),
    Need("liulang", "流浪乞讨人员救助", ("流浪", "乞讨", "露宿"), ("county", "city"),
         "遇到流浪乞讨、生活无着的人员，请拨打县（市、区）或市级热线，由救助管理机构救助。"),
    Need("tousu", "投诉建议", ("投诉", "举报", "建议"), ("county", "city"),
         "对办理结果有意见，可拨打县（市、区）或市级热线，也可拨打12345。"),
)


def needs_of(level: str) -> tuple[Need, ...]:
    return tuple(need for need in NEEDS if level in need.levels)


@dataclass(frozen=True)
class Listing:
    id: int
    area: str
    unit: str
    name: str
    level: str
    level_label: str
    number: str
    service_hours: str
    #: Lower-case text a search matches: name, unit, area, number and their pinyin.
    search_key: str
    needs: tuple[str, ...] = field(default=())
    updated_at: datetime | None = None

    @property
    def place(self) -> str:
        """What a caller calls the line: the township or the county (北林区紫来街道 → 紫来街道)."""
        return self.unit.removesuffix("办事处").removesuffix("人民政府") if self.level == "township" else self.area

    @property
    def dial(self) -> str:
        return self.number.replace("-", "")

    @property
    def parts(self) -> tuple[str, str]:
        """("0455-", "8331869"): where a number may wrap when the type is very large, and nowhere else."""
        code, sep, local = self.number.partition("-")
        return (code + sep, local) if sep else ("", code)


def _key(h: Hotline) -> str:
    names = (h.name, h.unit.name, h.unit.area, h.unit.area + h.unit.name)
    parts = [*names, h.number, h.number.replace("-", ""), *(initials(n) for n in names),
             *(spelled(n) for n in names[1:3])]
    return " ".join(parts).lower()


def _hours(text: str) -> str:
    return "24小时" if text == "00:00-24:00" else text.replace("-", "—")


def listings() -> list[Listing]:
    return [Listing(id=h.id, area=h.unit.area, unit=h.unit.name, name=h.name, level=h.level,
                    level_label=h.level_label, number=h.number, service_hours=_hours(h.service_hours),
                    search_key=_key(h), needs=tuple(n.key for n in needs_of(h.level)), updated_at=h.updated_at)
            for h in hotlines.hotlines(active_only=True)]


def last_updated(rows: list[Listing]) -> date | None:
    """The day (Asia/Shanghai) the newest change to a published line was made."""
    latest = max((row.updated_at for row in rows if row.updated_at is not None), default=None)
    return to_local(latest).date() if latest is not None else None


@dataclass(frozen=True)
class Query:
    """A caller's query, read: the needs it names and the words left to match against places and numbers."""

    text: str
    needs: tuple[Need, ...]
    words: tuple[str, ...]


def read_query(text: str) -> Query:
    rest = text.strip().lower()
    found: list[Need] = []
    for need in NEEDS:
        for word in sorted(need.words, key=len, reverse=True):
            if word in rest:
                found.append(need)
                rest = rest.replace(word, " ")
                break
    if found:  # "我想申请低保" → the need, and nothing left to match
        rest = re.sub(r"我|想|要|的|怎么办|怎么|如何|办理|申请|咨询|热线|电话|号码|[，。、？！,.?!]", " ", rest)
    return Query(text.strip(), tuple(found), tuple(w for w in re.split(r"\s+", rest) if w))


def _digits(word: str) -> str:
    return re.sub(r"\D", "", word)


def matches(listing: Listing, query: str | Query) -> bool:
    """A listing handles every need named and contains every other word (a number typed with or without its
    dash or spaces too)."""
    q = read_query(query) if isinstance(query, str) else query
    if not all(need.key in listing.needs for need in q.needs):
        return False
    for word in q.words:
        digits = _digits(word)
        if word in listing.search_key or (len(digits) >= 4 and len(digits) == len(word) and digits in listing.dial):
            continue
        return False
    return True


def search(rows: list[Listing], text: str) -> tuple[Query, list[Listing]]:
    q = read_query(text)
    joined = "".join(q.words)
    found = [row for row in rows if matches(row, q)]
    if not found and len(q.words) > 1 and len(_digits(joined)) == len(joined):
        # a number typed in pieces: 0455 833 1869
        found = [row for row in rows if matches(row, Query(q.text, q.needs, (joined,)))]
    return q, found


@dataclass(frozen=True)
class County:
    """One county-level area of the directory: its own line(s) and its townships'."""

    index: int
    area: str
    lines: list[Listing]
    townships: list[Listing]

    @property
    def anchor(self) -> str:
        return f"c{self.index}"


def grouped(rows: list[Listing]) -> list[tuple[str, list[Listing]]]:
    groups: dict[str, list[Listing]] = {}
    for row in rows:
        groups.setdefault(row.area, []).append(row)
    return list(groups.items())


def counties(rows: list[Listing]) -> list[County]:
    """The areas in directory order (the city first), each with its bureau's line and its townships'."""
    return [County(index, area, [r for r in group if r.level != "township"], [r for r in group if r.level == "township"])
            for index, (area, group) in enumerate(grouped(rows), start=1)]


@dataclass(frozen=True)
class Poster:
    """What a township's poster says: its line, its county's line, the city line."""

    line: Listing
    #: The county's own line (none on a county's or the city's poster) and the city's.
    county_lines: list[Listing]
    city_lines: list[Listing]
    needs: tuple[Need, ...]


def poster(hotline_id: int) -> Poster | None:
    rows = listings()
    line = next((row for row in rows if row.id == hotline_id), None)
    if line is None:
        return None
    county = [row for row in rows if row.area == line.area and row.level == "county" and row.id != line.id]
    city = [row for row in rows if row.level == "city" and row.id != line.id]
    return Poster(line, county, city, needs_of(line.level))


def qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG (made here, nothing fetched), sized by the page's CSS."""
    import segno

    return segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, title="热线名录二维码")
