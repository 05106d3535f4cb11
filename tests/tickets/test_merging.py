"""Repeat requests merged (并单): candidates within the window, merge, the jurisdiction rule, split, callbacks."""

from datetime import timedelta

import pytest

from core import clock
from core.errors import Forbidden
from tests.builders import make_user
from tests.tickets.builders import make_caseworker, make_ticket, township, valid_id_number
from tickets import merging, metrics, queries, services
from tickets.validation import TicketError


def _open(phone="13700000001", **overrides):
    values = {"citizen_id_number": "", "township_id": township(1).id, **overrides}
    return make_ticket("in_progress", owner=make_caseworker(unit=township(1)), citizen_phone=phone, **values)


def _repeat_call(open_ticket, operator, name, phone):
    """A second caller's request made straight into the open ticket."""
    return merging.create_merged(
        actor=operator, now=clock.now(), into=open_ticket.id, kind="help", urgency="normal", citizen_name=name,
        citizen_phone=phone, township_id=township(1).id, description="同一户低保问题", topic="最低生活保障")


def test_an_open_ticket_of_the_same_phone_within_the_window_is_offered(db):
    open_ticket = _open()
    found = merging.candidates(now=clock.now(), phone="137-0000-0001")
    assert [c.ticket for c in found] == [open_ticket] and found[0].reasons == ("同一来电号码",)


def test_the_same_id_number_or_the_same_person_and_matter_is_offered_too(db):
    by_id = _open(phone="13700000002", citizen_id_number=valid_id_number("23120219900101123"))
    by_person = _open(phone="13700000003", citizen_name="王五", topic="临时救助")
    assert [c.ticket for c in merging.candidates(now=clock.now(), id_number=valid_id_number("23120219900101123"))] \
        == [by_id]
    assert [c.ticket for c in merging.candidates(now=clock.now(), name="王五", topic="临时救助")] == [by_person]


def test_a_ticket_older_than_the_window_or_closed_is_not_offered(db):
    old = make_ticket(citizen_phone="13700000004", now=clock.now() - timedelta(days=31))
    closed = make_ticket("closed", citizen_phone="13700000004")
    found = merging.candidates(now=clock.now(), phone="13700000004")
    assert old not in [c.ticket for c in found] and closed not in [c.ticket for c in found]
    longer = merging.candidates(now=clock.now(), phone="13700000004", settings=merging.MergeSettings(window_days=60))
    assert [c.ticket for c in longer] == [old]


def test_a_repeat_call_merged_keeps_one_first_owner_and_counts_once(db):
    open_ticket = _open()
    target, made = _repeat_call(open_ticket, make_user("operator"), "张三之妻", "13600000009")
    assert target is open_ticket and made.state == "merged" and made.merged_into_id == open_ticket.id
    assert [c.source for c in open_ticket.contacts] == [made]
    assert queries.open_tickets_for_number("13600000009") == []  # the repeat caller's lookup finds no second case
    assert open_ticket.events[-1].action == "merge_in" and made.events[-1].action == "merge"
    day = clock.to_local(clock.now()).date()
    assert metrics.compute(day, day, clock.now())["tickets"]["total"] == 1


def test_a_split_restores_the_merged_ticket_with_its_own_number_and_state(db):
    open_ticket = _open()
    repeat = make_ticket("pending_accept", citizen_phone="13700000001", township_id=township(1).id,
                         owner=open_ticket.first_owner)
    number = repeat.number
    merging.merge(actor=make_user("operator"), now=clock.now(), ticket=repeat, version=repeat.version,
                  into=open_ticket.id)
    merging.split(actor=make_user("supervisor"), now=clock.now(), ticket=repeat, version=repeat.version,
                  reason="不是同一诉求")
    assert repeat.state == "pending_accept" and repeat.merged_into_id is None and repeat.number == number
    assert open_ticket.contacts[0].split_at is not None
    assert repeat.events[-1].action == "split" and open_ticket.events[-1].action == "split_out"


def test_an_operator_may_not_merge_across_jurisdictions_but_a_supervisor_may(db):
    open_ticket = _open()
    elsewhere = make_ticket(citizen_phone="13700000001", township_id=township(7).id)
    with pytest.raises(Forbidden, match="督查人员"):
        merging.merge(actor=make_user("operator"), now=clock.now(), ticket=elsewhere, version=elsewhere.version,
                      into=open_ticket.id)
    assert elsewhere.state == "pending_dispatch" and open_ticket.contacts == []
    merging.merge(actor=make_user("supervisor"), now=clock.now(), ticket=elsewhere, version=elsewhere.version,
                  into=open_ticket.id)
    assert elsewhere.state == "merged"


def test_only_a_supervisor_splits(db):
    open_ticket = _open()
    repeat = make_ticket(citizen_phone="13700000001", township_id=township(1).id)
    merging.merge(actor=make_user("operator"), now=clock.now(), ticket=repeat, version=repeat.version,
                  into=open_ticket)
    with pytest.raises(Forbidden):
        merging.split(actor=make_user("operator"), now=clock.now(), ticket=repeat, version=repeat.version,
                      reason="错并")


def test_merging_into_a_closed_ticket_is_refused(db):
    closed = make_ticket("closed", citizen_phone="13700000005")
    repeat = make_ticket(citizen_phone="13700000005")
    with pytest.raises(TicketError, match="只能并入未办结的工单"):
        merging.merge(actor=make_user("supervisor"), now=clock.now(), ticket=repeat, version=repeat.version,
                      into=closed.number)


def test_each_merged_caller_gets_their_own_callback(db):
    open_ticket = _open()
    operator = make_user("operator")
    _, made = _repeat_call(open_ticket, operator, "李四", "13600000010")
    services.close(actor=open_ticket.first_owner, now=clock.now(), ticket=open_ticket, version=open_ticket.version,
                   resolution="已补发")
    contact = open_ticket.contacts[0]
    merging.record_contact_callback(actor=operator, now=clock.now(), ticket=open_ticket, version=open_ticket.version,
                                    contact_id=contact.id, satisfaction="basic", note="基本满意")
    assert contact.satisfaction == "basic" and contact.source is made
    assert open_ticket.satisfaction is None  # the first caller's callback is still the ticket's own
