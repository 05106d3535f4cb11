"""Shared fixtures: one app per database backend, each test isolated in a rolled-back transaction.

Every database test runs on SQLite and, when TEST_DATABASE_URL names a PostgreSQL database, on
PostgreSQL as well (the `backend` parameter in the test id says which).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from core import accounts, clock, migrate, seed
from core.db import Base, make_engine

accounts.HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashes: tests create many users

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_report_header(config):
    if PG_URL:
        return f"database backends: sqlite, postgresql ({PG_URL.rsplit('@', 1)[-1]})"
    return "database backends: sqlite only -- PostgreSQL pass SKIPPED (set TEST_DATABASE_URL to run it)"


def pytest_terminal_summary(terminalreporter):
    if not PG_URL:
        terminalreporter.write_line(
            "NOTE: PostgreSQL pass skipped: TEST_DATABASE_URL is not set (.ci/run sets it)", yellow=True)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _seed(app) -> None:
    """What `flask init` loads: units and the bundled knowledge base (committed, shared by all tests)."""
    with app.app_context():
        from core.db import session

        seed.load_bundled(app, clock.now())
        session.remove()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Iterator[dict]:
    """A migrated, seeded database for one backend, shared by the session."""
    if request.param == "postgresql":
        url = PG_URL
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    instance = tmp_path_factory.mktemp("instance")
    from app import create_app

    app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                      # the tests read the search log and the KB revision at once; their caches have tests of their own
                      "SEARCH_REVISION_SECONDS": 0, "SEARCH_LOG_BATCH_SECONDS": 0})
    engine = app.extensions["hotline.engine"]
    migrate.upgrade(engine)
    _seed(app)
    yield {"name": request.param, "url": url, "app": app, "engine": engine}
    engine.dispose()


@pytest.fixture
def app(backend, tmp_path):
    """The backend's app with its session bound to one connection whose transaction is rolled back after the test
    (and audit checkpoints written to the test's own file, since the events they name are rolled back too)."""
    app = backend["app"]
    connection = backend["engine"].connect()
    outer = connection.begin()
    original = app.extensions["hotline.sessionmaker"]
    app.extensions["hotline.sessionmaker"] = sessionmaker(bind=connection, expire_on_commit=False,
                                                          join_transaction_mode="create_savepoint")
    saved_config = dict(app.config)
    app.config["AUDIT_CHECKPOINT_FILE"] = str(tmp_path / "audit_checkpoints.jsonl")
    try:
        yield app
    finally:
        from core.db import session

        session.remove()
        app.config.clear()
        app.config.update(saved_config)
        app.extensions["hotline.sessionmaker"] = original
        outer.rollback()
        connection.close()


@pytest.fixture
def committing_app(backend, tmp_path):
    """The backend's app with real commits (concurrency tests); afterwards every table but the units is
    emptied and the bundled data loaded again, as the other tests expect."""
    app = backend["app"]
    saved_checkpoints = app.config["AUDIT_CHECKPOINT_FILE"]
    app.config["AUDIT_CHECKPOINT_FILE"] = str(tmp_path / "audit_checkpoints.jsonl")
    yield app
    app.config["AUDIT_CHECKPOINT_FILE"] = saved_checkpoints
    from core.db import session

    session.remove()
    with backend["engine"].begin() as conn:
        tables = [t.name for t in Base.metadata.sorted_tables if t.name not in ("unit", "alembic_version")]
        if backend["name"] == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f'DELETE FROM "{name}"'))
    _seed(app)


@pytest.fixture
def db(app):
    """The test's database session, inside an app context."""
    from core.db import session

    with app.app_context():
        yield session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(app, client):
    """login("operator") creates a user with that role, signs the test client in, and returns the user."""
    from tests.builders import make_user

    def _login(role: str = "operator", **overrides):
        with app.app_context():
            from core.db import session

            user = make_user(role=role, password="Passw0rd!", **overrides)
            session.commit()
            username = user.username
        response = client.post("/accounts/login", data={"username": username, "password": "Passw0rd!"})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return _login


@pytest.fixture
def bearer(db):
    """bearer(user) issues an API token for the user and returns the request's Authorization header."""

    def _bearer(user) -> dict:
        raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
        db.commit()
        return {"Authorization": f"Bearer {raw}"}

    return _bearer


@pytest.fixture
def frozen_now():
    """Freeze the clock at a fixed working-day morning (2026-11-23 09:00 Asia/Shanghai)."""
    from datetime import datetime

    at = clock.local_to_utc(datetime(2026, 11, 23, 9, 0))
    with clock.freeze(at):
        yield at
