"""Exports too large for a request: queued, written by the scheduler's runner, watched and downloaded."""

from __future__ import annotations

import io
import os
import threading
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from core import clock, exports
from core.db import session
from core.exports import Kind
from core.models import Export
from tests.builders import make_user
from tests.tickets.builders import make_ticket


@pytest.fixture
def live(committing_app, tmp_path):
    """Real commits (the runner reports progress through its own connection), a small inline limit."""
    app = committing_app
    saved = dict(app.config)
    app.config.update(EXPORT_INLINE_ROWS=1, EXPORT_DIR=str(tmp_path / "exports"))
    yield app
    app.config.clear()
    app.config.update(saved)


def _signed_in(app, role: str):
    client = app.test_client()
    with app.app_context():
        user = make_user(role=role, password="Passw0rd!")
        session.commit()
        username, user_id = user.username, user.id
    assert client.post("/accounts/login", data={"username": username, "password": "Passw0rd!"}).status_code == 302
    return client, user_id


def _tickets(app, count: int) -> None:
    with app.app_context():
        for n in range(count):
            make_ticket(citizen_phone=f"1376666{n:04d}")
        session.commit()


def _run(app) -> str:
    with app.app_context():
        return exports.run_pending(clock.now())


def test_a_large_board_export_is_queued_written_in_the_background_and_downloaded(live):
    _tickets(live, 3)
    client, _ = _signed_in(live, "supervisor")
    asked = client.get("/tickets/export.xlsx")
    assert asked.status_code == 302 and "/exports/" in asked.headers["Location"]
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "排队中" in page and "共 3 行" in page and "工单台账-" in page
    export_id = int(asked.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert client.get(f"/api/v1/exports/{export_id}").json["state"] == "queued"
    early = client.get(f"/exports/{export_id}/download")
    assert early.status_code == 409 and "导出文件尚未生成（排队中）" in early.get_data(as_text=True)

    assert "1 written" in _run(live)
    state = client.get(f"/api/v1/exports/{export_id}").json
    assert state["state"] == "done" and state["percent"] == 100 and state["done_rows"] == 3
    download = client.get(state["download_url"])
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "工单编号" and len(rows) == 4
    assert {r[6] for r in rows[1:]} == {"13766660000", "13766660001", "13766660002"}  # a supervisor sees numbers
    assert "工单台账-" in client.get("/exports/").get_data(as_text=True)

    other, _ = _signed_in(live, "supervisor")
    assert other.get(f"/exports/{export_id}/download").status_code == 404
    refused = other.get(f"/api/v1/exports/{export_id}")
    assert refused.status_code == 404 and "只能查看自己申请的导出" in refused.json["error"]["message"]
    assert other.get("/api/v1/exports").json["exports"] == []


def test_an_operator_export_keeps_numbers_masked_in_the_background_too(live):
    _tickets(live, 2)
    client, _ = _signed_in(live, "operator")
    location = client.get("/tickets/export.xlsx").headers["Location"]
    _run(live)
    export_id = int(location.rstrip("/").rsplit("/", 1)[1])
    data = client.get(f"/exports/{export_id}/download").data
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and all("****" in r[6] for r in rows[1:])


def test_a_failing_export_is_marked_failed_with_a_message_and_leaves_no_file(live, tmp_path):
    def broken(_params, _viewer, _now, out, progress):
        out.write(b"half a file")
        raise RuntimeError("disk full")

    kind = Kind("broken", "坏导出", "xlsx", "application/octet-stream", ("supervisor",),
                lambda params, viewer, now: ({}, 10), broken)
    live.extensions["hotline.exports"]["broken"] = kind
    try:
        with live.app_context():
            user = make_user(role="supervisor")
            asked = exports.request_export(actor=user, now=clock.now(), kind="broken", params={})
            session.commit()
            export_id = asked.export.id
        assert "1 failed" in _run(live)
        with live.app_context():
            export = session.get(Export, export_id)
            assert export.state == "failed" and export.error.startswith("导出失败：")
            assert export.stored_name is None
        assert list((tmp_path / "exports").iterdir()) == []
    finally:
        del live.extensions["hotline.exports"]["broken"]


def test_an_export_is_written_at_lower_cpu_priority_leaving_the_schedulers_thread_as_it_was(live):
    def thread_priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen = {}

    def write(_params, viewer, _now, out, _progress):
        seen["priority"], seen["viewer"] = thread_priority(), viewer.id
        out.write(b"rows")
        return 1

    live.extensions["hotline.exports"]["probe"] = Kind("probe", "探测", "csv", "text/csv", ("supervisor",),
                                                       lambda params, viewer, now: ({}, 10), write)
    try:
        with live.app_context():
            user = make_user(role="supervisor")
            exports.request_export(actor=user, now=clock.now(), kind="probe", params={})
            session.commit()
            user_id = user.id
        before = thread_priority()
        assert "1 written" in _run(live)
        assert seen == {"priority": min(19, before + exports.NICENESS), "viewer": user_id}
        assert thread_priority() == before
    finally:
        del live.extensions["hotline.exports"]["probe"]


def test_a_run_whose_host_died_is_taken_again_and_old_files_are_removed(live, tmp_path):
    _tickets(live, 2)
    client, _ = _signed_in(live, "supervisor")
    export_id = int(client.get("/tickets/export.xlsx").headers["Location"].rstrip("/").rsplit("/", 1)[1])
    long_ago = clock.now() - timedelta(minutes=10)
    with live.app_context():
        session.execute(update(Export).where(Export.id == export_id)
                        .values(state="running", started_at=long_ago, heartbeat_at=long_ago, host="dead:1"))
        session.commit()
    assert "1 queued again" in _run(live) and client.get(f"/api/v1/exports/{export_id}").json["state"] == "done"
    assert len(list((tmp_path / "exports").iterdir())) == 1
    with live.app_context():
        session.execute(update(Export).where(Export.id == export_id)
                        .values(finished_at=clock.now() - timedelta(days=8)))
        session.commit()
    assert "1 removed" in _run(live)
    assert list((tmp_path / "exports").iterdir()) == []
    with live.app_context():
        assert session.execute(select(Export)).first() is None
    assert _run(live) == ""  # nothing to do: no write transaction at all


def test_a_large_audit_export_goes_to_the_background_with_the_pages_labels(live):
    client, _ = _signed_in(live, "admin")
    location = client.get("/audit/export.csv").headers["Location"]
    _run(live)
    export_id = int(location.rstrip("/").rsplit("/", 1)[1])
    body = client.get(f"/exports/{export_id}/download").data.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("序号,时间（北京时间）,操作人")
    assert ",管理员,登录,用户账号," in body  # the audit page's labels, not codes


def test_an_unknown_export_kind_is_refused(app, db):
    with pytest.raises(exports.ExportError, match="没有这种导出"):
        exports.request_export(actor=make_user(role="admin"), now=clock.now(), kind="everything", params={})
