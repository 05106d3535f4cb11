import pytest

pytestmark = pytest.mark.browser


def test_operator_records_a_call_and_opens_a_dispatched_ticket(login_as, live_server):
    page = login_as("operator")
    page.goto(f"{live_server['url']}/tickets/calls/new")
    # The search page keeps the opened KB entries in #kb-opened-ids; the panel picks them up.
    page.evaluate("""() => { const f = document.getElementById('kb-opened-ids'); f.value = 'Q012';
                             f.dispatchEvent(new Event('change', {bubbles: true})); }""")
    assert page.input_value("#call-entries") == "Q012"
    page.fill("#call-number", "13812340077")  # a number of its own: a repeat caller is offered merging
    page.fill("textarea[name=question]", "低保金两个月没到账")
    page.check("input[name=outcome][value=ticket]")
    page.click("#call-submit")
    page.wait_for_url("**/tickets/new?call_id=*")
    assert "低保金两个月没到账" in page.input_value("textarea[name=description]")
    page.fill("input[name=citizen_name]", "周九")  # nor the name: the same person and matter is offered merging too
    page.select_option("select[name=township_id]", index=1, force=True)
    page.select_option("select[data-unit-select]", label="北林区民政局", force=True)
    page.select_option("select[name=user_id]", label="浏览器caseworker（北林区民政局）", force=True)
    page.click("#ticket-form button[type=submit]")
    page.wait_for_url("**/tickets/*")
    assert page.locator("h1 .state").inner_text() == "待签收"
    assert "138****0077" in page.content()
    assert "浏览器caseworker" in page.locator("dl.facts").inner_text()
    assert page.locator(".timeline li").count() == 2
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366
