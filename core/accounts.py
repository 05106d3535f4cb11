"""Accounts: creating users, passwords, log-in with lock-out, API tokens. The only code that changes users."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from audit import services as audit
from core.db import after_request_write, session
from core.errors import DomainError, NotFound
from core.models import ROLES, ApiToken, LoginAttempt, Unit, User

#: Hash method for new passwords; tests switch to a cheap one.
HASH_METHOD = "scrypt"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,50}$")
#: Checked against when the user name is unknown, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-password", method="pbkdf2:sha256:1000")


class AccountError(DomainError):
    pass


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    max_failures_per_address: int = 20
    minutes: int = 15


def check_password_strength(password: str) -> None:
    if len(password) < 8:
        raise AccountError("密码至少8位", field="password")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise AccountError("密码须同时包含字母和数字", field="password")


def _snapshot(user: User) -> dict:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "unit_id": user.unit_id, "phone": user.phone, "active": user.active}


def get_user(user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


def find_user(username: str) -> User | None:
    return session.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()


def _validate(role: str, unit_id: int | None, display_name: str) -> None:
    if role not in ROLES:
        raise AccountError(f"未知角色:{role}(可选:{'、'.join(ROLES)})", field="role")
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise AccountError(f"单位不存在:{unit_id}", field="unit_id")
        if not unit.active:
            raise AccountError(f"单位已停用:{unit.name}", field="unit_id")
    if role == "caseworker" and unit_id is None:
        raise AccountError("承办人员必须属于一个单位", field="unit_id")
    if not display_name.strip() or len(display_name) > 50:
        raise AccountError("姓名不能为空,且不超过50字", field="display_name")


def create_user(*, actor: User | None, now: datetime, username: str, role: str, password: str,
                display_name: str = "", unit_id: int | None = None, phone: str = "") -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("用户名须为2-50位字母、数字、下划线、点或连字符", field="username")
    display_name = display_name.strip() or username
    _validate(role, unit_id, display_name)
    check_password_strength(password)
    if find_user(username) is not None:
        raise AccountError(f"用户名已存在:{username}", field="username")
    user = User(username=username, display_name=display_name, role=role, unit_id=unit_id, phone=phone.strip(),
                password_hash=generate_password_hash(password, method=HASH_METHOD), active=True,
                session_version=1, created_at=now, password_changed_at=now)
    session.add(user)
    session.flush()
    audit.record("create", "user", user.id, actor=actor, now=now, changes={"after": _snapshot(user)})
    return user


def update_user(*, actor: User, now: datetime, user: User, display_name: str, role: str,
                unit_id: int | None, phone: str = "") -> User:
    display_name = display_name.strip()
    _validate(role, unit_id, display_name)
    if user.id == actor.id and role != user.role:
        raise AccountError("不能修改自己的角色")
    before = _snapshot(user)
    user.display_name, user.role, user.unit_id, user.phone = display_name, role, unit_id, phone.strip()
    if before["role"] != role:
        user.session_version += 1
    session.flush()
    changes = audit.diff(before, _snapshot(user))
    if changes["after"]:
        audit.record("update", "user", user.id, actor=actor, now=now, changes=changes)
    return user


def set_active(*, actor: User, now: datetime, user: User, active: bool) -> User:
    if user.id == actor.id and not active:
        raise AccountError("不能停用自己的账号")
    if user.active == active:
        return user
    before = _snapshot(user)
    user.active = active
    user.session_version += 1
    if not active:
        for token in session.execute(select(ApiToken).where(ApiToken.user_id == user.id,
                                                            ApiToken.revoked_at.is_(None))).scalars():
            token.revoked_at = now
    session.flush()
    audit.record("enable" if active else "disable", "user", user.id, actor=actor, now=now,
                 changes=audit.diff(before, _snapshot(user)))
    return user


def reset_password(*, actor: User | None, now: datetime, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = generate_password_hash(password, method=HASH_METHOD)
    user.password_changed_at = now
    user.session_version += 1
    session.flush()
    audit.record("reset_password", "user", user.id, actor=actor, now=now)


def change_own_password(*, actor: User, now: datetime, current: str, new: str) -> None:
    if not check_password_hash(actor.password_hash, current):
        raise AccountError("当前密码不正确", field="current")
    if current == new:
        raise AccountError("新密码不能与当前密码相同", field="new")
    reset_password(actor=actor, now=now, user=actor, password=new)


def generate_password() -> str:
    """A random password that meets the strength rule, for demo accounts and resets."""
    while True:
        candidate = secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")
        if re.search(r"[A-Za-z]", candidate) and re.search(r"\d", candidate):
            return candidate


# --- log-in -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginResult:
    user: User | None
    message: str = ""


def _recent_failures(column, value: str, since: datetime) -> int:
    last_success = session.execute(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.success.is_(True),
                                                LoginAttempt.at >= since)
    ).scalar()
    start = max(since, last_success) if last_success else since
    return session.execute(
        select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= start)
    ).scalar_one()


def authenticate(*, username: str, password: str, address: str, now: datetime,
                 policy: LockoutPolicy = LockoutPolicy()) -> LoginResult:
    """Check a log-in; record the attempt and its audit event whatever the outcome.

    The message never tells whether the user name exists: unknown names are counted and locked
    exactly like real ones.
    """
    name = username.strip().lower()[:100]
    since = now - timedelta(minutes=policy.minutes)
    generic = "用户名或密码错误"
    locked_msg = f"登录失败次数过多,已暂时锁定,请{policy.minutes}分钟后再试或联系管理员"
    if (_recent_failures(LoginAttempt.username, name, since) >= policy.max_failures
            or _recent_failures(LoginAttempt.address, address, since) >= policy.max_failures_per_address):
        session.add(LoginAttempt(username=name, address=address, success=False, at=now))
        audit.record("login_locked", "user", name, actor=None, now=now, changes={"username": name})
        return LoginResult(None, locked_msg)

    user = find_user(name)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok:
        session.add(LoginAttempt(username=name, address=address, success=False, at=now))
        audit.record("login_failed", "user", user.id if user else name, actor=None, now=now,
                     changes={"username": name})
        return LoginResult(None, generic)
    if not user.active:
        session.add(LoginAttempt(username=name, address=address, success=False, at=now))
        audit.record("login_refused", "user", user.id, actor=user, now=now, changes={"reason": "disabled"})
        return LoginResult(None, "该账号已停用,请联系管理员")
    session.add(LoginAttempt(username=name, address=address, success=True, at=now))
    user.last_login_at = now
    audit.record("login", "user", user.id, actor=user, now=now)
    return LoginResult(user)


def logout(*, actor: User, now: datetime) -> None:
    audit.record("logout", "user", actor.id, actor=actor, now=now)


def load_session_user(session_id: str) -> User | None:
    """Resolve Flask-Login's stored id ("id:version"); a bumped version ends the session."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


# --- API tokens ---------------------------------------------------------------------------------

def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(*, actor: User | None, now: datetime, user: User, label: str = "") -> str:
    """Create a bearer token for `user`; the plain token is returned once and stored only hashed."""
    if not user.active:
        raise AccountError("账号已停用,不能签发令牌")
    raw = "hd_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=_token_hash(raw), label=label.strip()[:100], created_at=now)
    session.add(token)
    session.flush()
    audit.record("issue_token", "api_token", token.id, actor=actor, now=now,
                 changes={"user_id": user.id, "label": token.label})
    return raw


def revoke_token(*, actor: User | None, now: datetime, token: ApiToken) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = now
    session.flush()
    audit.record("revoke_token", "api_token", token.id, actor=actor, now=now, changes={"user_id": token.user_id})


def user_for_token(raw: str, now: datetime) -> User | None:
    if not raw or len(raw) > 200:
        return None
    token = session.execute(select(ApiToken).options(joinedload(ApiToken.user))
                            .where(ApiToken.token_hash == _token_hash(raw))).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token_id = token.id
        # Stamped after the request's own transaction, never beside it (see core.db.after_request_write).
        after_request_write(lambda db: db.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)))
    return token.user
