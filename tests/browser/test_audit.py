"""The audit log read by a supervisor in a real browser, on a phone (390×844) and on a desk (1366×768):
labels, people by name, changes as 字段：旧值 → 新值, filters kept while paging, and the exports.
Screenshots go to $HOTLINE_SCREENSHOTS (or the test's temporary folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("HOTLINE_SCREENSHOTS") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sign_in(page, url: str) -> None:
    page.goto(f"{url}/accounts/login")
    page.fill("input[name=username]", "b_supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1366, "height": 768}],
                         ids=["phone", "desk"])
def test_supervisor_reads_filters_and_pages_the_audit_log(browser, live_server, shots, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=2 if viewport["width"] < 800 else 1)
    page = context.new_page()
    page.set_default_timeout(10000)
    try:
        url = live_server["url"]
        _sign_in(page, url)
        page.goto(f"{url}/audit/")
        text = page.locator("table.audit-log").inner_text()
        assert "登录" in text and "浏览器supervisor" in text and "b_supervisor" not in text
        assert not re.search(r"\b(login|create|update|hotline)\b", text), text[:2000]  # no raw codes

        page.select_option("select[name=entity_type]", "hotline", force=True)
        page.select_option("select[name=action]", "create", force=True)
        page.get_by_role("button", name="筛选").click()
        page.wait_for_load_state("load")
        assert "共 183 条，本页为第 1–50 条" in page.locator(".audit-count").inner_text()
        first = page.locator("table.audit-log tbody tr").first.inner_text()
        assert "新建" in first and "救助热线" in first and "系统" in first and "电话号码：0455-" in first and "所属单位：" in first
        assert page.locator("table.audit-log tbody tr").first.get_by_role("link", name=re.compile(r"^\d+$")).count() == 1
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths
        page.screenshot(path=str(shots / f"audit-{viewport['width']}.png"))

        page.get_by_role("link", name=re.compile("下一页")).click()
        page.wait_for_load_state("load")
        assert "本页为第 51–100 条" in page.locator(".audit-count").inner_text()
        assert page.locator("select[name=entity_type]").input_value() == "hotline"  # the filter is kept
        assert page.locator("select[name=action]").input_value() == "create"

        with page.expect_download() as download:
            page.get_by_role("link", name="导出Excel").click()
        assert download.value.suggested_filename.endswith(".xlsx")
    finally:
        context.close()
