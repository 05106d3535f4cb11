"""Database plumbing: the declarative base, UTC datetimes, the scoped session and commit points."""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, has_app_context, has_request_context
from flask.globals import app_ctx
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
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


def make_engine(url: str, *, connect_timeout: int = 5, statement_timeout: int = 60, pool_timeout: int = 10,
                **kwargs: Any) -> Engine:
    """The engine for `url`. On PostgreSQL every wait is bounded, so a database that is down or a network
    that stalls fails a request in seconds instead of hanging every worker: the connect timeout, a
    server-side statement timeout, TCP keep-alives and a TCP user timeout (unacknowledged data), and the
    pool's wait for a free connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _sqlite_transactions(engine)
        return engine
    connect_args = {"connect_timeout": connect_timeout,
                    "options": f"-c statement_timeout={statement_timeout * 1000}",
                    "keepalives": 1, "keepalives_idle": connect_timeout, "keepalives_interval": 1,
                    "keepalives_count": connect_timeout, "tcp_user_timeout": connect_timeout * 2000,
                    **kwargs.pop("connect_args", {})}
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_timeout", pool_timeout)
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, manage transactions, and take the write lock only where needed.

    Reads — a GET request (see `reading`) or a session marked `read_only` (the index build's
    snapshot) — begin a plain deferred transaction: with WAL they read a snapshot beside the writer
    and never wait for it, so every worker serves pages in parallel. Everything else begins
    IMMEDIATE: a request that may change something, a CLI command, a job, takes the write lock once,
    up front, and never fails half-way upgrading a read lock (two writers reading the audit chain's
    head, then both trying to write). Code that is not known to only read is a writer by default.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        options = conn.get_execution_options()
        reads = not options.get("write") and (options.get("read_only") or _reading.get())
        conn.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")


#: Set while a request that only reads is served (`reading`); threads it starts do not inherit it.
_reading: ContextVar[bool] = ContextVar("hotline_db_reading", default=False)


#: How long a SQLite writer waits for another's write lock. Writers hold it for one short
#: transaction each, so a wait this long means something is wrong; fail rather than hang a worker.
SQLITE_BUSY_MS = 10000


def _guard_reads() -> None:
    """A session of a request that only reads (a GET) must not write: on SQLite its deferred transaction
    would upgrade to a write lock half-way and fail when another writer got in first. Writes that a
    read needs (token stamps, the search log) go through `after_request_write`. Tests turn this into
    an error, production logs it and carries on."""

    @event.listens_for(Session, "before_flush")
    def _check(db: Session, _ctx: Any, _instances: Any) -> None:
        if db.info.get("read_request") and not db.info.get("write") and (db.new or db.dirty or db.deleted):
            names = sorted({type(o).__name__ for o in [*db.new, *db.dirty, *db.deleted]})
            message = f"a read-only request writes {', '.join(names)}; mark it for_write or queue the write"
            if current_app.testing:
                raise RuntimeError(message)
            current_app.logger.warning(message)


_guard_reads()


def init_app(app: Any) -> None:
    engine = make_engine(app.config["DATABASE_URL"], connect_timeout=app.config["DB_CONNECT_TIMEOUT"],
                         statement_timeout=app.config["DB_STATEMENT_TIMEOUT"],
                         pool_timeout=app.config["DB_POOL_TIMEOUT"])
    app.extensions["hotline.engine"] = engine
    app.extensions["hotline.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        session.remove()


def read_only(db: Session) -> Session:
    """Mark a fresh session as one that only reads before its first query (SQLite: no write lock)."""
    db.connection(execution_options={"read_only": True})
    return db


def reading(reads: bool) -> Token:
    """Declare whether the current request only reads; its sessions then begin without the write
    lock. Returns the token for `done_reading`."""
    session.info.update(read_request=reads, write=False)
    return _reading.set(reads)


def done_reading(token: Token) -> None:
    session.info.update(read_request=False, write=False)
    _reading.reset(token)


def for_write(db: Session) -> Session:
    """Mark a session that will write, before its next transaction begins: on SQLite that
    transaction begins IMMEDIATE (the write lock taken once, up front), even in a request that
    otherwise only reads."""
    db.info["write"] = True
    if not db.in_transaction():
        db.connection(execution_options={"write": True})
    return db


def new_session() -> Session:
    """A session of its own beside the current one (an index build's snapshot), from the app's factory."""
    return current_app.extensions["hotline.sessionmaker"]()


def engine() -> Engine:
    return current_app.extensions["hotline.engine"]


def is_postgres() -> bool:
    return session.get_bind().dialect.name == "postgresql"


#: What a database that is down, unreachable or out of connections raises (not bad data: DataError is a 400).
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)

#: Writes kept while the database is down (the search log), per app and process; the oldest go beyond this.
BACKLOG_LIMIT = 5000


def after_request_write(write: Callable[[Session], None], *, keep: bool = False, gather: float = 0) -> None:
    """Queue a small write that a read needs (an API token's use stamp, the search log) for a short
    transaction of its own once the request's transaction has ended (`run_queued_writes`).

    It never runs beside the request's own transaction, so it cannot wait on a lock its own request
    holds; outside a request (CLI, jobs, which write anyway) it runs at once in the current session.
    A write to `keep` (the search log) that finds the database down waits in this process's backlog
    and is written by the first request after the database answers again. A write to `gather` for
    that many seconds joins this process's others in one transaction written by a thread of its own
    (`Gathered`): a search costs no write transaction of its own.
    """
    if has_request_context() and gather > 0:
        _gathered().add(write, keep, gather)
    elif has_request_context():
        g.setdefault("queued_writes", []).append((write, keep))
    else:
        write(session)
        session.flush()


_backlog_taken = threading.Lock()


def _backlog() -> deque:
    return current_app.extensions.setdefault("hotline.write_backlog", deque(maxlen=BACKLOG_LIMIT))


def backlog_size() -> int:
    """Writes waiting for the database in this process."""
    return len(_backlog())


def run_queued_writes(extra: Callable[[Session], None] | None = None) -> None:
    """Run the request's queued writes (and `extra`) in one short write transaction, after any writes
    kept from an outage (in a transaction of their own, oldest first); a failure is logged, never
    raised: the request's own outcome is already decided."""
    backlog = _backlog()
    writes = g.pop("queued_writes", []) + ([(extra, False)] if extra else [])
    with _backlog_taken:  # two threads of a worker must not both write the same kept writes
        waiting = list(backlog)
        backlog.clear()
    if waiting:
        if not _write(waiting, backlog, "kept from an outage"):
            backlog.extend(item for item in writes if item[1])  # still down: no second try this request
            return
        current_app.logger.warning("wrote %d writes kept while the database was down", len(waiting))
    _write(writes, backlog, "after the request")


class Gathered:
    """Writes a process gathers for a few seconds and writes in one transaction (the search log): a thread
    started with the first one writes them every `seconds`, and what is left when the process exits
    (a worker recycled or stopped) is written then. A write that finds the database down goes to the
    backlog like any kept write."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._writes: list[tuple[Callable[[Session], None], bool]] = []
        self._thread: threading.Thread | None = None

    def add(self, write: Callable[[Session], None], keep: bool, seconds: float) -> None:
        with self._lock:
            self._writes.append((write, keep))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, args=(seconds,), name="gathered-writes",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def __len__(self) -> int:
        return len(self._writes)

    def _run(self, seconds: float) -> None:
        while True:
            time.sleep(seconds)
            try:
                self.flush()
            except Exception:  # never let the thread die: the next round tries again
                self.app.logger.exception("gathered writes failed")

    def flush(self) -> int:
        """Write what has been gathered, in one transaction of its own app context; returns how many."""
        with self._lock:
            writes, self._writes = self._writes, []
        if writes:
            with self.app.app_context():
                try:
                    _write(writes, _backlog(), "gathered")
                finally:
                    session.remove()
        return len(writes)


def _gathered() -> Gathered:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    gathered = app.extensions.get("hotline.gathered_writes")
    if gathered is None or gathered.pid != os.getpid():  # a forked worker starts its own
        gathered = app.extensions["hotline.gathered_writes"] = Gathered(app)
    return gathered


def flush_gathered() -> int:
    """Write this process's gathered writes now (tests, and a worker about to stop)."""
    gathered = current_app.extensions.get("hotline.gathered_writes")
    return gathered.flush() if gathered is not None else 0


def _write(writes: list[tuple[Callable[[Session], None], bool]], backlog: deque, what: str) -> bool:
    """Run `writes` in one transaction; False when the database is down (the ones to keep are kept)."""
    if not writes:
        return True
    try:
        for_write(session())
        for write, _keep in writes:
            write(session)
        session.commit()
    except UNAVAILABLE as err:
        session.remove()  # the database is down: the outage is logged once (app._database_unavailable)
        kept = [item for item in writes if item[1]]
        if len(backlog) + len(kept) > BACKLOG_LIMIT:
            current_app.logger.warning("write backlog full: the oldest of %d kept writes are dropped",
                                       len(backlog) + len(kept))
        backlog.extend(kept)
        if outage.failed():
            current_app.logger.error("database unavailable for a queued write %s: %s", what, type(err).__name__)
        return False
    except Exception:
        session.rollback()
        current_app.logger.exception("a queued write %s failed", what)
    return True


@contextmanager
def transaction() -> Iterator[Session]:
    """The commit point of a CLI command or scheduled job: commit on success, roll back on error.

    Outside a reading request every transaction begins IMMEDIATE on SQLite, lazily at its first query
    (a loader that only builds the search index takes no lock at all)."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


class _Outage:
    """This process's view of a database outage: the first failure is logged, the rest only counted,
    and the recovery logged with the count (one line each way instead of a traceback per request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None
        self.refused = 0

    def failed(self) -> bool:
        """Count a request the database failed; True for the first one of an outage."""
        with self._lock:
            self.refused += 1
            if self.since is None:
                self.since = time.monotonic()
                self.refused = 1
                return True
            return False

    def answered(self) -> tuple[float, int] | None:
        """The database answered: (seconds down, requests refused) when this ends an outage."""
        if self.since is None:
            return None
        with self._lock:
            if self.since is None:
                return None
            ended = (time.monotonic() - self.since, self.refused)
            self.since, self.refused = None, 0
            return ended


outage = _Outage()
