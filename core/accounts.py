"""Accounts: creating users, passwords, log-in with lock-out, API tokens. The only code that changes users."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from audit import services as audit
from core.db import after_request_write, session
from core.errors import DomainError, Forbidden, NotFound
from core.models import ROLES, ApiToken, LoginAttempt, LoginSession, SignedInPerson, Unit, User

#: Hash method for new passwords; tests switch to a cheap one.
HASH_METHOD = "scrypt"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,50}$")
#: Lifetime of a new API token unless the caller says otherwise (HOTLINE_API_TOKEN_DAYS).
DEFAULT_TOKEN_DAYS = 180
MAX_TOKEN_DAYS = 3650
#: Longest user name a log-in attempt is recorded under; longer ones are cut and flagged.
_LOGIN_NAME_MAX = 100
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Checked against when the user name is unknown or malformed, so every path costs one real hash.
#: Made with HASH_METHOD on first use (tests change the method), once per method.
_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    method = HASH_METHOD
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _dummy_hashes[method]


class AccountError(DomainError):
    pass


@dataclass(frozen=True)
class LockoutPolicy:
    """Failures are counted in a sliding window of `minutes`; a success does not reset the count.

    An account (a user name) is locked after `max_failures`; an address is only slowed down after
    `max_failures_per_address` (1, 2, 4 … s between tries, at most `max_delay_seconds`), so a call
    centre behind one NAT address is never locked out as a whole.
    """

    max_failures: int = 5
    max_failures_per_address: int = 20
    minutes: int = 15
    max_delay_seconds: int = 60


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
        recent.forget_user(user.id)
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
    recent.forget_user(user.id)
    if not active:
        _revoke_sessions(user, now)
        _revoke_tokens(user, now)
    session.flush()
    audit.record("enable" if active else "disable", "user", user.id, actor=actor, now=now,
                 changes=audit.diff(before, _snapshot(user)))
    return user


def reset_password(*, actor: User | None, now: datetime, user: User, password: str) -> None:
    """Set a new password; every log-in session and API token of the user ends with the old one."""
    check_password_strength(password)
    user.password_hash = generate_password_hash(password, method=HASH_METHOD)
    user.password_changed_at = now
    user.session_version += 1
    recent.forget_user(user.id)
    sessions = _revoke_sessions(user, now)
    tokens = _revoke_tokens(user, now)
    session.flush()
    audit.record("reset_password", "user", user.id, actor=actor, now=now,
                 changes={"sessions_ended": sessions, "tokens_revoked": tokens})


def change_own_password(*, actor: User, now: datetime, current: str, new: str, address: str = "") -> str:
    """Change one's own password; returns the key of a fresh log-in session for the browser that
    did it (all the others, and the API tokens, end)."""
    if not check_password_hash(actor.password_hash, current):
        raise AccountError("当前密码不正确", field="current")
    if current == new:
        raise AccountError("新密码不能与当前密码相同", field="new")
    reset_password(actor=actor, now=now, user=actor, password=new)
    return start_session(user=actor, now=now, address=address)


def _revoke_sessions(user: User, now: datetime) -> int:
    return session.execute(update(LoginSession).where(LoginSession.user_id == user.id,
                                                      LoginSession.revoked_at.is_(None))
                           .values(revoked_at=now)).rowcount


def _revoke_tokens(user: User, now: datetime) -> int:
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id,
                                                    ApiToken.revoked_at.is_(None))).scalars().all()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def unlock(*, actor: User, now: datetime, user: User) -> None:
    """Let the user try again at once: failures so far no longer count towards the lock."""
    user.login_failures_cleared_at = now
    session.flush()
    audit.record("unlock", "user", user.id, actor=actor, now=now)


def generate_password() -> str:
    """A random password that meets the strength rule, for demo accounts and resets."""
    while True:
        candidate = secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")
        if re.search(r"[A-Za-z]", candidate) and re.search(r"\d", candidate):
            return candidate


#: Whom each role may list, and why: the desk picks caseworkers as owners and telephony names the
#: operator a call was put through to; caseworkers only see the caseworkers tickets move between.
_LISTABLE_ROLES = {"operator": ("caseworker", "operator"), "supervisor": ("caseworker", "operator"),
                   "caseworker": ("caseworker",), "kb_editor": ()}


def listable_users(viewer: User, *, role: str | None = None, unit_id: int | None = None) -> list[User]:
    """Active accounts `viewer` may see in a picker: admins every role, the others only the roles their
    work needs (see _LISTABLE_ROLES)."""
    allowed = tuple(ROLES) if viewer.role == "admin" else _LISTABLE_ROLES.get(viewer.role, ())
    if role and role not in allowed:
        raise Forbidden("无权查看该角色的账号")
    query = (select(User).options(joinedload(User.unit))
             .where(User.active.is_(True), User.role.in_((role,) if role else allowed)).order_by(User.id))
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    return list(session.execute(query).scalars())


# --- log-in -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginResult:
    user: User | None
    message: str = ""
    #: The browser session's key (a successful log-in only); the cookie carries it.
    session_key: str = ""
    #: Seconds the client address must wait (the slow-down); 0 when it need not.
    retry_after: int = 0


#: Outcomes that count towards an account's lock and an address's slow-down.
_COUNTED = ("failed", "invalid_name")


def _login_name(typed: str) -> tuple[str, str]:
    """The name an attempt is counted and recorded under, and what was wrong with it ("" if nothing).

    Control characters (NUL included, which PostgreSQL refuses) become "?" and overlong names are
    cut, so such attempts are counted and audited like any other rather than failing the request.
    """
    name = typed.strip().lower()
    problem = ""
    if _CONTROL_CHARS.search(name):
        name, problem = _CONTROL_CHARS.sub("?", name), "control_characters"
    if len(name) > _LOGIN_NAME_MAX:
        name, problem = name[:_LOGIN_NAME_MAX], problem or "too_long"
    return name, problem


def _failure_times(column, value: str, since: datetime) -> list[datetime]:
    return list(session.execute(
        select(LoginAttempt.at).where(column == value, LoginAttempt.outcome.in_(_COUNTED), LoginAttempt.at >= since)
        .order_by(LoginAttempt.at)).scalars())


def _locked_until(name: str, now: datetime, policy: LockoutPolicy) -> datetime | None:
    """When the account's lock ends (enough failures leave the window), or None if it is not locked."""
    window = timedelta(minutes=policy.minutes)
    times = _failure_times(LoginAttempt.username, name, now - window)
    user = find_user(name) if times and USERNAME_RE.match(name) else None
    if user is not None and user.login_failures_cleared_at is not None:
        times = [at for at in times if at > user.login_failures_cleared_at]
    if len(times) < policy.max_failures:
        return None
    return times[len(times) - policy.max_failures] + window


