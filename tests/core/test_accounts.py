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


def test_many_failures_from_one_address_slow_it_down_without_locking_accounts_behind_it(db):
    policy = accounts.LockoutPolicy(max_failures=100, max_failures_per_address=3, minutes=15)
    make_user(username="qian", password="Passw0rd1")
    now = clock.now()
    for name in ("a1", "a2", "a3"):
        accounts.authenticate(username=name, password="x", address="9.9.9.9", now=now, policy=policy)
    result = accounts.authenticate(username="qian", password="Passw0rd1", address="9.9.9.9", now=now, policy=policy)
    assert result.user is None and result.retry_after == 1
    assert "此网络地址" in result.message and "1秒后再试" in result.message and "锁定" not in result.message
    other = accounts.authenticate(username="qian", password="Passw0rd1", address="8.8.8.8", now=now, policy=policy)
    assert other.user is not None
    later = accounts.authenticate(username="qian", password="Passw0rd1", address="9.9.9.9",
                                  now=now + timedelta(seconds=1), policy=policy)
    assert later.user is not None
    assert _events(db, "login_throttled")


def test_address_slow_down_doubles_with_each_further_failure_up_to_the_cap(db):
    policy = accounts.LockoutPolicy(max_failures=100, max_failures_per_address=2, minutes=15, max_delay_seconds=5)
    at = clock.now()
    waits = []
    for n in range(12):
        result = accounts.authenticate(username=f"n{n}", password="x", address="7.7.7.7", now=at, policy=policy)
        if result.retry_after:
            waits.append(result.retry_after)
            at += timedelta(seconds=result.retry_after)  # the next try comes exactly when allowed
    assert waits == [1, 2, 4, 5, 5]


def test_a_success_does_not_reset_the_failure_window(db):
    make_user(username="feng", password="Passw0rd1")
    policy = accounts.LockoutPolicy(max_failures=3, max_failures_per_address=100, minutes=15)
    now = clock.now()
    for password in ("bad", "bad", "Passw0rd1", "bad"):
        accounts.authenticate(username="feng", password=password, address="d", now=now, policy=policy)
    locked = accounts.authenticate(username="feng", password="Passw0rd1", address="d", now=now, policy=policy)
    assert locked.user is None and "锁定" in locked.message


def test_lock_ends_when_the_failures_leave_the_sliding_window(db):
    make_user(username="chen", password="Passw0rd1")
    policy = accounts.LockoutPolicy(max_failures=2, max_failures_per_address=100, minutes=15)
    start = clock.now()
    accounts.authenticate(username="chen", password="bad", address="e", now=start, policy=policy)
    accounts.authenticate(username="chen", password="bad", address="e", now=start + timedelta(minutes=10),
                          policy=policy)
    locked = accounts.authenticate(username="chen", password="Passw0rd1", address="e",
                                   now=start + timedelta(minutes=13), policy=policy)
    assert locked.user is None and "约2分钟后自动解锁" in locked.message and "联系管理员" in locked.message
    # The refused tries while locked do not count: the lock ends when the first failure ages out.
    unlocked = accounts.authenticate(username="chen", password="Passw0rd1", address="e",
                                     now=start + timedelta(minutes=15, seconds=1), policy=policy)
    assert unlocked.user is not None


def test_admin_unlock_lets_a_locked_user_in_at_once(db):
    admin = make_user("admin")
    user = make_user(username="jiang", password="Passw0rd1")
    policy = accounts.LockoutPolicy(max_failures=2, max_failures_per_address=100, minutes=15)
    now = clock.now()
    for _ in range(2):
        accounts.authenticate(username="jiang", password="bad", address="f", now=now, policy=policy)
    assert accounts.authenticate(username="jiang", password="Passw0rd1", address="f", now=now, policy=policy).user is None
    accounts.unlock(actor=admin, now=now, user=user)
    assert accounts.authenticate(username="jiang", password="Passw0rd1", address="f", now=now, policy=policy).user is user
    assert _events(db, "unlock")


@pytest.mark.parametrize("typed, reason", [("a" * 300, "too_long"), ("wang\x00li", "control_characters"),
                                           ("\x00" * 120, "control_characters")])
def test_overlong_or_nul_user_name_is_counted_and_audited(db, typed, reason):
    policy = accounts.LockoutPolicy(max_failures=2, max_failures_per_address=100, minutes=15)
    now = clock.now()
    results = [accounts.authenticate(username=typed, password="x", address="g", now=now, policy=policy)
               for _ in range(3)]
    assert [r.message for r in results[:2]] == ["用户名或密码错误"] * 2 and "锁定" in results[2].message
    event = [e for e in _events(db, "login_failed") if reason in e.changes][-1]
    assert "\\u0000" not in event.changes and str(len(typed)) in event.changes
    from core.models import LoginAttempt

    attempts = db.execute(select(LoginAttempt).where(LoginAttempt.address == "g")).scalars().all()
    assert len(attempts) == 3 and all(len(a.username) <= 100 and "\x00" not in a.username for a in attempts)


