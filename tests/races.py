"""Races on real commits: many threads, each with its own session, write at the same moment.

Each thread loads what it needs, waits until every thread has done so, then writes and commits; a
Conflict rolls its transaction back. Only PostgreSQL lets the transactions overlap like this (SQLite
takes its write lock at BEGIN, so a thread waiting at the barrier would hold it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from core.db import make_engine, session
from core.errors import Conflict


def race(app, backend: dict, count: int, work: Callable[[int, Callable[[], None]], Any]) -> list[Any]:
    """Run `work(index, ready)` in `count` threads; `ready()` waits for the others. Returns each result, or the
    Conflict it raised."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN, so the transactions cannot overlap")
    barrier = threading.Barrier(count)
    # Every transaction open at once needs its own connection (the app's pool holds fifteen).
    engine = make_engine(backend["url"], pool_size=count, max_overflow=0)
    original = app.extensions["hotline.sessionmaker"]
    app.extensions["hotline.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    def run(index: int) -> Any:
        with app.app_context():
            try:
                result = work(index, lambda: barrier.wait(timeout=30))
                session.commit()
                return result
            except Conflict as err:
                session.rollback()
                return err
            finally:
                session.remove()

    try:
        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(run, range(count)))
    finally:
        app.extensions["hotline.sessionmaker"] = original
        engine.dispose()


def in_new_session(app, work: Callable[[], Any]) -> Any:
    """Run `work()` in a session of its own (another person's request) and commit it."""
    with app.app_context():
        try:
            result = work()
            session.commit()
            return result
        finally:
            session.remove()


def http_race(app, usernames: list[str], send: Callable[[int, Any], Any]) -> list[Any]:
    """Sign each user in on a client of their own, then call `send(index, client)` in as many threads at once.

    Runs on both backends: on SQLite the requests queue for the write lock, on PostgreSQL they overlap.
    """
    clients = [app.test_client() for _ in usernames]
    for client, name in zip(clients, usernames, strict=True):
        assert client.post("/accounts/login", data={"username": name, "password": "Passw0rd!"}).status_code == 302
    barrier = threading.Barrier(len(clients))

    def run(index: int) -> Any:
        barrier.wait(timeout=30)
        return send(index, clients[index])

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(run, range(len(clients))))
