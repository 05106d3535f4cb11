"""What a search request keeps between requests instead of asking the database each time: the token's
user (accounts.TOKEN_CACHE_SECONDS), the KB revision (SEARCH_REVISION_SECONDS) with the published entries
and parameters per revision, and the search log gathered for one write (SEARCH_LOG_BATCH_SECONDS)."""

import contextlib
import threading
import time

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from core import accounts, clock
from core import db as core_db
from core.models import ApiToken
from kb import index, lookup, services
from kb.models import KbRevision, SearchLog
from tests.builders import make_user


@pytest.fixture
def root(tmp_path):
    return tmp_path / "search"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _search(client, headers, q="低保怎么申请"):
    return client.get("/api/v1/kb/search", query_string={"q": q}, headers=headers)


def test_token_revoked_elsewhere_stops_working_for_searches_within_the_cache_ttl(client, db, bearer, monkeypatch):
    ticks = Clock()
    monkeypatch.setattr(accounts, "recent", accounts.RecentCredentials(clock=ticks))
    headers = bearer(make_user("operator"))
    assert _search(client, headers).status_code == 200
    # Another worker revokes it: this process is not told, only the database knows.
    db.execute(update(ApiToken).values(revoked_at=clock.now()))
    db.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401  # other endpoints ask every time
    ticks.now += accounts.TOKEN_CACHE_SECONDS - 1
    assert _search(client, headers).status_code == 200
    ticks.now += 1.5
    assert _search(client, headers).status_code == 401


def test_token_revoked_by_this_process_stops_working_for_searches_at_once(client, db, bearer):
    user = make_user("operator")
    headers = bearer(user)
    assert _search(client, headers).status_code == 200
    token = db.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    accounts.revoke_token(actor=None, now=clock.now(), token=token)
    db.commit()
    assert _search(client, headers).status_code == 401


def test_deactivated_account_stops_searching_at_once_on_this_process(client, db, bearer):
    user = make_user("operator")
    headers = bearer(user)
    assert _search(client, headers).status_code == 200
    accounts.set_active(actor=make_user("admin"), now=clock.now(), user=user, active=False)
    db.commit()
    assert _search(client, headers).status_code == 401


def test_searches_from_a_cached_token_still_count_as_its_user(client, db, bearer):
    user = make_user("operator")
    headers = bearer(user)
    for q in ("低保怎么申请", "特困供养标准"):
        assert _search(client, headers, q).status_code == 200
    db.expire_all()
    assert db.execute(select(func.count()).select_from(SearchLog).where(SearchLog.user_id == user.id)).scalar() == 2


def test_revision_changed_elsewhere_reaches_searches_within_revision_seconds(app, db, root, monkeypatch):
    holder = index.IndexHolder(root, poll_seconds=10**9, revision_seconds=1)
    ticks = Clock()
    monkeypatch.setattr(index.time, "monotonic", ticks)
    before = holder.revision()
    db.execute(update(KbRevision).where(KbRevision.id == 1).values(revision=KbRevision.revision + 1))  # another host
    assert holder.revision() == before
    ticks.now += 1.01
    assert holder.revision() == before + 1


def test_entry_retired_by_this_process_is_dropped_at_once_despite_the_revision_cache(app, db, root):
    holder = index.IndexHolder(root, poll_seconds=10**9, revision_seconds=60)
    engine = holder.engine(app)
    entry = services.get_entry("Q079")
    revision = holder.revision()
    assert lookup.search(engine, entry.question, 1, revision=revision,
                         published=holder.published(revision)).hits[0].id == "Q079"
    services.set_status(actor=None, now=clock.now(), entry=entry, status="retired", note="测试")
    revision = holder.revision()
    result = lookup.search(engine, entry.question, 5, revision=revision, published=holder.published(revision))
    assert result.hits and all(h.id != "Q079" for h in result.hits)


def test_cached_published_entries_give_the_same_results_as_asking_the_database(app, db, root):
    holder = index.IndexHolder(root, poll_seconds=10**9, revision_seconds=60)
    engine = holder.engine(app)
    revision = holder.revision()
    for q in ("低保怎么申请", "孩子没人管怎么办", "公积金怎么提取", "残疾人两项补贴"):
        cached = lookup.search(engine, q, 5, revision=revision, published=holder.published(revision))
        asked = lookup.search(engine, q, 5)
        assert [(h.id, h.score) for h in cached.hits] == [(h.id, h.score) for h in asked.hits]
        assert (cached.level, cached.reason) == (asked.level, asked.reason)


def test_search_log_rows_are_gathered_and_written_together(app, client, db, bearer):
    app.config["SEARCH_LOG_BATCH_SECONDS"] = 60
    user = make_user("operator")
    headers = bearer(user)
    mine = select(func.count()).select_from(SearchLog).where(SearchLog.user_id == user.id)
    try:
        for q in ("低保怎么申请", "特困供养标准", "临时救助"):
            assert _search(client, headers, q).status_code == 200
        db.expire_all()
        assert db.execute(mine).scalar() == 0
        with app.app_context():
            assert core_db.flush_gathered() == 3
        db.expire_all()
        assert db.execute(mine).scalar() == 3
    finally:
        with app.app_context():
            core_db.flush_gathered()


def test_gathered_writes_are_written_by_their_thread_without_a_request(app):
    written = threading.Event()
    gathered = core_db.Gathered(app)
    gathered.add(lambda _db: written.set(), True, 0.05)
    assert written.wait(5)
    deadline = time.monotonic() + 5
    while len(gathered) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(gathered) == 0


def test_gathered_writes_that_find_the_database_down_wait_in_the_backlog(app):
    def down(_db):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    gathered = core_db.Gathered(app)
    with app.app_context():
        gathered._writes.append((down, True))
        assert gathered.flush() == 1
        backlog = app.extensions["hotline.write_backlog"]
        try:
            assert (down, True) in list(backlog)
        finally:
            with contextlib.suppress(ValueError):
                backlog.remove((down, True))
            core_db.outage.answered()


def test_page_search_rows_are_written_at_once_for_the_entry_opened_next(app, client, db, login):
    app.config["SEARCH_LOG_BATCH_SECONDS"] = 60
    user = login("operator")
    assert client.get("/kb/search.json", query_string={"q": "低保怎么申请", "sid": "opened-next"}).status_code == 200
    assert client.post("/kb/search/opened", data={"sid": "opened-next", "id": "Q001"}).status_code == 200
    db.expire_all()
    row = db.execute(select(SearchLog).where(SearchLog.user_id == user.id)).scalar_one()
    assert row.opened_id == "Q001"
