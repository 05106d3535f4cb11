"""The search log keeps no caller's number and nothing older than its retention period."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import accounts, clock
from kb import jobs
from kb.models import SearchLog
from tests.builders import make_user


def _log(db, query: str, at):
    row = SearchLog(at=at, query=query, normalized=query, result_ids="[]", confident=False, source="api")
    db.add(row)
    db.flush()
    return row


def test_search_queries_are_stored_with_phone_and_id_numbers_masked(client, db, login):
    user = make_user("operator")
    raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
    db.commit()
    client.get("/api/v1/kb/search", query_string={"q": "低保 电话13912345678 身份证23010219800101123X"},
               headers={"Authorization": f"Bearer {raw}"})
    login("operator")
    client.get("/kb/search.json", query_string={"q": "特困 回电１３９ １２３４ ５６７８", "sid": "masked1"})
    db.expire_all()
    rows = db.execute(select(SearchLog)).scalars().all()
    assert {r.query for r in rows} >= {"低保 电话139****5678 身份证2301**********123X", "特困 回电139****5678"}
    stored = " ".join(f"{r.query} {r.normalized}" for r in rows)
    assert not any(raw in stored for raw in ("13912345678", "23010219800101123", "１２３４", "1234 5678"))


def test_unanswered_report_masks_numbers_logged_before_masking_began(client, db, login):
    _log(db, "驾照换证 13912345678", clock.now())
    db.commit()
    login("kb_editor")
    page = client.get("/kb/report").get_data(as_text=True)
    assert "驾照换证 139****5678" in page and "13912345678" not in page


def test_search_log_retention_defaults_to_90_days(app):
    assert app.config["SEARCH_LOG_RETENTION_DAYS"] == 90


@pytest.mark.parametrize("days", [90, 7])
def test_purge_removes_searches_past_retention_with_one_audit_event(app, db, days):
    app.config["SEARCH_LOG_RETENTION_DAYS"] = days
    now = clock.now()
    old = [_log(db, f"旧检索{n}", now - timedelta(days=days, minutes=n + 1)).id for n in range(3)]
    kept = _log(db, "新检索", now - timedelta(days=days) + timedelta(minutes=5)).id
    events_before = db.execute(select(func.count()).select_from(AuditEvent)).scalar()

    message = jobs.purge_search_log(now)

    ids = set(db.execute(select(SearchLog.id)).scalars())
    assert kept in ids and not ids & set(old)
    assert "3" in message
    events = db.execute(select(AuditEvent).where(AuditEvent.seq > events_before)).scalars().all()
    assert [(e.action, e.entity_type) for e in events] == [("purge", "kb_search_log")]
    assert json.loads(events[0].changes)["rows"] == 3
    assert jobs.purge_search_log(now) == ""


def test_purge_runs_nightly_in_the_scheduler():
    from composition import JOBS

    assert [j.func for j in JOBS if j.name == "kb_purge_search_log"] == [jobs.purge_search_log]


def test_upgrade_masks_numbers_in_searches_logged_before(tmp_path):
    from sqlalchemy import create_engine, text

    from core import migrate

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO kb_search_log (at, query, normalized, result_ids, top_score, confident, "
                          "took_ms, source) VALUES (:at, :q, :q, '[]', 0, false, 1, 'api')"),
                     [{"at": clock.now(), "q": "低保 13912345678"}, {"at": clock.now(), "q": "特困供养"}])
    migrate.upgrade(engine, "0008")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT query, normalized FROM kb_search_log ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("低保 139****5678", "低保 139****5678"), ("特困供养", "特困供养")]


def test_the_unanswered_report_is_grouped_and_paged_most_frequent_first(client, db, login, monkeypatch):
    from handlers import common

    monkeypatch.setattr(common, "PAGE_SIZE", 2)
    now = clock.now()
    for phrasing, times in (("驾照换证去哪里", 3), ("公积金怎么提取", 2), ("护照加急", 1)):
        for minute in range(times):
            _log(db, phrasing, now - timedelta(minutes=minute))
    db.commit()
    login("kb_editor")
    first = client.get("/kb/report").get_data(as_text=True)
    second = client.get("/kb/report", query_string={"page": 2}).get_data(as_text=True)
    assert "驾照换证去哪里</td><td>3<" in first and "公积金怎么提取</td><td>2<" in first
    assert "护照加急" not in first and "下一页" in first
    assert "护照加急</td><td>1<" in second and "驾照换证去哪里" not in second


def test_the_unanswered_report_groups_counts_and_examples_by_phrasing_in_the_database(db):
    from kb import lookup

    now = clock.now()
    for minutes, query, normalized, results, opened in (
            (50, "低保 怎么办", "低保怎么办", "[]", None), (40, "低保怎么办？", "低保怎么办", '["Q001"]', "Q001"),
            (30, "低保怎么办", "低保怎么办", '["Q001"]', "Q001"), (20, "低保怎么办", "低保怎么办", "[]", "Q002"),
            (10, "驾照换证", "", "[]", None)):
        row = _log(db, query, now - timedelta(minutes=minutes))
        row.normalized, row.result_ids, row.opened_id = normalized, results, opened
    answered = _log(db, "低保标准", now - timedelta(minutes=5))
    answered.confident, answered.result_ids = True, '["Q003"]'
    db.flush()
    rows = lookup.unanswered(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert [(r.phrasing, r.count, r.zero_results) for r in rows] == [("低保怎么办", 4, 2), ("驾照换证", 1, 1)]
    assert rows[0].examples == ["低保怎么办", "低保怎么办？", "低保 怎么办"]
    assert rows[0].opened == ["Q001", "Q002"] and rows[0].last_at == now - timedelta(minutes=20)
    assert lookup.totals(now - timedelta(hours=1), now + timedelta(minutes=1)) == {
        "searches": 6, "confident": 1, "zero": 3, "opened": 3}
