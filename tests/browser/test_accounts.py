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


def test_own_pages_call_the_api_with_their_session_and_break_no_content_policy(login_as, live_server):
    page = login_as("operator")
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    with page.expect_response(lambda r: "/api/v1/calls/stream" in r.url) as polled:
        page.goto(f"{live_server['url']}/kb/search")
    assert polled.value.status == 200
    without = page.evaluate("""url => fetch(url, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: "{}"}).then(r => r.status)""",
                            f"{live_server['url']}/api/v1/notifications")
    with_header = page.evaluate("""url => fetch(url, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": window.Hotline.csrfToken()}, body: "{}"})
        .then(r => r.status)""", f"{live_server['url']}/api/v1/notifications")
    assert (without, with_header) == (403, 200)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_a_page_on_another_port_cannot_use_the_api_with_the_session(login_as, live_server):
    """The review's attack: a page on the same host, another port (same site, so the Lax cookie goes
    along) posts to the API with the user's session."""
    import http.server
    import threading

    from sqlalchemy import func, select

    from audit.models import AuditEvent
    from core import db

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><title>evil</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    evil = http.server.HTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()

    def refusals() -> int:
        with live_server["app"].app_context():
            return db.session.execute(select(func.count()).select_from(AuditEvent)
                                      .where(AuditEvent.action == "csrf_failed")).scalar_one()

    try:
        page = login_as("operator")
        before = refusals()
        page.goto(f"http://127.0.0.1:{evil.server_port}/")
        page.evaluate("""url => fetch(url, {method: "POST", mode: "no-cors", credentials: "include",
            headers: {"Content-Type": "text/plain"}, body: "{}"}).catch(() => null)""",
                      f"{live_server['url']}/api/v1/notifications")
        page.wait_for_timeout(500)
        assert refusals() == before + 1
    finally:
        evil.shutdown()


def test_confirmation_declined_leaves_the_account_enabled(login_as, live_server):
    page = login_as("admin")
    page.goto(f"{live_server['url']}/accounts/users")
    page.click("a:text-is('b_kb_editor')")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:has-text('停用账号')")
    page.wait_for_load_state("load")
    assert page.locator("button:has-text('停用账号')").is_visible()
