"""A database that is down: probes answer at once, pages and the API say so in Chinese/JSON (503, not a bare
500), and the outage is logged once per worker, with its end."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy.exc import OperationalError

from core import accounts, db
from tests.builders import make_user

#: A PostgreSQL address nothing listens on: every connection is refused at once.
DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:9/nothing"


@pytest.fixture
def fresh_outage():
    db.outage.since, db.outage.refused = None, 0
    yield db.outage
    db.outage.since, db.outage.refused = None, 0


@pytest.fixture
def dead_app(tmp_path, fresh_outage):
    from app import create_app

    app = create_app({"ENV": "testing", "DATABASE_URL": DEAD_DATABASE, "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False, "DB_CONNECT_TIMEOUT": 1})
    yield app
    app.extensions["hotline.engine"].dispose()


def test_probes_answer_within_a_second_while_the_database_is_down(dead_app):
    client = dead_app.test_client()
    started = time.monotonic()
    alive = client.get("/healthz")
    ready = client.get("/readyz")
    assert time.monotonic() - started < 2.0
    assert alive.status_code == 200 and alive.json == {"status": "ok"}
    assert ready.status_code == 503 and ready.json["status"] == "unavailable"
    assert ready.json["database"] == "OperationalError"


def test_pages_and_api_say_the_database_is_unavailable_and_log_it_once(dead_app, caplog):
    client = dead_app.test_client()
    caplog.set_level(logging.INFO)
    api = client.get("/api/v1/tickets", headers={"Authorization": "Bearer hd_whatever"})
    assert api.status_code == 503 and api.json["error"]["code"] == "database_unavailable"
    assert api.headers["Retry-After"] == "5"
    for _ in range(3):
        page = client.post("/accounts/login", data={"username": "someone", "password": "Passw0rd!"})
        assert page.status_code == 503
        assert "数据库暂不可用，检索仍可使用" in page.get_data(as_text=True)
    lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks


def test_the_end_of_an_outage_is_logged_with_the_refused_count(client, db, monkeypatch, caplog, fresh_outage):
    user = make_user("operator")
    raw = accounts.issue_token(actor=None, now=db_now(), user=user)
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    real = accounts.user_for_token

    def broken(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(accounts, "user_for_token", broken)
    caplog.set_level(logging.INFO)
    assert client.get("/api/v1/tickets", headers=headers).status_code == 503
    assert client.get("/api/v1/tickets", headers=headers).status_code == 503
    monkeypatch.setattr(accounts, "user_for_token", real)
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    messages = [r.getMessage() for r in caplog.records if "database" in r.getMessage()]
    assert len(messages) == 2 and "2 requests refused" in messages[1], messages
    assert db_outage_over()


def db_now():
    from core import clock

    return clock.now()


def db_outage_over() -> bool:
    return db.outage.since is None
