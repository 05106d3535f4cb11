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
    assert users and all(u["role"] == "operator" for u in users)
    assert client.get("/api/v1/users?unit=abc", headers=headers).status_code == 400


def test_api_needs_no_csrf_but_session_cookie_alone_is_not_enough_for_json_post(app, client, db):
    _, raw = _token(db)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}, data="{bad json")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
