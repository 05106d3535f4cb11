"""The dispatch catalogue page in a browser at 1366×768."""

from __future__ import annotations

import pytest

from core import clock, db
from kb.models import CATEGORIES
from tickets import catalogue

pytestmark = pytest.mark.browser


@pytest.fixture
def full_catalogue(live_server):
    with live_server["app"].app_context(), db.transaction():
        if len(catalogue.current_matters()) < len(CATEGORIES):
            rows = [{"category": c, "entry_id": "", "kind": "", "level": "county", "unit_id": None,
                     "cohandling_ids": [], "note": ""} for c in CATEGORIES]
            catalogue.save_version(actor=None, now=clock.now(), rows=rows, source="seed", note="浏览器测试")
        return catalogue.current_matters()[-1].id


def test_a_matter_opened_for_editing_is_not_hidden_under_the_navigation_bar(login_as, live_server, full_catalogue):
    page = login_as("admin")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server['url']}/tickets/catalogue")
    with page.expect_navigation():
        page.click(f"a[href*='edit={full_catalogue}']")
    row = page.locator(f"#matter-{full_catalogue}")
    row.wait_for()
    nav_bottom = page.evaluate("document.querySelector('header.topbar').getBoundingClientRect().bottom")
    assert page.evaluate("window.scrollY") > 0
    assert row.bounding_box()["y"] >= nav_bottom
