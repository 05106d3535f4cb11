"""The hotline registry: the 183 bundled hotlines on their units, loading again keeps edits, edits validated."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from core.errors import DomainError
from spotchecks import directory, hotlines
from spotchecks.models import Hotline
from tests.builders import make_user


def count(db, model) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_seeded_registry_has_183_hotlines_on_the_right_units(db):
    lines = hotlines.hotlines()
    assert len(lines) == 183
    assert Counter(h.level for h in lines) == {"city": 1, "county": 10, "township": 172}
    assert all(h.unit.level == h.level for h in lines)
    zilai = next(h for h in lines if h.name == "北林区紫来街道社会救助服务热线")
    assert (zilai.unit.name, zilai.unit.area, zilai.number) == ("紫来街道办事处", "北林区", "0455-8331869")


def test_loading_the_registry_again_adds_nothing_and_keeps_admin_edits(db, frozen_now):
    admin = make_user("admin")
    zilai = db.execute(select(Hotline).where(Hotline.name == "北林区紫来街道社会救助服务热线")).scalar_one()
    hotlines.update_hotline(actor=admin, now=frozen_now, hotline=zilai,
                            data={**hotlines.hotline_snapshot(zilai), "number": "0455-8331999", "name": "紫来街道救助热线"})
    message = hotlines.load_hotlines(now=frozen_now)
    assert message.startswith("hotlines: 0 added")
    assert count(db, Hotline) == 183
    db.refresh(zilai)
    assert (zilai.number, zilai.name) == ("0455-8331999", "紫来街道救助热线")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("number", "8331869", "电话号码格式不正确"),
    ("number", "0455-8331481", "已被另一条热线使用"),
    ("service_hours", "17:00-08:00", "服务时间"),
    ("name", "", "请填写热线名称"),
])
def test_hotline_edits_are_validated(db, frozen_now, field, value, message):
    admin = make_user("admin")
    zilai = db.execute(select(Hotline).where(Hotline.name == "北林区紫来街道社会救助服务热线")).scalar_one()
    with pytest.raises(DomainError, match=message):
        hotlines.update_hotline(actor=admin, now=frozen_now, hotline=zilai,
                                data={**hotlines.hotline_snapshot(zilai), field: value})


# --- the public directory --------------------------------------------------------------------------

def _page(client, q: str | None = None) -> str:
    response = client.get("/hotlines", query_string={"q": q} if q is not None else None)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _results(page: str) -> str:
    """The search results section only (the collapsed full list follows it)."""
    match = re.search(r'<section id="results".*?</section>', page, flags=re.S)
    return match.group(0) if match else ""


def _lines(html: str) -> int:
    return html.count('<li class="line">')


def _published(page: str) -> int:
    """Lines on the full page: each county's own (shown at once) and its townships' (shown when it is picked)."""
    return page.count('<p class="county-line">') + _lines(page)


def test_the_directory_lists_every_line_by_county_without_login(client):
    page = _page(client)
    assert _published(page) == 183 and _lines(page) == 172 and "0455-8331869" in page and "登录" not in page
    picker = re.search(r'<nav class="d-pick no-print" aria-labelledby="counties-title">.*?</nav>', page, re.S).group(0)
    areas = re.findall(r'<a href="#(c\d+)">([^<]+)</a>', picker)
    assert [a for _, a in areas][:3] == ["绥化市", "北林区", "望奎县"] and len(areas) == 11
    for anchor, area in areas:  # each county picked jumps to its section: no script needed
        assert f'<section class="county" id="{anchor}">\n      <h2>{area}</h2>' in page
    assert 'href="tel:04558331869"' in page and "打印张贴单" in page
    assert re.search(r"名录更新于\d{4}年\d{1,2}月\d{1,2}日。", page)


@pytest.mark.parametrize(("query", "expected"), [
    ("紫来", {"紫来街道"}), ("zljd", {"紫来街道"}), ("8331869", {"紫来街道"}), ("0455-8331869", {"紫来街道"}),
    ("0455 833 1869", {"紫来街道"}),
])
def test_the_directory_finds_a_line_by_place_pinyin_and_number(client, query, expected):
    results = _results(_page(client, query))
    assert set(re.findall(r'<p class="place">([^<]+)</p>', results)) == expected


def test_pinyin_initials_and_full_pinyin_find_a_county(client):
    for query in ("slx", "suileng"):
        results = _results(_page(client, query))
        assert _lines(results) > 5 and "<h3>绥棱县</h3>" in results and "<h3>北林区</h3>" not in results


def test_a_need_finds_the_township_lines_that_take_it(client, db):
    townships = sum(1 for h in hotlines.hotlines(active_only=True) if h.level == "township")
    results = _results(_page(client, "低保"))
    assert _lines(results) == townships == 172 and "县级热线" not in results and "市级热线" not in results
    assert "低保向户籍所在地的乡镇人民政府（街道办事处）申请" in results
    # with a place, in one breath, as people say it
    for query in ("绥棱低保", "绥棱 低保", "我想申请低保 绥棱"):
        results = _results(_page(client, query))
        assert "<h3>绥棱县</h3>" in results and "<h3>北林区</h3>" not in results and "县级热线" not in results
    urgent = _results(_page(client, "临时救助 北林"))
    assert "县级热线" in urgent and _lines(urgent) > 1


def test_a_search_that_finds_nothing_says_what_to_do(client):
    results = _results(_page(client, "不存在的地方"))
    assert _lines(results) == 0 and "没有找到" in results and "12345" in results


def test_a_disabled_hotline_is_not_published(client, db):
    zilai = db.execute(select(Hotline).where(Hotline.number == "0455-8331869")).scalar_one()
    zilai.active = False
    db.commit()
    assert _published(_page(client)) == 182 and "0455-8331869" not in _page(client)


def test_every_need_is_taken_by_some_level_of_line():
    levels = {"city", "county", "township"}
    assert all(need.levels and set(need.levels) <= levels and need.advice.endswith("。") for need in directory.NEEDS)
    assert [n.label for n in directory.needs_of("township")][:3] == ["低保", "特困供养", "临时救助"]


def test_a_township_poster_has_its_line_hours_county_line_and_a_qr_code(client, db):
    zilai = db.execute(select(Hotline).where(Hotline.number == "0455-8331869")).scalar_one()
    response = client.get(f"/hotlines/{zilai.id}/poster")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "紫来街道" in page and "0455-8331869" in page and "服务时间：08:00—16:30" in page
    assert "北林区社会救助服务热线：<strong>0455-8331481</strong>（24小时）" in page
    assert "12345" in page and "可咨询：低保、特困供养、临时救助" in page
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, flags=re.S).group(0)
    assert 'viewBox="0 0 ' in svg and "<path" in svg and "http://localhost/hotlines" in page


def test_the_poster_qr_code_holds_the_directory_address():
    svg = directory.qr_svg("http://example.org/hotlines")
    other = directory.qr_svg("http://example.org/other")
    assert svg.startswith("<svg") and svg != other  # the code carries its address


def test_a_poster_of_an_unknown_or_disabled_line_is_404(client, db):
    assert client.get("/hotlines/999999/poster").status_code == 404
    zilai = db.execute(select(Hotline).where(Hotline.number == "0455-8331869")).scalar_one()
    zilai.active = False
    db.commit()
    assert client.get(f"/hotlines/{zilai.id}/poster").status_code == 404
