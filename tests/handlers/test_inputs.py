"""Bad input is a 400 with a message on SQLite and PostgreSQL, never a 500 from the driver."""

from __future__ import annotations

import pytest

HUGE = "9223372036854775808"  # 2**63


def test_id_beyond_64_bits_in_the_path_is_a_400(login, client):
    login("supervisor")
    response = client.get(f"/tickets/{HUGE}")
    assert response.status_code == 400
    assert "编号超出范围" in response.get_data(as_text=True)


def test_id_beyond_64_bits_in_a_query_is_a_400(login, client):
    login("operator")
    response = client.get(f"/api/v1/tickets/suggestions?township_id={HUGE}")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]


def test_integer_beyond_64_bits_in_json_is_a_400(login, client):
    login("operator")
    response = client.post("/api/v1/calls", json={"caller_number": "13800000000", "operator_id": 2**64})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "数值超出范围"


def test_deeply_nested_json_is_a_400(login, client):
    login("operator")
    body = "[" * 100000 + "]" * 100000
    response = client.post("/api/v1/calls", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "嵌套" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("where", ["json", "form"])
def test_nul_characters_in_what_is_stored_are_a_400(login, client, where):
    login("operator")
    if where == "json":
        response = client.post("/api/v1/calls", json={"caller_number": "138\x0000000000", "outcome": "answered"})
    else:
        response = client.post("/tickets/calls", data={"caller_number": "13800000000", "question": "低保\x00"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_nul_in_a_search_query_is_cleaned_not_refused(login, client):
    login("operator")
    response = client.get("/kb/search.json?q=%E4%BD%8E%00%E4%BF%9D")
    assert response.status_code == 200 and response.get_json()["results"]
