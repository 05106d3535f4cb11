"""Phone and ID numbers typed into a ticket's free text, shown as each role may see them: page, API, export."""

import io

import pytest
from openpyxl import load_workbook

from core import accounts, clock
from core.db import session
from core.models import User
from tests.tickets.builders import department, make_task, make_ticket, valid_id_number
from tickets import presenters, queries, services

PHONE = "13912345678"
ID_NUMBER = valid_id_number("23010219800101123")
DESCRIPTION = f"群众留的电话１３９ １２３４ ５６７８,身份证号{ID_NUMBER},请尽快回电"
NOTE = f"已电话联系{PHONE}"
MASKED_PHONE = "139****5678"
MASKED_ID = f"{ID_NUMBER[:4]}{'*' * 10}{ID_NUMBER[-4:]}"


def _ticket_seen_by(app, login, who: str):
    """A ticket whose description and timeline carry a phone and an ID number, and the viewer signed in."""
    role = "caseworker" if who in ("first_owner", "co_handler") else who
    extra = {"unit_id": None} if role != "caseworker" else {}
    if who == "co_handler":
        with app.app_context():
            extra = {"unit_id": department("医疗保障局").id}
    viewer = login(role, **extra)
    with app.app_context():
        viewer = session.get(User, viewer.id)
        ticket = make_ticket("in_progress", description=DESCRIPTION,
                             **({"owner": viewer} if who == "first_owner" else {}))
        services.add_note(actor=ticket.first_owner, now=clock.now(), ticket=ticket, version=ticket.version,
                          note=NOTE)
        make_task(ticket, department("医疗保障局"), request=f"核实{ID_NUMBER}的医保")
        token = accounts.issue_token(actor=None, now=clock.now(), user=viewer)
        session.commit()
        ids = ticket.id, viewer.id
        session.remove()
    return *ids, {"Authorization": f"Bearer {token}"}


def _assert_shown(text: str, full: bool) -> None:
    if full:
        assert ID_NUMBER in text and "１３９ １２３４ ５６７８" in text
    else:
        assert MASKED_PHONE in text and MASKED_ID in text
        assert ID_NUMBER not in text and PHONE not in text and "５６７８" not in text


@pytest.mark.parametrize("who, full", [("operator", False), ("co_handler", False), ("first_owner", True),
                                       ("supervisor", True), ("admin", True)])
def test_numbers_in_ticket_free_text_shown_as_the_role_may_see_them(app, client, login, who, full):
    ticket_id, viewer_id, headers = _ticket_seen_by(app, login, who)

    page = client.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    _assert_shown(page.get_data(as_text=True), full)
    assert (NOTE if full else f"已电话联系{MASKED_PHONE}") in page.get_data(as_text=True)  # the timeline

    body = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).json
    _assert_shown(body["description"], full)
    assert body["tasks"][0]["request"] == f"核实{ID_NUMBER if full else MASKED_ID}的医保"
    notes = [e["note"] for e in body["timeline"] if e["action"] == "note"]
    assert notes == [NOTE if full else f"已电话联系{MASKED_PHONE}"]

    data = io.BytesIO()
    with app.app_context():
        presenters.board_xlsx([queries.get_ticket(ticket_id)], session.get(User, viewer_id), clock.now(), data)
    rows = list(load_workbook(data).active.iter_rows(values_only=True))
    _assert_shown(rows[1][presenters.BOARD_HEADER.index("诉求内容")], full)


def test_supervisor_board_export_over_http_keeps_the_numbers_in_descriptions(app, client, login):
    _ticket_seen_by(app, login, "supervisor")
    rows = list(load_workbook(io.BytesIO(client.get("/tickets/export.xlsx").data)).active.iter_rows(values_only=True))
    assert DESCRIPTION in [r[presenters.BOARD_HEADER.index("诉求内容")] for r in rows[1:]]


def test_call_question_masked_in_the_calls_list_and_api_for_operators(app, client, login):
    from tests.tickets.builders import make_call

    user = login("operator")
    with app.app_context():
        call = make_call(operator=session.get(User, user.id), question=f"问低保,回电{PHONE}")
        token = accounts.issue_token(actor=None, now=clock.now(), user=session.get(User, user.id))
        session.commit()
        call_id = call.id
    page = client.get("/tickets/calls/list").get_data(as_text=True)
    assert f"回电{MASKED_PHONE}" in page and PHONE not in page
    body = client.get(f"/api/v1/calls/{call_id}", headers={"Authorization": f"Bearer {token}"}).json
    assert body["question"] == f"问低保,回电{MASKED_PHONE}"


def test_co_handler_notification_quoting_the_request_is_masked(app, client, login):
    with app.app_context():
        unit_id = department("医疗保障局").id
    helper = login("caseworker", unit_id=unit_id)
    with app.app_context():
        make_task(make_ticket("in_progress"), department("医疗保障局"), request=f"请核实身份证{ID_NUMBER}的参保")
        token = accounts.issue_token(actor=None, now=clock.now(), user=session.get(User, helper.id))
        session.commit()
    page = client.get("/tickets/notifications").get_data(as_text=True)
    assert MASKED_ID in page and ID_NUMBER not in page
    body = client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {token}"}).json
    assert [n["message"] for n in body["notifications"] if MASKED_ID in n["message"]]
    assert ID_NUMBER not in str(body)


def test_co_handling_notification_does_not_cut_a_number_past_its_masking(app, client, login):
    with app.app_context():
        unit_id = department("医疗保障局").id
    login("caseworker", unit_id=unit_id)
    request = "请协助核实该群众近三个月的医保参保、缴费、住院报销及大病保险赔付情况,并反馈核实结果和依据,身份证号" + ID_NUMBER
    assert request.index(ID_NUMBER) < 60 < len(request)  # the ID straddles the 60-character cut
    with app.app_context():
        make_task(make_ticket("in_progress"), department("医疗保障局"), request=request)
        session.commit()
    page = client.get("/tickets/notifications").get_data(as_text=True)
    assert "请协助核实" in page and ID_NUMBER[:10] not in page
