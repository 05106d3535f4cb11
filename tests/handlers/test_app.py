import pytest
from flask import Blueprint
from sqlalchemy import select

from audit import services as audit
from audit.models import AuditEvent
from core import clock
from core.models import Unit


def test_healthz_checks_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


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
