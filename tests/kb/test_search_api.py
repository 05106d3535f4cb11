"""The search as operators and integrations use it: page JSON, API, logging, report, CLI."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import accounts, clock
from kb.models import SearchLog
from tests.builders import make_user


@pytest.fixture
def token(db):
    user = make_user("operator")
    raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
    db.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api_search_shape(client, token):
    body = client.get("/api/v1/kb/search?q=低保怎么申请&limit=3", headers=token).json
    assert set(body) >= {"query", "results", "confident", "took_ms"} and len(body["results"]) == 3
    assert set(body["results"][0]) >= {"id", "question", "category", "score", "answer"}
    assert "{{" not in body["results"][0]["answer"]


def test_api_needs_token(client):
    assert client.get("/api/v1/kb/search?q=低保").status_code == 401


@pytest.mark.parametrize("limit", ["0", "51", "abc", "-1"])
def test_api_bad_limit_is_json_400(client, token, limit):
    response = client.get(f"/api/v1/kb/search?q=低保&limit={limit}", headers=token)
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"


@pytest.mark.parametrize("q", ["", "   ", "😀😀😀", "\x00\x01\x02", 'AND OR NOT * "( :', "x" * 10000,
                               "低保 OR 1=1; DROP TABLE kb_entry; --", "dibao低保ㄉㄧ", "%ff%fe"])
def test_api_odd_queries_never_500(client, token, q):
    response = client.get("/api/v1/kb/search", query_string={"q": q}, headers=token)
    assert response.status_code == 200 and isinstance(response.json["results"], list)


def test_api_invalid_utf8_never_500(client, token):
    response = client.get("/api/v1/kb/search?q=%ff%fe%fd%E4%BD", headers=token)
    assert response.status_code == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=300))
def test_api_random_unicode_never_500(client, token, q):
    response = client.get("/api/v1/kb/search", query_string={"q": q}, headers=token)
    assert response.status_code == 200


def test_api_searches_are_logged(client, token, db):
    client.get("/api/v1/kb/search?q=特困供养怎么申请", headers=token)
    row = db.execute(select(SearchLog).where(SearchLog.query == "特困供养怎么申请")).scalar_one()
    assert row.source == "api" and json.loads(row.result_ids)


def test_page_typing_updates_one_log_row_and_records_opened_entry(client, login, db):
    login("operator")
    for q in ("低", "低保", "低保钱没到"):
        assert client.get("/kb/search.json", query_string={"q": q, "sid": "abc123"}).status_code == 200
    rows = db.execute(select(SearchLog).where(SearchLog.session_key == "abc123")).scalars().all()
    assert len(rows) == 1 and rows[0].query == "低保钱没到"
    client.post("/kb/search/opened", data={"sid": "abc123", "id": "Q012"})
    db.expire_all()
    assert db.execute(select(SearchLog.opened_id).where(SearchLog.session_key == "abc123")).scalar() == "Q012"


def test_operator_home_is_the_search_page(client, login):
    login("operator")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/kb/search")
    page = client.get("/kb/search").get_data(as_text=True)
    assert 'id="q"' in page and "search.js" in page


def test_card_shows_script_with_copy(client, login):
    login("operator")
    card = client.get("/kb/Q010/card").get_data(as_text=True)
    assert "复制口径" in card and "答复口径" in card


def test_report_lists_unanswered_phrasings_most_frequent_first(client, login, db):
    from kb import lookup
    from kb.search import SearchResult

    def unanswered(q):
        result = SearchResult(query=q, normalized=q, hits=[], confident=False, took_ms=1.0)
        lookup.log_search(actor=None, now=clock.now(), query=q, result=result, source="api")

    for _ in range(3):
        unanswered("公积金贷款怎么办")
    unanswered("驾照扣分怎么处理")
    db.commit()
    login("kb_editor")
    page = client.get("/kb/report").get_data(as_text=True)
    assert page.index("公积金") < page.index("驾照")


def test_cli_search_jsonl_one_line_per_query(runner):
    result = runner.invoke(args=["kb", "search", "--jsonl", "--limit", "2"], input="低保标准\n\n特困\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert result.exit_code == 0 and len(lines) == 3
    assert lines[0]["query"] == "低保标准" and len(lines[0]["results"]) == 2 and lines[1]["results"] == []


def test_cli_eval_prints_figures(runner, tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("query\texpected\ttype\n低保标准是多少\tQ005\tkeyword\n驾照扣分\t-\toos\n", encoding="utf-8")
    result = runner.invoke(args=["kb", "eval", str(path)])
    assert result.exit_code == 0 and "top-1" in result.output and "not confident" in result.output


def test_cli_eval_rejects_bad_file(runner, tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a\tb\n1\t2\n", encoding="utf-8")
    result = runner.invoke(args=["kb", "eval", str(path)])
    assert result.exit_code != 0 and "header" in result.output