def _address_wait(address: str, now: datetime, policy: LockoutPolicy) -> int:
    """Seconds this address must still wait before its next try: 0 until it has too many failures in
    the window, then 1, 2, 4 … s after its latest failure."""
    times = _failure_times(LoginAttempt.address, address, now - timedelta(minutes=policy.minutes))
    excess = len(times) - policy.max_failures_per_address
    if excess < 0:
        return 0
    delay = min(2 ** min(excess, 20), policy.max_delay_seconds)
    remaining = (times[-1] + timedelta(seconds=delay) - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else 0


def _attempt(name: str, address: str, now: datetime, outcome: str) -> None:
    session.add(LoginAttempt(username=name, address=address, success=outcome == "ok", outcome=outcome, at=now))


def authenticate(*, username: str, password: str, address: str, now: datetime,
                 policy: LockoutPolicy = LockoutPolicy()) -> LoginResult:
    """Check a log-in; record the attempt and its audit event whatever the outcome.

    The message never tells whether the user name exists: unknown names are counted and locked
    exactly like real ones, and cost the same hash. A success does not wipe earlier failures.
    """
    name, problem = _login_name(username)
    entity = name[:64]
    wait = _address_wait(address, now, policy)
    if wait:
        _attempt(name, address, now, "throttled")
        audit.record("login_throttled", "user", entity, actor=None, now=now,
                     changes={"username": name, "retry_after": wait})
        return LoginResult(None, f"此网络地址近期登录失败次数较多，为保护账号，请{wait}秒后再试。", retry_after=wait)
    until = _locked_until(name, now, policy)
    if until is not None:
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        _attempt(name, address, now, "locked")
        audit.record("login_locked", "user", entity, actor=None, now=now, changes={"username": name})
        return LoginResult(None, f"该账号近期登录失败次数过多，已暂时锁定，约{minutes}分钟后自动解锁；"
                                 "如需立即登录，请联系管理员解锁。")

    user = find_user(name) if not problem else None
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    generic = "用户名或密码错误"
    if problem:
        _attempt(name, address, now, "invalid_name")
        audit.record("login_failed", "user", entity, actor=None, now=now,
                     changes={"username": name, "reason": problem, "length": len(username)})
        return LoginResult(None, generic)
    if user is None or not ok:
        _attempt(name, address, now, "failed")
        audit.record("login_failed", "user", user.id if user else entity, actor=None, now=now,
                     changes={"username": name})
        return LoginResult(None, generic)
    if not user.active:
        _attempt(name, address, now, "disabled")
        audit.record("login_refused", "user", user.id, actor=user, now=now, changes={"reason": "disabled"})
        return LoginResult(None, "该账号已停用,请联系管理员")
    _attempt(name, address, now, "ok")
    user.last_login_at = now
    key = start_session(user=user, now=now, address=address)
    audit.record("login", "user", user.id, actor=user, now=now)
    return LoginResult(user, session_key=key)


def start_session(*, user: User, now: datetime, address: str = "") -> str:
    """A new log-in session for `user`; returns its key (stored only hashed)."""
    raw = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, key_hash=_token_hash(raw), address=address[:64], created_at=now))
    session.flush()
    return raw


