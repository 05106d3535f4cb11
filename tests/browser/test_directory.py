"""The public directory on a 390×844 phone, as an elderly caller uses it: large type, big tap targets, the county
picker (with and without script), search by need, the browser's text size at 200 %, and a township's poster
printed on one A4 page. Screenshots go to $HOTLINE_SCREENSHOTS (or the test's temporary folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
#: Everything a finger taps on the page.
TAPPABLE = "a, button, input, summary"


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("HOTLINE_SCREENSHOTS") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def phone(browser):
    contexts = []

    def _open(*, javascript: bool = True, text_scale: int = 100, viewport: dict | None = None, scale: float = 2):
        context = browser.new_context(viewport=viewport or PHONE, device_scale_factor=scale, locale="zh-CN",
                                      java_script_enabled=javascript, is_mobile=True, has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10000)
        if text_scale != 100:
            # The browser's own text size setting (Chrome: Settings → Appearance → Font size): the default
            # font size every rem and em of the page is reckoned from, as Android's text scaling does.
            cdp = context.new_cdp_session(page)
            cdp.send("Page.enable")
            cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 16 * text_scale // 100,
                                                         "fixed": 13 * text_scale // 100}})
        return page

    yield _open
    for context in contexts:
        context.close()


def no_horizontal_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide on a {widths[1]} px screen"


def small_targets(page) -> list[str]:
    """Visible tap targets smaller than 44×44 CSS px, described."""
    return page.evaluate("""(selector) => Array.from(document.querySelectorAll(selector))
        .filter(el => el.offsetParent !== null)
        .map(el => [el.getBoundingClientRect(), (el.innerText || el.value || el.name || el.tagName).trim()])
        .filter(([r]) => r.width < 44 || r.height < 44)
        .map(([r, text]) => `${text.slice(0, 20)} ${Math.round(r.width)}×${Math.round(r.height)}`)""", TAPPABLE)


def font_px(page, selector: str) -> float:
    return page.evaluate("(s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)", selector)


def test_directory_on_a_phone_reads_large_and_jumps_to_a_county(phone, live_server, shots):
    page = phone()
    page.goto(f"{live_server['url']}/hotlines")
    assert font_px(page, "body") >= 18 and font_px(page, ".line .hours") >= 18
    assert small_targets(page) == []
    no_horizontal_scroll(page)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 844 * 8, f"the directory is {height} px long"
    assert page.locator(".townships .line").first.is_hidden()  # counties start collapsed
    page.screenshot(path=str(shots / "directory-phone.png"), full_page=True)

    page.get_by_role("link", name="绥棱县", exact=True).click()
    county = page.locator("section.county:target")
    assert county.locator("h2").inner_text() == "绥棱县"
    assert county.locator(".townships .line").count() > 5 and county.locator(".townships .line").first.is_visible()
    assert county.locator("h2").bounding_box()["y"] < 200  # scrolled to the county
    assert small_targets(page) == []
    page.screenshot(path=str(shots / "directory-phone-county.png"))


def test_the_county_picker_works_without_script(phone, live_server):
    page = phone(javascript=False)
    page.goto(f"{live_server['url']}/hotlines")
    page.get_by_role("link", name="海伦市", exact=True).click()
    assert re.search(r"#c\d+$", page.url)
    county = page.locator("section.county:target")
    assert county.locator("h2").inner_text() == "海伦市" and county.locator(".townships .line").first.is_visible()
    page.get_by_role("link", name="低保", exact=True).click()  # a need is a plain link too
    assert page.locator("#results .line").count() == 172


def test_search_by_need_and_place_on_a_phone(phone, live_server, shots):
    page = phone()
    page.goto(f"{live_server['url']}/hotlines")
    page.fill("#q", "绥棱低保")
    page.get_by_role("button", name="查找").click()
    page.wait_for_load_state("networkidle")
    results = page.locator("#results")
    assert "低保向户籍所在地的乡镇人民政府（街道办事处）申请" in results.inner_text()
    assert results.locator("h3").all_inner_texts() == ["绥棱县"] and results.locator(".line").count() > 5
    assert results.bounding_box()["y"] < 100  # the page lands on the results
    no_horizontal_scroll(page)
    page.screenshot(path=str(shots / "directory-phone-search.png"))


@pytest.mark.parametrize("how", ["text size", "page zoom"])
def test_directory_at_200_percent_has_no_sideways_scroll(phone, live_server, shots, how):
    # text size: the browser's font size setting doubled on the 390 px screen; page zoom: 200 % zoom, which
    # leaves a 195 CSS px wide layout on the same screen (WCAG 1.4.10 reflow).
    page = (phone(text_scale=200) if how == "text size"
            else phone(viewport={"width": 195, "height": 422}, scale=4))
    page.goto(f"{live_server['url']}/hotlines?q=北林区")
    if how == "text size":
        assert font_px(page, "body") >= 36
    no_horizontal_scroll(page)
    assert small_targets(page) == []
    page.get_by_role("link", name="望奎县", exact=True).click()
    no_horizontal_scroll(page)
    assert page.locator("section.county:target .townships .line").first.is_visible()
    name = "directory-200-text.png" if how == "text size" else "directory-200-zoom.png"
    page.screenshot(path=str(shots / name))


def test_a_township_poster_prints_on_one_a4_page(phone, browser, live_server, shots):
    page = phone()
    page.goto(f"{live_server['url']}/hotlines?q=紫来")
    page.locator("#results a.poster-link").first.click()
    page.wait_for_load_state("networkidle")
    assert "0455-8331869" in page.locator(".poster-number").inner_text()
    assert page.locator(".poster-qr svg path").count() >= 1
    no_horizontal_scroll(page)
    page.screenshot(path=str(shots / "poster-phone.png"), full_page=True)

    desk = browser.new_page()  # printed from a desk, as a village clerk would
    try:
        desk.goto(page.url)
        pdf = desk.pdf(format="A4", print_background=True)
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
        assert pages == 1, f"the poster prints on {pages} pages"
        (shots / "poster.pdf").write_bytes(pdf)
        desk.emulate_media(media="print")
        desk.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
        desk.screenshot(path=str(shots / "poster-print.png"), full_page=True)
    finally:
        desk.close()
