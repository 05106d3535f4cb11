import io

import pytest

from core import accounts, clock
from tests.builders import make_user


def _token(db, role="operator"):
    user = make_user(role)
    raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
    db.commit()
    return user, raw


def test_token_is_accepted(client, db):
    user, raw = _token(db)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200 and response.json["username"] == user.username


def test_wrong_token_gets_json_401(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer hd_wrong"})
    assert response.status_code == 401
    assert response.json == {"error": {"code": "unauthorized", "message": "请先登录"}}


def test_missing_token_gets_json_401(client):
    assert client.get("/api/v1/units").status_code == 401


def test_units_and_users_for_pickers(client, db):
    _, raw = _token(db)
    headers = {"Authorization": f"Bearer {raw}"}
    units = client.get("/api/v1/units", headers=headers).json["units"]
    assert any(u["name"] == "绥化市民政局" for u in units) and len(units) > 180
    users = client.get("/api/v1/users?role=operator", headers=headers).json["users"]
    assert users and all(set(u) == {"id", "name", "unit_id", "unit"} for u in users)
    assert client.get("/api/v1/users?unit=abc", headers=headers).status_code == 400


def test_users_list_shows_others_only_what_the_callers_role_needs(client, db):
    worker = make_user("caseworker", phone="13900001111")
    make_user("supervisor")
    _, operator = _token(db, "operator")
    _, admin = _token(db, "admin")
    _, editor = _token(db, "kb_editor")

    def listing(raw, query=""):
        return client.get(f"/api/v1/users{query}", headers={"Authorization": f"Bearer {raw}"})

    seen = listing(operator).json["users"]
    mine = next(u for u in seen if u["id"] == worker.id)
    assert mine == {"id": worker.id, "name": worker.display_name, "unit_id": worker.unit_id, "unit": worker.unit.name}
    assert "13900001111" not in listing(operator).get_data(as_text=True)
    assert listing(operator, "?role=supervisor").status_code == 403
    assert listing(operator, "?role=admin").status_code == 403
    assert listing(editor).json["users"] == []
    full = next(u for u in listing(admin).json["users"] if u["id"] == worker.id)
    assert full["username"] == worker.username and full["role"] == "caseworker" and "phone" not in full


def test_api_needs_no_csrf_but_session_cookie_alone_is_not_enough_for_json_post(app, client, db):
    _, raw = _token(db)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}, data="{bad json")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


# --- a browser session on the API: same origin and the CSRF header, or nothing -------------------

def _page_csrf_token(client) -> str:
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    return page.split('<meta name="csrf-token" content="')[1].split('"')[0]


def _csrf_refusals(app):
    from sqlalchemy import select

    from audit.models import AuditEvent

    with app.app_context():
        from core.db import session

        return session.execute(select(AuditEvent).where(AuditEvent.action == "csrf_failed")).scalars().all()


@pytest.mark.parametrize("headers", [
    {},                                                       # a form or fetch from nowhere we can tell
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Referer": "http://evil.example/page"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},                          # a sibling host or another port
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
    {"Sec-Fetch-Site": "same-origin"},                        # our own page, but no CSRF header
    {"Origin": "http://localhost", "X-CSRFToken": "forged"},
])
def test_cross_site_request_with_the_session_cookie_cannot_use_the_api(app, client, login, headers):
    login("operator")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/v1/notifications", json={}, headers=headers)
    assert response.status_code == 403 and response.json["error"]["code"] == "csrf_failed"
    assert _csrf_refusals(app)


def test_cross_site_upload_with_the_session_cookie_is_refused_and_nothing_is_stored(app, client, login, db):
    from tests.tickets.builders import make_ticket

    owner = login("caseworker")
    ticket = make_ticket("in_progress", owner=owner)
    db.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(f"/api/v1/tickets/{ticket.id}/attachments", headers={"Origin": "http://evil.example"},
                           data={"file": (io.BytesIO(b"%PDF-1.7\n" + b"x" * 100), "a.pdf")})
    assert response.status_code == 403
    db.expire_all()
    assert ticket.attachments == []


@pytest.mark.parametrize("origin", [{"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"},
                                    {"Referer": "http://localhost/tickets/"}])
def test_own_page_with_the_csrf_header_may_use_the_api(app, client, login, origin):
    login("operator")
    app.config["WTF_CSRF_ENABLED"] = True
    token = _page_csrf_token(client)
    response = client.post("/api/v1/notifications", json={}, headers={**origin, "X-CSRFToken": token})
    assert response.status_code == 200, response.json
    assert client.get("/api/v1/calls/incoming", headers={**origin, "X-CSRFToken": token}).status_code == 200


def test_public_api_pages_still_open_in_a_signed_in_browser(app, client, login):
    login("operator")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/api/v1/openapi.json", headers={"Sec-Fetch-Site": "none"}).status_code == 200
    refused = client.get("/api/v1/me", headers={"Sec-Fetch-Site": "none"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf_failed"


def test_bearer_token_needs_no_csrf_header_and_ignores_the_session(app, client, login, db):
    session_user = login("supervisor")
    token_user, raw = _token(db, "operator")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}", "Origin": "http://evil.example"})
    assert response.status_code == 200 and response.json["id"] == token_user.id != session_user.id
    wrong = client.get("/api/v1/me", headers={"Authorization": "Bearer hd_wrong"})
    assert wrong.status_code == 401  # a bad token does not fall back to the cookie


def test_expired_token_gets_the_json_401(client, db):
    from datetime import timedelta

    user = make_user()
    raw = accounts.issue_token(actor=None, now=clock.now() - timedelta(days=31), user=user, days=30)
    db.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_password_change_revokes_the_users_api_tokens(client, login, db):
    user = login("operator")
    raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
    db.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    client.post("/accounts/password", data={"current": "Passw0rd!", "new": "Another1x", "confirm": "Another1x"})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