def logout(*, actor: User, now: datetime, session_key: str = "") -> None:
    """End this browser's session on the server (a copy of its cookie stops working too); the
    person's other log-ins, on other devices, go on."""
    if session_key:
        recent.forget(_token_hash(session_key))
        session.execute(update(LoginSession).where(LoginSession.key_hash == _token_hash(session_key),
                                                   LoginSession.revoked_at.is_(None)).values(revoked_at=now))
    audit.record("logout", "user", actor.id, actor=actor, now=now)


def load_session_user(session_id: str, session_key: str = "") -> User | None:
    """Resolve Flask-Login's stored id ("id:version") and the session's key: a bumped version or a
    revoked (logged-out) session ends it."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    if not session_key or len(session_key) > 100:
        return None
    key_hash = _token_hash(session_key)
    login = session.execute(select(LoginSession).options(joinedload(LoginSession.user).joinedload(User.unit))
                            .where(LoginSession.key_hash == key_hash)).scalar_one_or_none()
    if login is None or login.revoked_at is not None or login.user_id != user_id:
        return None
    user = login.user
    if not user.active or user.session_version != version:
        return None
    recent.remember(key_hash, user)
    return user


def recent_session_user(session_id: str, session_key: str = "") -> SignedIn | None:
    """Who this log-in session belonged to when the database last answered (`recent`), while it is down."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    user = recent.recall(_token_hash(session_key)) if session_key and len(session_key) <= 100 else None
    if user is None or user.id != user_id or user.session_version != version:
        return None
    return user


# --- API tokens ---------------------------------------------------------------------------------

def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(*, actor: User | None, now: datetime, user: User, label: str = "",
                days: int = DEFAULT_TOKEN_DAYS) -> str:
    """Create a bearer token for `user` that expires after `days`; the plain token is returned once
    and stored only hashed."""
    if not user.active:
        raise AccountError("账号已停用,不能签发令牌")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"令牌有效期须为1至{MAX_TOKEN_DAYS}天", field="days")
    raw = "hd_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=_token_hash(raw), label=label.strip()[:100], created_at=now,
                     expires_at=now + timedelta(days=days))
    session.add(token)
    session.flush()
    audit.record("issue_token", "api_token", token.id, actor=actor, now=now,
                 changes={"user_id": user.id, "label": token.label, "expires_at": token.expires_at})
    return raw


