"""Rectification evidence as files: checked by content, size-limited, tied to the transaction, shown
inline to whoever may see the rectification; close-out needs a file or a written reason."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core import uploads
from core.errors import DomainError
from spotchecks import services
from spotchecks.models import EvidenceFile, Hotline, Rectification
from tests.builders import make_user
from tests.spotchecks.builders import (
    EXE,
    at_local,
    deflecting_call,
    item_for,
    log,
    make_plan,
    png_bytes,
    wav_bytes,
)

NOW = at_local(2026, 11, 25, 10, 0)


@pytest.mark.parametrize(("data", "kind"), [
    (png_bytes(), "png"), (b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 32, "jpg"), (b"%PDF-1.7\n" + b"x" * 20, "pdf"),
    (wav_bytes(), "wav"), (b"ID3\x04\x00" + b"\x00" * 20, "mp3"), (b"\xff\xfb\x90\x64" + b"\x00" * 20, "mp3"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 20, "m4a"),
    (EXE, None), (b"\x7fELF\x02\x01\x01" + b"\x00" * 20, None), (b"<script>alert(1)</script>", None),
    (b"\x00\x00\x00\x20ftypqt  " + b"\x00" * 20, None),
])
def test_media_are_told_by_their_bytes(data, kind):
    assert uploads.sniff_media(data) == kind


def test_an_executable_renamed_jpg_and_a_mislabelled_file_are_refused():
    allowed = ("jpg", "png", "pdf")
    with pytest.raises(uploads.UploadError, match="“整改照片.jpg”不是可接受的文件（按文件内容判断）；只接受JPG照片、PNG图片、PDF扫描件"):
        uploads.check_media("整改照片.jpg", EXE, allowed=allowed, max_bytes=1024)
    with pytest.raises(uploads.UploadError, match="内容是PNG图片，与扩展名不符"):
        uploads.check_media("照片.jpg", png_bytes(), allowed=allowed, max_bytes=1024)
    with pytest.raises(uploads.UploadError) as too_big:
        uploads.check_media("扫描件.pdf", b"%PDF-" + b"0" * 2048, allowed=allowed, max_bytes=1024)
    assert too_big.value.status == 413
    assert uploads.check_media("照片.PNG", png_bytes(), allowed=allowed, max_bytes=1024)[1].kind == "png"


def _rect(db) -> tuple[Rectification, object]:
    item = item_for(make_plan(), 0)
    call = log(item, deflecting_call(item))
    rect = db.execute(select(Rectification).where(Rectification.call_id == call.id)).scalar_one()
    return rect, make_user("caseworker", unit_id=rect.unit_id)


def test_the_unit_answers_with_a_photo_and_a_recording_stored_and_audited(db, tmp_path):
    rect, caseworker = _rect(db)
    store = services.EvidenceStore(tmp_path, max_bytes=1024 * 1024)
    services.answer_rectification(actor=caseworker, now=NOW, rect=rect, response="已调整值班表", evidence="",
                                  uploads=[("值班表.png", io.BytesIO(png_bytes())), ("复拨.wav", io.BytesIO(wav_bytes()))],
                                  store=store)
    files = rect.evidence_files
    assert [(f.filename, f.kind, f.content_type, f.stage) for f in files] == [
        ("值班表.png", "png", "image/png", "answer"), ("复拨.wav", "wav", "audio/wav", "answer")]
    assert store.path(files[0]).read_bytes() == png_bytes()
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "answer")).scalar_one()
    assert [f["filename"] for f in json.loads(event.changes)["evidence_files"]] == ["值班表.png", "复拨.wav"]


def test_a_bad_file_among_good_ones_refuses_the_whole_answer(db, tmp_path):
    rect, caseworker = _rect(db)
    store = services.EvidenceStore(tmp_path, max_bytes=1024 * 1024)
    with pytest.raises(DomainError, match="不是可接受的文件"):
        services.answer_rectification(actor=caseworker, now=NOW, rect=rect, response="已整改", evidence="",
                                      uploads=[("值班表.png", io.BytesIO(png_bytes())), ("照片.jpg", io.BytesIO(EXE))],
                                      store=store)
    assert rect.state == "open" and not list(tmp_path.rglob("*.png"))
    assert db.execute(select(func.count()).select_from(EvidenceFile)).scalar_one() == 0


def test_files_written_in_a_transaction_that_rolls_back_are_removed(db, tmp_path):
    rect, caseworker = _rect(db)
    db.commit()
    store = services.EvidenceStore(tmp_path, max_bytes=1024 * 1024)
    services.answer_rectification(actor=caseworker, now=NOW, rect=rect, response="已整改", evidence="",
                                  uploads=[("值班表.png", io.BytesIO(png_bytes()))], store=store)
    assert len(list(tmp_path.rglob("*.png"))) == 1
    db.rollback()
    assert not list(tmp_path.rglob("*.png"))


def test_close_out_takes_the_units_file_or_a_written_reason(db, tmp_path):
    rect, caseworker = _rect(db)
    supervisor = make_user("supervisor")
    store = services.EvidenceStore(tmp_path, max_bytes=1024 * 1024)
    services.answer_rectification(actor=caseworker, now=NOW, rect=rect, response="已整改", evidence="",
                                  uploads=[("签到表.pdf", io.BytesIO(b"%PDF-1.4\n" + b"0" * 64))], store=store)
    services.close_out(actor=supervisor, now=NOW, rect=rect, evidence="11月25日复拨，接听规范", store=store,
                       uploads=[("复拨录音.mp3", io.BytesIO(b"ID3\x04\x00" + b"\x00" * 64))])
    assert rect.state == "closed" and [f.stage for f in rect.evidence_files] == ["answer", "close"]


def _answered_page_rect(client, login, db):
    rect, _ = _rect(db)
    db.commit()
    login("caseworker", unit_id=rect.unit_id)
    return rect


def test_evidence_uploaded_on_the_page_is_shown_inline_to_those_who_may_see_it(client, login, db):
    rect = _answered_page_rect(client, login, db)
    response = client.post(f"/spotchecks/rectifications/{rect.id}", content_type="multipart/form-data", data={
        "op": "answer", "response": "已调整值班", "evidence": "", "version": rect.version,
        "files": [(io.BytesIO(png_bytes()), "值班表.png"), (io.BytesIO(wav_bytes()), "复拨.wav")]})
    assert response.status_code == 302
    page = client.get(f"/spotchecks/rectifications/{rect.id}").get_data(as_text=True)
    image, audio = db.execute(select(EvidenceFile).order_by(EvidenceFile.id)).scalars().all()
    assert f'<img src="/spotchecks/rectifications/{rect.id}/evidence/{image.id}"' in page
    assert f'<audio controls preload="metadata" src="/spotchecks/rectifications/{rect.id}/evidence/{audio.id}"' in page
    shown = client.get(f"/spotchecks/rectifications/{rect.id}/evidence/{image.id}")
    assert shown.status_code == 200 and shown.data == png_bytes() and shown.mimetype == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert shown.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in shown.headers["Content-Security-Policy"]
    client.post("/accounts/logout")
    other = db.execute(select(Hotline.unit_id).where(Hotline.unit_id != rect.unit_id)).scalars().first()
    login("caseworker", unit_id=other)
    assert client.get(f"/spotchecks/rectifications/{rect.id}/evidence/{image.id}").status_code == 403
    client.post("/accounts/logout")
    login("supervisor")
    assert client.get(f"/spotchecks/rectifications/{rect.id}/evidence/{image.id}").status_code == 200
    assert client.get(f"/spotchecks/rectifications/{rect.id}/evidence/{image.id + 99}").status_code == 404


def test_an_executable_renamed_jpg_is_refused_on_the_page_and_nothing_is_saved(client, login, db):
    rect = _answered_page_rect(client, login, db)
    response = client.post(f"/spotchecks/rectifications/{rect.id}", content_type="multipart/form-data", data={
        "op": "answer", "response": "已调整值班", "evidence": "", "version": rect.version,
        "files": [(io.BytesIO(png_bytes()), "值班表.png"), (io.BytesIO(EXE), "整改照片.jpg")]})
    assert response.status_code == 422
    assert "“整改照片.jpg”不是可接受的文件（按文件内容判断）" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Rectification, rect.id).state == "open"
    assert db.execute(select(func.count()).select_from(EvidenceFile)).scalar_one() == 0
