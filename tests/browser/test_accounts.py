import pytest

pytestmark = pytest.mark.browser


def test_operator_logs_in_and_sees_home(login_as, live_server):
    page = login_as("operator")
    assert page.url.rstrip("/") == live_server["url"] or "/kb" in page.url
    assert "浏览器operator" in page.content()
    assert page.locator("header.topbar").is_visible()


def test_wrong_password_shows_message(page, live_server):
    page.goto(f"{live_server['url']}/accounts/login")
    page.fill("input[name=username]", "b_operator")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".flash-error").inner_text() == "用户名或密码错误"


def test_admin_page_fits_operator_screen(login_as, live_server):
    page = login_as("admin")
    page.goto(f"{live_server['url']}/accounts/users")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366