def test_unknown_user_name_costs_as_much_as_a_known_one(db, monkeypatch):
    """Timing must not tell which user names exist: the dummy hash uses the real method (scrypt)."""
    import time

    monkeypatch.setattr(accounts, "HASH_METHOD", "scrypt")
    make_user(username="timing", password="Passw0rd1")
    policy = accounts.LockoutPolicy(max_failures=100, max_failures_per_address=100, minutes=15)

    def cost(name: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            accounts.authenticate(username=name, password="wrong1", address="h", now=clock.now(), policy=policy)
            times.append(time.perf_counter() - started)
        return min(times)  # the least disturbed by other work on the machine

    cost("nobody-here")  # the dummy hash is made on first use
    known, unknown = cost("timing"), cost("nobody-here")
    assert 0.5 < unknown / known < 2, (known, unknown)


def test_disabled_account_cannot_log_in_and_loses_tokens(db):
    admin = make_user("admin")
    user = make_user(username="sun", password="Passw0rd1")
    raw = accounts.issue_token(actor=admin, now=clock.now(), user=user)
    accounts.set_active(actor=admin, now=clock.now(), user=user, active=False)
    assert accounts.authenticate(username="sun", password="Passw0rd1", address="c", now=clock.now()).message \
        == "该账号已停用,请联系管理员"
    assert accounts.user_for_token(raw, clock.now()) is None


def test_password_reset_ends_existing_sessions_and_revokes_tokens(db):
    user = make_user(username="he", password="Passw0rd1")
    login = accounts.authenticate(username="he", password="Passw0rd1", address="i", now=clock.now())
    old_id = user.get_id()
    assert accounts.load_session_user(old_id, login.session_key) is user
    raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
    accounts.reset_password(actor=None, now=clock.now(), user=user, password="Newpass123")
    assert accounts.load_session_user(old_id, login.session_key) is None
    assert accounts.load_session_user(user.get_id(), login.session_key) is None
    assert accounts.user_for_token(raw, clock.now()) is None


def test_logout_ends_only_that_session(db):
    user = make_user(username="lv", password="Passw0rd1")
    office = accounts.authenticate(username="lv", password="Passw0rd1", address="j", now=clock.now())
    home = accounts.authenticate(username="lv", password="Passw0rd1", address="k", now=clock.now())
    accounts.logout(actor=user, now=clock.now(), session_key=office.session_key)
    assert accounts.load_session_user(user.get_id(), office.session_key) is None
    assert accounts.load_session_user(user.get_id(), home.session_key) is user
    assert accounts.load_session_user(user.get_id(), "") is None


def test_token_expires_after_its_lifetime(db):
    user = make_user()
    now = clock.now()
    raw = accounts.issue_token(actor=None, now=now, user=user, days=30)
    assert accounts.user_for_token(raw, now + timedelta(days=29, hours=23)) is user
    assert accounts.user_for_token(raw, now + timedelta(days=30)) is None
    default = accounts.issue_token(actor=None, now=now, user=user)
    assert accounts.user_for_token(default, now + timedelta(days=accounts.DEFAULT_TOKEN_DAYS)) is None
    with pytest.raises(DomainError, match="有效期"):
        accounts.issue_token(actor=None, now=now, user=user, days=0)


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


def test_purge_drops_old_attempts_and_long_logged_out_sessions_only(db):
    from core.jobs import purge_login_attempts
    from core.models import LoginAttempt, LoginSession

    make_user(username="pu", password="Passw0rd1")
    now = clock.now()
    old = accounts.authenticate(username="pu", password="Passw0rd1", address="p", now=now - timedelta(days=40))
    kept = accounts.authenticate(username="pu", password="Passw0rd1", address="q", now=now - timedelta(days=40))
    accounts.logout(actor=old.user, now=now - timedelta(days=31), session_key=old.session_key)
    db.flush()
    assert purge_login_attempts(now) == ("purged 2 old login attempts, 1 old logged-out sessions "
                                         "and 0 idempotency keys older than 7 days")
    assert all(a.at >= now - timedelta(days=30) for a in db.execute(select(LoginAttempt)).scalars())
    assert accounts.load_session_user(kept.user.get_id(), kept.session_key) is kept.user
    assert db.execute(select(LoginSession).where(LoginSession.revoked_at.is_not(None))).first() is None
