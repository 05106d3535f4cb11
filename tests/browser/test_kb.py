import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_operator_types_a_colloquial_question_and_opens_the_answer(login_as, live_server):
    page = login_as("operator")
    assert "/kb/search" in page.url
    box = page.locator("#q")
    box.press_sequentially("五保户咋申请", delay=30)
    first = page.locator("li.result").first
    first.wait_for()
    assert page.locator("li.result.selected").count() == 1
    box.press("Enter")
    page.locator("#card .script").wait_for()
    assert page.locator("#card article > h2").inner_text()
    assert page.locator("#kb-opened-ids").input_value()


def test_keyboard_slash_focuses_and_escape_clears(login_as):
    page = login_as("operator")
    page.locator("#status").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("低保")
    page.locator("li.result").first.wait_for()
    page.keyboard.press("ArrowDown")
    assert page.locator("li.result").nth(1).get_attribute("class").endswith("selected")
    page.keyboard.press("Escape")
    assert page.locator("#q").input_value() == "" and page.locator("li.result").count() == 0


def test_editor_entry_page_copy_button(login_as, live_server):
    page = login_as("kb_editor")
    page.goto(f"{live_server['url']}/kb/Q010")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("button.copy").click()
    expect(page.locator("button.copy")).to_have_text("已复制")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator(".script").inner_text().strip()
