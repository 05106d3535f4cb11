"""Reading tickets: a repeat caller's open tickets, owners to suggest."""

from tests.tickets.builders import department, make_caseworker, make_ticket, township
from tickets import queries


def test_repeat_caller_open_tickets(db):
    ticket = make_ticket(citizen_phone="13711112222")
    make_ticket("closed", citizen_phone="13711112222")
    assert queries.open_tickets_for_number("137-1111-2222") == [ticket]


def test_suggestions_by_township_and_topic(db):
    town = township(3)
    local_worker = make_caseworker(unit=town)
    med_worker = make_caseworker(unit=department("医疗保障局"))
    names = [s.user.id for s in queries.suggest_owners(town.id, "医疗救助")]
    assert names[0] == local_worker.id and med_worker.id in names
