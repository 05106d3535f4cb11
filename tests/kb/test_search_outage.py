"""Operators keep searching through a database outage: the searches answer from this host's index with the
users and tokens seen in the last minute, every other page says the database is unavailable (503), and
the searches' log rows wait in memory and are written exactly once when the database is back."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from core import accounts, clock
from core import db as core_db
from kb import index, services
from kb.models import SearchLog
from tests.builders import make_user
from tests.conftest import PG_URL
from tests.kb.builders import make_entry

QUERY = "低保怎么申请"


@pytest.fixture
def fresh_outage():
    core_db.outage.since, core_db.outage.refused = None, 0
    yield
    core_db.outage.since, core_db.outage.refused = None, 0


@contextlib.contextmanager
def statements_fail(app):
    """Every statement on the test's connection fails as a database that went away would."""
    connection = app.extensions["hotline.sessionmaker"].kw["bind"]

    def refuse(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    event.listen(connection, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(connection, "before_cursor_execute", refuse)


def _logged(db, query: str) -> int:
    db.expire_all()
    return db.execute(select(func.count()).select_from(SearchLog).where(SearchLog.query == query)).scalar()


def test_searches_answer_during_an_outage_and_their_log_is_written_once_after(app, client, db, login, bearer,
                                                                              fresh_outage):
    user = login("operator")
    headers = bearer(user)
    assert client.get("/kb/search.json", query_string={"q": "特困", "sid": "before"}).status_code == 200
    assert client.get("/api/v1/kb/search", query_string={"q": "特困"}, headers=headers).status_code == 200
    with statements_fail(app):
        page = client.get("/kb/search.json", query_string={"q": QUERY, "sid": "outage1"})
        api = client.get("/api/v1/kb/search", query_string={"q": QUERY}, headers=headers)
        shell = client.get("/kb/search")
        other = client.get("/tickets/")
        assert core_db.backlog_size() == 2
    assert page.status_code == 200 and page.json["results"], page.get_data(as_text=True)
    assert api.status_code == 200 and api.json["results"]
    assert shell.status_code == 200
    assert other.status_code == 503 and "数据库暂不可用，检索仍可使用" in other.get_data(as_text=True)
    assert _logged(db, QUERY) == 0
    assert client.get("/").status_code in (200, 302)  # the first request after the outage writes the backlog
    assert _logged(db, QUERY) == 2
    client.get("/")
    assert _logged(db, QUERY) == 2 and core_db.backlog_size() == 0


def test_a_session_or_token_unseen_before_the_outage_is_not_let_in(app, client, db, login, bearer, fresh_outage):
    user = login("operator")
    headers = bearer(user)
    with statements_fail(app):
        page = client.get("/kb/search.json", query_string={"q": QUERY})
        api = client.get("/api/v1/kb/search", query_string={"q": QUERY}, headers=headers)
    assert page.status_code == 503 and api.status_code == 503
    assert api.json["error"]["code"] == "database_unavailable"


def test_a_revoked_token_is_refused_during_an_outage(app, client, db, login, bearer, fresh_outage):
    user = make_user("operator")
    headers = bearer(user)
    assert client.get("/api/v1/kb/search", query_string={"q": QUERY}, headers=headers).status_code == 200
    token = db.execute(select(accounts.ApiToken).where(accounts.ApiToken.user_id == user.id)).scalar_one()
    accounts.revoke_token(actor=None, now=clock.now(), token=token)
    db.commit()
    with statements_fail(app):
        answer = client.get("/api/v1/kb/search", query_string={"q": QUERY}, headers=headers)
    assert answer.status_code == 503


def test_a_logged_out_session_is_refused_during_an_outage(app, client, db, login, fresh_outage):
    login("operator")
    assert client.get("/kb/search.json", query_string={"q": QUERY}).status_code == 200
    cookie = client.get_cookie("hotline_session")
    assert client.post("/accounts/logout").status_code == 302
    client.set_cookie(cookie.key, cookie.value)  # a copy of the cookie kept from before the log-out
    with statements_fail(app):
        answer = client.get("/kb/search.json", query_string={"q": QUERY})
    assert answer.status_code in (302, 401, 503)
    assert answer.status_code != 200


def _index_now(app) -> None:
    """Write the index for what the test made (a revision number of a rolled-back test may repeat)."""
    index.rebuild(Path(app.instance_path) / "search", force=True)


def test_the_card_is_served_from_the_index_during_an_outage(app, client, db, login, fresh_outage):
    services.set_parameter(actor=make_user("admin"), now=clock.now(), name="低保标准_城市", value="812", unit="",
                           effective_date=clock.today_local())
    entry = make_entry(question="测试问题:城市低保每月多少钱", answer="本地城市低保标准:{{低保标准_城市}}。",
                       materials="户口簿、身份证", contact="市社会救助服务热线")
    draft = make_entry(status="draft")
    db.commit()
    _index_now(app)
    login("operator")
    assert client.get("/kb/search.json", query_string={"q": "特困"}).status_code == 200
    online = client.get(f"/kb/{entry.id}/card").get_data(as_text=True)
    assert "离线副本" not in online and "812元/人·月" in online
    # a worker started during the outage has read neither the parameters nor the answer scripts
    holder = index.holder_for(app)
    holder._params, holder._answers = None, None
    with statements_fail(app):
        card = client.get(f"/kb/{entry.id}/card")
        unknown = client.get(f"/kb/{draft.id}/card")
        found = client.get("/kb/search.json", query_string={"q": "城市低保每月多少钱"})
    body = card.get_data(as_text=True)
    assert card.status_code == 200, body
    assert "离线副本" in body and "数据库暂不可用，检索仍可使用" in body
    assert "本地城市低保标准:812元/人·月。" in body and "户口簿、身份证" in body and "市社会救助服务热线" in body
    assert "社会救助暂行办法" in body and "复制口径" in body
    assert unknown.status_code == 503 and "数据库暂不可用" in unknown.get_data(as_text=True)
    hit = next(r for r in found.json["results"] if r["id"] == entry.id)
    assert hit["answer"] == "本地城市低保标准:812元/人·月。"
    assert "离线副本" not in client.get(f"/kb/{entry.id}/card").get_data(as_text=True)


def test_a_card_edited_after_the_index_was_written_is_served_as_edited(app, client, db, login, fresh_outage):
    entry = make_entry(answer="旧的口径。")
    db.commit()
    _index_now(app)
    login("operator")
    assert client.get("/kb/search.json", query_string={"q": "临时救助"}).status_code == 200
    data = entry.as_data() | {"answer": "新的口径。", "contact": "新的联系方式"}
    services.save_entry(actor=make_user("admin"), now=clock.now(), data=data, note="改口径")
    db.commit()
    info = index.rebuild(Path(app.instance_path) / "search")  # what the scheduler does after an edit
    assert info.mode == "update"
    assert client.get("/kb/search.json", query_string={"q": "临时救助"}).status_code == 200  # opens it
    with statements_fail(app):
        body = client.get(f"/kb/{entry.id}/card").get_data(as_text=True)
    assert "离线副本" in body and "新的口径。" in body and "新的联系方式" in body and "旧的口径" not in body


# --- PostgreSQL behind a proxy that can be cut -------------------------------------------------------

class CuttableProxy:
    """Forwards TCP connections to PostgreSQL until cut: then it drops the open ones and closes every new
    one at once (what a database host that went away looks like to the driver), until restored."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.cut_off = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.cut_off.set()
        with self._lock:
            dropped, self._open = self._open, []
        for sock in dropped:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()


@pytest.fixture
def proxied_app(backend, committing_app, tmp_path, fresh_outage):
    """A second app on the same PostgreSQL database, reached through a proxy the test can cut."""
    if backend["name"] != "postgresql":
        pytest.skip("the proxy stands in front of PostgreSQL")
    parts = urlsplit(PG_URL)
    proxy = CuttableProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    from app import create_app

    app = create_app({"ENV": "testing", "DATABASE_URL": urlunsplit(parts._replace(netloc=netloc)),
                      "INSTANCE_PATH": str(tmp_path / "proxied"), "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False, "DB_CONNECT_TIMEOUT": 2,
                      # each search's log row on its own way to the backlog (gathered rows: test_search_caches)
                      "SEARCH_LOG_BATCH_SECONDS": 0})
    yield app, proxy
    app.extensions["hotline.engine"].dispose()
    proxy.close()


def test_searches_go_on_while_postgresql_is_cut_off(proxied_app):
    app, proxy = proxied_app
    with app.app_context():
        user = make_user("operator")
        raw = accounts.issue_token(actor=None, now=clock.now(), user=user)
        core_db.session.commit()
        username = user.username
        core_db.session.remove()
    headers = {"Authorization": f"Bearer {raw}"}
    client = app.test_client()
    assert client.post("/accounts/login", data={"username": username, "password": "Passw0rd!"}).status_code == 302
    assert client.get("/kb/search.json", query_string={"q": "特困", "sid": "pg-before"}).status_code == 200
    assert client.get("/api/v1/kb/search", query_string={"q": "特困"}, headers=headers).status_code == 200

    proxy.cut()
    page = client.get("/kb/search.json", query_string={"q": QUERY, "sid": "pg-outage"})
    api = client.get("/api/v1/kb/search", query_string={"q": QUERY}, headers=headers)
    other = client.get("/tickets/")
    card = client.get(f"/kb/{page.json['results'][0]['id']}/card")
    assert page.status_code == 200 and page.json["results"]
    assert api.status_code == 200 and api.json["results"]
    assert card.status_code == 200 and "离线副本" in card.get_data(as_text=True)
    assert page.json["results"][0]["answer"][:12] in card.get_data(as_text=True)  # the script, from the index
    assert other.status_code == 503 and "数据库暂不可用，检索仍可使用" in other.get_data(as_text=True)

    proxy.restore()
    assert client.get("/kb/search.json", query_string={"q": "特困", "sid": "pg-after"}).status_code == 200
    client.get("/kb/search.json", query_string={"q": "特困", "sid": "pg-after2"})
    with app.app_context():
        logged = core_db.session.execute(select(func.count()).select_from(SearchLog)
                                         .where(SearchLog.query == QUERY)).scalar()
        core_db.session.remove()
    assert logged == 2
