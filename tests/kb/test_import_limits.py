"""The import page within limits: hostile workbooks refused quickly, staged uploads never left behind."""

import io
import os
import time
from pathlib import Path

import pytest

from kb import services, transfer
from tests.builders import bomb_workbook, forged_dimension_workbook, padded_workbook, within, workbook_bytes


@pytest.fixture(autouse=True)
def _review_off(app, monkeypatch):
    """These workbooks change published entries; an editor's import of such rows needs review switched
    off (the refusal itself: tests/kb/test_review.py)."""
    monkeypatch.setitem(app.config, "KB_REVIEW_REQUIRED", False)


def _staged(app) -> set[Path]:
    return set((Path(app.instance_path) / "uploads").glob(f"{transfer.STAGED_PREFIX}*"))


def _upload(client, content: bytes, name: str = "kb.xlsx"):
    return client.post("/kb/import", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def _token(response) -> str:
    return response.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]


def _export_rows() -> list[list]:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(transfer.export_xlsx(services.entries()[:2]))).active
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_zip_bomb_workbook_is_refused_quickly_with_a_clear_message(app, client, login, db):
    login("kb_editor")
    before = _staged(app)
    for content, words in ((bomb_workbook(_export_rows()[:1], title=transfer.SHEET), "解压后过大"),
                           (padded_workbook(_export_rows(), title=transfer.SHEET), "压缩比异常")):
        with within(2):
            response = _upload(client, content)
        assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert _staged(app) == before


def test_workbook_declaring_a_million_rows_previews_its_real_rows_quickly(app, client, login, db):
    login("kb_editor")
    rows = _export_rows()
    rows[1][rows[0].index("答复口径")] = "新的口径。第二句。"
    with within(3):
        response = _upload(client, forged_dimension_workbook(rows, title=transfer.SHEET))
    assert response.status_code == 200 and "修改 <strong>1</strong> 条" in response.get_data(as_text=True)
    client.post("/kb/import", data={"token": _token(response), "cancel": "1"})


def test_staged_upload_is_removed_after_confirm_cancel_or_a_refused_confirm(app, client, login, db):
    login("kb_editor")
    rows = _export_rows()
    rows[1][rows[0].index("答复口径")] = "确认后的口径。第二句。"
    content = workbook_bytes(rows, title=transfer.SHEET)
    before = _staged(app)

    cancelled = _upload(client, content)
    assert len(_staged(app) - before) == 1
    assert client.post("/kb/import", data={"token": _token(cancelled), "cancel": "1"}).status_code == 302
    assert _staged(app) == before

    confirmed = _upload(client, content)
    assert client.post("/kb/import", data={"token": _token(confirmed), "filename": "kb.xlsx"}).status_code == 302
    assert _staged(app) == before

    refused = _upload(client, content)
    staged = (_staged(app) - before).pop()
    staged.write_bytes(b"broken since the preview")
    assert client.post("/kb/import", data={"token": _token(refused), "filename": "kb.xlsx"}).status_code == 422
    assert _staged(app) == before


def test_uploads_staged_over_a_day_ago_are_removed_at_the_next_upload(app, client, login, db):
    login("kb_editor")
    folder = Path(app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / f"{transfer.STAGED_PREFIX}0ld.xlsx", folder / f"{transfer.STAGED_PREFIX}fre5h.xlsx"
    for path in (stale, fresh):
        path.write_bytes(b"x")
    day_ago = time.time() - 25 * 3600
    os.utime(stale, (day_ago, day_ago))
    response = _upload(client, workbook_bytes(_export_rows(), title=transfer.SHEET))
    assert response.status_code == 200
    assert not stale.exists() and fresh.exists()
    fresh.unlink()
    client.post("/kb/import", data={"token": _token(response), "cancel": "1"})
