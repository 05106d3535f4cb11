"""Races: ticket numbers under parallel creation, 20 parallel accepts of one ticket, 20 "mark all read" clicks.

They run on both backends; only PostgreSQL makes the transactions truly overlap (SQLite serializes
writers at BEGIN IMMEDIATE).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from audit.models import AuditEvent
from core import accounts, clock
from core.db import make_engine, session
from core.errors import Conflict
from tests.builders import make_user
from tests.races import in_new_session, race
from tests.tickets.builders import make_caseworker, make_ticket, township
from tickets import services
from tickets.models import Notification, Ticket


def _setup(app, state="pending_accept"):
    with app.app_context():
        operator, owner = make_user("operator"), make_caseworker()
        ticket = make_ticket(state, owner=owner, operator=operator)
        token = accounts.issue_token(actor=None, now=clock.now(), user=owner)
        for t in owner_tokens(owner):
            t.last_used_at = clock.now()  # no token bookkeeping inside the race
        session.commit()
        ids = {"operator": operator.id, "owner": owner.id, "ticket": ticket.id, "version": ticket.version,
               "township": township().id}
        session.remove()
    return ids, token


def owner_tokens(user):
    from core.models import ApiToken

    return session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars().all()


@pytest.mark.pg_only
def test_parallel_creation_never_duplicates_or_skips_a_number(committing_app):
    app = committing_app
    ids, _ = _setup(app, "pending_dispatch")
    barrier = threading.Barrier(12)

    def create(_):
        barrier.wait(timeout=30)
        with app.app_context():
            operator = session.get(services.User, ids["operator"])
            ticket = services.create_ticket(actor=operator, now=clock.now(), kind="consult", urgency="normal",
                                            citizen_name="王五", citizen_phone="13600000000",
                                            township_id=ids["township"], description="咨询临时救助")
            session.commit()
            number = ticket.number
            session.remove()
            return number

    with ThreadPoolExecutor(12) as pool:
        numbers = list(pool.map(create, range(12)))
    with app.app_context():
        all_numbers = sorted(session.execute(select(Ticket.number)).scalars())
        session.remove()
    assert len(set(numbers)) == 12
    sequence = [int(n.split("-")[1]) for n in all_numbers]
    assert sequence == list(range(1, len(sequence) + 1))


@pytest.mark.pg_only
def test_twenty_parallel_accepts_one_wins_over_http(committing_app):
    app = committing_app
    ids, token = _setup(app)
    barrier = threading.Barrier(20)

    def accept(_):
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.post(f"/api/v1/tickets/{ids['ticket']}/actions",
                               json={"action": "accept", "version": ids["version"]},
                               headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(accept, range(20)))
    codes = sorted(code for code, _ in results)
    assert codes.count(200) == 1 and codes.count(409) == 19, codes
    assert all(body["error"]["code"] in ("stale_version", "conflict") and "刷新" in body["error"]["message"]
               for code, body in results if code == 409)
    with app.app_context():
        ticket = session.get(Ticket, ids["ticket"])
        assert ticket.state == "in_progress"
        assert [e.action for e in ticket.events].count("accept") == 1
        session.remove()


@pytest.mark.pg_only
def test_twenty_parallel_accepts_race_on_the_conditional_update(committing_app, backend):
    """All twenty read the same version before any writes: only UPDATE … WHERE version decides."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite takes its write lock at BEGIN, so the readers cannot overlap")
    app = committing_app
    ids, _ = _setup(app)
    barrier = threading.Barrier(20)
    # Twenty transactions open at once need twenty connections (the app's pool holds fifteen).
    engine = make_engine(backend["url"], pool_size=20, max_overflow=0)
    original = app.extensions["hotline.sessionmaker"]
    app.extensions["hotline.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    def accept(_):
        with app.app_context():
            owner = session.get(services.User, ids["owner"])
            ticket = session.get(Ticket, ids["ticket"])
            assert ticket.version == ids["version"]
            barrier.wait(timeout=30)
            try:
                services.accept(actor=owner, now=clock.now(), ticket=ticket, version=ids["version"])
                session.commit()
                return "ok"
            except Conflict:
                session.rollback()
                return "conflict"
            finally:
                session.remove()

    try:
        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(accept, range(20)))
    finally:
        app.extensions["hotline.sessionmaker"] = original
        engine.dispose()
    assert results.count("ok") == 1 and results.count("conflict") == 19


@pytest.mark.pg_only
def test_twenty_parallel_mark_all_read_clicks_mark_each_once_in_one_event(committing_app, backend):
    app = committing_app

    def setup():
        owner = make_caseworker()
        for _ in range(5):
            make_ticket("pending_accept", owner=owner)
        return owner.id

    owner_id = in_new_session(app, setup)

    def mark(_index, ready):
        owner = session.get(services.User, owner_id)
        ready()
        return services.mark_read(actor=owner, now=clock.now())

    assert sorted(race(app, backend, 20, mark)) == [0] * 19 + [5]
    with app.app_context():
        events = session.execute(select(AuditEvent).where(AuditEvent.action.in_(("read", "read_all")))).scalars().all()
        assert [e.action for e in events] == ["read_all"]
        assert session.execute(select(Notification).where(Notification.user_id == owner_id,
                                                          Notification.read_at.is_(None))).first() is None
        session.remove()
