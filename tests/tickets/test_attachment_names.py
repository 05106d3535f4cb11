"""Attachment names with control characters, separators or no end: stored clean, downloaded without a 500."""

from urllib.parse import quote, unquote

from sqlalchemy import select, update

from core.db import session
from tests.tickets.builders import PDF, attach, make_ticket
from tickets.models import Attachment


def _owner_ticket(app, login):
    owner = login("caseworker")
    with app.app_context():
        ticket_id = make_ticket("in_progress", owner=session.get(type(owner), owner.id)).id
        session.commit()
        session.remove()
    return ticket_id


def _filename_star(response) -> str:
    header = response.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header and "\x00" not in header
    return unquote(header.split("filename*=UTF-8''", 1)[1])


def test_upload_named_with_nul_cr_lf_is_stored_clean_and_downloads(app, client, login):
    ticket_id = _owner_ticket(app, login)
    # A browser cannot send CR/LF in a part's filename, but RFC 2231 `filename*` carries them percent-encoded.
    name = quote("诊断\x00证明\r\n第1页.pdf", safe="")
    body = (f'--B\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8\'\'{name}\r\n'
            'Content-Type: application/pdf\r\n\r\n').encode() + PDF + b"\r\n--B--\r\n"
    r = client.post(f"/tickets/{ticket_id}/attachments", data=body, content_type="multipart/form-data; boundary=B")
    assert r.status_code == 302, r.get_data(as_text=True)
    with app.app_context():
        att = session.execute(select(Attachment)).scalar_one()
        assert att.filename == "诊断证明第1页.pdf"
        att_id = att.id
    download = client.get(f"/tickets/attachments/{att_id}")
    assert download.status_code == 200 and download.data == PDF
    assert _filename_star(download) == "诊断证明第1页.pdf"


def test_attachment_stored_with_a_control_character_name_still_downloads(app, client, login, tmp_path):
    """Names saved before sanitizing existed: every download of such a ticket was a 500."""
    ticket_id = _owner_ticket(app, login)
    with app.app_context():
        from pathlib import Path

        from tickets import queries

        att = attach(queries.get_ticket(ticket_id), Path(app.instance_path) / "uploads" / "tickets")
        nul = "\x00" if session.get_bind().dialect.name == "sqlite" else ""  # PostgreSQL text refuses NUL
        session.execute(update(Attachment).where(Attachment.id == att.id)
                        .values(filename=f"低保\r\n材料{nul}\"; filename=x.exe.pdf"))
        session.commit()
        att_id = att.id
    download = client.get(f"/tickets/attachments/{att_id}")
    assert download.status_code == 200 and download.data == PDF
    assert _filename_star(download) == "低保材料_; filename=x.exe.pdf"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="')


def test_long_or_path_like_names_are_cut_to_a_safe_name_keeping_the_extension(app, db, tmp_path):
    ticket = make_ticket("in_progress")
    long = attach(ticket, tmp_path, filename="低" * 300 + ".pdf")
    assert len(long.filename) <= 120 and long.filename.endswith(".pdf") and long.filename.startswith("低低")
    assert attach(ticket, tmp_path, filename="..\\..\\windows/证明.pdf").filename == "证明.pdf"
