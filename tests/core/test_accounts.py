from datetime import timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import accounts, clock
from core.errors import DomainError
from tests.builders import make_user, some_unit


def _events(db, action):
    return db.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def test_create_user_hashes_password_and_records_event(db):
    user = make_user("supervisor", password="Secret123")
    assert user.password_hash != "Secret123" and user.password_hash.startswith("pbkdf2:")
    assert any(e.entity_id == str(user.id) for e in _events(db, "create"))


def test_caseworker_needs_a_unit(db):
    with pytest.raises(DomainError, match="单位"):
        accounts.create_user(actor=None, now=clock.now(), username="cw_nounit", role="caseworker",
                             password="Passw0rd1")


@pytest.mark.parametrize("password", ["short1", "allletters", "12345678"])
def test_weak_passwords_refused(db, password):
    with pytest.raises(DomainError, match="密码"):
        make_user(password=password)


def test_duplicate_username_refused_case_insensitively(db):
    make_user(username="wang")
    with pytest.raises(DomainError, match="已存在"):
        make_user(username="WANG")


def test_authenticate_success_and_failure_are_recorded(db):
    make_user(username="li", password="Passw0rd1")
    ok = accounts.authenticate(username="li", password="Passw0rd1", address="10.0.0.1", now=clock.now())
    bad = accounts.authenticate(username="li", password="nope", address="10.0.0.1", now=clock.now())
    assert ok.user is not None and bad.user is None and bad.message == "用户名或密码错误"
    assert _events(db, "login") and _events(db, "login_failed")


def test_lockout_after_repeated_failures_even_with_right_password(db):
    make_user(username="zhao", password="Passw0rd1")
    policy = accounts.LockoutPolicy(max_failures=3, max_failures_per_address=100, minutes=15)
    now = clock.now()
    for _ in range(3):
        accounts.authenticate(username="zhao", password="bad", address="a", now=now, policy=policy)
    locked = accounts.authenticate(username="zhao", password="Passw0rd1", address="a", now=now, policy=policy)
    assert locked.user is None and "锁定" in locked.message
    later = accounts.authenticate(username="zhao", password="Passw0rd1", address="a",
                                  now=now + timedelta(minutes=16), policy=policy)
    assert later.user is not None


def test_unknown_username_locks_out_the_same_way(db):
    policy = accounts.LockoutPolicy(max_failures=2, max_failures_per_address=100, minutes=15)
    now = clock.now()
    messages = [accounts.authenticate(username="ghost", password="x", address="b", now=now, policy=policy).message
                for _ in range(3)]
    assert messages[:2] == ["用户名或密码错误"] * 2 and "锁定" in messages[2]


def test_lockout_per_address_across_accounts(db):
    policy = accounts.LockoutPolicy(max_failures=100, max_failures_per_address=3, minutes=15)
    make_user(username="qian", password="Passw0rd1")
    now = clock.now()
    for name in ("a1", "a2", "a3"):
        accounts.authenticate(username=name, password="x", address="9.9.9.9", now=now, policy=policy)
    result = accounts.authenticate(username="qian", password="Passw0rd1", address="9.9.9.9", now=now, policy=policy)
    assert result.user is None and "锁定" in result.message
    other = accounts.authenticate(username="qian", password="Passw0rd1", address="8.8.8.8", now=now, policy=policy)
    assert other.user is not None


def test_disabled_account_cannot_log_in_and_loses_tokens(db):
    admin = make_user("admin")
    user = make_user(username="sun", password="Passw0rd1")
    raw = accounts.issue_token(actor=admin, now=clock.now(), user=user)
    accounts.set_active(actor=admin, now=clock.now(), user=user, active=False)
    assert accounts.authenticate(username="sun", password="Passw0rd1", address="c", now=clock.now()).message \
        == "该账号已停用,请联系管理员"
    assert accounts.user_for_token(raw, clock.now()) is None


def test_password_reset_ends_existing_sessions(db):
    user = make_user(password="Passw0rd1")
    old_id = user.get_id()
    accounts.reset_password(actor=None, now=clock.now(), user=user, password="Newpass123")
    assert accounts.load_session_user(old_id) is None
    assert accounts.load_session_user(user.get_id()) is user


def test_tokens_are_stored_hashed_and_revocable(db):
    user = make_user()
    raw = accounts.issue_token(actor=None, now=clock.now(), user=user, label="电话系统")
    from core.models import ApiToken

    token = db.execute(select(ApiToken)).scalars().one()
    assert raw not in token.token_hash and accounts.user_for_token(raw, clock.now()) is user
    accounts.revoke_token(actor=None, now=clock.now(), token=token)
    assert accounts.user_for_token(raw, clock.now()) is None


def test_cannot_disable_self(db):
    admin = make_user("admin")
    with pytest.raises(DomainError, match="自己"):
        accounts.set_active(actor=admin, now=clock.now(), user=admin, active=False)


def test_update_user_to_unknown_unit_refused(db):
    admin = make_user("admin")
    user = make_user()
    with pytest.raises(DomainError, match="单位不存在"):
        accounts.update_user(actor=admin, now=clock.now(), user=user, display_name="x", role="caseworker",
                             unit_id=999999)
    accounts.update_user(actor=admin, now=clock.now(), user=user, display_name="x", role="caseworker",
                         unit_id=some_unit().id)
    assert user.role == "caseworker"
