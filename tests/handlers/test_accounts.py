import pytest
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


@pytest.mark.parametrize("target", [
    "//evil.example/x", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "http:evil.example",
    "/\t/evil.example", "/\n/evil.example", "\t//evil.example", "/\r\n/evil.example", "\x00//evil.example",
    " //evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "///evil.example",
    "/\t\\evil.example", "evil.example", "",
])
def test_login_never_redirects_off_site(client, login, target):
    user = login("operator")
    client.post("/accounts/logout")
    for response in (client.post("/accounts/login", query_string={"next": target},
                                 data={"username": user.username, "password": "Passw0rd!"}),
                     client.get("/accounts/login", query_string={"next": target})):
        assert response.headers["Location"] == "/"


def test_encoded_tab_next_from_the_review_is_refused(client, login):
    user = login("operator")
    client.post("/accounts/logout")
    response = client.post("/accounts/login?next=%2F%09%2Fevil.com", data={"username": user.username,
                                                                         "password": "Passw0rd!"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/tickets/?state=open#top", "/kb/search?q=%E4%BD%8E%E4%BF%9D", "/%09/x"])
def test_login_follows_next_within_the_site(client, login, target):
    user = login("operator")
    client.post("/accounts/logout")
    response = client.post("/accounts/login", query_string={"next": target},
                           data={"username": user.username, "password": "Passw0rd!"})
    assert response.headers["Location"] == target


def test_copied_session_cookie_stops_working_after_logout(app, client, login):
    login("supervisor")
    copied = client.get_cookie("hotline_session").value
    assert client.get("/").status_code == 200
    thief = app.test_client()
    thief.set_cookie("hotline_session", copied)
    assert thief.get("/").status_code == 200
    client.post("/accounts/logout")
    assert thief.get("/").status_code == 302


def test_logout_leaves_the_users_other_devices_logged_in(app, client, login):
    user = login("supervisor")
    phone = app.test_client()
    assert phone.post("/accounts/login", data={"username": user.username, "password": "Passw0rd!"}).status_code == 302
    client.post("/accounts/logout")
    assert phone.get("/").status_code == 200 and client.get("/").status_code == 302


def test_login_rotates_the_session_and_the_csrf_token(app, client, db):
    make_user(username="rot", password="Passw0rd!")
    db.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/accounts/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    with client.session_transaction() as planted:
        planted["planted_by_someone_else"] = "x"
        csrf_before = planted["csrf_token"]
    assert client.post("/accounts/login", data={"csrf_token": token, "username": "rot",
                                                "password": "Passw0rd!"}).status_code == 302
    with client.session_transaction() as fresh:
        assert "planted_by_someone_else" not in fresh
        assert fresh.get("csrf_token") != csrf_before and fresh.get("login_session")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert token not in home
    form_post = client.post("/accounts/password", data={"csrf_token": token, "current": "x", "new": "y", "confirm": "y"})
    assert form_post.status_code == 400  # the token from before the log-in is dead


def test_password_change_keeps_this_browser_and_ends_the_others(app, client, login):
    user = login("operator")
    other = app.test_client()
    other.post("/accounts/login", data={"username": user.username, "password": "Passw0rd!"})
    ok = client.post("/accounts/password", data={"current": "Passw0rd!", "new": "Another1x", "confirm": "Another1x"})
    assert ok.status_code == 302
    assert client.get("/", follow_redirects=True).status_code == 200
    assert other.get("/").status_code == 302


def test_address_slow_down_answers_429_with_retry_after_and_names_the_cause(app, client, db):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    user = make_user(username="natuser", password="Passw0rd!")
    db.commit()
    for name in ("x1", "x2", "x3"):
        client.post("/accounts/login", data={"username": name, "password": "wrong"})
    response = client.post("/accounts/login", data={"username": user.username, "password": "Passw0rd!"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    body = response.get_data(as_text=True)
    assert "此网络地址" in body and "秒后再试" in body and "锁定" not in body
    assert "login_throttled" in _actions(app)


@pytest.mark.parametrize("typed", ["a" * 5000, "admin\x00", "\x00"])
def test_overlong_or_nul_user_name_at_login_is_refused_counted_and_audited(app, client, typed):
    response = client.post("/accounts/login", data={"username": typed, "password": "whatever1"})
    assert response.status_code == 200 and "用户名或密码错误" in response.get_data(as_text=True)
    assert "login_failed" in _actions(app)


def test_admin_unlocks_a_locked_account(app, client, login, db):
    app.config["LOGIN_MAX_FAILURES"] = 2
    target = make_user(username="locked1", password="Passw0rd!")
    db.commit()
    other = app.test_client()
    for _ in range(2):
        other.post("/accounts/login", data={"username": "locked1", "password": "x"})
    assert "锁定" in other.post("/accounts/login", data={"username": "locked1",
                                                         "password": "Passw0rd!"}).get_data(as_text=True)
    login("admin")
    assert client.post(f"/accounts/users/{target.id}", data={"op": "unlock"}).status_code == 302
    assert other.post("/accounts/login", data={"username": "locked1", "password": "Passw0rd!"}).status_code == 302


def test_admin_issues_a_token_with_a_lifetime(app, client, login, db):
    from datetime import timedelta

    from core.models import ApiToken

    login("admin")
    target = make_user()
    db.commit()
    page = client.post(f"/accounts/users/{target.id}", data={"op": "issue_token", "label": "电话", "days": "7"})
    assert page.status_code == 200 and "hd_" in page.get_data(as_text=True)
    token = db.execute(select(ApiToken).where(ApiToken.user_id == target.id)).scalar_one()
    assert token.expires_at - token.created_at == timedelta(days=7)


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
