"""A recorded call replayed through the call events API while the operator's page follows it: the call
pops, the transcript and a suggestion stream in, hotkeys take and record it, a second call becomes a
ticket with its fields filled from the transcript."""

import re

import pytest
from sqlalchemy import select

from core import db
from tests.browser.desk import Telephony, answer, telephony_token, wait_for_suggestion
from tickets.models import Call, CallEntryUse, Ticket

pytestmark = pytest.mark.browser
WAIT = 20000


@pytest.fixture(scope="module")
def telephony(live_server):
    return Telephony(live_server["url"], telephony_token(live_server["app"]), "b_operator")


def _call(app, external_id):
    with app.app_context():
        call = db.session.execute(select(Call).where(Call.external_id == external_id)).scalar_one()
        uses = [(u.entry_id, u.action) for u in db.session.execute(
            select(CallEntryUse).where(CallEntryUse.call_id == call.id)).scalars()]
        tickets = [t.citizen_name for t in db.session.execute(select(Ticket).where(Ticket.call_id == call.id)).scalars()]
        seen = {"status": call.status, "outcome": call.outcome, "caller_name": call.caller_name,
                "question": call.question, "kb_entry_ids": call.kb_entry_ids}
        db.session.remove()
        return seen, uses, tickets


def test_a_replayed_call_pops_streams_in_and_is_recorded_with_two_keystrokes(login_as, live_server, telephony):
    page = login_as("operator")
    page.set_default_timeout(WAIT)
    page.wait_for_selector("#call-stream-state.live")
    keys, external_id = answer(page, telephony, "02-two-needs.jsonl", "护理补贴", timeout=WAIT)
    top = wait_for_suggestion(page, WAIT)
    page.wait_for_function("() => document.getElementById('call-name').value === '张建华'")
    assert page.locator('[data-mark-for="caller_name"]').is_visible()
    assert page.input_value("#call-question")  # the caller's need, from the transcript
    page.wait_for_selector(f'#card .card-entry[data-entry-id="{top}"]')  # the top card shown by itself
    keys.press("Alt+R")
    page.wait_for_selector("#call-done:not([hidden])")
    assert "即问即答" in page.inner_text("#call-done")
    assert len(keys) <= 2, keys.pressed
    call, uses, _ = _call(live_server["app"], external_id)
    assert (call["status"], call["outcome"]) == ("recorded", "answered")
    assert call["caller_name"] == "张建华" and call["question"]
    assert (top, "shown") in uses and top in call["kb_entry_ids"]


def test_typing_overrides_the_suggestions_pins_stay_and_alt_f_follows_the_call_again(login_as, live_server,
                                                                                      telephony):
    page = login_as("operator")
    page.set_default_timeout(WAIT)
    keys, external_id = answer(page, telephony, "03-emergency.jsonl", "断粮", end=False, timeout=WAIT)
    followed = wait_for_suggestion(page, WAIT)
    page.click("#q")
    keys.type("医疗救助")
    page.wait_for_selector("#results li.result:not(.follow)")
    assert page.locator("#follow-bar").is_visible()
    typed = page.locator("#results li.result").first
    typed.locator("[data-pin]").click()
    pinned = page.inner_text("#pinned")
    keys.press("Alt+F")
    page.wait_for_selector("#results li.follow")
    assert page.locator("#results li.follow").first.get_attribute("data-entry-id") == followed
    assert page.inner_text("#pinned") == pinned and not page.locator("#follow-bar").is_visible()
    page.click("#pinned [data-unpin]")
    assert not page.locator("#pinned").is_visible()
    keys.press("Alt+R")
    page.wait_for_selector("#call-done:not([hidden])")
    call, _, _ = _call(live_server["app"], external_id)
    assert call["status"] == "recorded" and "医疗救助" not in call["question"]  # the transcript's words, not the search


def test_a_second_call_becomes_a_prefilled_ticket_with_few_keystrokes(login_as, live_server, telephony):
    page = login_as("operator")
    page.set_default_timeout(WAIT)
    keys, external_id = answer(page, telephony, "01-dibao-dialect.jsonl", "咋申请", timeout=WAIT)
    wait_for_suggestion(page, WAIT)
    keys.press("Alt+T")
    page.wait_for_url("**/tickets/new?call_id=*")
    assert page.input_value("input[name=citizen_name]") == "刘"
    assert "紫来" in page.locator("select[name=township_id] option:checked").inner_text()
    assert page.input_value("textarea[name=description]")
    marked = {m.get_attribute("data-mark-for") for m in page.locator(".from-transcript[data-mark-for]").all()}
    assert {"citizen_name", "township_id"} <= marked
    keys.press("Control+Enter")  # the operator's confirmation
    page.wait_for_url(re.compile(r"/tickets/\d+$"))
    assert len(keys) - 1 <= 5, keys.pressed
    _, _, tickets = _call(live_server["app"], external_id)
    assert tickets == ["刘"]


def test_the_page_falls_back_to_polling_when_the_stream_is_down(browser, live_server, telephony):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.route("**/api/v1/calls/stream", lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{live_server['url']}/accounts/login")
    page.fill("input[name=username]", "b_operator")
    page.fill("input[name=password]", "Browser123")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("#call-stream-state.polling")
    keys, external_id = answer(page, telephony, "04-outside-kb.jsonl", "公积金", timeout=WAIT)
    keys.press("Alt+R")
    page.wait_for_selector("#call-done:not([hidden])")
    call, _, _ = _call(live_server["app"], external_id)
    assert call["status"] == "recorded"
    context.close()


def test_a_refused_record_keeps_everything_on_the_page_with_the_error_beside_the_field(login_as, live_server):
    page = login_as("operator")
    page.set_default_timeout(WAIT)
    page.fill("#q", "低保怎么申请")
    page.wait_for_selector("#results li.result")
    page.fill("#call-name", "钱七")
    page.keyboard.press("Alt+R")  # a call with no telephony needs the caller's number
    error = page.locator('#call-form .field-error[data-error-for="caller_number"]')
    error.wait_for()
    assert "来电号码" in error.inner_text()
    assert page.input_value("#q") == "低保怎么申请" and page.input_value("#call-name") == "钱七"
    assert page.input_value("#call-question") == "低保怎么申请"  # the search fed the record
    assert page.locator("#results li.result").count() > 0
    page.fill("#call-number", "12")
    assert error.count() == 0
    page.keyboard.press("Alt+R")  # refused by the server this time
    error.wait_for()
    assert "来电号码" in error.inner_text() and page.input_value("#call-name") == "钱七"
    page.fill("#call-number", "13812345678")
    page.keyboard.press("Alt+R")
    page.wait_for_selector("#call-done:not([hidden])")
    assert page.input_value("#call-name") == ""
