"""Forms that fill themselves from a call's transcript (the ticket form opened from a call), and refused
saves that keep everything on the page with the message beside the field."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.builders import make_user
from tickets.models import Call, Ticket

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(body17: str, *, valid: bool) -> str:
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]
    wrong = "0" if check != "0" else "1"
    return body17 + (check if valid else wrong)


@pytest.fixture
def live_call(client, login, bearer, db):
    """An operator signed in on the client, and a call put through to them with the caller's words."""

    def _call(*texts: str) -> int:
        pbx = bearer(make_user("telephony"))
        body = {"external_id": f"f-{len(texts)}-{texts[0][:4]}", "caller_number": "13912345678",
                "operator": operator.username}
        call_id = client.post("/api/v1/calls", json=body, headers=pbx).json["id"]
        client.post(f"/api/v1/calls/{call_id}/answered", json={}, headers=pbx)
        segments = [{"id": str(i), "speaker": "caller", "text": t, "start_ms": i * 3000, "end_ms": i * 3000 + 2500,
                     "final": True} for i, t in enumerate(texts)]
        assert client.post(f"/api/v1/calls/{call_id}/transcript", json={"segments": segments},
                           headers=pbx).status_code == 200
        return call_id

    operator = login("operator")
    return _call


def _value(html: str, name: str) -> str:
    match = re.search(rf'<input name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else ""


def _marked(html: str) -> set[str]:
    return set(re.findall(r'data-mark-for="(\w+)"', html))


def test_ticket_form_opens_filled_from_the_transcript_and_marked(client, live_call, db):
    bad_id = _id_number("23010219800101123", valid=False)
    call_id = live_call("你好，我叫王建国，住在北林区紫来街道", f"我身份证号是{bad_id}，电话13812345678",
                        "我妈住院了，家里断粮好几天了，想申请临时救助")
    assist = client.get(f"/api/v1/calls/{call_id}/assist").json["draft"]
    html = client.get(f"/tickets/new?call_id={call_id}").get_data(as_text=True)
    assert _value(html, "citizen_name") == "王建国"
    assert _value(html, "citizen_phone") == "13812345678"
    assert _value(html, "citizen_id_number") == bad_id
    assert "通话中听到的身份证号有误" in html  # flagged beside the field, never silently accepted
    assert assist["township_id"] and f'<option value="{assist["township_id"]}" selected' in html
    assert '<option value="urgent" selected' in html and "断粮" in html
    assert {"citizen_name", "citizen_phone", "citizen_id_number", "township_id", "urgency",
            "description"} <= _marked(html)
    assert '<option value="help" selected' in html and "kind" in _marked(html)  # 断粮: a call for help
    assert "来自通话转写" in html
    assert db.execute(select(func.count()).select_from(Ticket).where(Ticket.call_id == call_id)).scalar_one() == 0


def test_a_kind_the_caller_names_is_filled_and_marked(client, live_call):
    call_id = live_call("我要投诉，街道办的人态度不好，拖着不办", "我姓孙")
    html = client.get(f"/tickets/new?call_id={call_id}").get_data(as_text=True)
    assert '<option value="complaint" selected' in html and "kind" in _marked(html)


def test_a_refused_ticket_keeps_everything_with_the_error_beside_the_field(client, live_call, db):
    bad_id = _id_number("23010219800101123", valid=False)
    call_id = live_call("你好，我叫王建国，住在北林区紫来街道", f"身份证号{bad_id}，想申请临时救助")
    html = client.get(f"/tickets/new?call_id={call_id}").get_data(as_text=True)
    marks = re.search(r'name="from_transcript" value="([^"]*)"', html).group(1)
    form = {"call_id": str(call_id), "kind": "help", "urgency": "normal", "citizen_name": "王建国",
            "citizen_phone": "", "citizen_id_number": bad_id, "township_id": _township(html),
            "description": "想申请临时救助", "topic": "", "from_transcript": marks}
    refused = client.post("/tickets/new", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'data-error-for="citizen_id_number">[^<]*校验位', page)
    assert _value(page, "citizen_name") == "王建国" and _value(page, "citizen_id_number") == bad_id
    assert "想申请临时救助" in page and "citizen_name" in _marked(page)
    assert db.execute(select(func.count()).select_from(Ticket).where(Ticket.call_id == call_id)).scalar_one() == 0
    form["citizen_id_number"] = _id_number("23010219800101123", valid=True)
    assert client.post("/tickets/new", data=form).status_code == 302


def _township(html: str) -> str:
    return re.search(r'<option value="(\d+)" selected', html.split('name="township_id"', 1)[1]).group(1)


def test_a_kind_the_caller_never_names_is_left_to_the_operator(client, live_call):
    call_id = live_call("你好，我想问问低保的标准是多少")
    html = client.get(f"/tickets/new?call_id={call_id}").get_data(as_text=True)
    assert "kind" not in _marked(html) and "description" in _marked(html)


def test_ticket_form_without_a_transcript_fills_only_what_was_recorded(client, login, db):
    login("operator")
    recorded = client.post("/api/v1/calls/record", json={"outcome": "ticket", "caller_number": "13812345678",
                                                           "caller_name": "李四", "question": "低保金没到账"})
    call_id = recorded.json["id"]
    html = client.get(f"/tickets/new?call_id={call_id}").get_data(as_text=True)
    assert _value(html, "citizen_name") == "李四" and "低保金没到账" in html
    assert _marked(html) == set()


def test_a_refused_call_record_keeps_the_form_with_the_error_beside_the_field(client, login, db):
    login("operator")
    form = {"outcome": "answered", "caller_number": "13812345678", "caller_name": "赵六",
            "question": "医疗救助怎么报销", "duration": "abc", "kb_entry_ids": "Q001"}
    refused = client.post("/tickets/calls", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'data-error-for="duration_seconds">通话时长格式不正确', page)
    assert 'value="赵六"' in page and "医疗救助怎么报销" in page and 'value="Q001"' in page
    assert db.execute(select(func.count()).select_from(Call).where(Call.caller_name == "赵六")).scalar_one() == 0
