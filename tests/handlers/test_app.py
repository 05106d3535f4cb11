import pytest
from flask import Blueprint
from sqlalchemy import select

from audit import services as audit
from audit.models import AuditEvent
from core import clock
from core.models import Unit


def test_healthz_says_alive_and_readyz_checks_the_database_and_the_index(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    from kb import index

    with app.app_context():
        index.holder_for(app).engine(app)  # the tests build in line
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["database"] == "ok" and ready.json["search_index"] == "ok" and ready.json["took_ms"] < 1000


def test_unknown_page_is_chinese_404(client, login):
    login("operator")
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_csrf_failure_is_refused_and_audited(app, client, login, db):
    login("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/accounts/users/new", data={"username": "csrfuser", "role": "operator",
                                                        "password": "Passw0rd1"})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "csrf_failed")).first() is not None


def test_csrf_token_from_form_is_accepted(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/accounts/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/accounts/login", data={"csrf_token": token, "username": "a", "password": "b"})
    assert response.status_code == 200 and "用户名或密码错误" in response.get_data(as_text=True)


@pytest.fixture
def crashing_app(app, backend):
    """A fresh app with a route that changes a unit, writes its audit event, then crashes."""
    from app import create_app

    crashing = create_app({"ENV": "testing", "DATABASE_URL": backend["url"], "INSTANCE_PATH": app.instance_path,
                           "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False})
    crashing.extensions["hotline.sessionmaker"] = app.extensions["hotline.sessionmaker"]
    bp = Blueprint("crash", __name__)

    @bp.route("/_crash")
    def crash():
        from core.db import session

        unit = session.execute(select(Unit).limit(1)).scalar_one()
        unit.phone = "crash-phone"
        audit.record("update", "unit", unit.id, actor=None, now=clock.now(), changes={"after": {"phone": "x"}})
        session.flush()
        raise RuntimeError("boom")

    crashing.register_blueprint(bp)
    yield crashing
    crashing.extensions["hotline.engine"].dispose()


def test_crash_rolls_back_change_and_its_audit_event(crashing_app, db):
    before = db.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar()
    response = crashing_app.test_client().get("/_crash")
    assert response.status_code == 500 and "服务器内部错误" in response.get_data(as_text=True)
    db.expire_all()
    assert db.execute(select(Unit).where(Unit.phone == "crash-phone")).first() is None
    assert db.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar() == before


def test_every_navigation_item_points_at_a_real_page(app):
    from handlers.navigation import ITEMS

    missing = [endpoint for _, endpoint, _, _ in ITEMS if endpoint not in app.view_functions]
    assert missing == []


# --- headers, request ids -----------------------------------------------------------------------

def test_every_answer_forbids_framing_and_sniffing(client, login):
    for response in (client.get("/accounts/login"), client.get("/hotlines"), client.get("/api/v1/me")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_and_api_answers_for_a_signed_in_user_are_not_stored(app, client, login, db):
    from core import accounts
    from tests.builders import make_user

    login("supervisor")
    for path in ("/", "/tickets/", "/accounts/password"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    raw = accounts.issue_token(actor=None, now=clock.now(), user=make_user())
    db.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).headers["Cache-Control"] == "no-store"


def test_no_page_has_inline_script_handlers(app):
    """The Content-Security-Policy allows our own script files only: inline handlers would not run."""
    import re
    from pathlib import Path

    folder = Path(app.root_path) / "templates"
    found = [f"{p.relative_to(folder)}: {m.group(0)}" for p in folder.rglob("*.html")
             for m in re.finditer(r"\son[a-z]+=|<script(?![^>]*\ssrc=)[^>]*>|javascript:|\sstyle=", p.read_text())]
    assert found == []


def test_request_id_is_always_the_servers_own(client):
    supplied = "client-chosen-id-123"
    response = client.get("/accounts/login", headers={"X-Request-ID": supplied})
    ours = response.headers["X-Request-ID"]
    assert ours != supplied and len(ours) == 32
    assert client.get("/accounts/login", headers={"X-Request-ID": supplied}).headers["X-Request-ID"] != ours


def test_failed_login_audit_event_carries_the_servers_request_id(app, client, db):
    response = client.post("/accounts/login", data={"username": "nobody", "password": "x"},
                           headers={"X-Request-ID": "forged-request-id-1"})
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "login_failed")
                       .order_by(AuditEvent.seq.desc())).scalars().first()
    assert event.request_id == response.headers["X-Request-ID"] != "forged-request-id-1"


# --- cookies ---------------------------------------------------------------------------------------

def _session_cookie_header(app_):
    """Log in on a fresh app built with these settings and return the session cookie it sets."""
    from tests.builders import make_user

    with app_.app_context():
        from core.db import session

        user = make_user(password="Passw0rd!")
        session.commit()
        name = user.username
    response = app_.test_client().post("/accounts/login", data={"username": name, "password": "Passw0rd!"},
                                       base_url="https://localhost")
    assert response.status_code == 302
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("hotline_session="))


@pytest.mark.parametrize("env, setting, secure", [
    ({"ENV": "production"}, None, True),
    ({"ENV": "production"}, "0", False),      # a plain-http intranet deployment says so
    ({"ENV": "development"}, None, False),    # `make run` serves http on 127.0.0.1
    ({"ENV": "development"}, "1", True),
])
def test_session_cookie_is_secure_by_default_in_production(app, backend, monkeypatch, env, setting, secure):
    from app import create_app

    if setting is not None:
        monkeypatch.setenv("HOTLINE_SECURE_COOKIES", setting)
    else:
        monkeypatch.delenv("HOTLINE_SECURE_COOKIES", raising=False)
    built = create_app({**env, "DATABASE_URL": backend["url"], "INSTANCE_PATH": app.instance_path,
                        "SECRET_KEY": "test-secret", "AUDIT_KEY": "test-audit-key-" + "x" * 32,
                        "WTF_CSRF_ENABLED": False})
    built.extensions["hotline.sessionmaker"] = app.extensions["hotline.sessionmaker"]
    try:
        cookie = _session_cookie_header(built)
    finally:
        built.extensions["hotline.engine"].dispose()
    assert ("; Secure" in cookie) is secure and "HttpOnly" in cookie


def test_login_page_explains_when_secure_cookies_meet_plain_http(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True
    page = client.get("/accounts/login").get_data(as_text=True)
    assert "HOTLINE_SECURE_COOKIES=0" in page
    assert "HOTLINE_SECURE_COOKIES" not in client.get("/accounts/login", base_url="https://localhost").get_data(
        as_text=True)
