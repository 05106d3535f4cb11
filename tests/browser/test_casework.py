"""The caseworker's day in a browser: the alert badge for a ticket someone else dispatches, a note kept
through a version conflict, and the type-to-filter picker."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import clock, db
from core.models import User

pytestmark = pytest.mark.browser


def _in_app(live_server, fn):
    with live_server["app"].app_context():
        with db.transaction():
            result = fn()
        db.session.remove()
        return result


def _user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def _ticket(state: str = "pending_dispatch", owner: str | None = None):
    from tests.tickets.builders import make_ticket

    return make_ticket(state, operator=_user("b_operator"), owner=_user(owner) if owner else None)


def test_caseworker_sees_the_badge_within_five_seconds_of_a_dispatch(login_as, live_server):
    page = login_as("caseworker")
    link = page.locator("#alerts")
    expect(link).to_have_attribute("data-live", "1")
    before = int(link.get_attribute("data-unread") or page.locator("[data-alert-count]").inner_text() or 0)

    def dispatch():
        from tickets import services

        ticket = _ticket()
        services.dispatch(actor=_user("b_operator"), now=clock.now(), ticket=ticket,
                          user_id=_user("b_caseworker").id, version=ticket.version)
        return ticket.number

    number = _in_app(live_server, dispatch)
    dispatched = time.monotonic()
    count = page.locator("[data-alert-count]")
    expect(count).to_have_text(str(before + 1), timeout=5000)
    expect(page.locator("#alert-toast")).to_contain_text(number, timeout=5000)
    assert time.monotonic() - dispatched < 5
    assert count.is_visible()


def test_sound_switch_is_kept_for_the_user(login_as, live_server):
    page = login_as("caseworker")
    button = page.locator("#alert-sound")
    expect(button).to_have_attribute("aria-pressed", "true")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(page.locator("#alert-sound")).to_have_attribute("aria-pressed", "false")
    page.locator("#alert-sound").click()
    expect(page.locator("#alert-sound")).to_have_attribute("aria-pressed", "true")


def test_a_note_typed_on_a_page_someone_else_changed_survives_and_saves(login_as, live_server):
    ticket_id = _in_app(live_server, lambda: _ticket("in_progress").id)
    url = f"{live_server['url']}/tickets/{ticket_id}"
    a = login_as("supervisor")
    a.goto(url)
    b = a.context.new_page()
    b.goto(url)
    b.locator("form[data-action=note] textarea[name=note]").fill("B：已电话联系，下周入户核实")
    a.locator("form[data-action=note] textarea[name=note]").fill("A：请注意材料清单")
    with a.expect_navigation():
        a.locator("form[data-action=note] button[type=submit]").click()
    expect(a.locator(".timeline")).to_contain_text("A：请注意材料清单")

    with b.expect_navigation():
        b.locator("form[data-action=note] button[type=submit]").click()
    stale = b.locator("#stale")
    expect(stale).to_contain_text("已被他人修改")
    expect(stale.locator(".stale-changes")).to_contain_text("A：请注意材料清单")
    expect(stale.locator(".stale-changes")).to_contain_text("浏览器supervisor")
    expect(stale.locator("textarea[name=note]")).to_have_value("B：已电话联系，下周入户核实")
    with b.expect_navigation():
        stale.locator("button[type=submit]").click()
    expect(b.locator(".timeline")).to_contain_text("B：已电话联系，下周入户核实")
    expect(b.locator("#stale")).to_have_count(0)


def test_cohandling_unit_is_picked_by_typing_pinyin_initials(login_as, live_server):
    ticket_id = _in_app(live_server, lambda: _ticket("in_progress", owner="b_caseworker").id)
    page = login_as("caseworker")
    page.goto(f"{live_server['url']}/tickets/{ticket_id}")
    form = page.locator("form[data-action=cohandle]")
    unit_select = form.locator("select[name=unit_id]")
    expect(unit_select).to_be_hidden()
    box = form.locator(".picker-input").first
    box.click()
    box.press_sequentially("ylbz", delay=20)
    options = form.locator(".picker-list li[data-value]")
    expect(options.first).to_contain_text("医疗保障局")
    assert options.count() < 10
    box.press("ArrowDown")
    box.press("ArrowUp")
    box.press("Enter")
    expect(box).to_have_value(unit_select.evaluate("s => s.selectedOptions[0].text.trim()"))
    assert "医疗保障局" in box.input_value() and unit_select.input_value()
    form.locator("textarea[name=request]").fill("请核实医保报销进度")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator(".timeline")).to_contain_text("医疗保障局")


def test_operator_page_follows_both_streams(login_as):
    page = login_as("operator")
    expect(page.locator("#call-stream-state")).to_have_class("stream-state live")
    expect(page.locator("#alerts")).to_have_attribute("data-live", "1")


def test_badge_falls_back_to_polling_when_no_stream_is_free(login_as, live_server):
    config = live_server["app"].config
    config["NOTIFICATION_STREAMS_PER_PROCESS"] = 0
    try:
        page = login_as("caseworker")
        link = page.locator("#alerts")
        page.wait_for_timeout(500)
        assert link.get_attribute("data-live") in (None, "")
        before = int(link.get_attribute("data-unread") or page.locator("[data-alert-count]").inner_text() or 0)

        def dispatch():
            from tickets import services

            ticket = _ticket()
            services.dispatch(actor=_user("b_operator"), now=clock.now(), ticket=ticket,
                              user_id=_user("b_caseworker").id, version=ticket.version)

        _in_app(live_server, dispatch)
        expect(page.locator("[data-alert-count]")).to_have_text(str(before + 1), timeout=15000)
    finally:
        config.pop("NOTIFICATION_STREAMS_PER_PROCESS")
