from sqlalchemy import select

from audit.models import AuditEvent
from core.models import User
from tests.builders import make_user


def _actions(app):
    with app.app_context():
        from core.db import session

        return [e.action for e in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()]


def test_login_page_renders_in_chinese(client):
    page = client.get("/accounts/login").get_data(as_text=True)
    assert "用户名" in page and "登录" in page


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login" in response.headers["Location"]


def test_login_then_home_then_logout(app, client, login):
    user = login("supervisor")
    home = client.get("/")
    assert home.status_code == 200 and user.display_name in home.get_data(as_text=True)
    assert client.post("/accounts/logout").status_code == 302
    assert client.get("/").status_code == 302
    assert {"login", "logout"} <= set(_actions(app))


def test_wrong_password_gives_generic_message_and_is_audited(app, client, db):
    make_user(username="zhou", password="Passw0rd!")
    db.commit()
    page = client.post("/accounts/login", data={"username": "zhou", "password": "wrong"})
    assert page.status_code == 200 and "用户名或密码错误" in page.get_data(as_text=True)
    unknown = client.post("/accounts/login", data={"username": "nobody", "password": "wrong"})
    assert "用户名或密码错误" in unknown.get_data(as_text=True)
    assert _actions(app).count("login_failed") == 2


def test_lockout_message_after_repeated_failures(app, client, db):
    app.config["LOGIN_MAX_FAILURES"] = 2
    make_user(username="wu", password="Passw0rd!")
    db.commit()
    for _ in range(2):
        client.post("/accounts/login", data={"username": "wu", "password": "x"})
    page = client.post("/accounts/login", data={"username": "wu", "password": "Passw0rd!"})
    assert "锁定" in page.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_open_redirect_refused(client, login):
    user = login("operator")
    client.post("/accounts/logout")
    response = client.post("/accounts/login?next=//evil.example/x",
                           data={"username": user.username, "password": "Passw0rd!"})
    assert response.headers["Location"] == "/"


def test_operator_gets_403_on_admin_page_and_it_is_audited(app, client, login):
    login("operator")
    response = client.get("/accounts/users")
    assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True)
    assert "permission_denied" in _actions(app)


def test_admin_creates_and_disables_user(app, client, login, db):
    login("admin")
    response = client.post("/accounts/users/new", data={"username": "newop", "display_name": "新接线员",
                                                        "role": "operator", "password": "Passw0rd9"})
    assert response.status_code == 302
    new = db.execute(select(User).where(User.username == "newop")).scalar_one()
    assert client.post(f"/accounts/users/{new.id}", data={"op": "disable"}).status_code == 302
    db.expire_all()
    assert db.get(User, new.id).active is False


def test_admin_create_user_with_bad_input_shows_message_and_writes_nothing(app, client, login, db):
    login("admin")
    response = client.post("/accounts/users/new", data={"username": "x", "role": "operator", "password": "short"})
    assert response.status_code == 422 and "用户名" in response.get_data(as_text=True)
    assert db.execute(select(User).where(User.username == "x")).scalar_one_or_none() is None


def test_reset_password_shows_new_password_once(app, client, login, db):
    login("admin")
    target = make_user()
    db.commit()
    page = client.post(f"/accounts/users/{target.id}", data={"op": "reset_password"}).get_data(as_text=True)
    assert "新密码" in page


def test_change_own_password(client, login):
    login("operator")
    bad = client.post("/accounts/password", data={"current": "wrong", "new": "Another1x", "confirm": "Another1x"})
    assert bad.status_code == 422 and "当前密码不正确" in bad.get_data(as_text=True)
    ok = client.post("/accounts/password", data={"current": "Passw0rd!", "new": "Another1x", "confirm": "Another1x"})
    assert ok.status_code == 302
    assert client.get("/", follow_redirects=True).status_code == 200


def test_session_expired_message(app, client, login):
    login("operator")
    client.delete_cookie("hotline_session")
    response = client.get("/", follow_redirects=True)
    assert "登录已过期" in response.get_data(as_text=True)
