"""A live server on a throw-away SQLite database, and Playwright driving Debian's chromium."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from core import accounts, clock, db, migrate, seed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "Browser123"
ROLES = ("operator", "caseworker", "supervisor", "kb_editor", "admin")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from app import create_app

    instance = tmp_path_factory.mktemp("live")
    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{instance / 'live.db'}",
                      "INSTANCE_PATH": str(instance), "SECRET_KEY": "live-secret"})
    migrate.upgrade(app.extensions["hotline.engine"])
    with app.app_context():
        with db.transaction():
            seed.load_units(now=clock.now())
            for role in ROLES:
                unit = seed.DEMO_ACCOUNTS[1][3] if role == "caseworker" else None
                from sqlalchemy import select

                from core.models import Unit

                unit_id = db.session.execute(select(Unit.id).where(Unit.code == unit)).scalar() if unit else None
                accounts.create_user(actor=None, now=clock.now(), username=f"b_{role}", role=role,
                                     password=PASSWORD, display_name=f"浏览器{role}", unit_id=unit_id)
        for hook in app.extensions.get("hotline.init_loaders", []):
            with db.transaction():
                hook(clock.now())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app}
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (make setup installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10000)
    yield page
    context.close()


@pytest.fixture
def login_as(page, live_server):
    def _login(role: str):
        page.goto(f"{live_server['url']}/accounts/login")
        page.fill("input[name=username]", f"b_{role}")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        # Not "networkidle": the operator's home page keeps its calls stream open.
        page.wait_for_load_state("load")
        return page

    return _login
