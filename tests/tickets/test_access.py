"""Who may see a ticket and the desk's figures: co-handling units while their task is open, and the
board export and metrics API only for the roles whose pages offer them."""

from __future__ import annotations

from core import clock
from core.db import session
from core.models import ROLES
from handlers.navigation import ITEMS
from tests.builders import make_user
from tests.tickets.builders import department, make_caseworker, make_task, make_ticket
from tickets import queries, services


def _cohandled(db):
    owner = make_caseworker()
    ticket = make_ticket("in_progress", owner=owner, citizen_name="周九")
    med, civil = department("医疗保障局"), department("残疾人联合会")
    helper, other_helper = make_caseworker(unit=med), make_caseworker(unit=civil)
    task, other_task = make_task(ticket, med), make_task(ticket, civil)
    db.commit()
    return ticket, owner, helper, task, other_helper, other_task


def test_a_cohandling_unit_sees_the_ticket_only_while_its_task_is_open(client, db, bearer):
    ticket, owner, helper, task, other_helper, other_task = _cohandled(db)
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(helper)).status_code == 200
    services.complete_task(actor=helper, now=clock.now(), ticket=ticket, version=ticket.version, task_id=task.id,
                           report="已核实医保报销情况")
    services.withdraw_task(actor=owner, now=clock.now(), ticket=ticket, version=ticket.version,
                           task_id=other_task.id, reason="无需协办")
    db.commit()
    for user in (helper, other_helper):
        assert client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(user)).status_code == 403
        assert not queries.can_view(user, ticket)
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(owner)).status_code == 200
    assert client.get("/api/v1/tickets", headers=bearer(helper)).json["tickets"] == []


def test_a_unit_with_another_open_task_keeps_access(db):
    ticket, _, helper, task, _, _ = _cohandled(db)
    make_task(ticket, helper.unit, request="再核实一次")
    services.complete_task(actor=helper, now=clock.now(), ticket=ticket, version=ticket.version, task_id=task.id,
                           report="已核实")
    assert queries.can_view(helper, ticket)


def test_a_finished_cohandler_posting_to_the_ticket_gets_the_error_page_not_the_ticket(app, client, login, db):
    ticket, _, _, task, _, _ = _cohandled(db)
    helper = login("caseworker", unit_id=task.unit_id)
    assert client.get(f"/tickets/{ticket.id}").status_code == 200
    services.complete_task(actor=session.get(type(helper), helper.id), now=clock.now(), ticket=ticket,
                           version=ticket.version, task_id=task.id, report="已核实")
    db.commit()
    assert client.get(f"/tickets/{ticket.id}").status_code == 403
    refused = client.post(f"/tickets/{ticket.id}/action", data={"action": "note", "version": ticket.version,
                                                                "note": "补充"})
    assert refused.status_code == 403
    assert "周九" not in refused.get_data(as_text=True) and ticket.number not in refused.get_data(as_text=True)


def _page_roles(endpoint: str) -> set[str]:
    roles = next(roles for _, e, roles, _ in ITEMS if e == endpoint)
    return {role for role in ROLES if role == "admin" or role in roles}


def test_board_export_and_metrics_api_answer_exactly_the_roles_whose_pages_offer_them(client, login, db, bearer):
    board_roles, metrics_roles = _page_roles("tickets.board"), _page_roles("tickets.metrics_page")
    assert (board_roles, metrics_roles) == ({"operator", "supervisor", "admin"}, {"supervisor", "admin"})
    for role in ROLES:
        login(role)
        board = client.get("/tickets/")
        offers_export = board.status_code == 200 and "/tickets/export.xlsx" in board.get_data(as_text=True)
        assert offers_export is (role in board_roles), role
        assert (client.get("/tickets/export.xlsx").status_code == 200) is offers_export, role
        metrics_api = client.get("/api/v1/metrics", headers=bearer(make_user(role)))
        assert (metrics_api.status_code == 200) is (role in metrics_roles), role
        assert (client.get("/tickets/metrics").status_code == 200) is (role in metrics_roles), role
        client.post("/accounts/logout")