def revoke_token(*, actor: User | None, now: datetime, token: ApiToken) -> None:
    if token.revoked_at is not None:
        return
    recent.forget(token.token_hash)
    token.revoked_at = now
    session.flush()
    audit.record("revoke_token", "api_token", token.id, actor=actor, now=now, changes={"user_id": token.user_id})


def user_for_token(raw: str, now: datetime) -> User | None:
    if not raw or len(raw) > 200:
        return None
    token = session.execute(select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.unit))
                            .where(ApiToken.token_hash == _token_hash(raw))).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.expires_at <= now:
        return None
    recent.remember(token.token_hash, token.user, until=token.expires_at)
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token_id = token.id
        # Stamped after the request's own transaction, never beside it (see core.db.after_request_write).
        after_request_write(lambda db: db.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)))
    return token.user


def recent_token_user(raw: str, now: datetime, *, within: float | None = None) -> SignedIn | None:
    """Whose this API token was when the database last answered (`recent`): while it is down, or, with
    `within`, for the searches when this process resolved it in the last `within` seconds (see
    TOKEN_CACHE_SECONDS)."""
    if not raw or len(raw) > 200:
        return None
    return recent.recall(_token_hash(raw), now, within=within)


#: How long a search may go on trusting an API token this process resolved, without asking the database:
#: a token revoked or an account deactivated by another worker or host stops working for the searches
#: within this many seconds (by this process: at once, `recent.forget`). Every other endpoint asks the
#: database each time.
TOKEN_CACHE_SECONDS = 5.0


# --- who was signed in a moment ago: searches go on while the database is down ------------------

@dataclass(frozen=True)
class UnitName:
    name: str


@dataclass(frozen=True)
class SignedIn(SignedInPerson):
    """A copy of a signed-in user as the database last gave it, independent of any session: enough to
    check a role and show the name in the page's header."""

    id: int
    display_name: str
    role: str
    unit_id: int | None
    unit: UnitName | None
    session_version: int
    is_active = True

    @classmethod
    def of(cls, user: User) -> SignedIn:
        return cls(user.id, user.display_name, user.role, user.unit_id,
                   UnitName(user.unit.name) if user.unit else None, user.session_version)


class RecentCredentials:
    """Log-in sessions and API tokens this process resolved in the last `ttl` seconds, keyed by their
    SHA-256 (never the secret). Consulted only while the database is down, and only by the searches;
    a log-out, a revoked token or a changed account seen by this process forgets them at once (another
    host's change reaches here within `ttl`)."""

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, datetime | None, SignedIn]] = {}  # hash → (seen at, until, user)

    def remember(self, key_hash: str, user: User, *, until: datetime | None = None) -> None:
        entry = (self.clock(), until, SignedIn.of(user))
        with self._lock:
            if len(self._seen) > 10000:  # a process sees a few hundred people; drop the stale ones
                stale = self.clock() - self.ttl
                self._seen = {k: v for k, v in self._seen.items() if v[0] > stale}
            self._seen[key_hash] = entry

    def recall(self, key_hash: str, now: datetime | None = None, *, within: float | None = None) -> SignedIn | None:
        """The user behind `key_hash` if resolved in the last `ttl` seconds (or `within`, when shorter)."""
        entry = self._seen.get(key_hash)
        age = min(self.ttl, self.ttl if within is None else within)
        if entry is None or entry[0] <= self.clock() - age or (entry[1] and now and entry[1] <= now):
            return None
        return entry[2]

    def forget(self, key_hash: str) -> None:
        with self._lock:
            self._seen.pop(key_hash, None)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v[2].id != user_id}


#: This process's recent sign-ins.
recent = RecentCredentials()
