"""Units, accounts, API tokens, login attempts and the working-day calendar's overrides."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base

#: Unit levels, as the hotline registry and ticket routing use them.
UNIT_LEVELS = {"city": "市级", "county": "县级", "township": "乡镇（街道）"}
#: Unit kinds: civil-affairs bureaus, township governments, and other departments that co-handle tickets.
UNIT_KINDS = {"civil_affairs": "民政部门", "township": "乡镇（街道）", "department": "其他部门"}

ROLES = {
    "operator": "接线员",
    "caseworker": "承办人员",
    "supervisor": "督查人员",
    "kb_editor": "知识库编辑",
    "admin": "管理员",
    #: The call platform's service account: its API token posts call events and transcripts, nothing else.
    "telephony": "话务平台",
}


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Administrative code for bureaus (e.g. 231202); townships and departments may have none.
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    #: The county-level area a unit belongs to (北林区…), used for grouping and reports.
    area: Mapped[str] = mapped_column(String(50))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    phone: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    @property
    def level_label(self) -> str:
        return UNIT_LEVELS.get(self.level, self.level)

    @property
    def full_name(self) -> str:
        if self.level == "township" and self.area and not self.name.startswith(self.area):
            return f"{self.area}{self.name}"
        return self.name


class SignedInPerson:
    """What a signed-in person offers Flask-Login and the role checks, for the `User` row and its copy
    (core.accounts.SignedIn); kept here so the model needs no Flask import. Needs `id`, `role` and
    `session_version`."""

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"  # type: ignore[attr-defined]

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)  # type: ignore[attr-defined]

    def has_role(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles  # type: ignore[attr-defined]


class User(SignedInPerson, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    phone: Mapped[str] = mapped_column(String(30), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Bumped on password reset or disable, which ends every session signed with the old value.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    #: Failed log-ins before this moment no longer count towards the account's lock (an admin unlocked it).
    login_failures_cleared_at: Mapped[datetime | None]

    unit: Mapped[Unit | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def name_and_unit(self) -> str:
        """李建国（北林区民政局）: a person as colleagues know them, never by the login name."""
        return f"{self.display_name}（{self.unit.name}）" if self.unit else self.display_name


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    #: Past this moment the token is refused (HOTLINE_API_TOKEN_DAYS, or `users token --days`).
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginSession(Base):
    """One browser log-in. The signed cookie carries the key; log-out revokes the row, so a copied
    cookie stops working. Other log-ins of the same person are left alone."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: SHA-256 of the key in the cookie; the key itself is never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One login try; lock-outs are counted from these, per user name and per client address."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The name as typed (lower-cased), so unknown names lock out exactly like real ones.
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    #: ok, failed (wrong password or unknown name), invalid_name, locked, throttled or disabled;
    #: only failed and invalid_name count towards locks and the address's slow-down.
    outcome: Mapped[str] = mapped_column(String(20), default="failed")
    at: Mapped[datetime]

    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )


class WorkdayOverride(Base):
    """An admin's word on one date: a holiday or a make-up working day (调休), above the package's calendar."""

    __tablename__ = "workday_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]


class JobClaim(Base):
    """The lock row of one singleton scheduled job: the latest slot (scheduled time) a scheduler host
    claimed for it. With a scheduler on every app host, each slot runs on exactly one of them."""

    __tablename__ = "job_claim"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[datetime | None]
    host: Mapped[str] = mapped_column(String(100), default="")
    claimed_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A changing API request sent with an Idempotency-Key, and the answer it got: a client's retry of the
    same request (a network stall, a timeout) gets that answer again instead of doing the work twice."""

    __tablename__ = "idempotency_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(100))
    #: What the request was (method, path, body), so that one key cannot stand for two different requests.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: 0 while the first request is still being handled.
    status: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_idempotency_key_created_at", "created_at"),
    )


class Export(Base):
    """A spreadsheet export too large to write inside a request: queued by the request, written by a
    scheduler (any host) into the shared export folder, downloaded by the person who asked for it."""

    __tablename__ = "export"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What is exported (a registered kind: ticket_board, audit_csv …) and the frozen filter it was asked with.
    kind: Mapped[str] = mapped_column(String(30))
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    #: queued → running → done | failed
    state: Mapped[str] = mapped_column(String(10))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    #: The name the download is given, and the file's random name in the export folder once written.
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    #: Bumped while the file is written; a run whose heartbeat stops (its host died) is queued again.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Which scheduler wrote it (host:pid), for the operations log.
    host: Mapped[str] = mapped_column(String(100), default="")

    requested_by: Mapped[User] = relationship()

    __table_args__ = (Index("ix_export_state", "state"), Index("ix_export_requested_by_id", "requested_by_id"))

    @property
    def state_label(self) -> str:
        return EXPORT_STATES.get(self.state, self.state)

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, self.done_rows * 100 // self.total_rows) if self.total_rows else 0


EXPORT_STATES = {"queued": "排队中", "running": "正在生成", "done": "已完成", "failed": "失败"}
