"""Spot checks in a real browser: a supervisor's day (the public directory: test_directory.py)."""

import pytest

pytestmark = pytest.mark.browser


def test_supervisor_makes_the_weeks_plan_and_logs_an_unanswered_call(login_as, live_server):
    page = login_as("supervisor")
    page.goto(f"{live_server['url']}/spotchecks/")
    make = page.locator("button:has-text('生成本周抽查计划')")
    if make.count():
        make.click()
        page.wait_for_load_state("networkidle")
    assert "覆盖热线 183/183" in page.content()
    page.locator(".plan-table tbody tr td:nth-child(4) a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".bigno").inner_text().startswith("0455-")
    assert page.locator(".script-box .script").inner_text()  # the expected answer is shown
    page.check("input[name=connected][value='0']")
    assert page.locator("input[name=attitude]").first.is_disabled()  # not connected: no attitude to score
    page.fill("#ring_seconds", "60")
    page.click("button:has-text('保存结果')")
    page.wait_for_load_state("networkidle")
    assert "不合格(未接通),已生成整改事项" in page.locator(".flash").first.inner_text()
    assert "整改事项" in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366
