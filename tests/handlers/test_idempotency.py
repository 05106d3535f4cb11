"""Idempotency-Key: a retried creating API call does its work once and gets the first answer again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from core import accounts, clock
from core.db import session
from tests.builders import make_user
from tests.tickets.builders import township, valid_id_number
from tickets.models import Ticket


def _ticket_body(**extra):
    return {"kind": "help", "urgency": "normal", "citizen_name": "李四", "citizen_phone": "13812345678",
            "citizen_id_number": valid_id_number(), "township_id": township(2).id, "topic": "医疗救助",
            "description": "住院费用报销比例有疑问", **extra}


@pytest.fixture
def operator_headers(db):
    raw = accounts.issue_token(actor=None, now=clock.now(), user=make_user("operator"))
    db.commit()
    return {"Authorization": f"Bearer {raw}"}


def _tickets() -> int:
    return session.execute(select(func.count(Ticket.id))).scalar_one()


def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing(client, db, operator_headers):
    before = _tickets()
    headers = {**operator_headers, "Idempotency-Key": "retry-1"}
    body = _ticket_body()
    first = client.post("/api/v1/tickets", json=body, headers=headers)
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/tickets", json=body, headers=headers)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _tickets() == before + 1
    # Without a key, the same body is a new ticket (the key is what says "this is a retry").
    assert client.post("/api/v1/tickets", json=body, headers=operator_headers).status_code == 201
    assert _tickets() == before + 2


def test_one_key_cannot_stand_for_two_requests(client, db, operator_headers):
    headers = {**operator_headers, "Idempotency-Key": "retry-2"}
    assert client.post("/api/v1/tickets", json=_ticket_body(), headers=headers).status_code == 201
    other = client.post("/api/v1/tickets", json=_ticket_body(description="另一件事"), headers=headers)
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"


def test_a_refused_request_keeps_no_key(client, db, operator_headers):
    headers = {**operator_headers, "Idempotency-Key": "retry-3"}
    before = _tickets()
    bad = client.post("/api/v1/tickets", json=_ticket_body(kind="nonsense"), headers=headers)
    assert bad.status_code in (400, 422)
    fixed = client.post("/api/v1/tickets", json=_ticket_body(), headers=headers)
    assert fixed.status_code == 201 and _tickets() == before + 1


def test_keys_belong_to_their_user(client, db, operator_headers):
    raw = accounts.issue_token(actor=None, now=clock.now(), user=make_user("operator"))
    db.commit()
    body = _ticket_body()
    mine = client.post("/api/v1/tickets", json=body, headers={**operator_headers, "Idempotency-Key": "same"})
    theirs = client.post("/api/v1/tickets", json=body,
                         headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "same"})
    assert mine.status_code == theirs.status_code == 201 and mine.json["id"] != theirs.json["id"]


@pytest.mark.parametrize("key", ["", "x" * 101, "有中文", "a b"])
def test_a_malformed_key_is_a_bad_request(client, db, operator_headers, key):
    r = client.post("/api/v1/tickets", json=_ticket_body(), headers={**operator_headers, "Idempotency-Key": key})
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_idempotency_key"


def test_two_copies_sent_at_once_make_one_ticket(committing_app):
    """A client's retry racing its first attempt (each on its own connection): one does the work, the
    other gets its answer — or, if it arrives while the first still runs on SQLite, waits for the lock."""
    with committing_app.app_context():
        user = make_user("operator")
        raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
        body = _ticket_body()
        session.commit()
        before = _tickets()
        session.remove()
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "race-1"}
    start = threading.Barrier(2)

    def send(_: int):
        client = committing_app.test_client()
        start.wait(timeout=10)
        response = client.post("/api/v1/tickets", json=body, headers=headers)
        return response.status_code, response.json

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(send, range(2)))
    created = [r for r in results if r[0] == 201]
    assert created, results
    assert all(r == created[0] or r[1]["error"]["code"] == "idempotency_in_progress" for r in results), results
    with committing_app.app_context():
        assert _tickets() == before + 1
        session.remove()
