"""The action table is the one place the ticket page, the actions API and the OpenAPI enum read."""

import re

import pytest

from core import accounts, clock
from core.errors import Forbidden
from tests.builders import make_user
from tests.tickets.builders import department, make_caseworker, make_task, make_ticket
from tickets import actions, disputes, merging, queries, services
from tickets.actions import Action


def _login(user):
    def sign_in(client):
        r = client.post("/accounts/login", data={"username": user.username, "password": "Passw0rd!"})
        assert r.status_code == 302
        return client

    return sign_in


def _offered(html: str) -> set[str]:
    """The actions the ticket page has a form for."""
    return set(re.findall(r'data-action="([a-z_]+)"', html))


def _token(db, user) -> dict[str, str]:
    raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
    db.commit()
    return {"Authorization": f"Bearer {raw}"}


def _tickets_in_every_state(operator, owner):
    """Tickets in every state, and in the in-between situations that change what is offered."""
    now = clock.now()
    found = [make_ticket(state, owner=owner, operator=operator)
             for state in ("pending_dispatch", "pending_accept", "in_progress", "pending_callback", "closed")]
    busy = make_ticket("in_progress", owner=owner, operator=operator)
    services.record_contact(actor=owner, now=now, ticket=busy, version=busy.version)
    make_task(busy)
    services.request_extension(actor=owner, now=now, ticket=busy, version=busy.version, days=2, reason="需入户核实")
    services.request_return(actor=owner, now=now, ticket=busy, version=busy.version, reason="不属本单位")
    unhappy = make_ticket("in_progress", owner=owner, operator=operator)
    services.close(actor=owner, now=now, ticket=unhappy, version=unhappy.version, resolution="已答复")
    services.callback(actor=operator, now=now, ticket=unhappy, version=unhappy.version, satisfaction="dissatisfied",
                      note="问题没有解决")
    disputed = make_ticket("in_progress", owner=owner, operator=operator)
    disputes.file_objection(actor=owner, now=now, ticket=disputed, version=disputed.version, reason="不属本单位")
    host = make_ticket("in_progress", owner=owner, operator=operator)
    repeat = make_ticket(operator=operator)
    merging.merge(actor=operator, now=now, ticket=repeat, version=repeat.version, into=host)
    services.close(actor=owner, now=now, ticket=host, version=host.version, resolution="已答复两位来电人")
    return [*found, busy, unhappy, disputed, host, repeat]


def test_the_page_offers_exactly_the_available_actions_for_every_state_and_role(app, db):
    operator, supervisor = make_user("operator"), make_user("supervisor")
    owner, cohandler = make_caseworker(), make_caseworker(unit=department())
    outsider = make_caseworker()
    tickets = _tickets_in_every_state(operator, owner)
    db.commit()
    seen: set[str] = set()
    for user in (operator, supervisor, owner, cohandler, outsider):
        client = _login(user)(app.test_client())
        for ticket in tickets:
            expected = {a.name for a in actions.available(user, ticket)}
            r = client.get(f"/tickets/{ticket.id}")
            if not queries.can_view(user, ticket):
                assert r.status_code == 403 and expected == set()
                continue
            assert r.status_code == 200
            assert _offered(r.get_data(as_text=True)) == expected, (user.role, ticket.state)
            seen |= expected
    assert seen == {a.name for a in actions.TABLE}  # every row was offered somewhere: the check covered it


def test_the_api_accepts_exactly_the_table_and_openapi_lists_it(client, db):
    supervisor = make_user("supervisor")
    ticket = make_ticket("in_progress", operator=make_user("operator"))
    headers = _token(db, supervisor)
    enum = client.get("/api/v1/openapi.json").json["paths"]["/tickets/{id}/actions"]["post"]["requestBody"][
        "content"]["application/json"]["schema"]["properties"]["action"]["enum"]
    assert enum == actions.names() == [a.name for a in actions.TABLE if a.generic]
    for name in [a.name for a in actions.TABLE] + ["create", "warn", "bogus"]:
        # A stale version: whatever the action, nothing may change; only the unknown ones are unknown.
        r = client.post(f"/api/v1/tickets/{ticket.id}/actions", json={"action": name, "version": 0},
                        headers=headers)
        assert r.status_code >= 400
        assert ("未知操作" in r.json["error"]["message"]) == (name not in enum), name


def _remind(*, actor, now, ticket, version, note):
    """A throw-away action: the first owner reminds the citizen of a missing document."""
    if actor.id != ticket.first_owner_id:
        raise Forbidden("只有首派责任人可以提醒群众")
    before = services._check(ticket, "remind", version)
    services._record(ticket, "remind", actor=actor, now=now, before=before, note=note)
    return ticket


@pytest.fixture
def remind(monkeypatch):
    row = Action("remind", "提醒群众", ("in_progress",), _remind, params=lambda f: {"note": f.text()},
                 may=lambda user, ticket: user.id == ticket.first_owner_id)
    monkeypatch.setattr(actions, "TABLE", (*actions.TABLE, row))
    return row


def test_a_new_row_is_offered_on_the_page_and_accepted_by_the_api(app, client, db, remind):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner)
    waiting = make_ticket("pending_accept", owner=owner)
    headers = _token(db, owner)
    page = _login(owner)(app.test_client())

    body = page.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "remind" in _offered(body) and "提醒群众" in body
    assert "remind" not in _offered(page.get(f"/tickets/{waiting.id}").get_data(as_text=True))
    r = page.post(f"/tickets/{ticket.id}/action", data={"action": "remind", "version": ticket.version,
                                                        "note": "请补交收入证明"})
    assert r.status_code == 302
    assert "提醒群众" in page.get(f"/tickets/{ticket.id}").get_data(as_text=True)

    db.refresh(ticket)
    r = client.post(f"/api/v1/tickets/{ticket.id}/actions",
                    json={"action": "remind", "version": ticket.version, "note": "再次提醒"}, headers=headers)
    assert r.status_code == 200, r.json
    assert [e["label"] for e in r.json["timeline"] if e["action"] == "remind"] == ["提醒群众", "提醒群众"]
    r = client.post(f"/api/v1/tickets/{waiting.id}/actions",
                    json={"action": "remind", "version": waiting.version, "note": "x"}, headers=headers)
    assert r.status_code == 422 and "不能提醒群众" in r.json["error"]["message"]
    assert "remind" in client.get("/api/v1/openapi.json").json["paths"]["/tickets/{id}/actions"]["post"][
        "requestBody"]["content"]["application/json"]["schema"]["properties"]["action"]["enum"]
