"""Database plumbing: the declarative base, UTC datetimes, the scoped session and commit points."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import current_app, has_app_context
from flask.globals import app_ctx
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, refuses naive input (a time without a zone is a bug)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def _app_scope() -> int:
    if has_app_context():
        return id(app_ctx._get_current_object())
    return threading.get_ident()


def _new_session() -> Session:
    return current_app.extensions["hotline.sessionmaker"]()


#: The session of the current app context (request, CLI command or job).
session: scoped_session[Session] = scoped_session(_new_session, scopefunc=_app_scope)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _sqlite_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, manage transactions, and take the write lock at BEGIN.

    BEGIN IMMEDIATE serializes writers up front, so two requests never both read the audit chain's
    head and then fail to upgrade their lock; WAL keeps readers of other connections unblocked.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A session that only reads (see `read_only`) takes no write lock, so it can run beside a
        # writer in the same process, e.g. the search index build inside a request.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")


def init_app(app: Any) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["hotline.engine"] = engine
    app.extensions["hotline.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        session.remove()


def read_only(db: Session) -> Session:
    """Mark a fresh session as read-only before its first query (SQLite then begins without the write lock)."""
    db.connection(execution_options={"read_only": True})
    return db


def engine() -> Engine:
    return current_app.extensions["hotline.engine"]


def is_postgres() -> bool:
    return session.get_bind().dialect.name == "postgresql"


@contextmanager
def side_transaction() -> Iterator[Session]:
    """A short transaction of its own beside the request's, for a small write that must not keep the
    request's transaction writing: the search log and API-token use stamps. On SQLite the request
    can then stay read-only, so the workers search in parallel and hold the write lock only for
    this insert."""
    db = current_app.extensions["hotline.sessionmaker"]()
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


@contextmanager
def transaction() -> Iterator[Session]:
    """The commit point of a CLI command or scheduled job: commit on success, roll back on error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
